"""What a progress bar shows: the phase, a percentage when the engine gives
one, and an estimate of the time left learned from past durations."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.cache import cache
from django.utils import timezone

from projects.models import Version
from projects.services.throttle import QUOTA_WAIT


@dataclass(frozen=True)
class ProgressView:
    phase: str
    percent: int | None
    eta_seconds: int | None


def progress_view(version: Version, *, typical_seconds: float | None = None) -> ProgressView:
    phase = version.get_status_display()
    if version.status == Version.Status.QUEUED and version.retry_at:
        if version.error_kind == QUOTA_WAIT:
            left = max(1, round((version.retry_at - timezone.now()).total_seconds()))
            phase = f"Waiting for quota, about {left} s"
        else:
            phase = f"Retrying at {timezone.localtime(version.retry_at):%H:%M:%S}"
    percent = None if version.progress is None else round(version.progress * 100)
    eta = None
    started = version.submitted_at
    if version.is_unfinished and started:
        elapsed = (timezone.now() - started).total_seconds()
        if version.progress and version.progress > 0.02:
            eta = elapsed / version.progress * (1 - version.progress)
        elif typical_seconds:
            eta = max(typical_seconds - elapsed, 0)
    return ProgressView(
        phase=phase, percent=percent, eta_seconds=None if eta is None else round(eta)
    )


# Estimates learn from the latest versions of the same kind that finished
# (the model's speed drifts), and are kept for a minute: every event's render
# asks again.
ESTIMATE_SAMPLE = 50
ESTIMATE_CACHE_SECONDS = 60
UNKNOWN_RECHECK_SECONDS = 1

DurationKey = tuple[str, str, str, int]


def typical_durations(versions: Iterable[Version]) -> dict[DurationKey, float]:
    """Average seconds from submission to ready of the latest finished
    versions of each (engine, model, resolution, duration) among the given
    unfinished ones: a query per kind at most (an index range each), none
    while the estimates are fresh."""
    keys = {duration_key(v) for v in versions if v.is_unfinished}
    if not keys:
        return {}
    cached = cache.get_many([_cache_key(key) for key in keys])
    found = {key: cached[_cache_key(key)] for key in keys if _cache_key(key) in cached}
    fresh = {key: _learn(key) for key in keys - found.keys()}
    if fresh:
        cache.set_many(
            {_cache_key(key): value for key, value in fresh.items()}, ESTIMATE_CACHE_SECONDS
        )
    found.update(fresh)
    return {key: value for key, value in found.items() if value is not None}


def duration_key(version: Version) -> DurationKey:
    return (version.engine, version.model, version.resolution, version.duration_seconds)


def typical_seconds(version: Version) -> float | None:
    """The estimate for a worker's next poll. While nothing is known it is
    looked for again at most every UNKNOWN_RECHECK_SECONDS (by one worker of
    them all), not kept as "unknown" for a minute as the pages keep it, so
    the first versions to finish teach the polls at once; 200 versions in
    flight would otherwise each run the query on every poll."""
    key = duration_key(version)
    value = cache.get(_cache_key(key))
    if value is None and cache.add(_cache_key(key) + ":looked", True, UNKNOWN_RECHECK_SECONDS):
        value = _learn(key)
        if value is not None:
            cache.set(_cache_key(key), value, ESTIMATE_CACHE_SECONDS)
    return value


def _learn(key: DurationKey) -> float | None:
    engine, model, resolution, duration = key
    latest = (
        Version.objects.filter(
            engine=engine,
            model=model,
            resolution=resolution,
            duration_seconds=duration,
            status=Version.Status.READY,
            finished_at__isnull=False,
            submitted_at__isnull=False,
        )
        .order_by("-finished_at")
        .values_list("submitted_at", "finished_at")[:ESTIMATE_SAMPLE]
    )
    seconds = [(finished - submitted).total_seconds() for submitted, finished in latest]
    return sum(seconds) / len(seconds) if seconds else None


def _cache_key(key: DurationKey) -> str:
    engine, model, resolution, duration = key
    return f"studio:eta:{engine}:{model}:{resolution}:{duration}"


def progress_for(versions: Iterable[Version]) -> dict[int, ProgressView]:
    """Each version's progress bar, with estimates from one query."""
    versions = list(versions)
    typical = typical_durations(versions)
    return {
        v.pk: progress_view(
            v, typical_seconds=typical.get((v.engine, v.model, v.resolution, v.duration_seconds))
        )
        for v in versions
    }
