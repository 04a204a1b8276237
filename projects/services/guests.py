"""Guest review links: an owner or editor shares one ready version, or a set,
with people who have no account. The link is shown once (only its digest is
kept), expires, can be withdrawn at once and may ask for a password. A guest
gives a name, then watches, comments (drawings too) and approves or asks for
changes on those versions, and reaches nothing else: no other version,
project, file or live channel. What a guest does is marked as a guest's."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta

from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from projects.models import Comment, GuestLink, Membership, Project, Review, Version
from projects.services.access import require
from projects.services.errors import StudioError
from projects.services.review import comment_fields, comment_record, review_record

LINK_DAYS = (1, 7, 30)
MAX_VERSIONS = 50
MAX_NAME = 80
# Per link: what its guests may post in an hour (comments and decisions),
# counted in the database so every server counts the same.
POSTS_PER_HOUR = 60
# Per link and address: wrong passwords before a pause (this server's count).
PASSWORD_TRIES = 10
PASSWORD_PAUSE_SECONDS = 600


class GuestRefused(Exception):
    """The link cannot be used: gone (404), or withdrawn or expired (410)."""

    def __init__(self, message: str, *, status: int):
        super().__init__(message)
        self.message = message
        self.status = status


def link_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def guest_link_create(
    *,
    project: Project,
    membership: Membership,
    user: AbstractBaseUser,
    versions: Iterable[Version],
    days: int = 7,
    password: str = "",
    label: str = "",
) -> tuple[GuestLink, str]:
    """A new link to ``versions`` and its token (shown once)."""
    require(membership.can_generate, "Only owners and editors share versions with guests.")
    chosen = list({v.pk: v for v in versions}.values())
    if not chosen:
        raise StudioError("Choose at least one version to share.", field="versions")
    if len(chosen) > MAX_VERSIONS:
        raise StudioError(f"Share at most {MAX_VERSIONS} versions in one link.", field="versions")
    for version in chosen:
        if version.project_id != project.pk:
            raise StudioError("That version belongs to another project.", field="versions")
        if version.status != Version.Status.READY:
            raise StudioError(f"{version.label} is not ready to share.", field="versions")
    if days not in LINK_DAYS:
        raise StudioError("A link lasts 1, 7 or 30 days.", field="days")
    if password and len(password) < 8:
        raise StudioError("A link's password has at least 8 characters.", field="password")
    token = secrets.token_urlsafe(24)
    with transaction.atomic():
        link = GuestLink.objects.create(
            project=project,
            label=label.strip()[:100],
            token_digest=link_digest(token),
            password=make_password(password) if password else "",
            created_by=user,
            expires_at=timezone.now() + timedelta(days=days),
        )
        link.versions.set(chosen)
    return link, token


def guest_link_revoke(*, link: GuestLink, membership: Membership) -> None:
    """Withdraw a link: refused at once, also on pages already open."""
    require(membership.can_generate, "Only owners and editors withdraw guest links.")
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at"])


def guest_link_open(token: str) -> GuestLink:
    """The link a token names, if it can still be used."""
    link = (
        GuestLink.objects.select_related("project")
        .filter(token_digest=link_digest(token or ""))
        .first()
    )
    if link is None:
        raise GuestRefused("There is no such review link.", status=404)
    if link.revoked_at is not None:
        raise GuestRefused("This review link was withdrawn by the team.", status=410)
    if link.expires_at <= timezone.now():
        raise GuestRefused(
            f"This review link expired on {timezone.localtime(link.expires_at):%d %b %Y}.",
            status=410,
        )
    return link


def guest_password_check(*, link: GuestLink, password: str, address: str) -> bool:
    """Whether the password opens the link; too many wrong ones pause it."""
    key = f"guest-password:{link.pk}:{address}"
    tries = cache.get(key, 0)
    if tries >= PASSWORD_TRIES:
        raise StudioError("Too many wrong passwords: try again in a few minutes.", field="password")
    if check_password(password, link.password):
        cache.delete(key)
        return True
    cache.set(key, tries + 1, PASSWORD_PAUSE_SECONDS)
    return False


def guest_versions(link: GuestLink) -> list[Version]:
    return list(link.versions.filter(status=Version.Status.READY).order_by("number"))


def guest_version(link: GuestLink, number: int) -> Version:
    """One of the link's versions; any other is not there (404)."""
    version = (
        link.versions.filter(number=number, status=Version.Status.READY)
        .select_related("project")
        .first()
    )
    if version is None:
        raise GuestRefused("This link shares no such version.", status=404)
    return version


def guest_name_checked(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise StudioError("Give your name: the team sees it beside what you write.", field="name")
    if len(name) > MAX_NAME:
        raise StudioError(f"A name has at most {MAX_NAME} characters.", field="name")
    return name


def guest_comment_create(
    *,
    link: GuestLink,
    version: Version,
    guest_name: str,
    body: str,
    start_seconds: float | None = None,
    end_seconds: float | None = None,
    annotation: object = None,
) -> Comment:
    name = guest_name_checked(guest_name)
    _check_rate(link)
    fields = comment_fields(
        version=version,
        body=body,
        start_seconds=start_seconds,
        end_seconds=end_seconds,
        annotation=annotation,
    )
    return comment_record(
        version=version, fields=fields, author=None, guest_name=name, guest_link=link
    )


def guest_review_decide(
    *, link: GuestLink, version: Version, guest_name: str, decision: str, note: str = ""
) -> Review:
    """A guest's approval or request for changes: recorded and shown as a
    guest's; it resolves no comments (that is the team's to do)."""
    name = guest_name_checked(guest_name)
    if decision not in Review.Decision.values:
        raise StudioError("Choose approve or request changes.", field="decision")
    _check_rate(link)
    return review_record(
        version=version,
        reviewer=None,
        decision=decision,
        note=note,
        guest_name=name,
        guest_link=link,
    )


def _check_rate(link: GuestLink) -> None:
    since = timezone.now() - timedelta(hours=1)
    posted = (
        Comment.objects.filter(guest_link=link, created_at__gte=since).count()
        + Review.objects.filter(guest_link=link, created_at__gte=since).count()
    )
    if posted >= POSTS_PER_HOUR:
        raise StudioError(
            f"This link's guests have posted {POSTS_PER_HOUR} times in the last hour: "
            "wait a while before posting again."
        )
