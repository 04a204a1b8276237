"""Notifications: who is told what, the inbox, and the opt-in email digest.

A member is told when a comment mentions them (``@name``), when someone
replies in a thread they wrote in, when their version is approved or sent
back, and when their generation finishes, fails, is blocked or needs a
decision. Nobody is told of what they did themselves, and only members of
the project's workspace are told anything. Each is written in the
transaction of what caused it, and the recipient's open pages hear of it
once that commits (the header's unread count is drawn again).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from projects.models import (
    MAX_ID,
    Comment,
    InboxSettings,
    Membership,
    Notification,
    Review,
    Version,
)
from projects.services.broadcast import send_on_commit, user_group
from projects.services.errors import StudioError

# A mention: "@" and a username (Django's: letters, digits and @.+-_), not
# inside a word or an email address. A trailing full stop ends the sentence.
MENTION = re.compile(r"(?<![\w@.+-])@([\w.@+-]+)")
# Mentions acted on in one comment: more is a list, not a conversation.
MENTIONS_PER_COMMENT = 20
INBOX_PAGE_SIZE = 50
DIGEST_EVERY = {
    InboxSettings.Digest.HOURLY: timedelta(hours=1),
    InboxSettings.Digest.DAILY: timedelta(days=1),
}
# Entries a digest lists; it says how many more there are.
DIGEST_ENTRIES = 50

VERSION_OUTCOMES = {
    Version.Status.READY: Notification.Kind.VERSION_READY,
    Version.Status.FAILED: Notification.Kind.VERSION_FAILED,
    Version.Status.BLOCKED: Notification.Kind.VERSION_BLOCKED,
    Version.Status.RECONCILE: Notification.Kind.NEEDS_DECISION,
}


# Who is told.


def mentioned_names(body: str) -> list[str]:
    """The usernames a comment mentions, in order, each once."""
    names: dict[str, None] = {}
    for match in MENTION.finditer(body):
        name = match[1].rstrip(".")
        if name:
            names.setdefault(name.lower(), None)
    return list(names)[:MENTIONS_PER_COMMENT]


def mentioned_members(*, workspace_id: int, body: str) -> list[AbstractBaseUser]:
    """The workspace's members a comment mentions (a name that is nobody's
    here is just text)."""
    names = mentioned_names(body)
    if not names:
        return []
    query = Q()
    for name in names:
        query |= Q(username__iexact=name)
    return list(
        get_user_model()
        .objects.filter(query, memberships__workspace_id=workspace_id)
        .order_by("username")
    )


def comment_notify(*, comment: Comment, actor: AbstractBaseUser | None) -> None:
    """A new comment: the members it mentions, and for a reply, everyone
    who wrote in the thread."""
    version = comment.version
    mentioned = mentioned_members(workspace_id=version.project.workspace_id, body=comment.body)
    entries = [(user.pk, Notification.Kind.MENTION) for user in mentioned]
    if comment.parent_id is not None:
        thread = Comment.objects.filter(
            Q(pk=comment.parent_id) | Q(parent_id=comment.parent_id), author__isnull=False
        ).values_list("author_id", flat=True)
        entries += [(user_id, Notification.Kind.REPLY) for user_id in thread]
    _notify(
        entries,
        version=version,
        comment=comment,
        actor=actor,
        actor_name=comment.author_name,
        text=comment.body,
    )


def comment_edited_notify(*, comment: Comment, actor: AbstractBaseUser) -> None:
    """An edited comment: members newly mentioned in it (those already told
    of it are not told again)."""
    mentioned = mentioned_members(
        workspace_id=comment.version.project.workspace_id, body=comment.body
    )
    _notify(
        [(user.pk, Notification.Kind.MENTION) for user in mentioned],
        version=comment.version,
        comment=comment,
        actor=actor,
        actor_name=comment.author_name,
        text=comment.body,
    )


def review_notify(*, review: Review) -> None:
    """A decision: the version's author."""
    version = review.version
    text = review.get_decision_display() + (f": {review.note}" if review.note else "")
    _notify(
        [(version.author_id, Notification.Kind.DECISION)],
        version=version,
        actor=review.reviewer,
        actor_name=review.reviewer_name,
        text=text,
    )


def version_outcome_notify(*, version: Version) -> None:
    """A generation ended (or stopped to ask): its author."""
    kind = VERSION_OUTCOMES.get(version.status)
    if kind is None or (
        kind == Notification.Kind.VERSION_READY and version.kind == Version.Kind.UPLOAD
    ):
        return  # an upload's uploader is not waiting on a model
    if kind == Notification.Kind.VERSION_READY:
        text = version.instruction or version.prompt
    else:
        text = version.error_message
    _notify([(version.author_id, kind)], version=version, actor=None, actor_name="", text=text)


