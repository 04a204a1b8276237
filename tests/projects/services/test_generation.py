"""The paid call of a generation: marked before it is made, never made by a
worker that lost the version, and never thrown away once it was made."""

import time

import pytest
from django.db.models import F

from projects.models import Version
from projects.services import decisions, engines, leases, versions
from tests.engines import CountingEngine, ScriptedEngine


@pytest.fixture
def scripted(settings):
    settings.STUDIO_ENGINES = {
        **settings.STUDIO_ENGINES,
        "scripted": "tests.engines.ScriptedEngine",
    }
    CountingEngine.submits.clear()
    CountingEngine.polls.clear()
    ScriptedEngine.cancels.clear()
    yield ScriptedEngine
    ScriptedEngine.while_preparing = ScriptedEngine.after_paid_call = None
    engines.get_engine.cache_clear()


def create(project, member):
    return versions.version_create(
        project=project,
        membership=member,
        author=member.user,
        kind=Version.Kind.TEXT_TO_VIDEO,
        prompt="A paper boat on a rain gutter. Lighting: overcast.",
        aspect_ratio="16:9",
        resolution="480p",
        duration_seconds=3,
        engine="scripted",
    )


def test_the_lease_holds_while_preparing_takes_longer_than_the_lease(
    project, member, tasks, scripted, settings
):
    settings.STUDIO_LEASE_SECONDS = 1
    version = create(project, member)
    rival_claims = []

    def long_upload(request):
        for _ in range(5):  # 2 s of uploading and waiting, twice the lease
            time.sleep(0.4)
            request.keep_alive()
            rival_claims.append(leases.version_claim(version_id=version.pk))

    scripted.while_preparing = long_upload
    tasks()
    version.refresh_from_db()
    assert rival_claims == [None] * 5, "another worker took the version mid-upload"
    assert version.status == Version.Status.READY
    assert len(CountingEngine.submits) == 1


def test_a_worker_that_lost_the_version_while_preparing_never_pays(
    project, member, tasks, scripted
):
    version = create(project, member)

    def taken_over(request):
        Version.objects.filter(pk=version.pk).update(fence=F("fence") + 1)

    scripted.while_preparing = taken_over
    tasks()
    version.refresh_from_db()
    assert CountingEngine.submits == []
    assert version.paid_call_started_at is None
    assert version.status == Version.Status.SUBMITTING  # the other worker's now


def test_a_paid_call_answered_after_the_version_was_parked_carries_on(
    project, member, tasks, scripted
):
    version = create(project, member)

    def parked_by_a_rival(request):
        # The lease ran out during the paid call; another worker saw the
        # mark without an id and asked for a decision.
        Version.objects.filter(pk=version.pk).update(
            status=Version.Status.RECONCILE, fence=F("fence") + 1, lease_until=None
        )

    scripted.after_paid_call = parked_by_a_rival
    tasks()
    version.refresh_from_db()
    assert version.status == Version.Status.READY
    assert CountingEngine.submits == [version.interaction_id]
    assert scripted.cancels == []
    assert version.error_message == ""


def test_a_paid_call_answered_after_a_cancel_is_kept_and_cancelled_at_the_engine(
    project, member, tasks, scripted
):
    version = create(project, member)

    def cancelled(request):
        decisions.version_cancel(version=Version.objects.get(pk=version.pk), membership=member)

    scripted.after_paid_call = cancelled
    tasks()
    version.refresh_from_db()
    assert version.status == Version.Status.CANCELLED
    assert version.interaction_id == CountingEngine.submits[0]
    assert version.interaction_id in scripted.cancels
