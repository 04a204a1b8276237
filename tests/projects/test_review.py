"""Team review: roles, invitations, comments, decisions, the pick, compare
and provenance, through the views people use."""

import json
from datetime import timedelta
from html import escape

import pytest
from django.urls import reverse
from django.utils import timezone

from projects.models import Activity, Comment, Invitation, Membership, Review, Version
from projects.services import compare, review, versions
from projects.services import team as team_services
from projects.services.errors import StudioError
from projects.services.tree import TreeIndex
from tests.factories import MembershipFactory, ProjectFactory, UserFactory, VersionFactory

ROLES = ["owner", "editor", "reviewer", "viewer"]


@pytest.fixture
def team(db):
    """A workspace with one member of each role, and a project with a ready v1."""
    owner = MembershipFactory(role="owner")
    members = {"owner": owner}
    for role in ROLES[1:]:
        members[role] = MembershipFactory(workspace=owner.workspace, role=role)
    project = ProjectFactory(workspace=owner.workspace)
    version = VersionFactory(project=project, number=1, video_duration=5.0, duration_seconds=5)
    project.last_version_number = 1
    project.save()
    return members, project, version


def as_user(client, membership):
    client.force_login(membership.user)
    return client


# The role matrix: (action, roles allowed). Everyone else in the workspace is
# refused with 403; outsiders get 404.
ACTIONS = {
    "comment": {"owner", "editor", "reviewer"},
    "review": {"owner", "reviewer"},
    "pick": {"owner"},
    "generate": {"owner", "editor"},
    "edit": {"owner", "editor"},
    "to_edit": {"owner", "editor"},
}


def post_action(client, action, project, version):
    urls = {
        "comment": (reverse("comment_create", args=[project.pk, 1]), {"body": "Tighter cut"}),
        "review": (reverse("review_create", args=[project.pk, 1]), {"decision": "approved"}),
        "pick": (reverse("version_pick", args=[project.pk, 1]), {}),
        "generate": (
            reverse("version_generate", args=[project.pk]),
            {
                "mode": "text",
                "engine": "local",
                "prompt": "A kite",
                "aspect_ratio": "16:9",
                "resolution": "480p",
                "duration_seconds": "3",
            },
        ),
        "edit": (
            reverse("version_edit", args=[project.pk, 1]),
            {"instruction": "Make it warmer", "engine": "local", "keep_rest_same": "on"},
        ),
        "to_edit": (reverse("comments_to_edit", args=[project.pk, 1]), {"comment": "0"}),
    }
    url, data = urls[action]
    return client.post(url, data, headers={"HX-Request": "true"})


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(ACTIONS))
def test_role_matrix(client, team, role, action):
    members, project, version = team
    response = post_action(as_user(client, members[role]), action, project, version)
    if role in ACTIONS[action]:
        assert response.status_code in {200, 422}, response.content[:300]
    else:
        assert response.status_code == 403, response.content[:300]
        assert not Comment.objects.exists()
        assert not Review.objects.exists()
        assert project.versions.count() == 1


@pytest.mark.parametrize("action", list(ACTIONS))
def test_outsiders_get_404_for_every_action(client, team, action):
    _, project, version = team
    outsider = MembershipFactory()
    assert post_action(as_user(client, outsider), action, project, version).status_code == 404


def test_every_member_can_watch_and_download(client, team):
    members, project, _ = team
    for role in ROLES:
        as_user(client, members[role])
        assert client.get(project.get_absolute_url()).status_code == 200
        assert client.get(reverse("compare", args=[project.pk])).status_code == 200
        assert client.get(reverse("version_provenance", args=[project.pk, 1])).status_code == 200


def test_only_owners_see_and_use_member_management(client, team):
    members, project, _ = team
    url = reverse("workspace_settings", args=[project.workspace_id])
    viewer = members["viewer"]
    as_user(client, members["editor"])
    response = client.post(url, {"action": "remove", "membership": viewer.pk})
    assert response.status_code == 403
    assert Membership.objects.filter(pk=viewer.pk).exists()
    response = client.post(url, {"action": "invite", "role": "editor"})
    assert response.status_code == 403
    assert not Invitation.objects.exists()


