"""Guest review links: an owner or editor shares versions with people who
have no account; a guest names themselves, watches, comments (with a
drawing) and decides on those versions and reaches nothing else; a link is
kept as a digest, can ask for a password, and once withdrawn or expired is
refused at once, also to a page already open."""

import asyncio
import hashlib
import json
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from channels.testing import WebsocketCommunicator
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from projects.api.presenters import comment_out
from projects.models import Activity, Comment, GuestLink, Review, Version
from projects.services import guests
from projects.services.errors import StudioError
from studio.asgi import application
from tests.factories import MembershipFactory, ProjectFactory, VersionFactory

pytestmark = pytest.mark.django_db

VIDEO = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200
BOX = [{"kind": "box", "color": "red", "x": 0.1, "y": 0.1, "w": 0.3, "h": 0.3}]


def ready(project, number: int) -> Version:
    version = VersionFactory(project=project, number=number, video_duration=3.0)
    version.video.save(f"v{number}.mp4", ContentFile(VIDEO))
    version.video_bytes = len(VIDEO)
    version.save()
    project.last_version_number = max(project.last_version_number, number)
    project.save()
    return version


@pytest.fixture
def shared(member):
    """A project with v1 and v2 ready; a link to v1 only, and its token."""
    project = ProjectFactory(workspace=member.workspace)
    v1, v2 = ready(project, 1), ready(project, 2)
    link, token = guests.guest_link_create(
        project=project, membership=member, user=member.user, versions=[v1]
    )
    return project, v1, v2, link, token


def as_guest(token: str, name: str = "Ana") -> Client:
    guest = Client()
    response = guest.post(reverse("guest_home", args=[token]), {"name": name})
    assert response.status_code == 302
    return guest


def test_an_editor_makes_a_link_shown_once_and_stored_as_a_digest(logged_in, member):
    project = ProjectFactory(workspace=member.workspace)
    v1, v2 = ready(project, 1), ready(project, 2)
    response = logged_in.post(
        reverse("guest_link_create", args=[project.pk, 1]),
        {"days": "7", "label": "Client", "also": "2"},
    )
    assert response.status_code == 200, response.text
    url = re.search(r'value="(http://testserver/review/[^"]+/)"', response.text)[1]
    token = url.rstrip("/").rsplit("/", 1)[1]
    link = GuestLink.objects.get()
    assert link.token_digest == hashlib.sha256(token.encode()).hexdigest()
    assert token not in json.dumps(list(GuestLink.objects.values()), default=str)
    assert set(link.versions.all()) == {v1, v2}
    assert timedelta(days=6, hours=23) < link.expires_at - timezone.now() <= timedelta(days=7)
    # Listed again without the link itself.
    listed = logged_in.get(reverse("guest_link_create", args=[project.pk, 1]))
    assert "Client: v1, v2" in listed.text and token not in listed.text


@pytest.mark.parametrize("role", ["reviewer", "viewer"])
def test_only_owners_and_editors_share(client, member, role):
    project = ProjectFactory(workspace=member.workspace)
    ready(project, 1)
    other = MembershipFactory(workspace=member.workspace, role=role)
    client.force_login(other.user)
    url = reverse("guest_link_create", args=[project.pk, 1])
    assert client.post(url, {"days": "7"}).status_code == 403
    assert client.get(url).status_code == 403
    assert not GuestLink.objects.exists()


def test_bad_requests_say_why_and_make_nothing(member):
    project = ProjectFactory(workspace=member.workspace)
    v1 = ready(project, 1)
    queued = VersionFactory(project=project, number=2, status=Version.Status.QUEUED)
    elsewhere = ready(ProjectFactory(workspace=member.workspace), 1)
    for versions, options, message in [
        ([], {}, "at least one version"),
        ([queued], {}, "v2 is not ready"),
        ([elsewhere], {}, "another project"),
        ([v1], {"days": 3}, "1, 7 or 30 days"),
        ([v1], {"password": "short"}, "at least 8 characters"),
    ]:
        with pytest.raises(StudioError, match=message):
            guests.guest_link_create(
                project=project, membership=member, user=member.user, versions=versions, **options
            )
    assert not GuestLink.objects.exists()


