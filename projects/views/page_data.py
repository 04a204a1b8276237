"""What the project page shows beyond one model: each version's progress and
latest decision, a version's comments and decisions, the branches, and the
page's whole context. The live fragments are made from the same data."""

from __future__ import annotations

from django.http import Http404, HttpRequest

from projects.forms import (
    CommentForm,
    EditForm,
    GenerateForm,
    ReconcileForm,
    ReviewForm,
    UploadForm,
)
from projects.models import Comment, Membership, Project, Review, Version
from projects.services import live, tree
from projects.services.activity import recent_activities
from projects.services.progress import progress_for


def attach_progress(versions: list[Version]) -> None:
    progress = progress_for(versions)
    for version in versions:
        version.progress_view = progress[version.pk]


def attach_decisions(project: Project, versions: list[Version]) -> None:
    """Each version's latest review decision, from one query."""
    latest: dict[int, Review] = {}
    for review in Review.objects.filter(version__project=project).order_by("created_at", "pk"):
        latest[review.version_id] = review
    for version in versions:
        version.latest_review = latest.get(version.pk)
        version.is_pick = version.pk == project.picked_version_id


def attach_review(version: Version) -> None:
    """Comments (threaded, in time order) and decisions of one version."""
    comments = list(version.comments.in_time_order().select_related("author", "resolved_by"))
    replies: dict[int, list[Comment]] = {}
    for comment in comments:
        if comment.parent_id:
            replies.setdefault(comment.parent_id, []).append(comment)
    for comment in comments:
        comment.thread = sorted(replies.get(comment.pk, []), key=lambda c: (c.created_at, c.pk))
    version.comment_list = [c for c in comments if c.parent_id is None]
    version.open_comments = [c for c in version.comment_list if not c.is_resolved]
    version.review_list = list(version.reviews.select_related("reviewer"))
    duration = version.video_duration or version.duration_seconds or 1
    for comment in version.comment_list:
        if comment.start_seconds is not None:
            comment.marker_x = round(min(comment.start_seconds / duration, 1) * 1000)
            end = comment.end_seconds if comment.end_seconds is not None else comment.start_seconds
            comment.marker_width = max(round((end - comment.start_seconds) / duration * 1000), 6)


def branches(nodes: list[tree.TreeNode]) -> list[dict]:
    """Each leaf of the tree with the latest decision along its branch."""
    found = []
    path: list[Version] = []
    for node in nodes:
        del path[node.depth :]
        path.append(node.version)
        if not node.children:
            decisions = [v.latest_review for v in path if getattr(v, "latest_review", None)]
            latest = max(decisions, key=lambda r: (r.created_at, r.pk)) if decisions else None
            found.append({"leaf": node.version, "path": list(path), "latest": latest})
    return found


def tree_context(project: Project) -> dict:
    """The whole tree, each node with its progress and decision."""
    versions = list(project.versions.for_tree())
    attach_progress(versions)
    attach_decisions(project, versions)
    nodes = tree.flatten_tree(tree.version_tree(versions))
    return {"versions": versions, "nodes": nodes, "branches": branches(nodes)}


def project_page_context(
    request: HttpRequest,
    project: Project,
    membership: Membership,
    *,
    number: int | None = None,
    generate_form: GenerateForm | None = None,
    edit_form: EditForm | None = None,
) -> dict:
    shown = tree_context(project)
    versions = shown["versions"]
    by_id = {v.pk: v for v in versions}
    by_number = {v.number: v for v in versions}
    if number is not None and number not in by_number:
        raise Http404("No such version.")
    selected = by_number.get(number) if number is not None else (versions[-1] if versions else None)
    if selected is not None:
        selected.lineage = tree.lineage(selected, by_id)
        selected.parent_version = by_id.get(selected.parent_id)
        selected.assets = list(selected.input_assets.all())
        selected.child_count = sum(1 for v in versions if v.parent_id == selected.pk)
        selected.addressed = list(selected.addressed_comments.all())
        attach_review(selected)
    if edit_form is None and selected is not None:
        edit_form = EditForm(parent=selected)
    return {
        "project": project,
        "membership": membership,
        "nodes": shown["nodes"],
        "selected": selected,
        "generate_form": generate_form or GenerateForm(project=project),
        "upload_form": UploadForm(),
        "edit_form": edit_form,
        "reconcile_form": ReconcileForm(),
        "event_seq": project.event_seq,
        "project_cost": sum((v.cost or 0) for v in versions),
        "branches": shown["branches"],
        "activities": recent_activities(project),
        "viewers": live.viewers(project),
        "comment_form": CommentForm(),
        "review_form": ReviewForm(),
    }
