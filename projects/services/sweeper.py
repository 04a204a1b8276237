"""Crash recovery: the sweeper re-enqueues versions whose worker died.

django-tasks-db leaves a killed worker's task RUNNING for ever and never
retries it, so the version rows (their leases) say what needs resuming.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from projects.models import Version
from projects.services.queue import SWEEP_VERSIONS, enqueue, enqueue_generation


def versions_sweep(*, on_startup: bool = False) -> int:
    """Re-enqueue every unfinished version whose lease expired, or that has
    had no worker for longer than a lease (on startup: no worker at all).
    Returns how many were resumed. Extra tasks are harmless: only one worker
    can claim a version."""
    now = timezone.now()
    stale = now if on_startup else now - timedelta(seconds=settings.STUDIO_LEASE_SECONDS)
    resumable = (
        Version.objects.unfinished()
        .filter(Q(lease_until__lt=now) | Q(lease_until__isnull=True, updated_at__lt=stale))
        .filter(Q(retry_at__isnull=True) | Q(retry_at__lte=now))
        .values_list("pk", flat=True)
    )
    count = 0
    for version_id in resumable:
        enqueue_generation(version_id)
        count += 1
    return count


def sweeper_ensure() -> None:
    """Keep one sweep scheduled while there is unfinished work."""
    recent = timezone.now() - timedelta(seconds=settings.STUDIO_SWEEP_SECONDS * 4)
    pending = DBTaskResult.objects.filter(task_path=SWEEP_VERSIONS).filter(
        Q(status="READY") | Q(status="RUNNING", started_at__gte=recent)
    )
    if not pending.exists():
        _schedule_sweep()


def sweep_and_reschedule() -> None:
    versions_sweep()
    if Version.objects.unfinished().exists():
        _schedule_sweep()


def _schedule_sweep() -> None:
    run_after = timezone.now() + timedelta(seconds=settings.STUDIO_SWEEP_SECONDS)
    enqueue(SWEEP_VERSIONS, run_after=run_after)
