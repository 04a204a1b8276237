"""How fast the studio may call an engine account (an engine and its API
key), shared by every worker and server through the database.

Throttles: when an engine answers "too many requests" to a new generation,
every worker holds that account's next submissions until the engine's
Retry-After has passed, instead of each finding out with a call.

Quotas: the requests per rolling minute and generations per UTC day the
account is allowed (settings). A use is taken immediately before the paid
call, under a lock on the account's row, so concurrent workers never count
past the limit; a generation over the minute's quota waits in the queue,
one over the day's is refused before paying.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from projects.models import EngineThrottle, QuotaUse
from projects.services.engines import capabilities_of

# A use leaves the rolling minute this much later than its own time, against
# the latency between taking it and the request reaching the engine.
QUOTA_MARGIN = timedelta(seconds=1)
# An account that was never throttled.
NEVER = datetime(2000, 1, 1, tzinfo=UTC)
# What a version's error_kind says while it waits for the minute's quota,
# and once the day's refused it.
QUOTA_WAIT = "quota"
QUOTA_EXHAUSTED = "quota_exhausted"


def engine_account(engine: str) -> str:
    """The engine's account as the throttle knows it: the engine and a digest
    of its API key, so two keys are throttled apart and no key is stored."""
    option = settings.STUDIO_ENGINE_OPTIONS.get(engine, {}).get("api_key")
    key = str(getattr(settings, option, "") or "") if option else ""
    return f"{engine}:{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def throttle_until(*, engine: str) -> datetime | None:
    """When submissions on this engine's account may start again, if not yet."""
    until = (
        EngineThrottle.objects.filter(account=engine_account(engine), until__gt=timezone.now())
        .values_list("until", flat=True)
        .first()
    )
    return until


def throttle_engine(*, engine: str, retry_after: float | None) -> datetime:
    """Hold the account's submissions for the engine's Retry-After (or the
    default pause); a later answer only ever extends the hold."""
    seconds = retry_after if retry_after is not None else settings.STUDIO_THROTTLE_SECONDS
    until = timezone.now() + timedelta(seconds=max(0.0, seconds))
    account = engine_account(engine)
    throttle, created = EngineThrottle.objects.get_or_create(
        account=account, defaults={"until": until}
    )
    if not created:
        EngineThrottle.objects.filter(pk=throttle.pk, until__lt=until).update(until=until)
    return until


# Quotas


@dataclass(frozen=True)
class Quota:
    per_minute: int | None
    per_day: int | None

    @property
    def limited(self) -> bool:
        return bool(self.per_minute or self.per_day)


class QuotaWait(Exception):
    """The account's per-minute quota is used up: the next request may go at
    ``until``."""

    def __init__(self, message: str, *, until: datetime):
        super().__init__(message)
        self.message = message
        self.until = until


class QuotaExhausted(Exception):
    """The account's generations for the day are used up, until ``resets_at``."""

    def __init__(self, message: str, *, resets_at: datetime):
        super().__init__(message)
        self.message = message
        self.resets_at = resets_at


@dataclass(frozen=True)
class QuotaUsage:
    """An account's use against its quotas, for the settings page."""

    engine: str
    label: str
    quota: Quota
    last_minute: int
    today: int
    per_minute_now: int | None  # lowered after a "too many requests"
    resets_at: datetime


def engine_quota(engine: str) -> Quota:
    limits = settings.STUDIO_ENGINE_QUOTAS.get(engine, {})
    return Quota(per_minute=limits.get("per_minute"), per_day=limits.get("per_day"))


def quota_day_resets_at(now: datetime) -> datetime:
    """The next midnight UTC: when a day's count starts again."""
    today = now.astimezone(UTC).date()
    return datetime.combine(today + timedelta(days=1), time(), tzinfo=UTC)


def quota_check(*, engine: str) -> None:
    """Raise QuotaWait or QuotaExhausted when a request now would be over the
    account's quota; takes nothing (a look before preparing a submission)."""
    quota = engine_quota(engine)
    if quota.limited:
        _refuse_if_over(engine_account(engine), quota, timezone.now())


