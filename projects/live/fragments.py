"""The fragments live updates carry to pages: out-of-band swaps of what changed.

A batch of events is rendered once for each role present (the controls a
fragment holds depend on the role, never on the person: a member's own
comment controls are revealed in the browser), and the same bytes go to every
page of that role. Catching up after a gap (a reconnect, the polling
fallback) renders what changed since an event number, bounded: past
``CATCH_UP_LIMIT`` versions the page is told to draw its tree and panel
again.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model
from django.template.loader import render_to_string

from projects.forms import CommentForm, ReviewForm
from projects.models import Comment, Membership, Project, Review, Version
from projects.page_data import (
    TreeLinks,
    attach_comments,
    branches,
    decorate_items,
    decorate_versions,
    latest_reviews,
)
from projects.services import broadcast, tree
from projects.services.activity import recent_activities
from projects.services.notifications import unread_count

TEMPLATE = "projects/project_detail.html"
CATCH_UP_LIMIT = 50
# Ancestors of a new version whose "below" count a page may be showing.
COUNTED_ANCESTORS = 10

# Which parts of the page an event's kind touches.
STATUS_KINDS = {"state", "progress", "created"}
MEDIA_KINDS = {"state", "created"}
MARK_KINDS = {"decision", "pick"}
REVIEW_KINDS = {"comments", "decision"}
ACTIVITY_KINDS = {"created", "comments", "decision", "pick"}
BRANCH_KINDS = {"created", "decision", "pick"}


@dataclass
class Batch:
    """Events of one project, coalesced: what changed and their numbers. A
    batch holds at most one state of each version (progress within a state
    coalesces; a new state starts the next batch), so every state a version
    passes through is shown, in order."""

    project_id: int
    first_seq: int = 0
    last_seq: int = 0
    version_ids: set[int] = field(default_factory=set)
    created_ids: set[int] = field(default_factory=set)
    kinds: set[str] = field(default_factory=set)
    states: dict[int, dict] = field(default_factory=dict)

    def accepts(self, event: dict) -> bool:
        announced = self.states.get(event["version_id"])
        state = event.get("state")
        return announced is None or state is None or announced["status"] == state["status"]

    def add(self, event: dict) -> None:
        seq = event.get("seq", 0)
        self.first_seq = min(self.first_seq, seq) if self.first_seq else seq
        self.last_seq = max(self.last_seq, seq)
        self.version_ids.add(event["version_id"])
        kind = event.get("kind", "state")
        self.kinds.add(kind)
        if kind == "created":
            self.created_ids.add(event["version_id"])
        if event.get("state") is not None:
            self.states[event["version_id"]] = event["state"]

    def as_announced(self, versions: list[Version]) -> None:
        """Show each version in the state the batch's events announced."""
        for version in versions:
            state = self.states.get(version.pk)
            if state is None:
                continue
            version.status = state["status"]
            version.progress = state["progress"]
            version.error_kind = state["error_kind"]
            version.error_message = state["error_message"]
            retry_at = state.get("retry_at")
            version.retry_at = datetime.fromisoformat(retry_at) if retry_at else None


def role_membership(role: str) -> Membership:
    """What a fragment for a role shows: the role's controls, nobody's own."""
    return Membership(role=role)


def render_batch(batch: Batch, roles: Iterable[str]) -> dict[str, str]:
    """The batch's fragment for each role, from one reading of the database."""
    roles = set(roles)
    if not roles:
        return {}
    project = Project.objects.get(pk=batch.project_id)
    versions = list(
        Version.objects.filter(project=project, pk__in=batch.version_ids)
        .select_related("author")
        .order_by("number")
    )
    batch.as_announced(versions)
    kinds = batch.kinds
    context = _changed_context(project, versions, kinds, created_ids=batch.created_ids)
    context.update(
        event_seq=batch.last_seq,
        first_seq=batch.first_seq or batch.last_seq,
        sent_at=round(time.time() * 1000),
    )
    return {role: _render(context, role) for role in roles}


