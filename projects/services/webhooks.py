"""Webhooks: a workspace's owners register endpoints for the events they
want; every event is delivered once per endpoint, after the transaction
that made it commits, signed with the endpoint's secret, retried through
the task queue with exponential backoff, and logged.

A delivery is a POST of the JSON envelope
``{"id", "event", "created_at", "workspace_id", "project_id", "data"}``
(``data`` as the API shows the version, comment or review) with the headers
``Studio-Event``, ``Studio-Delivery-Id`` (the envelope's id, the same on
every attempt and redelivery) and ``Studio-Signature: t=<unix time>,v1=<hex
HMAC-SHA256 of "<t>.<body>" with the secret>``. Any 2xx answer is success;
anything else (a redirect too: they are not followed) is retried. An
endpoint whose deliveries keep failing is turned off and its owners mailed.
Where deliveries may go is projects.services.webhook_targets' say.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.mail import send_mail
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.http import Http404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from projects.models import (
    Comment,
    Membership,
    Review,
    Version,
    WebhookDelivery,
    WebhookEndpoint,
)
from projects.services import webhook_targets
from projects.services.access import require
from projects.services.api_shapes import comment_out, review_out, version_detail
from projects.services.errors import StudioError
from projects.services.queue import DELIVER_WEBHOOK, enqueue

logger = logging.getLogger(__name__)

Event = WebhookEndpoint.Event
EVENT_FOR_STATUS = {
    Version.Status.READY: Event.VERSION_READY,
    Version.Status.FAILED: Event.VERSION_FAILED,
    Version.Status.BLOCKED: Event.VERSION_BLOCKED,
    Version.Status.RECONCILE: Event.VERSION_NEEDS_DECISION,
}
SECRET_PREFIX = "whsec_"
# A pending delivery whose task should have run this long ago, or whose
# attempt started this long ago without an outcome, lost its task.
STRANDED_AFTER = timedelta(minutes=5)
MAX_ENDPOINTS_PER_WORKSPACE = 20
USER_AGENT = "OmniStudio-Webhooks/1"


# Signing.


def signature(*, secret: str, timestamp: int, body: str) -> str:
    """The Studio-Signature header's value for a body sent at timestamp."""
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def _new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


# Endpoints, for owners.


def _owner(membership: Membership) -> None:
    require(membership.is_owner, "Only the workspace's owners manage its webhooks.")


def _events_checked(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(Event.values))
    if unknown:
        raise StudioError(f"Unknown events: {', '.join(unknown)}.", field="events")
    if not events:
        raise StudioError("Choose at least one event.", field="events")
    return [event for event in Event.values if event in events]


def endpoints_for(*, membership: Membership) -> QuerySet[WebhookEndpoint]:
    _owner(membership)
    return WebhookEndpoint.objects.filter(workspace=membership.workspace)


def endpoint_for(*, membership: Membership, endpoint_id: int | None) -> WebhookEndpoint:
    """One of the workspace's endpoints (owners; 404 for any other)."""
    endpoint = endpoints_for(membership=membership).filter(pk=endpoint_id).first()
    if endpoint is None:
        raise Http404("No such webhook.")
    return endpoint


