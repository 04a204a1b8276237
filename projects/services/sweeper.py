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

from projects.models import Version
from projects.services.queue import enqueue_generation


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
    """Re-enqueue every resumable version; returns how many. Extra tasks are
    harmless: only one worker can claim a version."""
    count = 0
    for version_id in resumable_versions(on_startup=on_startup):
        enqueue_generation(version_id)
        count += 1
    return count
