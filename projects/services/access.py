"""Scoping: every object lookup goes through these, so nothing outside the
user's workspaces is ever found (404), and roles gate every change (403)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from projects.models import Membership, Project, Version


def membership_for(*, user: AbstractBaseUser, workspace_id: int) -> Membership:
    try:
        return Membership.objects.select_related("workspace").get(
            user=user, workspace_id=workspace_id
        )
    except Membership.DoesNotExist as error:
        raise Http404("No such workspace.") from error


def project_for_user(*, user: AbstractBaseUser, project_id: int) -> tuple[Project, Membership]:
    """The project if the user is a member of its workspace, else 404."""
    membership = (
        Membership.objects.select_related("workspace")
        .filter(user=user, workspace__projects__pk=project_id)
        .first()
    )
    if membership is None:
        raise Http404("No such project.")
    project = Project.objects.select_related("workspace").get(pk=project_id)
    return project, membership


def version_for_user(
    *, user: AbstractBaseUser, project_id: int, number: int
) -> tuple[Version, Membership]:
    project, membership = project_for_user(user=user, project_id=project_id)
    try:
        version = (
            Version.objects.select_related("project__workspace", "author", "parent")
            .prefetch_related("input_assets")
            .get(project=project, number=number)
        )
    except Version.DoesNotExist as error:
        raise Http404("No such version.") from error
    return version, membership


def require_role(membership: Membership, *, generate: bool = False) -> None:
    if generate and not membership.can_generate:
        raise PermissionDenied(
            f"Your role in {membership.workspace} is {membership.get_role_display().lower()}: "
            "only owners and editors can generate and edit videos."
        )


def require(allowed: bool, message: str) -> None:
    """Refuse with 403 and the reason unless the role allows it."""
    if not allowed:
        raise PermissionDenied(message)
