"""The project list, and creating, renaming and deleting projects."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from projects.forms import ProjectForm, posted_id
from projects.models import Membership, Project, Version
from projects.services import access, catalog
from projects.views.common import project_of, redirect_to


def _memberships(request: HttpRequest) -> list[Membership]:
    return list(
        Membership.objects.filter(user=request.user)
        .select_related("workspace")
        .order_by("workspace__name", "workspace_id")
    )


def _cover_number():
    """The version a project's card shows: its pick, else its newest ready
    version with a poster."""
    newest = (
        Version.objects.filter(project=OuterRef("pk"), status=Version.Status.READY)
        .exclude(poster="")
        .order_by("-number")
        .values("number")[:1]
    )
    picked = (
        Version.objects.filter(pk=OuterRef("picked_version_id"), status=Version.Status.READY)
        .exclude(poster="")
        .order_by()
    )
    return Coalesce(Subquery(picked.values("number")[:1]), Subquery(newest))


@require_GET
def project_list(request: HttpRequest) -> HttpResponse:
    memberships = _memberships(request)
    projects = (
        Project.objects.for_user(request.user)
        .select_related("workspace")
        .annotate(cover_number=_cover_number())
        .order_by("-updated_at", "-pk")
    )
    current = None
    if workspace_id := request.GET.get("workspace", ""):
        current = next((m for m in memberships if str(m.workspace_id) == workspace_id), None)
        if current is None:
            raise Http404("No such workspace.")
        projects = projects.filter(workspace_id=current.workspace_id)
    return TemplateResponse(
        request,
        "projects/project_list.html",
        {
            "memberships": memberships,
            "projects": projects,
            "form": ProjectForm(),
            "current": current,
        },
    )


@require_POST
def project_create(request: HttpRequest) -> HttpResponse:
    memberships = _memberships(request)
    form = ProjectForm(request.POST)
    if "workspace" in request.POST:
        workspace_id = posted_id(request.POST["workspace"])
    else:
        workspace_id = memberships[0].workspace_id if memberships else None
    if workspace_id is None:
        raise Http404("No such workspace.")
    membership = access.membership_for(user=request.user, workspace_id=workspace_id)
    status = 400
    if not membership.can_manage_projects:
        form.add_error(None, "Only owners and editors can create projects.")
        status = 403
    elif form.is_valid():
        project = catalog.project_create(
            user=request.user, membership=membership, title=form.cleaned_data["title"]
        )
        return redirect_to(request, project.get_absolute_url())
    projects = Project.objects.for_user(request.user).select_related("workspace")
    return TemplateResponse(
        request,
        "projects/project_list.html",
        {"memberships": memberships, "projects": projects, "form": form},
        status=status,
    )


@require_http_methods(["GET", "POST"])
def project_rename(request: HttpRequest, project_id: int) -> HttpResponse:
    project, membership = project_of(request, project_id)
    form = ProjectForm(request.POST or None, instance=project)
    status = 400 if request.method == "POST" else 200
    if request.method == "POST" and not membership.can_manage_projects:
        form.add_error(None, "Only owners and editors can rename projects.")
        status = 403
    elif request.method == "POST" and form.is_valid():
        catalog.project_rename(
            project=project, membership=membership, title=form.cleaned_data["title"]
        )
        if request.htmx:
            return TemplateResponse(
                request, "projects/project_detail.html#project_title", {"project": project}
            )
        return redirect(project)
    project.refresh_from_db(fields=["title"])
    return TemplateResponse(
        request, "projects/project_rename.html", {"project": project, "form": form}, status=status
    )


@require_http_methods(["GET", "POST"])
def project_delete(request: HttpRequest, project_id: int) -> HttpResponse:
    project, membership = project_of(request, project_id)
    error = ""
    if request.method == "POST":
        try:
            catalog.project_delete(project=project, membership=membership)
        except PermissionDenied as refused:
            error = str(refused)
        else:
            messages.success(request, f"Deleted “{project.title}”.")
            return redirect_to(request, "/")
    return TemplateResponse(
        request,
        "projects/project_confirm_delete.html",
        {"project": project, "error": error, "version_count": project.versions.count()},
        status=403 if error else 200,
    )
