"""The API's webhooks: a workspace's endpoints and their deliveries (owners
only). A new or rotated secret is in that one answer and never again."""

from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from projects.api.common import READ_ERRORS, WRITE_ERRORS, Limit, Offset, RowId, request_user
from projects.api.schemas import ErrorOut, StrictSchema, text
from projects.models import Membership, WebhookDelivery, WebhookEndpoint
from projects.services import access, webhooks

router = Router(tags=["webhooks"])

EventName = Literal[tuple(WebhookEndpoint.Event.values)]  # type: ignore[valid-type]
DeliveryStatus = Literal[tuple(WebhookDelivery.Status.values)]  # type: ignore[valid-type]
OWNER_READ_ERRORS = {**READ_ERRORS, 403: ErrorOut}


class WebhookIn(StrictSchema):
    url: text(500, required=True) = Field(  # type: ignore[valid-type]
        description="https, to a public address (checked now and at every delivery)."
    )
    events: list[EventName] = Field(min_length=1, max_length=len(WebhookEndpoint.Event))
    description: text(100) = ""  # type: ignore[valid-type]


class WebhookOut(Schema):
    id: int
    url: str
    description: str
    events: list[EventName]
    enabled: bool
    consecutive_failures: int = Field(description="Deliveries that failed in a row.")
    disabled_at: datetime | None
    disabled_reason: str
    created_at: datetime
    secret_rotated_at: datetime | None
    secret: str | None = Field(
        None,
        description="The signing secret: only in the answer that creates or rotates it.",
    )


class DeliveryOut(Schema):
    id: int
    event_id: str = Field(description="The envelope's id and Studio-Delivery-Id header.")
    event: EventName
    status: DeliveryStatus
    attempts: int
    response_status: int | None
    latency_ms: int | None
    response_body: str = Field(description="The first kilobyte of the last answer.")
    error: str
    redelivery_of: int | None
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None


class DeliveryPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[DeliveryOut]


def _membership(request: HttpRequest, workspace_id: int) -> Membership:
    return access.membership_for(user=request_user(request), workspace_id=workspace_id)


def _endpoint(request: HttpRequest, workspace_id: int, webhook_id: int) -> WebhookEndpoint:
    membership = _membership(request, workspace_id)
    return webhooks.endpoint_for(membership=membership, endpoint_id=webhook_id)


def _webhook_out(endpoint: WebhookEndpoint, *, secret: str | None = None) -> dict:
    return {
        "id": endpoint.pk,
        "url": endpoint.url,
        "description": endpoint.description,
        "events": endpoint.events,
        "enabled": endpoint.is_enabled,
        "consecutive_failures": endpoint.consecutive_failures,
        "disabled_at": endpoint.disabled_at,
        "disabled_reason": endpoint.disabled_reason,
        "created_at": endpoint.created_at,
        "secret_rotated_at": endpoint.secret_rotated_at,
        "secret": secret,
    }


def _delivery_out(delivery: WebhookDelivery) -> dict:
    return {
        "id": delivery.pk,
        "event_id": str(delivery.event_id),
        "event": delivery.event,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "response_status": delivery.response_status,
        "latency_ms": delivery.latency_ms,
        "response_body": delivery.response_body,
        "error": delivery.error,
        "redelivery_of": delivery.redelivery_of_id,
        "created_at": delivery.created_at,
        "last_attempt_at": delivery.last_attempt_at,
        "next_attempt_at": delivery.next_attempt_at,
        "delivered_at": delivery.delivered_at,
    }


@router.get(
    "/workspaces/{workspace_id}/webhooks", response={200: list[WebhookOut], **OWNER_READ_ERRORS}
)
def webhook_list(request: HttpRequest, workspace_id: int = RowId):
    """The workspace's webhooks (owners)."""
    membership = _membership(request, workspace_id)
    return [_webhook_out(e) for e in webhooks.endpoints_for(membership=membership)]


@router.post("/workspaces/{workspace_id}/webhooks", response={201: WebhookOut, **WRITE_ERRORS})
def webhook_create(request: HttpRequest, payload: WebhookIn, workspace_id: int = RowId):
    """Register a URL for the events it wants (owners). The answer carries
    the signing secret, once."""
    endpoint, secret = webhooks.endpoint_create(
        membership=_membership(request, workspace_id),
        url=payload.url,
        events=list(payload.events),
        description=payload.description,
    )
    return Status(201, _webhook_out(endpoint, secret=secret))


@router.post(
    "/workspaces/{workspace_id}/webhooks/{webhook_id}/rotate",
    response={200: WebhookOut, **WRITE_ERRORS},
)
def webhook_rotate(request: HttpRequest, workspace_id: int = RowId, webhook_id: int = RowId):
    """A new signing secret, in this answer only; the old one stops signing."""
    membership = _membership(request, workspace_id)
    endpoint = webhooks.endpoint_for(membership=membership, endpoint_id=webhook_id)
    endpoint, secret = webhooks.endpoint_rotate_secret(membership=membership, endpoint=endpoint)
    return _webhook_out(endpoint, secret=secret)


@router.post(
    "/workspaces/{workspace_id}/webhooks/{webhook_id}/enable",
    response={200: WebhookOut, **WRITE_ERRORS},
)
def webhook_enable(request: HttpRequest, workspace_id: int = RowId, webhook_id: int = RowId):
    """Turn a webhook that was turned off for failing back on."""
    membership = _membership(request, workspace_id)
    endpoint = webhooks.endpoint_for(membership=membership, endpoint_id=webhook_id)
    return _webhook_out(webhooks.endpoint_enable(membership=membership, endpoint=endpoint))


@router.delete(
    "/workspaces/{workspace_id}/webhooks/{webhook_id}", response={204: None, **WRITE_ERRORS}
)
def webhook_delete(request: HttpRequest, workspace_id: int = RowId, webhook_id: int = RowId):
    """Delete a webhook and its log (owners)."""
    membership = _membership(request, workspace_id)
    endpoint = webhooks.endpoint_for(membership=membership, endpoint_id=webhook_id)
    webhooks.endpoint_delete(membership=membership, endpoint=endpoint)
    return Status(204, None)


@router.get(
    "/workspaces/{workspace_id}/webhooks/{webhook_id}/deliveries",
    response={200: DeliveryPage, **OWNER_READ_ERRORS},
)
def webhook_deliveries(
    request: HttpRequest,
    workspace_id: int = RowId,
    webhook_id: int = RowId,
    limit: int = Limit,
    offset: int = Offset,
):
    """The webhook's deliveries, newest first: status, attempts, latency, the
    start of the receiver's answer or the error."""
    deliveries = webhooks.deliveries_for(endpoint=_endpoint(request, workspace_id, webhook_id))
    return {
        "count": deliveries.count(),
        "limit": limit,
        "offset": offset,
        "items": [_delivery_out(d) for d in deliveries[offset : offset + limit]],
    }


@router.post(
    "/workspaces/{workspace_id}/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    response={202: DeliveryOut, **WRITE_ERRORS},
)
def webhook_redeliver(
    request: HttpRequest,
    workspace_id: int = RowId,
    webhook_id: int = RowId,
    delivery_id: int = RowId,
):
    """Send a delivery's event again (the same id and body), as a new delivery."""
    membership = _membership(request, workspace_id)
    endpoint = webhooks.endpoint_for(membership=membership, endpoint_id=webhook_id)
    delivery = webhooks.delivery_for(endpoint=endpoint, delivery_id=delivery_id)
    again = webhooks.delivery_redeliver(membership=membership, delivery=delivery)
    return Status(202, _delivery_out(again))
