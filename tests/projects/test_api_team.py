"""The API covers what the pages do for a team: members and roles,
invitations, the pick, and editing, resolving and deleting comments; with
the same refusals (403 for a role, 404 outside, 422 for bad values)."""

from django.core import mail

from projects.models import Comment, Invitation, Membership, Project
from tests.factories import MembershipFactory, ProjectFactory, VersionFactory
from tests.projects.test_api import Api, error, token_for


def api_for(member: Membership) -> Api:
    return Api(token_for(member.user))


def test_owners_change_roles_and_remove_members_others_only_look(db):
    owner = MembershipFactory(role="owner")
    editor = MembershipFactory(workspace=owner.workspace, role="editor")
    outsider = api_for(MembershipFactory(role="owner"))
    base = f"/workspaces/{owner.workspace_id}/members"

    listed = api_for(editor).get(base)
    assert listed.status_code == 200
    assert sorted(m["role"] for m in listed.json()) == ["editor", "owner"]
    assert outsider.get(base).status_code == 404
    assert api_for(editor).patch(f"{base}/{owner.pk}", {"role": "viewer"}).status_code == 403
    assert api_for(owner).get(f"/workspaces/{'9' * 25}/members").status_code == 422

    changed = api_for(owner).patch(f"{base}/{editor.pk}", {"role": "reviewer"})
    assert changed.status_code == 200 and changed.json()["role"] == "reviewer"
    last_owner = api_for(owner).patch(f"{base}/{owner.pk}", {"role": "editor"})
    assert last_owner.status_code == 422
    assert "needs an owner" in error(last_owner)["message"]
    assert api_for(owner).patch(f"{base}/{editor.pk}", {"role": "boss"}).status_code == 422

    assert api_for(owner).delete(f"{base}/{editor.pk}").status_code == 204
    assert not Membership.objects.filter(pk=editor.pk).exists()
    assert api_for(owner).delete(f"{base}/{editor.pk}").status_code == 404


def test_invitations_are_made_mailed_listed_and_withdrawn_by_owners(db):
    owner = MembershipFactory(role="owner")
    viewer = MembershipFactory(workspace=owner.workspace, role="viewer")
    base = f"/workspaces/{owner.workspace_id}/invitations"

    made = api_for(owner).post(base, {"role": "reviewer", "email": "kim@example.com"})
    assert made.status_code == 201, made.content
    link = made.json()["link"]
    assert "/invitations/" in link and mail.outbox[0].to == ["kim@example.com"]
    assert link in mail.outbox[0].body
    listed = api_for(owner).get(base).json()
    assert [(i["id"], i["role"], i["link"]) for i in listed] == [
        (made.json()["id"], "reviewer", None)
    ]
    assert api_for(viewer).post(base, {"role": "owner"}).status_code == 403
    assert api_for(viewer).get(base).status_code == 403
    assert api_for(owner).delete(f"{base}/{made.json()['id']}").status_code == 204
    assert Invitation.objects.get().revoked_at is not None
    assert api_for(owner).get(base).json() == []


def test_comments_are_edited_resolved_and_deleted_as_on_the_page(db):
    owner = MembershipFactory(role="owner")
    reviewer = MembershipFactory(workspace=owner.workspace, role="reviewer")
    project = ProjectFactory(workspace=owner.workspace, last_version_number=1)
    version = VersionFactory(project=project, number=1, video_duration=5.0)
    theirs = Comment.objects.create(version=version, author=reviewer.user, body="Too dark")
    base = f"/projects/{project.pk}/versions/1/comments/{theirs.pk}"

    assert api_for(owner).patch(base, {"body": "Mine now"}).status_code == 403
    edited = api_for(reviewer).patch(base, {"body": "Too dark at 0:02"})
    assert edited.status_code == 200 and edited.json()["body"] == "Too dark at 0:02"
    assert api_for(reviewer).patch(base, {"body": ""}).status_code == 422

    resolved = api_for(owner).post(f"{base}/resolve", {"resolved": True})
    assert resolved.status_code == 200 and resolved.json()["resolved"] is True
    reopened = api_for(owner).post(f"{base}/resolve", {"resolved": False})
    assert reopened.json()["resolved"] is False

    assert api_for(owner).delete(base).status_code == 403
    assert api_for(reviewer).delete(base).status_code == 204
    assert not Comment.objects.exists()
    assert api_for(reviewer).delete(base).status_code == 404


def test_owners_pick_a_ready_version_or_clear_the_pick(db):
    owner = MembershipFactory(role="owner")
    editor = MembershipFactory(workspace=owner.workspace, role="editor")
    project = ProjectFactory(workspace=owner.workspace, last_version_number=2)
    VersionFactory(project=project, number=1)
    VersionFactory(project=project, number=2, status="generating")
    url = f"/projects/{project.pk}/pick"

    assert api_for(editor).put(url, {"version": 1}).status_code == 403
    assert api_for(owner).put(url, {"version": 2}).status_code == 422
    assert api_for(owner).put(url, {"version": 7}).status_code == 404
    picked = api_for(owner).put(url, {"version": 1})
    assert picked.status_code == 200 and picked.json() == {"version": 1}
    assert Project.objects.get(pk=project.pk).picked_version.number == 1
    assert api_for(owner).get(f"/projects/{project.pk}").json()["picked_version"] == 1
    assert api_for(owner).put(url, {"version": None}).json() == {"version": None}
    assert Project.objects.get(pk=project.pk).picked_version is None


def test_wrong_tokens_from_one_address_are_refused_for_a_while(db, settings):
    settings.AXES_FAILURE_LIMIT = 10
    good = api_for(MembershipFactory(role="owner"))
    wrong = Api("not-a-token", client=good.client)
    for _ in range(9):
        assert wrong.get("/workspaces").status_code == 401
    assert wrong.get("/workspaces").status_code == 429  # the tenth: paused now
    refused = good.get("/workspaces")
    assert refused.status_code == 429
    assert refused["Retry-After"] == "900"
    assert "Too many wrong tokens from this address" in error(refused)["message"]
    elsewhere = good.client.get(
        "/api/v1/workspaces", headers=good.headers(), REMOTE_ADDR="10.1.2.3"
    )
    assert elsewhere.status_code == 200
