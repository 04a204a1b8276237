"""Review: timecoded comments and replies, decisions, and the pick."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from projects.models import (
    Activity,
    Comment,
    GuestLink,
    Membership,
    Project,
    Review,
    Version,
)
from projects.services import webhooks
from projects.services.access import require
from projects.services.activity import activity_record
from projects.services.annotations import annotation_checked, annotation_region, region_words
from projects.services.broadcast import record_event
from projects.services.engines import get_engine
from projects.services.errors import StudioError
from projects.services.notifications import (
    comment_edited_notify,
    comment_notify,
    review_notify,
)
from projects.services.prompts import sentence
from studio.engines.base import EngineError
from studio.engines.video import FRAME_TOLERANCE, frame_index

# The longest a comment, or a decision's note, may be.
COMMENT_MAX_CHARS = 2000
REVIEW_NOTE_MAX_CHARS = 2000


def frame_at(version: Version, seconds: float | None) -> int | None:
    """The frame the version's video shows at ``seconds``."""
    if seconds is None:
        return None
    duration = version.video_duration or version.duration_seconds
    frames = math.ceil(duration * version.fps - FRAME_TOLERANCE)
    return frame_index(seconds, version.fps, frames)


def comment_create(
    *,
    version: Version,
    membership: Membership,
    body: str,
    start_seconds: float | None = None,
    end_seconds: float | None = None,
    parent: Comment | None = None,
    annotation: object = None,
) -> Comment:
    """A comment, at a time or over a range, perhaps with a drawing on the
    frame at its start (see ``annotations``), or a reply to one."""
    require(membership.can_comment, "Viewers can watch but not comment.")
    fields = comment_fields(
        version=version,
        body=body,
        start_seconds=start_seconds,
        end_seconds=end_seconds,
        parent=parent,
        annotation=annotation,
    )
    return comment_record(version=version, fields=fields, author=membership.user)


def comment_record(
    *,
    version: Version,
    fields: dict,
    author: AbstractBaseUser | None,
    guest_name: str = "",
    guest_link: GuestLink | None = None,
) -> Comment:
    """Store a checked comment (``comment_fields``), note it in the feed and
    tell the pages, in one transaction."""
    with transaction.atomic():
        comment = Comment.objects.create(
            version=version, author=author, guest_name=guest_name, guest_link=guest_link, **fields
        )
        activity_record(
            project=version.project,
            actor=author,
            guest_name=guest_name,
            verb=Activity.Verb.COMMENTED,
            version=version,
            detail=f"{comment.timecode_display} {comment.body}".strip(),
        )
        comment_notify(comment=comment, actor=author)
        record_event(version, kind="comments")
        webhooks.comment_event_record(comment=comment)
    return comment


def comment_fields(
    *,
    version: Version,
    body: str,
    start_seconds: float | None = None,
    end_seconds: float | None = None,
    parent: Comment | None = None,
    annotation: object = None,
) -> dict:
    """A comment's fields, checked: whoever writes it (a member or a guest)."""
    body = body.strip()
    if not body:
        raise StudioError("Write a comment.", field="body")
    shapes = annotation_checked(annotation)
    if parent is not None:
        if parent.version_id != version.pk or parent.parent_id is not None:
            raise StudioError("Reply to a comment on this version.", field="parent")
        if shapes:
            raise StudioError("Draw on the frame in a comment of its own.", field="annotation")
        start_seconds = end_seconds = None
    if shapes and start_seconds is None:
        raise StudioError(
            "A drawing is on a frame: give the time it is at (pause the player there).",
            field="start_seconds",
        )
    duration = version.video_duration or version.duration_seconds
    if start_seconds is not None:
        if start_seconds < 0 or start_seconds > duration + 0.05:
            raise StudioError(
                f"The time must be within the video (0 to {duration:.1f} s).", field="start_seconds"
            )
        # To the millisecond: a frame lasts 33 ms at 30 fps.
        start_seconds = round(start_seconds, 3)
    if end_seconds is not None:
        if start_seconds is None:
            raise StudioError("A range needs a start time.", field="start_seconds")
        end_seconds = round(min(end_seconds, duration), 3)
        if end_seconds <= start_seconds:
            raise StudioError("The range must end after it starts.", field="end_seconds")
    return {
        "parent": parent,
        "body": body,
        "start_seconds": start_seconds,
        "end_seconds": end_seconds,
        "start_frame": frame_at(version, start_seconds),
        "end_frame": frame_at(version, end_seconds),
        "annotation": shapes,
    }


def comment_edit(*, comment: Comment, membership: Membership, body: str) -> Comment:
    require(comment.author_id == membership.user_id, "You can edit only your own comments.")
    if not body.strip():
        raise StudioError("Write a comment.", field="body")
    with transaction.atomic():
        comment.body = body.strip()
        comment.save(update_fields=["body", "updated_at"])
        comment_edited_notify(comment=comment, actor=membership.user)
        record_event(comment.version, kind="comments")
    return comment