def test_a_guest_names_themselves_then_watches_comments_and_approves(shared, logged_in):
    _, v1, _, link, token = shared
    guest = Client()
    first = guest.get(reverse("guest_home", args=[token]))
    assert first.status_code == 200 and "Your name" in first.text
    assert guest.post(reverse("guest_home", args=[token]), {"name": "  "}).status_code == 422
    guest.post(reverse("guest_home", args=[token]), {"name": "Ana Lima"})
    home = guest.get(reverse("guest_home", args=[token]))
    assert home.status_code == 302 and home["Location"] == f"/review/{token}/v/1/"
    page = guest.get(home["Location"])
    assert page.status_code == 200
    assert f'src="/review/{token}/v/1/video.mp4"' in page.text
    video = guest.get(f"/review/{token}/v/1/video.mp4")
    assert video.status_code == 200 and b"".join(video.streaming_content) == VIDEO

    posted = guest.post(
        f"/review/{token}/v/1/comments/",
        {"body": "The logo is too small", "start_seconds": "2", "annotation": json.dumps(BOX)},
    )
    assert posted.status_code == 302
    comment = Comment.objects.get()
    assert (comment.author, comment.guest_name, comment.guest_link) == (None, "Ana Lima", link)
    assert comment.start_frame == 48 and comment.annotation[0]["kind"] == "box"
    bad = guest.post(f"/review/{token}/v/1/comments/", {"body": ""})
    assert bad.status_code == 422 and Comment.objects.count() == 1
    guest.post(f"/review/{token}/v/1/decision/", {"decision": "approved", "note": "Lovely"})
    decision = Review.objects.get()
    assert (decision.reviewer, decision.guest_name, decision.decision) == (
        None,
        "Ana Lima",
        "approved",
    )

    # The team sees it all, marked as a guest's.
    team_page = logged_in.get(v1.get_absolute_url()).text
    assert "Ana Lima (guest)" in team_page
    assert "Approved</strong> by Ana Lima (guest)" in team_page
    assert Activity.objects.filter(guest_name="Ana Lima").count() == 2
    shown = comment_out(comment, version_number=1)
    assert (shown["author"], shown["guest"]) == ("Ana Lima (guest)", True)


def test_a_guest_reaches_its_versions_and_nothing_else(shared, member):
    project, _, _, _, token = shared
    guest = as_guest(token)
    other_project = ProjectFactory(workspace=member.workspace)
    ready(other_project, 1)
    _, other_token = guests.guest_link_create(
        project=other_project,
        membership=member,
        user=member.user,
        versions=other_project.versions.all(),
    )
    # Not v2 of the same project, by any door.
    for url in (
        f"/review/{token}/v/2/",
        f"/review/{token}/v/2/video.mp4",
        f"/review/{token}/v/2/poster.jpg",
        f"/review/{token}/v/99/",
    ):
        assert guest.get(url).status_code == 404, url
    assert guest.post(f"/review/{token}/v/2/comments/", {"body": "x"}).status_code == 404
    assert guest.post(f"/review/{token}/v/2/decision/", {"decision": "approved"}).status_code == 404
    # Another link's versions need that link's own name first.
    assert guest.get(f"/review/{other_token}/v/1/").status_code == 302
    assert guest.get(f"/review/{other_token}/v/1/video.mp4").status_code == 403
    # The team's pages, files and API are closed to a guest.
    for url in (
        f"/projects/{project.pk}/",
        f"/projects/{project.pk}/v/1/",
        f"/projects/{project.pk}/v/1/video.mp4",
        f"/projects/{project.pk}/v/2/video.mp4",
        f"/projects/{project.pk}/updates/",
    ):
        response = guest.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
    assert guest.get(f"/api/v1/projects/{project.pk}/versions").status_code == 401
    assert Comment.objects.count() == Review.objects.count() == 0

    # And no live channel: the websocket refuses the guest's session.
    cookie = f"sessionid={guest.cookies['sessionid'].value}".encode()

    async def connect() -> bool:
        socket = WebsocketCommunicator(
            application,
            f"/ws/projects/{project.pk}/",
            [(b"origin", b"http://testserver"), (b"host", b"testserver"), (b"cookie", cookie)],
        )
        connected, _ = await socket.connect()
        await socket.disconnect()
        return connected

    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, connect()).result(timeout=30) is False


