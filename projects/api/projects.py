"""The API's projects: list, create, get, rename and delete."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from ninja import Router, Status

from projects.api import presenters
from projects.api.common import (
    CREATE_ERRORS,
    READ_ERRORS,
    WRITE_ERRORS,
    IdempotencyKey,
    Limit,
    Offset,
    ProjectId,
    WorkspaceFilter,
    dump,
    project_of,
    request_user,
    respond,
)
from projects.api.errors import ApiError
from projects.api.idempotency import Created, create_once
from projects.api.schemas import (
    ErrorOut,
    Id,
    ProjectCreateIn,
    ProjectOut,
    ProjectPage,
    ProjectRenameIn,
)
from projects.models import Membership, Project
from projects.services import access, catalog

router = Router(tags=["projects"])


def _projects(user: AbstractBaseUser):
    return (
        Project.objects.for_user(user)
        .select_related("workspace", "picked_version")
        .annotate(version_count=Count("versions", distinct=True))
    )


def _project_out(project: Project, memberships: dict[int, Membership]) -> dict:
    return presenters.project_out(
        project, memberships[project.workspace_id], version_count=project.version_count
    )


def _memberships(user: AbstractBaseUser) -> dict[int, Membership]:
    return {m.workspace_id: m for m in Membership.objects.filter(user=user)}


def _project_detail(user: AbstractBaseUser, project_id: int) -> dict:
    project = _projects(user).get(pk=project_id)
    return _project_out(project, _memberships(user))


@router.get("/projects", response={200: ProjectPage, **READ_ERRORS})
def project_list(
    request: HttpRequest,
    workspace: Id | None = WorkspaceFilter,
    limit: int = Limit,
    offset: int = Offset,
):
    """The projects in your workspaces, most recently changed first."""
    user = request_user(request)
    projects = _projects(user).order_by("-updated_at", "-pk")
    if workspace is not None:
        projects = projects.filter(workspace_id=workspace)
    memberships = _memberships(user)
    return {
        "count": projects.count(),
        "limit": limit,
        "offset": offset,
        "items": [_project_out(p, memberships) for p in projects[offset : offset + limit]],
    }


@router.post(
    "/projects",
    response={201: ProjectOut, **CREATE_ERRORS},
)
def project_create(
    request: HttpRequest,
    response: HttpResponse,
    payload: ProjectCreateIn,
    idempotency_key: str | None = IdempotencyKey,
):
    """Create a project in one of your workspaces (owners and editors)."""
    user = request_user(request)
    if payload.workspace is not None:
        membership = access.membership_for(user=user, workspace_id=payload.workspace)
    else:
        membership = (
            Membership.objects.filter(user=user)
            .select_related("workspace")
            .order_by("workspace__name", "workspace_id")
            .first()
        )
        if membership is None:
            raise ApiError(
                422, "validation_error", "You belong to no workspace.", field="workspace"
            )

    def create() -> Created:
        project = catalog.project_create(user=user, membership=membership, title=payload.title)
        body = dump(ProjectOut, _project_detail(user, project.pk))
        return Created(201, body, project.pk)

    created = create_once(request, user=user, key=idempotency_key, create=create)
    return respond(response, created, f"{presenters.api_root()}projects/{created.object_id}")


@router.get("/projects/{project_id}", response={200: ProjectOut, **READ_ERRORS})
def project_get(request: HttpRequest, project_id: int = ProjectId):
    project_of(request, project_id)
    return _project_detail(request_user(request), project_id)


@router.patch(
    "/projects/{project_id}",
    response={200: ProjectOut, 400: ErrorOut, **WRITE_ERRORS},
)
def project_rename(request: HttpRequest, payload: ProjectRenameIn, project_id: int = ProjectId):
    """Rename a project (owners and editors)."""
    project, membership = project_of(request, project_id)
    catalog.project_rename(project=project, membership=membership, title=payload.title)
    return _project_detail(request_user(request), project_id)


@router.delete("/projects/{project_id}", response={204: None, **WRITE_ERRORS})
def project_delete(request: HttpRequest, project_id: int = ProjectId):
    """Delete a project with all its versions and files (owners and editors)."""
    project, membership = project_of(request, project_id)
    catalog.project_delete(project=project, membership=membership)
    return Status(204, None)