def test_invitation_link_is_single_use_and_expires(client, team):
    members, project, _ = team
    owner = members["owner"]
    as_user(client, owner)
    page = client.post(
        reverse("workspace_settings", args=[project.workspace_id]),
        {"action": "invite", "role": "reviewer"},
    ).text
    link = page.split('id="invite-link" readonly value="')[1].split('"')[0]
    path = link.replace("http://testserver", "")
    newcomer = UserFactory()
    client.force_login(newcomer)
    assert "Join" in client.get(path).text
    client.post(path)
    assert Membership.objects.get(user=newcomer, workspace=project.workspace).role == "reviewer"
    second = UserFactory()
    client.force_login(second)
    response = client.post(path)
    assert response.status_code == 422
    assert "already been used" in response.text
    assert not Membership.objects.filter(user=second).exists()

    _, token = team_services.invitation_create(membership=owner, role="viewer")
    Invitation.objects.filter(accepted_at__isnull=True).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    with pytest.raises(StudioError, match="expired"):
        team_services.invitation_accept(token=token, user=second)
    assert client.get("/invitations/not-a-token/").status_code == 404


def test_invitation_token_is_stored_only_as_a_digest(team):
    members, _, _ = team
    invitation, token = team_services.invitation_create(membership=members["owner"], role="editor")
    assert token not in invitation.token_digest
    assert len(invitation.token_digest) == 64


def test_removal_ends_access_at_once_and_the_last_owner_stays(client, team):
    members, project, _ = team
    owner, editor = members["owner"], members["editor"]
    team_services.membership_remove(by=owner, target=editor)
    as_user(client, editor)
    assert client.get(project.get_absolute_url()).status_code == 404
    with pytest.raises(StudioError, match="needs an owner"):
        team_services.membership_change_role(by=owner, target=owner, role="editor")
    with pytest.raises(StudioError, match="needs an owner"):
        team_services.membership_remove(by=owner, target=owner)


def test_roles_can_be_changed_by_owners(team):
    members, _, _ = team
    team_services.membership_change_role(
        by=members["owner"], target=members["viewer"], role="editor"
    )
    assert Membership.objects.get(pk=members["viewer"].pk).role == "editor"


def test_comments_list_in_time_order_with_ranges_and_replies(client, team):
    members, project, version = team
    reviewer = members["reviewer"]
    as_user(client, reviewer)
    url = reverse("comment_create", args=[project.pk, 1])
    client.post(url, {"body": "Untimed note"})
    client.post(url, {"body": "Logo too small", "start_seconds": "3.2"})
    client.post(url, {"body": "Too dark here", "start_seconds": "0", "end_seconds": "2.5"})
    first = Comment.objects.get(body="Too dark here")
    client.post(url, {"body": "Agreed", "parent": first.pk})
    ordered = [c.body for c in version.comments.filter(parent=None).in_time_order()]
    assert ordered == ["Too dark here", "Logo too small", "Untimed note"]
    assert first.timecode == "[0-2.5s]"
    assert Comment.objects.get(body="Logo too small").timecode_display == "0:03.2"
    page = client.get(version.get_absolute_url()).text
    assert page.index("Too dark here") < page.index("Logo too small") < page.index("Untimed note")
    # Frame-accurate at the video's 24 fps: 3.2 s shows frame 76 (3 s and
    # 4 frames), and the comment seeks to the middle of that frame.
    logo = Comment.objects.get(body="Logo too small")
    assert (logo.start_frame, logo.end_frame) == (76, None)
    assert (first.start_frame, first.end_frame) == (0, 60)
    assert 'data-seek="3.1875"' in page
    assert ">00:00:03:04</button>" in page
    assert ">00:00:00:00–00:00:02:12</button>" in page
    assert Comment.objects.get(body="Agreed").parent == first