def test_a_password_is_asked_and_wrong_ones_are_bounded(member):
    project = ProjectFactory(workspace=member.workspace)
    v1 = ready(project, 1)
    _, token = guests.guest_link_create(
        project=project,
        membership=member,
        user=member.user,
        versions=[v1],
        password="a long passphrase",
    )
    guest = Client()
    assert "The link&#x27;s password" in guest.get(f"/review/{token}/").text
    wrong = guest.post(f"/review/{token}/", {"name": "Ana", "password": "guess"})
    assert wrong.status_code == 422 and "not the link&#x27;s password" in wrong.text
    assert guest.get(f"/review/{token}/v/1/").status_code == 302  # still locked
    right = guest.post(f"/review/{token}/", {"name": "Ana", "password": "a long passphrase"})
    assert right.status_code == 302
    assert guest.get(f"/review/{token}/v/1/").status_code == 200
    stranger = Client()
    for _ in range(guests.PASSWORD_TRIES):
        stranger.post(f"/review/{token}/", {"name": "Eve", "password": "wrong"})
    paused = stranger.post(f"/review/{token}/", {"name": "Eve", "password": "a long passphrase"})
    assert paused.status_code == 422 and "Too many wrong passwords" in paused.text


@pytest.mark.parametrize("ending", ["withdrawn", "expired"])
def test_a_closed_link_is_refused_at_once_also_to_an_open_page(shared, member, ending):
    _, _, _, link, token = shared
    guest = as_guest(token)
    assert guest.get(f"/review/{token}/v/1/").status_code == 200
    assert guest.get(f"/review/{token}/status").status_code == 204
    if ending == "withdrawn":
        guests.guest_link_revoke(link=link, membership=member)
        said = "withdrawn by the team"
    else:
        GuestLink.objects.filter(pk=link.pk).update(expires_at=timezone.now())
        said = "expired on"
    for url in (f"/review/{token}/", f"/review/{token}/v/1/", f"/review/{token}/v/1/video.mp4"):
        response = guest.get(url)
        assert response.status_code == 410, url
        assert said in response.content.decode()
    assert guest.post(f"/review/{token}/v/1/comments/", {"body": "Late"}).status_code == 410
    assert guest.post(f"/review/{token}/v/1/decision/", {"decision": "approved"}).status_code == 410
    assert Comment.objects.count() == Review.objects.count() == 0
    # The open page's next check replaces it with the refusal.
    check = guest.get(f"/review/{token}/status")
    assert check.status_code == 200 and said in check.text and 'id="guest-page"' in check.text
    assert Client().get("/review/not-a-link/").status_code == 404


def test_a_links_guests_post_a_bounded_amount(shared, monkeypatch):
    _, _, _, _, token = shared
    monkeypatch.setattr(guests, "POSTS_PER_HOUR", 3)
    guest = as_guest(token)
    for n in range(3):
        guest.post(f"/review/{token}/v/1/comments/", {"body": f"Note {n}"})
    refused = guest.post(f"/review/{token}/v/1/comments/", {"body": "One more"})
    assert refused.status_code == 422 and "wait a while" in refused.text
    assert Comment.objects.count() == 3
