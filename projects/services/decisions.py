"""What people decide about a running or finished version: cancel it, retry
it, or settle one that may or may not have been paid for.

The version's life itself (claims, leases, the paid call, polling, saving)
is in ``generation``; these are the doors a person (page or API) opens into
it, each a conditional update that names the state it expects.
"""

from __future__ import annotations

from contextlib import suppress
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from projects.models import Membership, Version
from projects.services.access import require_role
from projects.services.broadcast import record_event
from projects.services.budgets import budget_hold, budget_settle
from projects.services.engines import get_engine
from projects.services.errors import StudioError
from projects.services.queue import CANCEL_INTERACTION, enqueue, enqueue_generation
from projects.services.replays import replay_step_finished
from studio.engines.base import EngineError, ErrorKind

# Interaction errors that left no trace at the engine worth polling again.
POLL_AGAIN_KINDS = {ErrorKind.UNAVAILABLE, ErrorKind.TIMED_OUT, ErrorKind.RATE_LIMITED}


def version_cancel(*, version: Version, membership: Membership) -> None:
    require_role(membership, generate=True)
    now = timezone.now()
    with transaction.atomic():
        changed = Version.objects.filter(
            pk=version.pk, status__in=[*Version.Status.unfinished(), Version.Status.RECONCILE]
        ).update(
            status=Version.Status.CANCELLED,
            fence=F("fence") + 1,
            lease_until=None,
            retry_at=None,
            error_kind=ErrorKind.CANCELLED,
            error_message=f"Cancelled by {membership.user.get_username()}.",
            finished_at=now,
            updated_at=now,
        )
        if not changed:
            raise StudioError(f"{version.label} is {version.get_status_display().lower()}.")
        version.refresh_from_db()
        budget_settle(version=version, cost=Decimal(0))
        if version.interaction_id:
            enqueue(CANCEL_INTERACTION, version.pk)
        replay_step_finished(version=version)
        record_event(version, kind="state")


def interaction_cancel(*, version_id: int) -> None:
    version = Version.objects.get(pk=version_id)
    if version.interaction_id:
        with suppress(EngineError):
            get_engine(version.engine).cancel(version.interaction_id)


def version_retry(
    *, version: Version, membership: Membership, same_prompt_confirmed: bool = False
) -> None:
    """Try a failed version again as a new attempt. When its interaction
    exists and only reaching it failed, poll it again instead of paying for
    another. A blocked version on a paid engine is retried only once the
    person confirmed that the same prompt is charged (and likely blocked)
    again."""
    require_role(membership, generate=True)
    if not version.can_retry:
        raise StudioError(
            f"{version.label} is {version.get_status_display().lower()}; it cannot be retried."
        )
    if (
        version.status == Version.Status.BLOCKED
        and not same_prompt_confirmed
        and get_engine(version.engine).capabilities().paid
    ):
        raise StudioError(
            f"{version.label} was blocked by the engine's safety filters. Retrying sends the "
            "same prompt, which is charged and most likely blocked again: change the prompt "
            "(edit its parent), or confirm that you want to retry it unchanged.",
            field="confirm_same_prompt",
        )
    poll_again = bool(version.interaction_id) and version.error_kind in POLL_AGAIN_KINDS
    fields = {
        "status": Version.Status.GENERATING if poll_again else Version.Status.QUEUED,
        "fence": F("fence") + 1,
        "attempt": F("attempt") + 1,
        "lease_until": None,
        "retry_at": None,
        "transient_failures": 0,
        "progress": None,
        "error_kind": "",
        "error_message": "",
        "finished_at": None,
        "updated_at": timezone.now(),
    }
    if not poll_again and version.interaction_id:
        fields["abandoned_interaction_ids"] = [
            *version.abandoned_interaction_ids,
            version.interaction_id,
        ]
        fields["interaction_id"] = ""
        fields["output_uri"] = ""
    with transaction.atomic():
        changed = Version.objects.filter(pk=version.pk, status=version.status).update(**fields)
        if not changed:
            raise StudioError(f"{version.label} changed meanwhile; reload and try again.")
        version.refresh_from_db()
        budget_hold(version=version)
        enqueue_generation(version.pk, submit=not poll_again)
        record_event(version, kind="state")


def version_reconcile(*, version: Version, membership: Membership, resubmit: bool) -> None:
    """A person's decision on a version that may or may not have been paid for."""
    require_role(membership, generate=True)
    if version.status != Version.Status.RECONCILE:
        raise StudioError(f"{version.label} does not need a decision.")
    if not resubmit:
        version_cancel(version=version, membership=membership)
        return
    with transaction.atomic():
        changed = Version.objects.filter(pk=version.pk, status=Version.Status.RECONCILE).update(
            status=Version.Status.QUEUED,
            fence=F("fence") + 1,
            attempt=F("attempt") + 1,
            lease_until=None,
            error_kind="",
            error_message="",
            updated_at=timezone.now(),
        )
        if not changed:
            raise StudioError(f"{version.label} changed meanwhile; reload and try again.")
        version.refresh_from_db()
        budget_hold(version=version)
        enqueue_generation(version.pk, submit=True)
        record_event(version, kind="state")
