"""What the project page shows beyond one model: the tree's window around the
selected version, each shown version's progress and latest decision, the
branches, the selected version's comments and decisions, and the page's
whole context. The live fragments are made from the same pieces.

Everything repeated per row is computed here once (URLs from a base path,
badges, counts), so the templates do no lookups or URL reversals per row,
and the number of queries does not grow with the tree.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.http import Http404, HttpRequest
from django.urls import reverse

from projects.forms import (
    CommentForm,
    EditForm,
    ExtendForm,
    GenerateForm,
    ReconcileForm,
    ReviewForm,
    UploadForm,
)
from projects.models import Comment, Membership, Project, Review, Version
from projects.services import broadcast, composer, tree
from projects.services.activity import recent_activities
from projects.services.progress import progress_for

BRANCHES_SHOWN = 10


@dataclass(frozen=True)
class TreeLinks:
    """The URLs a tree row needs, written from base paths reversed once."""

    project: str
    children: str
    segment: str
    branches: str

    @classmethod
    def for_project(cls, project_id: int) -> TreeLinks:
        return cls(
            project=reverse("project_detail", args=[project_id]),
            children=reverse("tree_children", args=[project_id]),
            segment=reverse("tree_segment", args=[project_id]),
            branches=reverse("branch_list", args=[project_id]),
        )

    def version(self, number: int) -> str:
        return f"{self.project}v/{number}/"

    def poster(self, number: int) -> str:
        return f"{self.project}v/{number}/poster.jpg"


def latest_reviews(project: Project) -> dict[int, Review]:
    """Each version's latest decision: one query."""
    latest: dict[int, Review] = {}
    reviews = Review.objects.filter(version__project=project).only(
        "pk", "version_id", "decision", "created_at"
    )
    for review in reviews.order_by("created_at", "pk"):
        latest[review.version_id] = review
    return latest


def decorate_versions(
    project: Project, versions: list[Version], links: TreeLinks, reviews: dict[int, Review]
) -> None:
    """Everything a row shows of a version, set on it once."""
    progress = progress_for(versions)
    for version in versions:
        version.url = links.version(version.number)
        version.poster_url = links.poster(version.number)
        version.progress_view = progress[version.pk]
        version.latest_review = reviews.get(version.pk)
        version.is_pick = version.pk == project.picked_version_id


def decorate_items(index: tree.TreeIndex, items: list[tree.TreeItem], links: TreeLinks) -> None:
    """The URLs and labels of drawn rows: expand, load more, unfold."""
    for top in items:
        for item in top.walk():
            if item.kind == "node":
                parent = index.bones[item.pk].parent_id
                item.parent_number = index.bones[parent].number if parent in index else None
                item.children_url = f"{links.children}?parent={item.pk}"
            elif item.kind == "segment":
                item.first_label = f"v{index.bones[item.first_pk].number}"
                item.last_label = f"v{index.bones[item.last_pk].number}"
                item.segment_url = f"{links.segment}?first={item.first_pk}&last={item.last_pk}"
            else:
                parent = "" if item.parent_pk is None else item.parent_pk
                item.more_url = f"{links.children}?parent={parent}&offset={item.offset}"


def tree_rows(
    project: Project,
    index: tree.TreeIndex,
    items: list[tree.TreeItem],
    *,
    links: TreeLinks,
    reviews: dict[int, Review],
) -> list[Version]:
    """Load and decorate the versions of drawn rows; returns them."""
    versions = tree.load_versions(project, items)
    decorate_versions(project, versions, links, reviews)
    decorate_items(index, items, links)
    return versions


def branches(
    index: tree.TreeIndex,
    reviews: dict[int, Review],
    links: TreeLinks,
    *,
    offset: int = 0,
) -> dict:
    """A page of the branches (the tips of the tree, newest first), each with
    its path from the root folded in the middle, and the latest decision made
    anywhere along it."""
    # The latest decision on each version's path, parents before children.
    along: dict[int, Review | None] = {}
    for pk in sorted(index.bones, key=lambda p: index.bones[p].number):
        parent = index.bones[pk].parent_id
        candidates = [r for r in (reviews.get(pk), along.get(parent)) if r is not None]
        along[pk] = max(candidates, key=lambda r: (r.created_at, r.pk)) if candidates else None
    leaves = index.leaves()
    page = leaves[offset : offset + BRANCHES_SHOWN]
    shown = []
    for leaf in page:
        path = [f"v{index.bones[pk].number}" for pk in index.lineage_ids(leaf)]
        if len(path) > 6:
            path = [path[0], "…", *path[-4:]]
        latest = along[leaf]
        if latest is not None:
            latest.label = f"v{index.bones[latest.version_id].number}"
        number = index.bones[leaf].number
        shown.append(
            {
                "leaf": {"label": f"v{number}", "url": links.version(number)},
                "path": path,
                "latest": latest,
            }
        )
    remaining = len(leaves) - offset - len(page)
    return {
        "branches": shown,
        "branches_remaining": remaining,
        "branches_more": (f"{links.branches}?offset={offset + len(page)}" if remaining > 0 else ""),
    }


def attach_review(version: Version, *, reviews: list[Review] | None = None) -> None:
    """Comments (threaded, in time order) and decisions of one version."""
    comments = list(version.comments.in_time_order().select_related("author", "resolved_by"))
    attach_comments(version, comments)
    if reviews is None:
        reviews = list(version.reviews.select_related("reviewer"))
    version.review_list = reviews


