"""Who owns a version: a worker's claim (a lease and a fence) and the one way
a worker changes a version, a conditional UPDATE naming the state it
expects and its fence, so a stale or duplicate worker changes nothing.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from projects.models import Version
from projects.services import webhooks
from projects.services.broadcast import record_event
from projects.services.budgets import budget_settle
from projects.services.notifications import version_outcome_notify
from projects.services.replays import replay_step_finished


class LeaseLost(Exception):
    """This worker no longer owns the version: it was cancelled, or another
    worker took it over. Stop without writing anything."""


class WorkerStopping(LeaseLost):
    """The process is shutting down: stop the work and let the version be
    resumed from its last safe state."""


# Set when the studio process is asked to stop (Ctrl-C): running work stops
# at its next progress report instead of being cut off mid-write.
shutdown_requested = threading.Event()


# Finished for good: what the version holds of its budget becomes its cost.
# A version that needs a decision keeps its hold until the decision.
DONE = {
    Version.Status.READY,
    Version.Status.FAILED,
    Version.Status.BLOCKED,
    Version.Status.CANCELLED,
}


def lease_until() -> datetime:
    return timezone.now() + timedelta(seconds=settings.STUDIO_LEASE_SECONDS)


def version_claim(*, version_id: int) -> Version | None:
    """Take the version for this worker: only one worker holds an unexpired
    lease, and taking it bumps the fence so earlier holders are shut out."""
    now = timezone.now()
    claimed = (
        Version.objects.filter(pk=version_id, status__in=Version.Status.unfinished())
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .filter(Q(retry_at__isnull=True) | Q(retry_at__lte=now))
        .update(fence=F("fence") + 1, lease_until=lease_until())
    )
    if not claimed:
        return None
    return Version.objects.select_related("project__workspace").get(pk=version_id)


def version_write(version: Version, *, expect: str, event: str = "state", **fields) -> None:
    """Change the version if this worker still owns it in the expected state."""
    fields.setdefault("lease_until", lease_until())
    fields["updated_at"] = timezone.now()
    with transaction.atomic():
        changed = Version.objects.filter(pk=version.pk, fence=version.fence, status=expect).update(
            **fields
        )
        if not changed:
            raise LeaseLost(f"v{version.number} is no longer ours to write")
        for name, value in fields.items():
            setattr(version, name, value)
        if fields.get("status") in DONE:
            budget_settle(version=version, cost=fields.get("cost") or Decimal(0))
        if "status" in fields:
            version_outcome_notify(version=version)
            replay_step_finished(version=version)
        record_event(version, kind=event)
        webhooks.version_event_record(version=version)
