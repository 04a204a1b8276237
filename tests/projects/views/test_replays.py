"""Replaying from the version page: the form on an edit, what it makes, and
its refusals (in words, changing nothing)."""

import pytest
from django.urls import reverse

from projects.models import Membership, Replay, Version
from tests.factories import MembershipFactory, VersionFactory


@pytest.fixture
def chain(project, member):
    """v1, its edits v2 and v3 (ready), and another root v4."""
    v1 = VersionFactory(project=project, number=1, status=Version.Status.READY, author=member.user)
    v2 = VersionFactory(
        project=project,
        number=2,
        parent=v1,
        kind="edit",
        status=Version.Status.READY,
        instruction="Make it warmer",
        prompt="Make it warmer.",
    )
    VersionFactory(
        project=project,
        number=3,
        parent=v2,
        kind="edit",
        status=Version.Status.READY,
        instruction="Black and white",
        prompt="Black and white.",
    )
    VersionFactory(project=project, number=4, status=Version.Status.READY, video_duration=3.0)
    project.last_version_number = 4
    project.save()
    return project


def test_an_edits_page_offers_the_replay_and_it_starts_the_branch(logged_in, chain):
    page = logged_in.get(reverse("version_detail", args=[chain.pk, 3]))
    assert "Replay these edits onto another version" in page.text
    assert 'id="replay-base-' in page.text
    response = logged_in.post(
        reverse("version_replay", args=[chain.pk, 3]), {"first": "2", "base": "4"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("version_detail", args=[chain.pk, 5])
    assert "Replaying v2 → v3 onto v4" in response.text
    replay = Replay.objects.get()
    made = Version.objects.get(project=chain, number=5)
    assert (made.parent.number, made.instruction, made.status) == (4, "Make it warmer", "queued")
    assert replay.current == made and [s["number"] for s in replay.steps] == [2, 3]


def test_a_generation_has_no_replay_form(logged_in, chain):
    page = logged_in.get(reverse("version_detail", args=[chain.pk, 1]))
    assert "Replay these edits" not in page.text


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"first": "1", "base": "4"}, "v1 is not one of the edits leading to v3 (v2, v3)"),
        ({"first": "2", "base": "99"}, "There is no v99"),
        ({"first": "2", "base": "3"}, "outside it"),
        ({"first": "x", "base": ""}, "Give the first edit"),
        ({"first": str(2**70), "base": "4"}, "Give the first edit"),
    ],
)
def test_a_bad_replay_says_why_and_makes_nothing(logged_in, chain, form, message):
    response = logged_in.post(reverse("version_replay", args=[chain.pk, 3]), form, follow=True)
    assert message in response.text
    assert not Replay.objects.exists() and Version.objects.count() == 4
    htmx = logged_in.post(
        reverse("version_replay", args=[chain.pk, 3]), form, HTTP_HX_REQUEST="true"
    )
    assert htmx.status_code == 422 and message in htmx.text


def test_a_reviewer_is_refused_with_403(client, chain):
    reviewer = MembershipFactory(workspace=chain.workspace, role=Membership.Role.REVIEWER)
    client.force_login(reviewer.user)
    response = client.post(
        reverse("version_replay", args=[chain.pk, 3]), {"first": "2", "base": "4"}
    )
    assert response.status_code == 403
    assert not Replay.objects.exists()


def test_another_workspaces_version_is_not_found(client, chain):
    stranger = MembershipFactory()
    client.force_login(stranger.user)
    response = client.post(
        reverse("version_replay", args=[chain.pk, 3]), {"first": "2", "base": "4"}
    )
    assert response.status_code == 404
