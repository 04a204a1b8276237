"""Signing up: a new user gets a workspace of their own."""

from __future__ import annotations

from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
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
        login(request, user)
        return redirect("project_list")
    return TemplateResponse(request, "registration/signup.html", {"form": form})
