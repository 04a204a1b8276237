"""Engine accounts' throttles and quotas: requests per rolling minute and
generations per UTC day, taken immediately before the paid call and counted
right when workers take them at once."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from projects.models import QuotaUse, Version
from projects.services import generation, throttle, versions
from projects.services.errors import StudioError
from projects.services.progress import progress_view
from tests.factories import VersionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def quota(settings):
    def set_quota(*, per_minute=None, per_day=None):
        settings.STUDIO_ENGINE_QUOTAS = {"local": {"per_minute": per_minute, "per_day": per_day}}
        settings.STUDIO_QUOTA_MINUTE_SECONDS = 60

    return set_quota


def take(version_id=None):
    throttle.quota_take(engine="local", version_id=version_id)


def age_uses(seconds: float) -> None:
    """As if the uses so far were taken ``seconds`` earlier."""
    for use in QuotaUse.objects.all():
        use.used_at -= timedelta(seconds=seconds)
        use.save()


def test_no_quota_takes_nothing(quota):
    quota()
    for _ in range(5):
        take()
    assert not QuotaUse.objects.exists()


def test_the_minutes_quota_waits_until_its_oldest_use_leaves_the_minute(quota):
    quota(per_minute=3)
    for _ in range(3):
        take()
    first = QuotaUse.objects.order_by("used_at").first().used_at
    with pytest.raises(throttle.QuotaWait, match="3 requests a minute") as waiting:
        take()
    assert waiting.value.until == first + timedelta(seconds=60) + throttle.QUOTA_MARGIN
    assert QuotaUse.objects.count() == 3
    with pytest.raises(throttle.QuotaWait):
        throttle.quota_check(engine="local")

    age_uses(61.5)
    take()
    assert QuotaUse.objects.count() == 4


def test_the_days_cap_refuses_with_when_it_resets(quota):
    quota(per_day=2)
    take()
    take()
    with pytest.raises(throttle.QuotaExhausted) as refused:
        take()
    now = datetime.now(UTC)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    assert refused.value.resets_at == midnight
    assert "Today's 2 generations" in refused.value.message
    assert "00:00 UTC" in refused.value.message
    assert QuotaUse.objects.count() == 2
    # Yesterday's uses do not count.
    age_uses(24 * 3600)
    take()


def test_too_many_requests_halves_the_minutes_quota_for_a_minute(quota):
    quota(per_minute=4)
    throttle.throttle_engine(engine="local", retry_after=0)
    take()
    take()
    with pytest.raises(throttle.QuotaWait, match="lowered after the engine asked"):
        take()
    [usage] = throttle.quota_usage(engines=["local"])
    assert (usage.last_minute, usage.per_minute_now, usage.quota.per_minute) == (2, 2, 4)


def test_a_version_over_the_minutes_quota_waits_in_the_queue_and_says_so(quota, project, member):
    quota(per_minute=1)
    made = [
        versions.version_create(
            project=project,
            membership=member,
            author=member.user,
            kind="text_to_video",
            prompt=f"A lighthouse, take {n}",
            aspect_ratio="16:9",
            resolution="480p",
            duration_seconds=3,
            engine="local",
        )
        for n in range(2)
    ]
    for version in made:
        generation.generation_advance(version_id=version.pk)
    first, second = (Version.objects.get(pk=v.pk) for v in made)
    assert first.status == Version.Status.READY
    assert (second.status, second.error_kind) == (Version.Status.QUEUED, "quota")
    assert second.retry_at > timezone.now() + timedelta(seconds=55)
    assert "1 request a minute" in second.error_message
    phase = progress_view(second).phase
    assert phase.startswith("Waiting for quota, about ") and phase.endswith(" s")
    assert 55 <= int(phase.split()[-2]) <= 62
    assert second.budget_held == second.cost_estimate

    # A minute later its task, due then, runs.
    age_uses(62)
    Version.objects.filter(pk=second.pk).update(retry_at=timezone.now())
    generation.generation_advance(version_id=second.pk)
    second.refresh_from_db()
    assert (second.status, second.error_kind) == (Version.Status.READY, "")


def test_a_version_over_the_days_cap_is_refused_before_paying(quota, project, member):
    quota(per_day=1)
    arguments = {
        "project": project,
        "membership": member,
        "author": member.user,
        "kind": "text_to_video",
        "prompt": "A lighthouse",
        "aspect_ratio": "16:9",
        "resolution": "480p",
        "duration_seconds": 3,
        "engine": "local",
    }
    queued = [versions.version_create(**arguments) for _ in range(2)]
    for version in queued:
        generation.generation_advance(version_id=version.pk)
    ready, refused = (Version.objects.get(pk=v.pk) for v in queued)
    assert ready.status == Version.Status.READY
    assert (refused.status, refused.error_kind) == (Version.Status.FAILED, "quota_exhausted")
    assert "starts again at 00:00 UTC" in refused.error_message
    assert refused.interaction_id == "" and refused.paid_call_started_at is None
    assert refused.budget_held == 0
    # Once the day is full, a new one is refused at once, and nothing is made.
    with pytest.raises(StudioError, match="Today's 1 generations") as at_once:
        versions.version_create(**arguments)
    assert at_once.value.field == "engine"
    assert Version.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_workers_taking_at_once_never_pass_the_cap(quota):
    quota(per_day=10, per_minute=100)
    version = VersionFactory()
    racers, each = 6, 4
    start = threading.Barrier(racers)
    outcomes: list[str] = []

    def worker() -> None:
        try:
            start.wait()
            for _ in range(each):
                try:
                    take(version.pk)
                    outcomes.append("taken")
                except throttle.QuotaExhausted:
                    outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert outcomes.count("taken") == QuotaUse.objects.count() == 10
    assert outcomes.count("refused") == racers * each - 10


def test_old_uses_are_pruned(quota):
    quota(per_day=100)
    take()
    take()
    age_uses(3 * 24 * 3600)
    take()
    assert throttle.quota_uses_prune(before=timezone.now() - timedelta(days=2)) == 2
    assert QuotaUse.objects.count() == 1
