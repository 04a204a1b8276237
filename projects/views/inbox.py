"""The inbox: a member's notifications, newest first, opened (and so read)
one at a time or marked read together, and the choice of an email digest."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET, require_POST

from projects.forms import posted_id
from projects.models import InboxSettings
from projects.services import notifications
from projects.services.errors import StudioError


def _inbox_context(request: HttpRequest) -> dict:
    unread_only = request.GET.get("show") == "unread"
    before = posted_id(request.GET.get("before"))
    entries = notifications.inbox_entries(user=request.user, unread_only=unread_only, before=before)
    return {
        "entries": entries,
        "unread_only": unread_only,
        "next_before": entries[-1].pk if len(entries) == notifications.INBOX_PAGE_SIZE else None,
        "inbox_settings": notifications.inbox_settings_for(request.user),
        "digest_choices": InboxSettings.Digest.choices,
    }


@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    context = _inbox_context(request)
    if request.htmx and request.htmx.target == "inbox-entries":
        return TemplateResponse(request, "projects/inbox.html#inbox_entries", context)
    return TemplateResponse(request, "projects/inbox.html", context)


@require_GET
def inbox_badge(request: HttpRequest) -> HttpResponse:
    """The header's link and count, for pages without a live socket."""
    return TemplateResponse(request, "base.html#inbox_link", {"inbox_poll": True})


@require_GET
def notification_open(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Follow an entry to what it is about; it is read from then on."""
    try:
        target = notifications.notification_open(user=request.user, notification_id=notification_id)
    except StudioError as error:
        raise Http404(error.message) from error
    return redirect(target)


@require_POST
def inbox_mark_read(request: HttpRequest) -> HttpResponse:
    """Mark one entry read (``id``), or every entry."""
    entry = posted_id(request.POST.get("id"))
    if "id" in request.POST and entry is None:
        raise Http404("No such notification.")
    marked = notifications.inbox_mark_read(
        user=request.user, ids=[entry] if entry is not None else None
    )
    if request.htmx:
        context = _inbox_context(request)
        return TemplateResponse(request, "projects/inbox.html#inbox_body", context)
    if entry is None:
        messages.success(request, f"Marked {marked} as read." if marked else "Nothing unread.")
    return redirect("inbox")


@require_POST
def inbox_settings(request: HttpRequest) -> HttpResponse:
    try:
        chosen = notifications.inbox_settings_update(
            user=request.user, email_digest=request.POST.get("email_digest", "")
        )
    except StudioError as error:
        messages.error(request, error.message)
        context = _inbox_context(request)
        return TemplateResponse(request, "projects/inbox.html", context, status=422)
    if chosen.email_digest == InboxSettings.Digest.OFF:
        messages.success(request, "No email digest: the inbox is here when you want it.")
    elif not request.user.email:
        messages.warning(
            request,
            f"{chosen.get_email_digest_display()} digest chosen, but your account has no "
            "email address to send it to.",
        )
    else:
        messages.success(
            request,
            f"{chosen.get_email_digest_display()} digest of unread notifications to "
            f"{request.user.email}.",
        )
    return redirect("inbox")
