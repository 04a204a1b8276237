"""The version tree on demand: a node's children a page at a time, a folded
segment of a branch path unfolded, the branches a page at a time, and the
jump box that finds any version. Each answers in a fixed number of queries."""

from __future__ import annotations

from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET

from projects.models import Version
from projects.page_data import (
    TreeLinks,
    branches,
    decorate_versions,
    latest_reviews,
    tree_rows,
)
from projects.services import tree
from projects.views.common import project_of

TEMPLATE = "projects/project_detail.html"
FIND_LIMIT = 20


def _number(request: HttpRequest, name: str) -> int | None:
    value = request.GET.get(name, "")
    if not value:
        return None
    if not value.isdigit() or len(value) > 12:
        raise Http404("No such version.")
    return int(value)


@require_GET
def tree_children(request: HttpRequest, project_id: int) -> HttpResponse:
    """A page of a node's children (or of the roots), newest first."""
    project, membership = project_of(request, project_id)
    index = tree.TreeIndex.for_project(project)
    parent = _number(request, "parent")
    if parent is not None and parent not in index:
        raise Http404("No such version.")
    items = tree.children_page(index, parent, offset=_number(request, "offset") or 0)
    return _rows(request, project, membership, index, items)


@require_GET
def tree_segment(request: HttpRequest, project_id: int) -> HttpResponse:
    """The versions a folded segment of a branch path stands for."""
    project, membership = project_of(request, project_id)
    index = tree.TreeIndex.for_project(project)
    first, last = _number(request, "first"), _number(request, "last")
    if first not in index or last not in index:
        raise Http404("No such version.")
    items = tree.segment_page(index, first, last, offset=_number(request, "offset") or 0)
    return _rows(request, project, membership, index, items)


def _rows(request, project, membership, index, items) -> HttpResponse:
    links = TreeLinks.for_project(project.pk)
    tree_rows(project, index, items, links=links, reviews=latest_reviews(project))
    return TemplateResponse(
        request,
        f"{TEMPLATE}#tree_items",
        {"project": project, "membership": membership, "items": items},
    )


@require_GET
def branch_list(request: HttpRequest, project_id: int) -> HttpResponse:
    project, _ = project_of(request, project_id)
    index = tree.TreeIndex.for_project(project)
    links = TreeLinks.for_project(project.pk)
    context = branches(
        index, latest_reviews(project), links, offset=_number(request, "offset") or 0
    )
    return TemplateResponse(request, f"{TEMPLATE}#branch_items", {"project": project, **context})


@require_GET
def version_find(request: HttpRequest, project_id: int) -> HttpResponse:
    """Versions by number (v1234 or 1234), by a word of their prompt or edit,
    or by their author, optionally of one status: the newest first."""
    project, membership = project_of(request, project_id)
    query = " ".join(request.GET.get("q", "").split())[:200]
    status = request.GET.get("status", "")
    found = Version.objects.filter(project=project).select_related("author")
    if status in Version.Status.values:
        found = found.filter(status=status)
    if query:
        number = query.lower().removeprefix("v")
        condition = (
            Q(prompt__icontains=query)
            | Q(instruction__icontains=query)
            | Q(author__username__iexact=query)
        )
        if number.isdigit() and len(number) <= 12:
            condition |= Q(number=int(number))
        found = found.filter(condition)
    elif status not in Version.Status.values:
        found = found.none()
    matches = list(found.order_by("-number")[: FIND_LIMIT + 1])
    shown = matches[:FIND_LIMIT]
    decorate_versions(project, shown, TreeLinks.for_project(project.pk), {})
    return TemplateResponse(
        request,
        f"{TEMPLATE}#find_results",
        {
            "project": project,
            "membership": membership,
            "found_versions": shown,
            "found_more": "" if len(matches) <= FIND_LIMIT else "Some",
            "find_query": query,
            "find_status": status,
        },
    )
