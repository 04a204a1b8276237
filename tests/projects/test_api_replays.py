"""The API's replays against the Gemini double: a branch's edits made again
on another root, each step continuing the one before; and the refusals."""

import pytest

from projects.models import Membership, Replay, Version
from projects.services import composer, versions
from tests.factories import UserFactory
from tests.projects.conftest import completes
from tests.projects.test_api import Api, api_as, error, token_for
from tests.projects.test_gemini_studio import render


@pytest.fixture
def branch(project, member, tasks, double, settings):
    """On Gemini: v1, its edits v2 (night) and v3 (slow motion), and another
    root v4."""
    settings.STUDIO_POLL_MAX_SECONDS = 0  # the double answers at once
    clip = render()

    def made(version):
        tasks()
        version.refresh_from_db()
        assert version.status == Version.Status.READY, version.error_message
        return version

    def root(name, prompt):
        completes(double, name, clip)
        return made(
            versions.version_create(
                project=project,
                membership=member,
                author=member.user,
                kind=Version.Kind.TEXT_TO_VIDEO,
                prompt=prompt,
                aspect_ratio="16:9",
                resolution="720p",
                duration_seconds=3,
                engine="gemini",
            )
        )

    def edit(name, parent, instruction):
        completes(double, name, clip)
        arguments = composer.edit_arguments(parent=parent, instruction=instruction)
        return made(
            versions.version_create(
                project=project, membership=member, author=member.user, **arguments
            )
        )

    v1 = root("int-1", "A paper boat on a gutter")
    v2 = edit("int-2", v1, "Make it night")
    edit("int-3", v2, "Slow motion")
    root("int-4", "A paper plane over a roof")
    return project


def test_a_branch_replayed_through_the_api(branch, member, tasks, double):
    api = Api(token_for(member.user))
    completes(double, "int-5", render())
    completes(double, "int-6", render())
    created = api.post(f"/projects/{branch.pk}/replays", {"chain": [2, 3], "base": 4})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "running" and body["base"] == 4
    assert [s["source"] for s in body["steps"]] == [2, 3]
    assert [s["version"] for s in body["steps"]] == [5, None]
    tasks()
    replay = api.get(f"/projects/{branch.pk}/replays/{body['id']}").json()
    assert replay["status"] == "done" and replay["stopped_reason"] == ""
    assert [s["version"] for s in replay["steps"]] == [5, 6]
    assert [s["instruction"] for s in replay["steps"]] == ["Make it night", "Slow motion"]
    v5, v6 = (api.get(f"/projects/{branch.pk}/versions/{n}").json() for n in (5, 6))
    assert (v5["parent"], v6["parent"]) == (4, 5)
    assert v5["status"] == v6["status"] == "ready"
    creates = [r.json for r in double.creates][-2:]
    assert [c.get("previous_interaction_id") for c in creates] == ["int-4", "int-5"]
    listed = api.get(f"/projects/{branch.pk}/replays").json()
    assert [r["id"] for r in listed] == [body["id"]]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"chain": [1, 2], "base": 4}, "chain", "v1 is not an edit"),
        ({"chain": [3, 2], "base": 4}, "chain", "v2 is not an edit of v3"),
        ({"chain": [2, 3], "base": 40}, "base", "There is no v40"),
        ({"chain": [], "base": 4}, "chain", ""),
        ({"chain": [2], "base": 0}, "base", ""),
        ({"chain": [2], "base": 4, "colour": "red"}, "colour", ""),
    ],
)
def test_a_bad_replay_is_refused_and_makes_nothing(branch, member, body, field, message):
    api = Api(token_for(member.user))
    response = api.post(f"/projects/{branch.pk}/replays", body)
    assert response.status_code == 422, response.content
    assert error(response)["field"] == field
    assert message in error(response)["message"]
    assert not Replay.objects.exists()
    assert Version.objects.filter(project=branch).count() == 4


def test_reviewers_cannot_replay_and_outsiders_find_nothing(branch, member):
    reviewer = api_as(Membership.Role.REVIEWER, member.workspace)
    refused = reviewer.post(f"/projects/{branch.pk}/replays", {"chain": [2], "base": 4})
    assert refused.status_code == 403
    outsider = Api(token_for(UserFactory()))
    assert (
        outsider.post(f"/projects/{branch.pk}/replays", {"chain": [2], "base": 4}).status_code
        == 404
    )
    assert outsider.get(f"/projects/{branch.pk}/replays/1").status_code == 404
    owner = Api(token_for(member.user))
    assert owner.get(f"/projects/{branch.pk}/replays/{2**62}").status_code == 404
    assert not Replay.objects.exists()