def endpoint_create(
    *, membership: Membership, url: str, events: list[str], description: str = ""
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint. Its secret is returned now and never shown again."""
    _owner(membership)
    description = " ".join(description.split())
    if len(description) > 100:
        raise StudioError("Keep the description under 100 characters.", field="description")
    if len(url.strip()) > 500:
        raise StudioError("Keep the URL under 500 characters.", field="url")
    events = _events_checked(events)
    url = webhook_targets.url_checked(url)
    if membership.workspace.webhook_endpoints.count() >= MAX_ENDPOINTS_PER_WORKSPACE:
        raise StudioError(
            f"A workspace has at most {MAX_ENDPOINTS_PER_WORKSPACE} webhooks: delete one first."
        )
    secret = _new_secret()
    endpoint = WebhookEndpoint.objects.create(
        workspace=membership.workspace,
        url=url,
        description=description,
        events=events,
        secret=secret,
        created_by=membership.user,
    )
    return endpoint, secret


def endpoint_rotate_secret(
    *, membership: Membership, endpoint: WebhookEndpoint
) -> tuple[WebhookEndpoint, str]:
    """A new secret, returned now and never shown again; the old one stops
    signing at once (attempts still to come are signed with the new one)."""
    _owner(membership)
    endpoint.secret = _new_secret()
    endpoint.secret_rotated_at = timezone.now()
    endpoint.save(update_fields=["secret", "secret_rotated_at"])
    return endpoint, endpoint.secret


def endpoint_enable(*, membership: Membership, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Turn an endpoint that was turned off for failing back on."""
    _owner(membership)
    endpoint.disabled_at = None
    endpoint.disabled_reason = ""
    endpoint.consecutive_failures = 0
    endpoint.save(update_fields=["disabled_at", "disabled_reason", "consecutive_failures"])
    return endpoint


def endpoint_delete(*, membership: Membership, endpoint: WebhookEndpoint) -> None:
    _owner(membership)
    endpoint.delete()


def deliveries_for(*, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    """The endpoint's log, newest first (the caller found the endpoint
    through ``endpoint_for``)."""
    return endpoint.deliveries.order_by("-created_at", "-pk")


def delivery_for(*, endpoint: WebhookEndpoint, delivery_id: int | None) -> WebhookDelivery:
    delivery = endpoint.deliveries.filter(pk=delivery_id).first()
    if delivery is None:
        raise Http404("No such delivery.")
    return delivery


def delivery_redeliver(*, membership: Membership, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery's event again, as a delivery of its own with the same
    id and body (a receiver that handled it already can tell)."""
    _owner(membership)
    endpoint = delivery.endpoint
    if endpoint.workspace_id != membership.workspace_id:
        raise Http404("No such delivery.")
    if not endpoint.is_enabled:
        raise StudioError("This webhook is turned off: turn it on again to send to it.")
    with transaction.atomic():
        again = WebhookDelivery.objects.create(
            endpoint=endpoint,
            event_id=delivery.event_id,
            event=delivery.event,
            body=delivery.body,
            redelivery_of=delivery,
        )
        transaction.on_commit(partial(enqueue, DELIVER_WEBHOOK, again.pk))
    return again


def deliveries_prune(*, before: datetime, dry_run: bool) -> int:
    """Forget settled deliveries made before ``before`` (housekeeping)."""
    old = WebhookDelivery.objects.filter(created_at__lt=before).exclude(
        status=WebhookDelivery.Status.PENDING
    )
    return old.count() if dry_run else old.delete()[1].get(WebhookDelivery._meta.label, 0)


def deliveries_resume(*, dry_run: bool) -> list[int]:
    """Enqueue again the pending deliveries whose task was lost: never
    enqueued (the process died after the commit), or killed mid-attempt.
    A task that was only slow does no harm: an attempt is claimed once."""
    stale = timezone.now() - STRANDED_AFTER
    stranded = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING).filter(
        Q(next_attempt_at__lt=stale)
        | Q(next_attempt_at__isnull=True, attempts=0, created_at__lt=stale)
        | Q(next_attempt_at__isnull=True, last_attempt_at__lt=stale)
    )
    ids = list(stranded.values_list("pk", flat=True)[:1000])
    if not dry_run:
        for pk in ids:
            enqueue(DELIVER_WEBHOOK, pk)
    return ids


# Events: recorded in the transaction that makes them, sent after it commits.


def _event_record(
    *, workspace_id: int, project_id: int, event: str, data: Callable[[], dict]
) -> None:
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(
            workspace_id=workspace_id, disabled_at__isnull=True
        )
        if endpoint.wants(event)
    ]
    if not endpoints:
        return
    event_id = uuid.uuid4()
    envelope = {
        "id": str(event_id),
        "event": event,
        "created_at": timezone.now(),
        "workspace_id": workspace_id,
        "project_id": project_id,
        "data": data(),
    }
    body = json.dumps(envelope, cls=DjangoJSONEncoder, separators=(",", ":"))
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(endpoint=endpoint, event_id=event_id, event=event, body=body)
        for endpoint in endpoints
    )
    for delivery in deliveries:
        transaction.on_commit(partial(enqueue, DELIVER_WEBHOOK, delivery.pk))


def version_event_record(*, version: Version) -> None:
    """A version that became ready, failed, was blocked or needs a decision."""
    event = EVENT_FOR_STATUS.get(version.status)
    if event is None:
        return
    _event_record(
        workspace_id=version.project.workspace_id,
        project_id=version.project_id,
        event=event,
        data=lambda: version_detail(version),
    )


def comment_event_record(*, comment: Comment) -> None:
    version = comment.version
    _version_part_record(
        version,
        event=Event.COMMENT_POSTED,
        name="comment",
        shape=lambda: comment_out(comment, version_number=version.number),
    )


def review_event_record(*, review: Review) -> None:
    version = review.version
    _version_part_record(
        version,
        event=Event.REVIEW_DECIDED,
        name="review",
        shape=lambda: review_out(review, version_number=version.number),
    )


def _version_part_record(
    version: Version, *, event: str, name: str, shape: Callable[[], dict]
) -> None:
    """An event about something on a version: that thing, and the version."""
    _event_record(
        workspace_id=version.project.workspace_id,
        project_id=version.project_id,
        event=event,
        data=lambda: {name: shape(), "version": version_detail(version)},
    )


# Delivering (the deliver_webhook task).


def delivery_attempt(*, delivery_id: int) -> None:
    """One attempt at a pending delivery. A failed one is retried later
    through the queue (run_after): no worker waits for a receiver to recover."""
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != WebhookDelivery.Status.PENDING:
        return  # deleted, or a duplicate task of a delivery already settled
    endpoint = delivery.endpoint
    if not endpoint.is_enabled:
        WebhookDelivery.objects.filter(
            pk=delivery.pk, status=WebhookDelivery.Status.PENDING
        ).update(
            status=WebhookDelivery.Status.FAILED,
            next_attempt_at=None,
            error="Not sent: the webhook is turned off.",
        )
        return
    now = timezone.now()
    if delivery.next_attempt_at and delivery.next_attempt_at > now:
        return  # a duplicate task, early for the next attempt
    in_flight = delivery.attempts and delivery.next_attempt_at is None
    if in_flight and delivery.last_attempt_at > now - STRANDED_AFTER:
        return  # another worker is sending it now
    # One attempt at a time, whichever worker runs the task.
    taken = WebhookDelivery.objects.filter(
        pk=delivery.pk, status=WebhookDelivery.Status.PENDING, attempts=delivery.attempts
    ).update(attempts=F("attempts") + 1, last_attempt_at=now, next_attempt_at=None)
    if not taken:
        return
    delivery.attempts += 1
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Studio-Event": delivery.event,
        "Studio-Delivery-Id": str(delivery.event_id),
        "Studio-Attempt": str(delivery.attempts),
        "Studio-Signature": signature(
            secret=endpoint.secret, timestamp=timestamp, body=delivery.body
        ),
    }
    try:
        answer = webhook_targets.post(endpoint.url, delivery.body.encode(), headers)
    except webhook_targets.TargetRefused as refused:
        # Refused before anything was sent: another try would be refused too.
        _failed(delivery, error=f"Not sent: {refused.message}", retry=False)
    except webhook_targets.SendFailed as failed:
        _failed(delivery, error=failed.message, latency_ms=failed.latency_ms)
    else:
        if 200 <= answer.status < 300:
            _succeeded(delivery, answer)
        else:
            redirect = " (redirects are not followed)" if 300 <= answer.status < 400 else ""
            _failed(
                delivery,
                error=f"The receiver answered {answer.status}{redirect}.",
                response_status=answer.status,
                response_body=answer.body_prefix,
                latency_ms=answer.latency_ms,
            )


def _succeeded(delivery: WebhookDelivery, answer: webhook_targets.Answer) -> None:
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.SUCCEEDED,
            delivered_at=timezone.now(),
            response_status=answer.status,
            response_body=answer.body_prefix,
            latency_ms=answer.latency_ms,
            error="",
        )
        WebhookEndpoint.objects.filter(pk=delivery.endpoint_id).update(consecutive_failures=0)


def retry_wait(attempts: int) -> timedelta:
    """How long to wait after the attempts made so far failed: the base,
    doubled for each further attempt, capped."""
    seconds = settings.STUDIO_WEBHOOKS_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.STUDIO_WEBHOOKS_RETRY_MAX_SECONDS))


def _failed(
    delivery: WebhookDelivery,
    *,
    error: str,
    retry: bool = True,
    response_status: int | None = None,
    response_body: str = "",
    latency_ms: int | None = None,
) -> None:
    now = timezone.now()
    retry_at = now + retry_wait(delivery.attempts)
    give_up_at = delivery.created_at + timedelta(seconds=settings.STUDIO_WEBHOOKS_RETRY_FOR_SECONDS)
    attempts_left = delivery.attempts < settings.STUDIO_WEBHOOKS_MAX_ATTEMPTS
    retry = retry and attempts_left and retry_at <= give_up_at
    logged = {
        "error": error[:500],
        "response_status": response_status,
        "response_body": response_body,
        "latency_ms": latency_ms,
    }
    with transaction.atomic():
        if retry:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                next_attempt_at=retry_at, **logged
            )
            enqueue(DELIVER_WEBHOOK, delivery.pk, run_after=retry_at)
            return
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.FAILED, next_attempt_at=None, **logged
        )
        turned_off = _endpoint_failed(delivery.endpoint_id)
    if turned_off:
        _owners_told(WebhookEndpoint.objects.select_related("workspace").get(pk=turned_off))


def _endpoint_failed(endpoint_id: int) -> int | None:
    """One more delivery failed in a row; enough of them turn it off (its id
    is returned when this one did)."""
    WebhookEndpoint.objects.filter(pk=endpoint_id).update(
        consecutive_failures=F("consecutive_failures") + 1
    )
    limit = settings.STUDIO_WEBHOOKS_DISABLE_AFTER_FAILURES
    reason = f"its last {limit} deliveries failed, every retry included."
    turned_off = WebhookEndpoint.objects.filter(
        pk=endpoint_id, disabled_at__isnull=True, consecutive_failures__gte=limit
    ).update(disabled_at=timezone.now(), disabled_reason=reason)
    return endpoint_id if turned_off else None


def _owners_told(endpoint: WebhookEndpoint) -> None:
    """Mail the workspace's owners that their webhook was turned off."""
    owners = endpoint.workspace.memberships.filter(role=Membership.Role.OWNER).select_related(
        "user"
    )
    emails = sorted({m.user.email for m in owners if m.user.email})
    if not emails:
        return
    send_mail(
        subject=f"A webhook of {endpoint.workspace.name} was turned off",
        message=render_to_string(
            "projects/email/webhook_disabled.txt",
            {
                "endpoint": endpoint,
                "settings_path": reverse("workspace_settings", args=[endpoint.workspace_id]),
            },
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=emails,
    )
