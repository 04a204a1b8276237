"""The inbox pages: the header's count, the list, opening and reading
entries, the digest choice; only ever your own."""

from types import SimpleNamespace

import pytest
from django.urls import reverse

from projects.models import InboxSettings, Membership, Notification, Version
from projects.services import review
from tests.factories import MembershipFactory, ProjectFactory, VersionFactory


@pytest.fixture
def mentioned(db):
    """An editor mentioned twice by a reviewer, each signed in on a client."""
    editor = MembershipFactory(role=Membership.Role.EDITOR, user__username="ada")
    reviewer = MembershipFactory(
        workspace=editor.workspace, role=Membership.Role.REVIEWER, user__username="grace"
    )
    project = ProjectFactory(workspace=editor.workspace, title="Harbour at dawn")
    version = VersionFactory(
        project=project,
        number=1,
        author=editor.user,
        status=Version.Status.READY,
        video_duration=5.0,
    )
    review.comment_create(version=version, membership=reviewer, body="@ada the gulls <b>loud</b>")
    review.comment_create(version=version, membership=reviewer, body="@ada and the boat")
    return SimpleNamespace(editor=editor, reviewer=reviewer, version=version)


def signed_in(client, membership):
    client.force_login(membership.user)
    return client


def test_the_header_counts_whats_unread_and_the_inbox_lists_it(client, mentioned):
    page = signed_in(client, mentioned.editor).get(reverse("project_list"))
    assert 'aria-label="Inbox, 2 unread"' in page.text
    assert 'hx-trigger="every 30s"' in page.text  # no socket on this page
    inbox = client.get(reverse("inbox"))
    assert inbox.status_code == 200
    assert inbox.text.count('class="notification unread"') == 2
    assert "grace mentioned you on v1" in inbox.text
    assert "in Harbour at dawn" in inbox.text
    assert "&lt;b&gt;loud&lt;/b&gt;" in inbox.text and "<b>loud" not in inbox.text


def test_the_project_page_leaves_the_count_to_its_live_socket(client, mentioned):
    page = signed_in(client, mentioned.editor).get(mentioned.version.get_absolute_url())
    link = page.text[page.text.index('id="inbox-link"') :][:600]
    assert "every 30s" not in link and "data-unread" not in link.split(">")[0]


def test_someone_elses_inbox_is_not_yours(client, mentioned):
    entry = Notification.objects.filter(recipient=mentioned.editor.user).first()
    signed_in(client, mentioned.reviewer)
    inbox = client.get(reverse("inbox"))
    assert "mentioned you" not in inbox.text
    assert client.get(reverse("notification_open", args=[entry.pk])).status_code == 404
    assert client.get(reverse("notification_open", args=[2**70])).status_code == 404
    client.post(reverse("inbox_mark_read"), {"id": entry.pk})
    entry.refresh_from_db()
    assert entry.read_at is None


def test_opening_an_entry_reads_it_and_goes_to_the_comment(client, mentioned):
    entry = Notification.objects.filter(recipient=mentioned.editor.user).order_by("pk").first()
    response = signed_in(client, mentioned.editor).get(
        reverse("notification_open", args=[entry.pk])
    )
    assert response.status_code == 302
    assert (
        response["Location"] == f"{mentioned.version.get_absolute_url()}#comment-{entry.comment_id}"
    )
    entry.refresh_from_db()
    assert entry.read_at is not None
    assert 'aria-label="Inbox, 1 unread"' in client.get(reverse("inbox")).text


def test_marking_all_read_from_the_page_redraws_the_list_and_the_count(client, mentioned):
    response = signed_in(client, mentioned.editor).post(
        reverse("inbox_mark_read") + "?show=unread", HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert 'id="inbox-body"' in response.text and "Nothing unread." in response.text
    assert 'id="inbox-link"' in response.text and 'hx-swap-oob="true"' in response.text
    assert 'data-unread="0"' in response.text
    assert not Notification.objects.filter(read_at__isnull=True).exists()


def test_a_bad_id_to_mark_read_changes_nothing(client, mentioned):
    signed_in(client, mentioned.editor)
    for bad in ["abc", "0", "-1", str(2**70), ""]:
        assert client.post(reverse("inbox_mark_read"), {"id": bad}).status_code == 404
    assert Notification.objects.filter(read_at__isnull=True).count() == 2


def test_the_digest_is_chosen_on_the_inbox_page(client, mentioned):
    signed_in(client, mentioned.editor)
    response = client.post(reverse("inbox_settings"), {"email_digest": "daily"}, follow=True)
    assert "your account has no email address" in response.text
    assert InboxSettings.objects.get(user=mentioned.editor.user).email_digest == "daily"
    refused = client.post(reverse("inbox_settings"), {"email_digest": "weekly"})
    assert refused.status_code == 422 and "Choose off, hourly or daily." in refused.text
    assert InboxSettings.objects.get(user=mentioned.editor.user).email_digest == "daily"


def test_the_badge_alone_for_polling(client, mentioned):
    response = signed_in(client, mentioned.editor).get(reverse("inbox_badge"))
    assert response.status_code == 200
    assert response.text.startswith('<a id="inbox-link"') and 'data-unread="2"' in response.text


def test_the_inbox_needs_a_signed_in_member(client, db):
    response = client.get(reverse("inbox"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_mention_stands_out_in_the_comment_and_stays_escaped(client, mentioned):
    page = signed_in(client, mentioned.editor).get(mentioned.version.get_absolute_url())
    assert '<span class="mention">@ada</span> the gulls &lt;b&gt;loud&lt;/b&gt;' in page.text


def test_the_comment_box_is_offered_the_workspaces_members_only(client, mentioned):
    signed_in(client, mentioned.reviewer)
    url = reverse("member_names", args=[mentioned.version.project_id])
    assert client.get(url, {"q": "A"}).json() == {"members": ["ada"]}
    assert client.get(url, {"q": ""}).json() == {"members": ["ada", "grace"]}
    assert client.get(url, {"q": "mall"}).json() == {"members": []}
    MembershipFactory(user__username="adam")  # another workspace's
    assert client.get(url, {"q": "ad"}).json() == {"members": ["ada"]}
    outsider = MembershipFactory()
    client.force_login(outsider.user)
    assert client.get(url, {"q": "a"}).status_code == 404
