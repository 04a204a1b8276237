"""What the page modules share: htmx-aware redirects and refusals in words."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django_htmx.http import HttpResponseLocation

from projects.models import Membership, Project, Version
from projects.services import access
from projects.services.errors import StudioError


def redirect_to(request: HttpRequest, url: str) -> HttpResponse:
    if request.htmx:
        return HttpResponseLocation(url)
    return redirect(url)


def refusal(message: str, *, status: int) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain")


def refused(action: Callable[[], object], *, state_status: int = 422) -> HttpResponse | None:
    """Run a service action. A refusal is answered in words: 403 for the
    role, ``state_status`` for what the state allows. None when it went
    through."""
    try:
        action()
    except PermissionDenied as error:
        return refusal(str(error), status=403)
    except StudioError as error:
        return refusal(error.message, status=state_status)
    return None


def project_of(request: HttpRequest, project_id: int) -> tuple[Project, Membership]:
    """The user's project (404 outside their workspaces) and their role there."""
    return access.project_for_user(user=request.user, project_id=project_id)


def version_of(request: HttpRequest, project_id: int, number: int) -> tuple[Version, Membership]:
    return access.version_for_user(user=request.user, project_id=project_id, number=number)