def _notify(
    entries: Iterable[tuple[int | None, str]],
    *,
    version: Version,
    actor: AbstractBaseUser | None,
    actor_name: str,
    text: str,
    comment: Comment | None = None,
) -> None:
    """Write each recipient's entry (the first kind named for them wins)
    and tell their pages after the commit."""
    kinds: dict[int, str] = {}
    for user_id, kind in entries:
        if user_id is not None and (actor is None or user_id != actor.pk):
            kinds.setdefault(user_id, kind)
    if not kinds:
        return
    members = set(
        Membership.objects.filter(
            workspace_id=version.project.workspace_id, user_id__in=kinds
        ).values_list("user_id", flat=True)
    )
    if comment is not None:
        members -= set(
            Notification.objects.filter(comment=comment, recipient_id__in=members).values_list(
                "recipient_id", flat=True
            )
        )
    if not members:
        return
    Notification.objects.bulk_create(
        [
            Notification(
                recipient_id=user_id,
                kind=kinds[user_id],
                project_id=version.project_id,
                version=version,
                comment=comment,
                actor=actor,
                actor_name=actor_name[:100],
                text=" ".join(text.split())[:300],
            )
            for user_id in sorted(members)
        ],
        # The same comment's entry made at the same moment elsewhere.
        ignore_conflicts=True,
    )
    for user_id in members:
        send_on_commit(user_group(user_id), {"type": "inbox.changed", "user_id": user_id})


# The inbox.


def unread_count(*, user: AbstractBaseUser) -> int:
    return Notification.objects.for_user(user).unread().count()


def inbox_entries(
    *, user: AbstractBaseUser, unread_only: bool = False, before: int | None = None
) -> list[Notification]:
    """A page of the user's inbox, newest first; ``before`` an entry's id for
    the page after it."""
    entries = Notification.objects.for_user(user).select_related("project", "version")
    if unread_only:
        entries = entries.unread()
    if before is not None:
        entries = entries.filter(pk__lt=before)
    return list(entries.order_by("-pk")[:INBOX_PAGE_SIZE])


def notification_target(notification: Notification) -> str:
    """Where an entry leads: its version's page, at the comment."""
    if notification.version_id is None:
        return notification.project.get_absolute_url()
    url = notification.version.get_absolute_url()
    return f"{url}#comment-{notification.comment_id}" if notification.comment_id else url


def notification_open(*, user: AbstractBaseUser, notification_id: int) -> str:
    """Mark the user's entry read; where it leads. Another's entry is not found."""
    if not 1 <= notification_id <= MAX_ID:
        raise StudioError("That notification is not in your inbox.")
    notification = (
        Notification.objects.for_user(user)
        .select_related("project", "version")
        .filter(pk=notification_id)
        .first()
    )
    if notification is None:
        raise StudioError("That notification is not in your inbox.")
    if notification.read_at is None:
        inbox_mark_read(user=user, ids=[notification.pk])
    return notification_target(notification)


def inbox_mark_read(*, user: AbstractBaseUser, ids: Iterable[int] | None = None) -> int:
    """Mark the user's entries read (all of them when no ids are given)."""
    entries = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        entries = entries.filter(pk__in=list(ids))
    with transaction.atomic():
        marked = entries.update(read_at=timezone.now())
        if marked:
            send_on_commit(user_group(user.pk), {"type": "inbox.changed", "user_id": user.pk})
    return marked


def inbox_settings_for(user: AbstractBaseUser) -> InboxSettings:
    found = InboxSettings.objects.filter(user=user).first()
    return found or InboxSettings(user=user)


def inbox_settings_update(*, user: AbstractBaseUser, email_digest: str) -> InboxSettings:
    if email_digest not in InboxSettings.Digest.values:
        raise StudioError("Choose off, hourly or daily.", field="email_digest")
    chosen, _ = InboxSettings.objects.update_or_create(
        user=user, defaults={"email_digest": email_digest}
    )
    return chosen


# The email digest.


def digests_send(*, now: datetime | None = None, dry_run: bool = False) -> list[str]:
    """Mail each opted-in member whose period has passed the unread entries
    not mailed before, one message each; who was (or would be) mailed."""
    now = now or timezone.now()
    mailed = []
    chosen = InboxSettings.objects.exclude(email_digest=InboxSettings.Digest.OFF).select_related(
        "user"
    )
    for inbox in chosen:
        due = inbox.last_digest_at is None or (
            inbox.last_digest_at + DIGEST_EVERY[inbox.email_digest] <= now
        )
        email = getattr(inbox.user, "email", "")
        if not due or not email:
            continue
        waiting = (
            Notification.objects.for_user(inbox.user)
            .unread()
            .filter(emailed_at__isnull=True)
            .select_related("project", "version")
            .order_by("-pk")
        )
        entries = list(waiting[: DIGEST_ENTRIES + 1])
        if not entries:
            continue
        mailed.append(email)
        if dry_run:
            continue
        _digest_mail(inbox, entries[:DIGEST_ENTRIES], more=waiting.count() - DIGEST_ENTRIES)
        with transaction.atomic():
            waiting.filter(pk__lte=entries[0].pk).update(emailed_at=now)
            InboxSettings.objects.filter(pk=inbox.pk).update(last_digest_at=now)
    return mailed


def _digest_mail(inbox: InboxSettings, entries: list[Notification], *, more: int) -> None:
    site = settings.STUDIO_SITE_URL.rstrip("/")
    lines = [(entry, site + notification_target(entry)) for entry in entries]
    count = len(entries) + max(more, 0)
    send_mail(
        subject=f"Omni Studio: {count} unread notification{'s' if count != 1 else ''}",
        message=render_to_string(
            "projects/email/digest.txt",
            {
                "user": inbox.user,
                "lines": lines,
                "more": max(more, 0),
                "inbox_url": site + "/inbox/",
                "settings_url": site + "/inbox/#email-digest",
            },
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[inbox.user.email],
    )