def render_catch_up(project: Project, role: str, *, since: int) -> str:
    """Everything changed since an event number, for one page: the changed
    versions' parts, and the versions made since as new rows of the tree."""
    seq = broadcast.latest_event_numbers([project.pk]).get(project.pk, 0)
    changed = list(
        Version.objects.filter(project=project, event_seq__gt=since)
        .select_related("author")
        .order_by("number")[: CATCH_UP_LIMIT + 1]
    )
    if len(changed) > CATCH_UP_LIMIT:
        return _render({"event_seq": seq, "first_seq": since + 1, "reload": True}, role)
    created = {v.pk for v in changed if v.created_seq > since}
    kinds = STATUS_KINDS | MEDIA_KINDS | MARK_KINDS | REVIEW_KINDS | ACTIVITY_KINDS
    if created:
        kinds = kinds | BRANCH_KINDS
    context = _changed_context(project, changed, kinds, created_ids=created)
    context.update(event_seq=seq, first_seq=since + 1, include_presence=True)
    context["viewers"] = broadcast.viewers(project)
    return _render(context, role)


def render_inbox_link(user_id: int) -> str:
    """The header's inbox link with the user's unread count, to swap in."""
    user = get_user_model()(pk=user_id)
    return render_to_string(
        "base.html#inbox_link", {"inbox_unread": unread_count(user=user), "oob": True}
    ).strip()


def render_presence(project_id: int) -> str:
    return render_to_string(
        f"{TEMPLATE}#presence", {"viewers": broadcast.viewers(project_id), "oob": True}
    ).strip()


def _changed_context(
    project: Project, versions: list[Version], kinds: set[str], *, created_ids: set[int]
) -> dict:
    links = TreeLinks.for_project(project.pk)
    reviews = latest_reviews(project) if kinds & (MARK_KINDS | BRANCH_KINDS) else {}
    decorate_versions(project, versions, links, reviews)
    context: dict = {
        "project": project,
        "versions": versions,
        "reviews": reviews,
        "include_status": bool(kinds & STATUS_KINDS),
        "include_media": bool(kinds & MEDIA_KINDS),
        "include_marks": bool(kinds & MARK_KINDS),
        "include_review": bool(kinds & REVIEW_KINDS),
        "include_activity": bool(kinds & ACTIVITY_KINDS),
        "include_branches": bool(kinds & BRANCH_KINDS),
        "comment_form": CommentForm(),
        "review_form": ReviewForm(),
        "created": [],
        "counts": [],
    }
    if context["include_review"] or context["include_media"]:
        # The player's bar under new media carries the comments' markers.
        _attach_reviews(versions)
    if created_ids or context["include_branches"]:
        index = tree.TreeIndex.for_project(project)
        created, counts = _tree_changes(index, versions, created_ids)
        decorate_items(index, created + counts, links)
        for item in created:
            item.version = next(v for v in versions if v.pk == item.pk)
        context.update(created=created, counts=counts)
        if context["include_branches"]:
            context.update(branches(index, reviews, links))
    if context["include_activity"]:
        context["activities"] = recent_activities(project)
    return context


def _tree_changes(
    index: tree.TreeIndex, versions: list[Version], created_ids: set[int]
) -> tuple[list[tree.TreeItem], list[tree.TreeItem]]:
    """Rows for new versions, and the new counts of their nearest ancestors."""
    created, counted = [], {}
    for version in versions:
        if version.pk not in created_ids or version.pk not in index:
            continue
        level = index.depth(version.pk) + 1
        created.append(
            tree.TreeItem(kind="node", level=level, pk=version.pk, parent_pk=version.parent_id)
        )
        path = index.lineage_ids(version.pk)[:-1]
        for pk in {*path[:1], *path[-COUNTED_ANCESTORS:]}:
            counted[pk] = tree.TreeItem(
                kind="node",
                level=index.depth(pk) + 1,
                pk=pk,
                child_count=len(index.child_ids(pk)),
                descendant_count=index.descendants[pk],
            )
    return created, list(counted.values())


def _attach_reviews(versions: list[Version]) -> None:
    """Comments and decisions of the changed versions, two queries in all."""
    ids = [v.pk for v in versions]
    comments: dict[int, list[Comment]] = {pk: [] for pk in ids}
    for comment in (
        Comment.objects.filter(version_id__in=ids)
        .in_time_order()
        .select_related("author", "resolved_by")
    ):
        comments[comment.version_id].append(comment)
    decisions: dict[int, list[Review]] = {pk: [] for pk in ids}
    for review in Review.objects.filter(version_id__in=ids).select_related("reviewer"):
        decisions[review.version_id].append(review)
    for version in versions:
        attach_comments(version, comments[version.pk])
        version.review_list = decisions[version.pk]


def _render(context: dict, role: str) -> str:
    return render_to_string(f"{TEMPLATE}#updates", {**context, "membership": role_membership(role)})
