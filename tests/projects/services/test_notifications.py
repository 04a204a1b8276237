"""Who is told what: mentions, replies, decisions and generations' outcomes;
the inbox's reads; the opt-in digest."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core import mail
from django.utils import timezone

from projects.models import InboxSettings, Membership, Notification, Version
from projects.services import leases, notifications, review, team, versions
from projects.services.errors import StudioError
from projects.services.guests import (
    guest_comment_create,
    guest_link_create,
    guest_review_decide,
)
from tests.factories import MembershipFactory, ProjectFactory, VersionFactory


@pytest.fixture
def crew(db):
    """An editor whose version it is, a reviewer, a viewer, and someone from
    another workspace."""
    editor = MembershipFactory(role=Membership.Role.EDITOR, user__username="ada")
    workspace = editor.workspace
    reviewer = MembershipFactory(
        workspace=workspace, role=Membership.Role.REVIEWER, user__username="Grace"
    )
    viewer = MembershipFactory(
        workspace=workspace, role=Membership.Role.VIEWER, user__username="lin"
    )
    stranger = MembershipFactory(user__username="mallory")
    project = ProjectFactory(workspace=workspace)
    version = VersionFactory(
        project=project,
        number=1,
        author=editor.user,
        status=Version.Status.READY,
        video_duration=5.0,
    )
    project.last_version_number = 1
    project.save()
    return SimpleNamespace(
        editor=editor, reviewer=reviewer, viewer=viewer, stranger=stranger, version=version
    )


def inbox(user) -> list[tuple[str, str]]:
    return [(n.kind, n.actor_name) for n in Notification.objects.for_user(user)]


def test_mentions_tell_the_members_named_and_nobody_else(crew):
    review.comment_create(
        version=crew.version,
        membership=crew.reviewer,
        body="@ada the sky flickers at 0:02. @LIN can you look? @mallory, @grace, @nobody, "
        "mail me at grace@example.com.",
    )
    assert inbox(crew.editor.user) == [(Notification.Kind.MENTION, "Grace")]
    assert inbox(crew.viewer.user) == [(Notification.Kind.MENTION, "Grace")]
    # Not a member of this workspace, the author herself, a name nobody has,
    # and an email address: nobody told.
    assert inbox(crew.stranger.user) == []
    assert inbox(crew.reviewer.user) == []
    assert Notification.objects.count() == 2
    entry = Notification.objects.get(recipient=crew.editor.user)
    assert entry.comment.body.startswith("@ada the sky")
    assert entry.headline == "Grace mentioned you on v1"
    assert notifications.notification_target(entry).endswith(f"/v/1/#comment-{entry.comment_id}")


def test_a_mention_at_the_end_of_a_sentence_is_found():
    assert notifications.mentioned_names("Looks right to me, @ada.") == ["ada"]
    assert notifications.mentioned_names("@a.b+c-d_e: and again @A.B+C-D_E") == ["a.b+c-d_e"]
    assert notifications.mentioned_names("x@example.com and email@ada") == []


def test_a_reply_tells_everyone_who_wrote_in_the_thread_once(crew):
    owner = MembershipFactory(workspace=crew.editor.workspace, role=Membership.Role.OWNER)
    top = review.comment_create(version=crew.version, membership=crew.reviewer, body="Too dark.")
    review.comment_create(version=crew.version, membership=owner, body="Agreed.", parent=top)
    assert inbox(crew.reviewer.user) == [(Notification.Kind.REPLY, owner.user.username)]
    # The editor replies and mentions the reviewer: one entry for the
    # reviewer (the mention), and the owner hears of the reply.
    review.comment_create(
        version=crew.version, membership=crew.editor, body="@grace brighter now?", parent=top
    )
    assert inbox(crew.reviewer.user) == [
        (Notification.Kind.MENTION, "ada"),
        (Notification.Kind.REPLY, owner.user.username),
    ]
    assert inbox(owner.user) == [(Notification.Kind.REPLY, "ada")]
    assert inbox(crew.editor.user) == []


def test_editing_a_comment_tells_only_the_newly_mentioned(crew):
    comment = review.comment_create(
        version=crew.version, membership=crew.reviewer, body="@ada look"
    )
    review.comment_edit(comment=comment, membership=crew.reviewer, body="@ada and @lin look")
    review.comment_edit(comment=comment, membership=crew.reviewer, body="@ada and @lin, look")
    assert inbox(crew.editor.user) == [(Notification.Kind.MENTION, "Grace")]
    assert inbox(crew.viewer.user) == [(Notification.Kind.MENTION, "Grace")]


def test_a_decision_tells_the_versions_author_but_not_when_it_is_her_own(crew):
    review.review_decide(
        version=crew.version, membership=crew.reviewer, decision="changes_requested", note="Warmer"
    )
    (entry,) = Notification.objects.for_user(crew.editor.user)
    assert (entry.kind, entry.text, entry.headline) == (
        Notification.Kind.DECISION,
        "Changes requested: Warmer",
        "Grace reviewed your v1",
    )
    owner = MembershipFactory(workspace=crew.editor.workspace, role=Membership.Role.OWNER)
    own = VersionFactory(
        project=crew.version.project, number=2, author=owner.user, status=Version.Status.READY
    )
    review.review_decide(version=own, membership=owner, decision="approved")
    assert inbox(owner.user) == []


def test_a_guest_is_marked_as_such_in_what_it_causes(crew):
    owner = MembershipFactory(workspace=crew.editor.workspace, role=Membership.Role.OWNER)
    link, _ = guest_link_create(
        project=crew.version.project,
        membership=owner,
        user=owner.user,
        versions=[crew.version],
        label="Client",
    )
    guest_comment_create(link=link, version=crew.version, guest_name="Sam", body="@ada love it")
    guest_review_decide(link=link, version=crew.version, guest_name="Sam", decision="approved")
    assert inbox(crew.editor.user) == [
        (Notification.Kind.DECISION, "Sam (guest)"),
        (Notification.Kind.MENTION, "Sam (guest)"),
    ]


def test_a_generation_tells_its_author_when_it_is_ready(crew, tasks):
    made = versions.version_create(
        project=crew.version.project,
        membership=crew.editor,
        author=crew.editor.user,
        kind=Version.Kind.TEXT_TO_VIDEO,
        prompt="A lighthouse at dusk",
        aspect_ratio="16:9",
        resolution="480p",
        duration_seconds=3,
        engine="local",
    )
    tasks()
    made.refresh_from_db()
    assert made.status == Version.Status.READY
    (entry,) = Notification.objects.for_user(crew.editor.user)
    assert (entry.kind, entry.version_id, entry.text) == (
        Notification.Kind.VERSION_READY,
        made.pk,
        "A lighthouse at dusk",
    )
    assert entry.headline == "Your v2 is ready"


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (Version.Status.FAILED, Notification.Kind.VERSION_FAILED),
        (Version.Status.BLOCKED, Notification.Kind.VERSION_BLOCKED),
        (Version.Status.RECONCILE, Notification.Kind.NEEDS_DECISION),
    ],
)
def test_a_generation_that_fails_or_stops_to_ask_tells_its_author(crew, status, kind):
    running = VersionFactory(
        project=crew.version.project,
        number=2,
        author=crew.editor.user,
        status=Version.Status.SUBMITTING,
    )
    claimed = leases.version_claim(version_id=running.pk)
    leases.version_write(
        claimed, expect=Version.Status.SUBMITTING, status=status, error_message="It went wrong."
    )
    assert [(n.kind, n.text) for n in Notification.objects.for_user(crew.editor.user)] == [
        (kind, "It went wrong.")
    ]


def test_progress_and_an_uploads_import_tell_nobody(crew):
    running = VersionFactory(
        project=crew.version.project,
        number=2,
        author=crew.editor.user,
        status=Version.Status.GENERATING,
    )
    claimed = leases.version_claim(version_id=running.pk)
    leases.version_write(claimed, expect=Version.Status.GENERATING, progress=0.5, event="progress")
    upload = VersionFactory(
        project=crew.version.project,
        number=3,
        author=crew.editor.user,
        kind=Version.Kind.UPLOAD,
        status=Version.Status.SAVING,
    )
    claimed = leases.version_claim(version_id=upload.pk)
    leases.version_write(claimed, expect=Version.Status.SAVING, status=Version.Status.READY)
    assert inbox(crew.editor.user) == []


def test_a_member_who_left_no_longer_sees_or_gets_the_workspaces_entries(crew):
    review.comment_create(version=crew.version, membership=crew.reviewer, body="@lin first")
    owner = MembershipFactory(workspace=crew.editor.workspace, role=Membership.Role.OWNER)
    team.membership_remove(by=owner, target=crew.viewer)
    assert inbox(crew.viewer.user) == []
    review.comment_create(version=crew.version, membership=crew.reviewer, body="@lin second")
    assert Notification.objects.filter(recipient=crew.viewer.user).count() == 1


def test_reading_one_and_all_and_opening_only_your_own(crew):
    for n in range(3):
        review.comment_create(version=crew.version, membership=crew.reviewer, body=f"@ada note {n}")
    assert notifications.unread_count(user=crew.editor.user) == 3
    first, *_ = notifications.inbox_entries(user=crew.editor.user)
    assert notifications.notification_open(
        user=crew.editor.user, notification_id=first.pk
    ).endswith(f"#comment-{first.comment_id}")
    assert notifications.unread_count(user=crew.editor.user) == 2
    with pytest.raises(StudioError):
        notifications.notification_open(user=crew.reviewer.user, notification_id=first.pk)
    with pytest.raises(StudioError):
        notifications.notification_open(user=crew.editor.user, notification_id=2**70)
    # Someone else's entry cannot be marked read by id.
    assert notifications.inbox_mark_read(user=crew.reviewer.user, ids=[first.pk]) == 0
    assert notifications.inbox_mark_read(user=crew.editor.user) == 2
    assert notifications.unread_count(user=crew.editor.user) == 0
    assert len(notifications.inbox_entries(user=crew.editor.user)) == 3
    assert notifications.inbox_entries(user=crew.editor.user, unread_only=True) == []


def test_the_inbox_pages_by_id(crew):
    for n in range(notifications.INBOX_PAGE_SIZE + 5):
        review.comment_create(version=crew.version, membership=crew.reviewer, body=f"@ada note {n}")
    page = notifications.inbox_entries(user=crew.editor.user)
    rest = notifications.inbox_entries(user=crew.editor.user, before=page[-1].pk)
    assert len(page) == notifications.INBOX_PAGE_SIZE and len(rest) == 5
    assert rest[0].text == "@ada note 4" and rest[-1].text == "@ada note 0"


def test_a_digest_is_sent_only_to_who_asked_and_only_when_due(crew, settings):
    settings.STUDIO_SITE_URL = "https://studio.example.com"
    crew.editor.user.email = "ada@example.com"
    crew.editor.user.save()
    crew.viewer.user.email = "lin@example.com"
    crew.viewer.user.save()
    notifications.inbox_settings_update(user=crew.editor.user, email_digest="hourly")
    review.comment_create(version=crew.version, membership=crew.reviewer, body="@ada @lin the sky")
    review.review_decide(version=crew.version, membership=crew.reviewer, decision="approved")
    now = timezone.now()
    assert notifications.digests_send(now=now) == ["ada@example.com"]
    (sent,) = mail.outbox
    assert sent.to == ["ada@example.com"]
    assert sent.subject == "Omni Studio: 2 unread notifications"
    assert "Grace mentioned you on v1" in sent.body and "Grace reviewed your v1" in sent.body
    assert f"https://studio.example.com/projects/{crew.version.project_id}/v/1/" in sent.body
    assert '"@ada @lin the sky"' in sent.body  # not HTML-escaped in a text mail
    # Within the hour, and after it with nothing new: no mail.
    review.comment_create(version=crew.version, membership=crew.reviewer, body="@ada again")
    assert notifications.digests_send(now=now + timedelta(minutes=30)) == []
    assert notifications.digests_send(now=now + timedelta(minutes=61)) == ["ada@example.com"]
    assert "again" in mail.outbox[1].body and "the sky" not in mail.outbox[1].body
    assert notifications.digests_send(now=now + timedelta(hours=3)) == []
    # Read entries are not mailed; off is off.
    review.comment_create(version=crew.version, membership=crew.reviewer, body="@ada read it here")
    notifications.inbox_mark_read(user=crew.editor.user)
    assert notifications.digests_send(now=now + timedelta(hours=5)) == []
    notifications.inbox_settings_update(user=crew.editor.user, email_digest="off")
    review.comment_create(version=crew.version, membership=crew.reviewer, body="@ada once more")
    assert notifications.digests_send(now=now + timedelta(days=2)) == []
    assert len(mail.outbox) == 2


def test_a_digest_choice_must_be_one_offered(crew):
    with pytest.raises(StudioError, match="off, hourly or daily"):
        notifications.inbox_settings_update(user=crew.editor.user, email_digest="weekly")
    assert not InboxSettings.objects.exists()


def test_a_digest_needs_an_email_address(crew):
    notifications.inbox_settings_update(user=crew.editor.user, email_digest="daily")
    review.comment_create(version=crew.version, membership=crew.reviewer, body="@ada hi")
    assert notifications.digests_send() == [] and mail.outbox == []
