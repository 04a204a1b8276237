"""Live updates: out-of-band fragments of what changed. The same fragments go
over the websocket and, when it is down, to the polling fallback."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET

from projects.forms import CommentForm, ReviewForm
from projects.models import Membership, Project, Version
from projects.services import live, tree
from projects.services.activity import recent_activities
from projects.views.common import project_of
from projects.views.page_data import attach_decisions, attach_progress, attach_review, tree_context


def render_updates(
    *,
    project: Project,
    membership: Membership,
    since: int | None = None,
    version_ids=(),
    kind: str = "state",
    seq: int | None = None,
) -> str:
    """Out-of-band fragments for versions changed since an event number (or
    the given ones), numbered with the event (or the project's latest)."""
    project_seq = Project.objects.values_list("event_seq", flat=True).get(pk=project.pk)
    versions = Version.objects.filter(project=project).select_related("author")
    if since is not None:
        versions = versions.filter(event_seq__gt=since) | versions.filter(
            status__in=Version.Status.unfinished()
        )
    else:
        versions = versions.filter(pk__in=list(version_ids))
    versions = list(versions.order_by("number"))
    attach_progress(versions)
    catching_up = since is not None
    include_tree = catching_up or kind in {"created", "decision", "pick"}
    include_review = catching_up or kind in {"comments", "decision"}
    if include_review:
        for version in versions:
            attach_review(version)
    context = {
        "project": project,
        "membership": membership,
        "versions": versions,
        "event_seq": project_seq if seq is None else seq,
        "include_status": kind not in {"comments", "decision", "pick", "presence"} or catching_up,
        "include_media": kind in {"state", "created"} or catching_up,
        "include_review": include_review,
        "include_activity": catching_up or kind in {"created", "comments", "decision", "pick"},
        "include_presence": catching_up or kind == "presence",
        "changed_nodes": [tree.TreeNode(version=v, children=[], depth=0) for v in versions],
        "comment_form": CommentForm(),
        "review_form": ReviewForm(),
    }
    if include_tree:
        shown = tree_context(project)
        context["nodes"] = shown["nodes"]
        context["branches"] = shown["branches"]
        context["include_tree"] = True
    else:
        attach_decisions(project, versions)
    if context["include_activity"]:
        context["activities"] = recent_activities(project)
    if context["include_presence"]:
        context["viewers"] = live.viewers(project)
    return render_to_string("projects/project_detail.html#updates", context)


@require_GET
def project_updates(request: HttpRequest, project_id: int) -> HttpResponse:
    project, membership = project_of(request, project_id)
    try:
        since = int(request.GET.get("since", "0"))
    except ValueError:
        since = 0
    return HttpResponse(render_updates(project=project, membership=membership, since=since))