def quota_day_check(*, engine: str) -> None:
    """Raise QuotaExhausted when the account's generations for the day are
    used up (a request over the minute's quota only waits its turn)."""
    quota = engine_quota(engine)
    if quota.per_day:
        _refuse_if_day_over(engine_account(engine), quota, timezone.now())


def quota_take(*, engine: str, version_id: int) -> None:
    """Take one request of the account's quotas, or raise QuotaWait or
    QuotaExhausted. Counted and taken while holding the account's row, so
    workers and servers taking at once never pass the limit together."""
    quota = engine_quota(engine)
    if not quota.limited:
        return
    account = engine_account(engine)
    with transaction.atomic():
        EngineThrottle.objects.get_or_create(account=account, defaults={"until": NEVER})
        # Any write locks the row until commit (PostgreSQL's row lock; SQLite
        # takes the database's write lock at the transaction's start).
        EngineThrottle.objects.filter(account=account).update(until=F("until"))
        now = timezone.now()
        _refuse_if_over(account, quota, now)
        QuotaUse.objects.create(account=account, version_id=version_id, used_at=now)


def quota_usage(*, engines: list[str]) -> list[QuotaUsage]:
    """Each limited engine's use of its account's quotas now."""
    now = timezone.now()
    found = []
    for engine in engines:
        quota = engine_quota(engine)
        if not quota.limited:
            continue
        account = engine_account(engine)
        uses = QuotaUse.objects.filter(account=account)
        found.append(
            QuotaUsage(
                engine=engine,
                label=capabilities_of(engine).label,
                quota=quota,
                last_minute=uses.filter(used_at__gt=now - _minute()).count(),
                today=uses.filter(used_at__gte=_day_start(now)).count(),
                per_minute_now=_per_minute_now(account, quota, now),
                resets_at=quota_day_resets_at(now),
            )
        )
    return found


def quota_uses_prune(*, before: datetime, dry_run: bool = False) -> int:
    """Uses from before ``before`` (days old: no quota counts them)."""
    rows = QuotaUse.objects.filter(used_at__lt=before)
    return rows.count() if dry_run else rows.delete()[0]


def _minute() -> timedelta:
    return timedelta(seconds=settings.STUDIO_QUOTA_MINUTE_SECONDS)


def _day_start(now: datetime) -> datetime:
    return quota_day_resets_at(now) - timedelta(days=1)


def _per_minute_now(account: str, quota: Quota, now: datetime) -> int | None:
    """The per-minute quota, halved while the engine's last "too many
    requests" is less than a minute past: its own count disagrees with ours."""
    if not quota.per_minute:
        return None
    held = EngineThrottle.objects.filter(account=account).values_list("until", flat=True).first()
    if held is not None and held > now - _minute():
        return max(1, quota.per_minute // 2)
    return quota.per_minute


def _refuse_if_day_over(account: str, quota: Quota, now: datetime) -> None:
    uses = QuotaUse.objects.filter(account=account, used_at__gte=_day_start(now))
    if quota.per_day and uses.count() >= quota.per_day:
        resets_at = quota_day_resets_at(now)
        raise QuotaExhausted(
            f"Today's {quota.per_day:,} generations on this engine's key are used up; the "
            f"count starts again at {resets_at:%H:%M} UTC "
            f"(in {_duration(resets_at - now)}). Nothing was charged.",
            resets_at=resets_at,
        )


def _refuse_if_over(account: str, quota: Quota, now: datetime) -> None:
    _refuse_if_day_over(account, quota, now)
    uses = QuotaUse.objects.filter(account=account)
    limit = _per_minute_now(account, quota, now)
    if limit:
        window = _minute() + QUOTA_MARGIN
        recent = list(
            uses.filter(used_at__gt=now - window)
            .order_by("-used_at")
            .values_list("used_at", flat=True)[:limit]
        )
        if len(recent) >= limit:
            until = recent[limit - 1] + window
            lowered = " (lowered after the engine asked to slow down)"
            raise QuotaWait(
                f"Waiting for quota: {limit} request{'s' if limit != 1 else ''} a minute "
                "on this engine's key"
                f"{lowered if limit != quota.per_minute else ''}.",
                until=until,
            )


def _duration(delta: timedelta) -> str:
    minutes = max(1, round(delta.total_seconds() / 60))
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"
