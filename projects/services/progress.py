"""What a progress bar shows: the phase, a percentage when the engine gives
one, and an estimate of the time left learned from past durations."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Avg, DurationField, ExpressionWrapper, F, Q
from django.utils import timezone

from projects.models import Version


@dataclass(frozen=True)
class ProgressView:
    phase: str
    percent: int | None
    eta_seconds: int | None


def progress_view(version: Version, *, typical_seconds: float | None = None) -> ProgressView:
    phase = version.get_status_display()
    if version.status == Version.Status.QUEUED and version.retry_at:
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


def typical_durations(versions: Iterable[Version]) -> dict[tuple[str, str, str, int], float]:
    """Average seconds from submission to ready, for each (engine, model,
    resolution, duration) among the given unfinished versions: one query."""
    keys = {
        (v.engine, v.model, v.resolution, v.duration_seconds) for v in versions if v.is_unfinished
    }
    if not keys:
        return {}
    condition = Q()
    for engine, model, resolution, duration in keys:
        condition |= Q(engine=engine, model=model, resolution=resolution, duration_seconds=duration)
    rows = (
        Version.objects.filter(condition, status=Version.Status.READY, submitted_at__isnull=False)
        .values("engine", "model", "resolution", "duration_seconds")
        .annotate(
            average=Avg(
                ExpressionWrapper(
                    F("finished_at") - F("submitted_at"), output_field=DurationField()
                )
            )
        )
    )
    return {
        (row["engine"], row["model"], row["resolution"], row["duration_seconds"]): row[
            "average"
        ].total_seconds()
        for row in rows
        if row["average"] is not None
    }


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
