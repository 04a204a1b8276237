"""Submission throttles: when an engine answers "too many requests" to a new
generation, every worker holds that account's next submissions until the
engine's Retry-After has passed, instead of each finding out with a call."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from projects.models import EngineThrottle


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
