"""Signing in and up (a new user gets a workspace of their own; one on the way
to an invitation is told so, and taken on to it), and the answer to a
sign-in paused after too many wrong passwords."""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.views.decorators.http import require_http_methods

from projects.api import tokens
from projects.api.errors import error_response
from projects.forms import SignupForm
from projects.models import Invitation
from projects.services import mail, team


@login_not_required
def signin(request: HttpRequest) -> HttpResponse:
    """Django's sign-in, saying which invitation it leads to."""
    invitation = _invitation_in(request.POST.get("next") or request.GET.get("next") or "")
    view = auth_views.LoginView.as_view(extra_context={"invitation": invitation})
    return view(request)


@login_not_required
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Anyone may sign up, or (STUDIO_SIGNUP=invitation) only someone on the
    way to a valid invitation, who is taken on to it."""
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    invited = _invitation_in(next_url)
    if settings.STUDIO_SIGNUP == "invitation" and invited is None:
        return TemplateResponse(
            request, "registration/signup.html", {"by_invitation_only": True}, status=403
        )
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user = form.save()
            team.workspace_create_for_new_user(user=user)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        mail.welcome_send(user=user, site_url=request.build_absolute_uri("/"))
        return redirect(next_url if invited is not None else "project_list")
    return TemplateResponse(
        request,
        "registration/signup.html",
        {"form": form, "next": next_url if invited else "", "invitation": invited},
    )


def _invitation_in(url: str) -> Invitation | None:
    """The invitation a ``next`` URL leads to, when it is still open."""
    match = re.fullmatch(r"/invitations/([A-Za-z0-9_-]{20,100})/", url)
    if match is None:
        return None
    try:
        invitation = team.invitation_for_token(match[1])
    except Http404:
        return None
    return invitation if invitation.is_open else None


def signin_paused(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """django-axes' answer to a locked-out sign-in (AXES_LOCKOUT_CALLABLE): the
    page's, or the API's JSON error for a locked-out token."""
    if request.path.startswith("/api/"):
        refused = tokens.locked_out()
        return error_response(
            refused.status, refused.code, refused.message, headers=refused.headers
        )
    minutes = round(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    # Answered from axes' middleware, after the view: rendered here.
    return render(
        request,
        "registration/locked_out.html",
        {
            "username": (credentials or {}).get("username", ""),
            "failure_limit": settings.AXES_FAILURE_LIMIT,
            "minutes": minutes,
        },
        status=429,
    )
