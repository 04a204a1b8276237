"""Webhooks on the workspace settings page, and each endpoint's page of
deliveries (owners only: the service refuses everyone else)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_http_methods, require_POST

from projects.forms import WebhookEndpointForm, posted_id
from projects.models import Membership, WebhookEndpoint
from projects.services import access, webhooks
from projects.services.errors import StudioError
from projects.views.team import settings_page

# Deliveries listed on an endpoint's page, newest first (the API pages through all).
DELIVERIES_SHOWN = 100


@require_POST
def webhook_create(request: HttpRequest, workspace_id: int) -> HttpResponse:
    """Register an endpoint; its secret is on the page this answers, once."""
    membership = access.membership_for(user=request.user, workspace_id=workspace_id)
    form = WebhookEndpointForm(request.POST)
    if not membership.is_owner:
        raise PermissionDenied("Only the workspace's owners manage its webhooks.")
    if not form.is_valid():
        return settings_page(request, membership, status=422, webhook_form=form)
    try:
        endpoint, secret = webhooks.endpoint_create(
            membership=membership,
            url=form.cleaned_data["url"],
            events=form.cleaned_data["events"],
            description=form.cleaned_data["description"],
        )
    except StudioError as refused:
        form.add_error(refused.field if refused.field in form.fields else None, refused.message)
        return settings_page(request, membership, status=422, webhook_form=form)
    return settings_page(request, membership, new_secret=secret, new_secret_endpoint=endpoint)


@require_http_methods(["GET", "POST"])
def webhook_endpoint(request: HttpRequest, workspace_id: int, endpoint_id: int) -> HttpResponse:
    """An endpoint's deliveries (with Redeliver), and rotating its secret,
    turning it back on, or deleting it."""
    membership = access.membership_for(user=request.user, workspace_id=workspace_id)
    endpoint = webhooks.endpoint_for(membership=membership, endpoint_id=endpoint_id)
    new_secret = ""
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "rotate":
                endpoint, new_secret = webhooks.endpoint_rotate_secret(
                    membership=membership, endpoint=endpoint
                )
            elif action == "enable":
                webhooks.endpoint_enable(membership=membership, endpoint=endpoint)
                messages.success(request, "The webhook is on again.")
                return redirect(request.path)
            elif action == "delete":
                webhooks.endpoint_delete(membership=membership, endpoint=endpoint)
                messages.success(request, f"The webhook to {endpoint.url} was deleted.")
                return redirect("workspace_settings", workspace_id=workspace_id)
            elif action == "redeliver":
                delivery = webhooks.delivery_for(
                    endpoint=endpoint, delivery_id=posted_id(request.POST.get("delivery"))
                )
                webhooks.delivery_redeliver(membership=membership, delivery=delivery)
                messages.success(request, f"The {delivery.event} event will be sent again.")
                return redirect(request.path)
            else:
                raise StudioError("Choose what to do.")
        except StudioError as refused:
            messages.error(request, refused.message)
            status = 422
    return _endpoint_page(request, membership, endpoint, new_secret=new_secret, status=status)


def _endpoint_page(
    request: HttpRequest,
    membership: Membership,
    endpoint: WebhookEndpoint,
    *,
    new_secret: str,
    status: int,
) -> TemplateResponse:
    return TemplateResponse(
        request,
        "projects/webhook_endpoint.html",
        {
            "workspace": membership.workspace,
            "membership": membership,
            "endpoint": endpoint,
            "event_labels": dict(WebhookEndpoint.Event.choices),
            "deliveries": webhooks.deliveries_for(endpoint=endpoint)[:DELIVERIES_SHOWN],
            "new_secret": new_secret,
        },
        status=status,
    )
