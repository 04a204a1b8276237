"""Crash recovery: the sweeper re-enqueues versions whose worker died.

django-tasks-db leaves a killed worker's task RUNNING for ever and never
retries it, so the version rows (their leases) say what needs resuming.
Every worker process runs the sweep on a schedule (the ``resume`` job of
``projects.services.housekeeping``), so no task of its own can be lost.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from projects.models import Version
from projects.services.queue import ADVANCE_GENERATION, enqueue_generation


def resumable_versions(*, on_startup: bool = False):
    """Ids of unfinished versions whose lease expired, or that have had no
    worker for longer than a lease (on startup: no worker at all)."""
    now = timezone.now()
    stale = now if on_startup else now - timedelta(seconds=settings.STUDIO_LEASE_SECONDS)
    return (
        Version.objects.unfinished()
        .filter(Q(lease_until__lt=now) | Q(lease_until__isnull=True, updated_at__lt=stale))
        .filter(Q(retry_at__isnull=True) | Q(retry_at__lte=now))
        .values_list("pk", flat=True)
    )


def versions_sweep(*, on_startup: bool = False) -> int:
    """Re-enqueue every resumable version that has no task waiting for a
    worker already; returns how many. An extra task would be harmless (only
    one worker can claim a version), but the queue would grow at every sweep
    while workers are busy."""
    waiting = _waiting_for_a_worker()
    count = 0
    for version_id in resumable_versions(on_startup=on_startup):
        if version_id in waiting:
            continue
        enqueue_generation(version_id)
        count += 1
    return count


def _waiting_for_a_worker() -> set[int]:
    rows = DBTaskResult.objects.filter(status="READY", task_path=ADVANCE_GENERATION)
    return {
        args[0]
        for args in rows.values_list("args_kwargs__args", flat=True)
        if isinstance(args, list) and args
    }