@pytest.mark.parametrize(
    ("fps", "seconds", "frame", "smpte"),
    [
        (24, 2.0, 48, "00:00:02:00"),
        (24, 2.083, 50, "00:00:02:02"),  # frame 50's start, to the millisecond
        (30, 2.033, 61, "00:00:02:01"),
        (30, 1.999, 59, "00:00:01:29"),
        (12, 0.04, 0, "00:00:00:00"),
        (29.97, 1.001, 30, "00:00:01:00"),  # counted at a nominal 30
        (24, 5.0, 119, "00:00:04:23"),  # the end is the last frame
    ],
)
def test_a_comment_stores_the_frame_its_time_shows(team, fps, seconds, frame, smpte):
    members, _, version = team
    version.fps = fps
    version.save()
    comment = review.comment_create(
        version=version, membership=members["reviewer"], body="Here", start_seconds=seconds
    )
    assert comment.start_frame == frame
    assert comment.frame_timecode(fps) == smpte


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"body": ""}, "Write a comment"),
        ({"body": "x", "start_seconds": "9"}, "within the video"),
        ({"body": "x", "start_seconds": "3", "end_seconds": "2"}, "end after it starts"),
        ({"body": "x", "end_seconds": "2"}, "needs a start time"),
        ({"body": "<b>x</b>" * 300}, "at most 2000 characters"),
        ({"body": "x", "start_seconds": "1", "annotation": "[{"}, "could not be read"),
        (
            {"body": "x", "start_seconds": "1", "annotation": '[{"kind": "pin", "x": 3, "y": 0}]'},
            "coordinates are from 0 to 1",
        ),
        ({"body": "x", "annotation": '[{"kind": "pin", "x": 0.5, "y": 0.5}]'}, "give the time"),
    ],
)
def test_bad_comments_are_refused_with_a_message(client, team, data, message):
    members, project, _ = team
    as_user(client, members["editor"])
    response = client.post(
        reverse("comment_create", args=[project.pk, 1]), data, headers={"HX-Request": "true"}
    )
    assert response.status_code == 422
    assert message in response.text
    assert not Comment.objects.exists()