def attach_comments(version: Version, comments: list[Comment]) -> None:
    replies: dict[int, list[Comment]] = {}
    for comment in comments:
        if comment.parent_id:
            replies.setdefault(comment.parent_id, []).append(comment)
    for comment in comments:
        comment.thread = sorted(replies.get(comment.pk, []), key=lambda c: (c.created_at, c.pk))
    version.comment_list = [c for c in comments if c.parent_id is None]
    version.open_comments = [c for c in version.comment_list if not c.is_resolved]
    duration = version.video_duration or version.duration_seconds or 1
    for comment in version.comment_list:
        if comment.start_seconds is not None:
            comment.marker_x = round(min(comment.start_seconds / duration, 1) * 1000)
            end = comment.end_seconds if comment.end_seconds is not None else comment.start_seconds
            comment.marker_width = max(round((end - comment.start_seconds) / duration * 1000), 6)
            comment.smpte = comment.frame_timecode(version.fps)
            # The middle of its frame: a seek there shows that frame.
            if comment.start_frame is not None:
                comment.seek_seconds = round((comment.start_frame + 0.5) / version.fps, 4)
            else:
                comment.seek_seconds = comment.start_seconds


def folded_lineage(index: tree.TreeIndex, selected: Version, loaded: dict[int, Version]) -> list:
    """The selected version's lineage as the panel lists it: the root, a count
    of what is folded, then the nearest ancestors (all loaded with the tree's
    window)."""
    return [
        step if isinstance(step, tree.Folded) else loaded[step]
        for step in tree.fold(index.lineage_ids(selected.pk))
    ]


def panel_context(index: tree.TreeIndex, selected: Version, loaded: dict[int, Version]) -> None:
    """Set on the selected version what its panel shows."""
    selected.lineage = folded_lineage(index, selected, loaded)
    parent_id = index.bones[selected.pk].parent_id
    selected.parent_version = loaded.get(parent_id)
    selected.assets = list(selected.input_assets.all())
    selected.child_count = len(index.child_ids(selected.pk))
    selected.addressed = list(selected.addressed_comments.all())
    attach_review(selected)


def project_page_context(
    request: HttpRequest,
    project: Project,
    membership: Membership,
    *,
    number: int | None = None,
    generate_form: GenerateForm | None = None,
    edit_form: EditForm | None = None,
    extend_form: ExtendForm | None = None,
) -> dict:
    index = tree.TreeIndex.for_project(project)
    if number is not None and number not in index.by_number:
        raise Http404("No such version.")
    selected_pk = index.by_number[number] if number is not None else index.latest
    items = tree.window(index, selected_pk)
    links = TreeLinks.for_project(project.pk)
    reviews = latest_reviews(project)
    versions = tree_rows(project, index, items, links=links, reviews=reviews)
    loaded = {v.pk: v for v in versions}
    selected = loaded.get(selected_pk)
    if selected is not None:
        panel_context(index, selected, loaded)
    if edit_form is None and selected is not None:
        edit_form = EditForm(parent=selected)
    if extend_form is None and selected is not None:
        extend_form = ExtendForm(parent=selected)
    return {
        "project": project,
        "membership": membership,
        "viewer_id": request.user.pk,
        "tree_window": items,
        "tree_urls": links,
        "version_count": len(index),
        "selected": selected,
        "generate_form": generate_form
        or GenerateForm(
            project=project,
            initial=composer.remembered_choices(project=project, user=request.user),
        ),
        "upload_form": UploadForm(),
        "edit_form": edit_form,
        "extend_form": extend_form,
        "reconcile_form": ReconcileForm(),
        "event_seq": project.event_seq,
        "project_cost": index.cost,
        **branches(index, reviews, links),
        "activities": recent_activities(project),
        "viewers": broadcast.viewers(project),
        "comment_form": CommentForm(),
        "review_form": ReviewForm(),
        "statuses": Version.Status.choices,
        "live_silent_ms": round(settings.STUDIO_LIVE_SILENT_SECONDS * 1000),
    }


def version_panel_context(
    request: HttpRequest, project: Project, membership: Membership, *, number: int | None
) -> dict:
    """What the version panel alone shows (selecting a version in the tree):
    the version, its folded lineage and its review, not the whole page."""
    index = tree.TreeIndex.for_project(project)
    if number is None:
        number = index.bones[index.latest].number if index.latest else None
    if number not in index.by_number:
        raise Http404("No such version.")
    selected_pk = index.by_number[number]
    shown = {pk for pk in tree.fold(index.lineage_ids(selected_pk)) if isinstance(pk, int)}
    links = TreeLinks.for_project(project.pk)
    versions = list(Version.objects.filter(project=project, pk__in=shown).select_related("author"))
    decorate_versions(project, versions, links, {})
    loaded = {v.pk: v for v in versions}
    selected = loaded[selected_pk]
    panel_context(index, selected, loaded)
    return {
        "project": project,
        "membership": membership,
        "viewer_id": request.user.pk,
        "selected": selected,
        "edit_form": EditForm(parent=selected),
        "extend_form": ExtendForm(parent=selected),
        "reconcile_form": ReconcileForm(),
        "comment_form": CommentForm(),
        "review_form": ReviewForm(),
    }
