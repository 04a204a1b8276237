"""Signing up (a new user gets a workspace of their own), and the answer to a
sign-in paused after too many wrong passwords."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.views.decorators.http import require_http_methods

from projects.forms import SignupForm
from projects.services import team


@login_not_required
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user = form.save()
            team.workspace_create_for_new_user(user=user)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("project_list")
    return TemplateResponse(request, "registration/signup.html", {"form": form})


def signin_paused(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """django-axes' answer to a locked-out sign-in (AXES_LOCKOUT_CALLABLE)."""
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