def comment_delete(*, comment: Comment, membership: Membership) -> None:
    require(comment.author_id == membership.user_id, "You can delete only your own comments.")
    with transaction.atomic():
        version = comment.version
        comment.delete()
        record_event(version, kind="comments")


def comment_set_resolved(*, comment: Comment, membership: Membership, resolved: bool) -> Comment:
    require(membership.can_comment, "Viewers can watch but not resolve comments.")
    with transaction.atomic():
        comment.resolved_at = timezone.now() if resolved else None
        comment.resolved_by = membership.user if resolved else None
        comment.save(update_fields=["resolved_at", "resolved_by", "updated_at"])
        record_event(comment.version, kind="comments")
    return comment


@dataclass(frozen=True)
class CommentForEdit:
    """A review comment as the next edit would carry it, and whether the
    edit's engine can act on it (and why not)."""

    comment: Comment
    line: str
    refusal: str = ""


def comments_for_edit(comments: Iterable[Comment], *, engine: str) -> list[CommentForEdit]:
    """Each comment's line of an edit prompt, checked with the engine that
    would make the edit: the local engine acts on its own commands only; a
    model reads every line."""
    checked = []
    for comment in _in_time_order(comments):
        line = comments_edit_instruction([comment])
        try:
            get_engine(engine).check_instruction(line)
        except EngineError as error:
            reason = error.message.split(" It understands:")[0]
            checked.append(CommentForEdit(comment, line, refusal=reason))
        else:
            checked.append(CommentForEdit(comment, line))
    return checked


def comments_edit_instruction(comments: Iterable[Comment]) -> str:
    """An edit prompt written from review comments, each with its time range."""
    lines = []
    for comment in _in_time_order(comments):
        text = " ".join(comment.body.split())
        if region := comment_region(comment):
            # A drawing says where: the words carry it to any engine.
            text = f"{text.rstrip('.!?')}, {region_words(region)}"
        lines.append(f"{comment.timecode} {sentence(text)}".strip())
    return "\n".join(lines)


def _in_time_order(comments: Iterable[Comment]) -> list[Comment]:
    """By timecode, untimed last (as CommentQuerySet.in_time_order)."""
    return sorted(comments, key=lambda c: (c.start_seconds is None, c.start_seconds or 0))


def comment_region(comment: Comment) -> dict | None:
    """The region a comment's drawing marks, at its time."""
    return annotation_region(comment.annotation, at=comment.start_seconds)


def edit_region(comments: Iterable[Comment]) -> dict | None:
    """The region an edit made from these comments applies in: the first
    drawn-on one's (an edit has one region)."""
    for comment in _in_time_order(comments):
        if region := comment_region(comment):
            return region
    return None


def review_decide(
    *, version: Version, membership: Membership, decision: str, note: str = ""
) -> Review:
    """Approve or request changes. Approving a version resolves the comments
    it was made to address."""
    require(membership.can_review, "Only reviewers and owners can approve or request changes.")
    if decision not in Review.Decision.values:
        raise StudioError("Choose approve or request changes.", field="decision")
    if version.status != Version.Status.READY:
        raise StudioError(f"{version.label} is not ready to review.")
    with transaction.atomic():
        review = review_record(
            version=version, reviewer=membership.user, decision=decision, note=note
        )
        if decision == Review.Decision.APPROVED:
            addressed = list(version.addressed_comments.filter(resolved_at__isnull=True))
            Comment.objects.filter(pk__in=[c.pk for c in addressed]).update(
                resolved_at=timezone.now(), resolved_by=membership.user
            )
            for parent_version in {c.version for c in addressed}:
                record_event(parent_version, kind="comments")
    return review


def review_record(
    *,
    version: Version,
    reviewer: AbstractBaseUser | None,
    decision: str,
    note: str = "",
    guest_name: str = "",
    guest_link: GuestLink | None = None,
) -> Review:
    """Store a decision (checked by the caller), note it in the feed and tell
    the pages."""
    with transaction.atomic():
        review = Review.objects.create(
            version=version,
            reviewer=reviewer,
            guest_name=guest_name,
            guest_link=guest_link,
            decision=decision,
            note=note.strip(),
        )
        activity_record(
            project=version.project,
            actor=reviewer,
            guest_name=guest_name,
            verb=Activity.Verb.DECIDED,
            version=version,
            detail=review.get_decision_display() + (f": {review.note}" if review.note else ""),
        )
        review_notify(review=review)
        record_event(version, kind="decision")
        webhooks.review_event_record(review=review)
    return review


def project_pick(*, project: Project, membership: Membership, version: Version | None) -> None:
    require(membership.is_owner, "Only owners pick the project's winner.")
    if version is not None and version.status != Version.Status.READY:
        raise StudioError(f"{version.label} is not ready.")
    with transaction.atomic():
        previous = project.picked_version
        project.picked_version = version
        project.save(update_fields=["picked_version", "updated_at"])
        target = version or previous
        if target is not None:
            activity_record(
                project=project,
                actor=membership.user,
                verb=Activity.Verb.PICKED,
                version=target,
                detail="" if version else "cleared the pick",
            )
            record_event(target, kind="pick")