def test_a_drawing_on_the_frame_is_kept_and_shown_with_its_comment(client, team):
    members, project, version = team
    as_user(client, members["reviewer"])
    box = '[{"kind": "box", "color": "yellow", "x": 0.1, "y": 0.2, "w": 0.3, "h": 0.25}]'
    response = client.post(
        reverse("comment_create", args=[project.pk, 1]),
        {"body": "The logo, bigger", "start_seconds": "2", "annotation": box},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    comment = Comment.objects.get()
    assert comment.annotation == [
        {"kind": "box", "color": "yellow", "x": 0.1, "y": 0.2, "w": 0.3, "h": 0.25}
    ]
    page = client.get(version.get_absolute_url()).text
    assert 'aria-label="Drawing at 0:02: a box"' in page
    assert '<rect class="shape yellow" x="0.1" y="0.2" width="0.3" height="0.25"' in page
    assert f'data-annotation="{comment.annotation_json.replace(chr(34), "&quot;")}"' in page


def test_comments_are_plain_text(client, team):
    members, project, version = team
    as_user(client, members["editor"])
    client.post(
        reverse("comment_create", args=[project.pk, 1]), {"body": "<script>alert(1)</script>"}
    )
    page = client.get(version.get_absolute_url()).text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_only_the_author_edits_or_deletes_a_comment_and_anyone_may_resolve(client, team):
    members, project, version = team
    comment = review.comment_create(version=version, membership=members["reviewer"], body="Hmm")
    as_user(client, members["editor"])
    edit_url = reverse("comment_edit", args=[project.pk, comment.pk])
    assert client.post(edit_url, {"body": "Changed"}).status_code == 403
    assert client.post(reverse("comment_delete", args=[project.pk, comment.pk])).status_code == 403
    client.post(reverse("comment_resolve", args=[project.pk, comment.pk]), {"resolved": "1"})
    comment.refresh_from_db()
    assert comment.is_resolved and comment.body == "Hmm"
    client.post(reverse("comment_resolve", args=[project.pk, comment.pk]), {"resolved": "0"})
    comment.refresh_from_db()
    assert not comment.is_resolved
    as_user(client, members["reviewer"])
    client.post(edit_url, {"body": "Changed"})
    comment.refresh_from_db()
    assert comment.body == "Changed"
    client.post(reverse("comment_delete", args=[project.pk, comment.pk]))
    assert not Comment.objects.exists()


def test_comments_become_an_edit_that_resolves_them_when_approved(client, team, tasks, settings):
    members, project, _ = team
    real = versions.version_create(
        project=project,
        membership=members["owner"],
        author=members["owner"].user,
        kind="text_to_video",
        prompt="A paper boat",
        aspect_ratio="16:9",
        resolution="480p",
        duration_seconds=3,
        engine="local",
    )
    tasks()
    real.refresh_from_db()
    late = review.comment_create(
        version=real,
        membership=members["reviewer"],
        body='Add on-screen text "SALE"',
        start_seconds=2.0,
        annotation=[{"kind": "box", "color": "yellow", "x": 0.1, "y": 0.05, "w": 0.8, "h": 0.2}],
    )
    early = review.comment_create(
        version=real,
        membership=members["reviewer"],
        body="Make it warmer",
        start_seconds=0.0,
        end_seconds=1.5,
    )
    as_user(client, members["editor"])
    response = client.post(
        reverse("comments_to_edit", args=[project.pk, real.number]),
        {"comment": [late.pk, early.pk]},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    # The drawn-on comment says where, in words and as the edit's region.
    assert (
        "[0-1.5s] Make it warmer.\n"
        "[2s] Add on-screen text &quot;SALE&quot;, inside the marked box at the top."
    ) in response.text
    region = {"x": 0.1, "y": 0.05, "w": 0.8, "h": 0.2, "at": 2.0}
    assert f'name="region" value="{escape(json.dumps(region))}"' in response.text
    assert "The edit applies inside the marked box at the top" in response.text
    assert 'name="keep_rest_same" id="id_keep_rest_same" checked' in response.text
    instruction = review.comments_edit_instruction([late, early])
    edit_response = client.post(
        reverse("version_edit", args=[project.pk, real.number]),
        {
            "instruction": instruction,
            "keep_rest_same": "on",
            "engine": "local",
            "addresses": f"{late.pk},{early.pk}",
            "region": json.dumps(region),
        },
    )
    assert edit_response.status_code == 302
    child = Version.objects.get(parent=real)
    assert set(child.addressed_comments.all()) == {late, early}
    assert child.region == region
    tasks()
    child.refresh_from_db()
    assert child.status == Version.Status.READY, child.error_message
    as_user(client, members["reviewer"])
    client.post(
        reverse("review_create", args=[project.pk, child.number]),
        {"decision": "changes_requested", "note": "Text too late"},
    )
    late.refresh_from_db()
    assert not late.is_resolved
    client.post(reverse("review_create", args=[project.pk, child.number]), {"decision": "approved"})
    late.refresh_from_db()
    early.refresh_from_db()
    assert late.is_resolved and early.is_resolved
    history = [
        r.decision for r in Review.objects.filter(version=child).order_by("created_at", "pk")
    ]
    assert history == ["changes_requested", "approved"]

    # The export says what the edit addressed, drawings and all.
    response = client.get(reverse("version_provenance", args=[project.pk, child.number]))
    exported = json.loads(b"".join(response.streaming_content))
    assert exported["lineage"][-1]["addresses"] == [
        {"timecode": "[2s]", "body": 'Add on-screen text "SALE"', "annotation": late.annotation},
        {"timecode": "[0-1.5s]", "body": "Make it warmer", "annotation": []},
    ]
    assert exported["lineage"][0]["addresses"] == []
    page = client.get(child.get_absolute_url()).text
    assert page.index("Approved") < page.index("Changes requested")
    addressed = page.split("<dt>Addresses</dt>")[1].split("</dd>")[0]
    assert f"#comment-{late.pk}" in addressed and "Resolved" in addressed


def test_addressed_comments_must_belong_to_the_parent(client, team):
    members, project, version = team
    other = VersionFactory(project=project, number=2)
    stray = review.comment_create(version=other, membership=members["owner"], body="Elsewhere")
    with pytest.raises(StudioError, match="not on the version being edited"):
        versions.version_create(
            project=project,
            membership=members["owner"],
            author=members["owner"].user,
            kind="edit",
            parent=version,
            prompt="Make it warmer.",
            aspect_ratio="16:9",
            resolution="480p",
            duration_seconds=3,
            engine="local",
            addressed_comments=[stray],
        )


def test_the_tree_shows_each_branchs_latest_decision_and_the_pick(client, team):
    members, project, v1 = team
    v2 = VersionFactory(project=project, number=2, parent=v1, kind="edit")
    v3 = VersionFactory(project=project, number=3, parent=v1, kind="edit")
    review.review_decide(version=v2, membership=members["reviewer"], decision="changes_requested")
    review.review_decide(version=v2, membership=members["reviewer"], decision="approved")
    review.review_decide(version=v3, membership=members["owner"], decision="changes_requested")
    review.project_pick(project=project, membership=members["owner"], version=v2)
    as_user(client, members["viewer"])
    page = client.get(project.get_absolute_url()).text
    branches = page.split('id="branches"')[1].split("</ul>")[0]
    assert "v2</a>" in branches and "Approved (v2)" in branches
    assert "Changes requested (v3)" in branches
    node = page.split(f'id="node-{v2.pk}"')[1].split("</li>")[0]
    assert 'data-decision="approved"' in node and 'data-pick="true"' in node
    verbs = list(Activity.objects.filter(project=project).values_list("verb", flat=True))
    assert verbs.count("decided") == 3 and "picked" in verbs


def test_compare_says_what_changed_between_the_videos(client, team):
    members, project, v1 = team
    v2 = VersionFactory(
        project=project,
        number=2,
        parent=v1,
        kind="edit",
        instruction="Make it warmer",
        prompt="Make it warmer. Keep everything else the same.",
    )
    v3 = VersionFactory(
        project=project,
        number=3,
        parent=v2,
        kind="edit",
        instruction="Add text",
        prompt="Add text. Keep everything else the same.",
    )
    v4 = VersionFactory(
        project=project,
        number=4,
        parent=v1,
        kind="edit",
        instruction="Make it night",
        prompt="Make it night. Keep everything else the same.",
        aspect_ratio="9:16",
    )
    paths = compare.lineages(TreeIndex.for_project(project), v3.pk, v4.pk)
    assert paths.common_ancestor == v1.pk
    assert paths.path_a == [v2.pk, v3.pk]
    assert paths.path_b == [v4.pk]
    # Between unrelated versions prompts are diffed word by word.
    differences = compare.compare_versions(v3, v4)
    changed = {row.label for row in differences if row.changed}
    assert {"Prompt", "Edit", "Aspect ratio"} <= changed
    assert "Engine" not in changed
    prompt = next(r for r in differences if r.label == "Prompt")
    assert ("removed", "Add text.") in prompt.words and ("added", "Make it night.") in prompt.words
    # Between relatives the edits say what changed; kept text is never
    # shown as removed.
    related = {row.label for row in compare.compare_versions(v3, v4, related=True)}
    assert "Prompt" not in related and "Aspect ratio" in related
    as_user(client, members["viewer"])
    page = client.get(reverse("compare", args=[project.pk]) + "?a=3&b=4").text
    assert 'id="compare-player-a"' in page and "data-sync" in page
    assert "<del>" not in page
    assert "Both come from" in page and "Make it warmer" in page and "Make it night" in page
    child = client.get(reverse("compare", args=[project.pk]) + "?a=2&b=3").text
    assert "v3 is v2 with one edit" in child and "Add text" in child
    assert client.get(reverse("compare", args=[project.pk]) + "?a=3&b=99").status_code == 404


def test_provenance_export_has_every_ancestor(client, team):
    members, project, v1 = team
    v1.interaction_id = "local-abc"
    v1.save()
    v2 = VersionFactory(
        project=project,
        number=2,
        parent=v1,
        kind="edit",
        prompt="Make it warmer.",
        interaction_id="local-def",
        previous_interaction_id="local-abc",
        author=members["editor"].user,
    )
    as_user(client, members["viewer"])
    response = client.get(reverse("version_provenance", args=[project.pk, 2]))
    assert response["Content-Disposition"].startswith("attachment")
    data = json.loads(b"".join(response.streaming_content))
    assert [step["version"] for step in data["lineage"]] == [1, 2]
    second = data["lineage"][1]
    assert second["parent"] == 1
    assert second["previous_interaction_id"] == "local-abc" == data["lineage"][0]["interaction_id"]
    assert second["author"] == members["editor"].user.username
    assert {"prompt", "engine", "model", "aspect_ratio", "cost", "created_at"} <= set(second)
    assert v2.pk


def test_a_member_of_several_workspaces_switches_between_them(client, team):
    members, project, _ = team
    editor = members["editor"]
    own = MembershipFactory(user=editor.user, role="owner")
    mine = ProjectFactory(workspace=own.workspace, title="My own thing")
    as_user(client, editor)
    everything = client.get(reverse("project_list")).text
    assert project.title in everything and mine.title in everything
    only_mine = client.get(reverse("project_list") + f"?workspace={own.workspace_id}").text
    assert mine.title in only_mine and project.title not in only_mine
    stranger = MembershipFactory()
    assert (
        client.get(reverse("project_list") + f"?workspace={stranger.workspace_id}").status_code
        == 404
    )
