import asyncio
import io
import json
import threading
from datetime import timedelta

import av
import numpy as np
import pytest
from asgiref.sync import sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import AsyncClient, Client
from django.urls import reverse
from django.utils import timezone

from projects.api import events as api_events
from projects.models import (
    ApiToken,
    Asset,
    Comment,
    IdempotencyRecord,
    Membership,
    Project,
    Review,
    Version,
    Workspace,
)
from projects.services import broadcast, engines, progress, team, versions
from projects.services import review as review_services
from projects.services.tokens import api_token_create, api_token_revoke, token_digest
from tests.engines import CountingEngine
from tests.factories import MembershipFactory, ProjectFactory, UserFactory, VersionFactory
from tests.projects.conftest import image_bytes, run_tasks

API = "/api/v1"


class Api:
    """The test client speaking JSON with a bearer token."""

    def __init__(self, token: str | None, client: Client | None = None):
        self.client = client or Client()
        self.token = token

    def headers(self, extra=None) -> dict:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**headers, **(extra or {})}

    def get(self, path, data=None, headers=None):
        return self.client.get(API + path, data, headers=self.headers(headers))

    def post(self, path, body=None, headers=None):
        return self.client.post(
            API + path,
            json.dumps(body if body is not None else {}),
            content_type="application/json",
            headers=self.headers(headers),
        )

    def upload(self, path, files, data=None, headers=None):
        return self.client.post(
            API + path, {**files, **(data or {})}, headers=self.headers(headers)
        )

    def patch(self, path, body, headers=None):
        return self.client.patch(
            API + path,
            json.dumps(body),
            content_type="application/json",
            headers=self.headers(headers),
        )

    def put(self, path, body, headers=None):
        return self.client.put(
            API + path,
            json.dumps(body),
            content_type="application/json",
            headers=self.headers(headers),
        )

    def delete(self, path, headers=None):
        return self.client.delete(API + path, headers=self.headers(headers))


def token_for(user, name="tests") -> str:
    return api_token_create(user=user, name=name)[1]


@pytest.fixture
def api(user):
    return Api(token_for(user))


def api_as(role: str, workspace: Workspace) -> Api:
    member = MembershipFactory(workspace=workspace, role=role)
    return Api(token_for(member.user))


def error(response) -> dict:
    assert response["Content-Type"] == "application/json", response.content
    return response.json()["error"]


def generation(**overrides) -> dict:
    body = {
        "prompt": "A paper boat drifting down a rainy street",
        "aspect_ratio": "16:9",
        "resolution": "480p",
        "duration_seconds": 3,
        "engine": "local",
    }
    body.update(overrides)
    return body


def clip_bytes(frames: int = 12, size=(160, 96)) -> bytes:
    """A short H.264 MP4, as a phone might upload."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for index in range(frames):
            pixels = np.full((size[1], size[0], 3), (index * 20) % 255, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def ready_version(project, number=1, **fields):
    project.last_version_number = max(project.last_version_number, number)
    project.save(update_fields=["last_version_number"])
    fields.setdefault("video_duration", 5.0)
    return VersionFactory(project=project, number=number, **fields)


@pytest.fixture
def counting_engine(settings):
    settings.STUDIO_ENGINES = {
        **settings.STUDIO_ENGINES,
        "counting": "tests.engines.CountingEngine",
    }
    CountingEngine.submits.clear()
    CountingEngine.polls.clear()
    yield "counting"
    engines.get_engine.cache_clear()


# Schema and docs.


def test_the_openapi_schema_and_docs_are_served_without_a_token(db):
    client = Client()
    schema = client.get(f"{API}/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    assert f"{API}/projects/{{project_id}}/versions" in schema["paths"]
    assert schema["components"]["securitySchemes"]["BearerToken"]["scheme"] == "bearer"

    docs = client.get(f"{API}/docs")
    assert docs.status_code == 200
    page = docs.text
    # Offline under the CSP: only this server's files, no inline script.
    assert "cdn" not in page.lower() and "https://" not in page
    assert '<script src="/api/v1/docs/assets/swagger-ui-bundle.js"></script>' in page
    assert "<script>" not in page
    bundle = client.get(f"{API}/docs/assets/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and bundle["Content-Type"] == "text/javascript"
    assert client.get(f"{API}/docs/assets/..%2Fsettings.py").status_code == 404


def test_unknown_endpoints_answer_json_404(api, project):
    response = api.get("/nothing/here")
    assert response.status_code == 404
    assert error(response)["code"] == "not_found"
    response = api.get(f"/projects/{project.pk}/versions/3")
    assert error(response) == {"code": "not_found", "message": "No such version.", "field": None}


def test_no_csrf_token_is_needed(user, member):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)  # a session cookie changes nothing either
    response = Api(token_for(user), client).post("/projects", {"title": "From a script"})
    assert response.status_code == 201


# Authentication.


def test_requests_without_a_valid_token_are_401(user, project, logged_in):
    for headers in [{}, {"Authorization": "Bearer omni_wrong"}, {"Authorization": "Basic eDp5"}]:
        response = Client().get(f"{API}/projects", headers=headers)
        assert response.status_code == 401
        assert error(response)["code"] == "not_authenticated"
        assert response["WWW-Authenticate"].startswith("Bearer")
    # A browser session is not an API credential.
    assert logged_in.get(f"{API}/projects/{project.pk}").status_code == 401


def test_a_token_is_stored_as_a_digest_and_records_its_use(user):
    api_token, token = api_token_create(user=user, name="nightly script")
    assert token.startswith("omni_")
    assert api_token.token_digest == token_digest(token) != token
    assert token.startswith(api_token.prefix) and len(api_token.prefix) < len(token)
    assert not ApiToken.objects.filter(token_digest=token).exists()
    assert api_token.last_used_at is None
    assert Api(token).get("/workspaces").status_code == 200
    api_token.refresh_from_db()
    assert api_token.last_used_at is not None


def test_a_revoked_token_is_refused(user, project):
    api_token, token = api_token_create(user=user, name="old")
    assert Api(token).get(f"/projects/{project.pk}").status_code == 200
    api_token_revoke(user=user, token_id=api_token.pk)
    response = Api(token).get(f"/projects/{project.pk}")
    assert response.status_code == 401


def test_a_token_of_a_deactivated_user_is_refused(user, api):
    user.is_active = False
    user.save()
    assert api.get("/workspaces").status_code == 401


# Workspaces and engines.


def test_workspaces_and_engines(api, member):
    workspaces = api.get("/workspaces").json()
    assert workspaces == [
        {
            "id": member.workspace_id,
            "name": member.workspace.name,
            "region": "global",
            "role": "owner",
        }
    ]
    engines = {e["name"]: e for e in api.get("/engines").json()}
    assert engines["local"]["default"] is True
    assert engines["local"]["min_duration"] == 3
    assert "text_to_video" in engines["local"]["tasks"]
    assert engines["local"]["frame_rates"] == [12, 24, 30]


# Projects.


def test_create_get_list_rename_and_delete_a_project(api, member):
    response = api.post("/projects", {"title": "  Launch teaser "})
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["title"] == "Launch teaser"
    assert created["workspace"] == {"id": member.workspace_id, "name": member.workspace.name}
    assert created["role"] == "owner" and created["version_count"] == 0
    assert response["Location"] == f"{API}/projects/{created['id']}"

    assert api.get(f"/projects/{created['id']}").json() == created
    listed = api.get("/projects").json()
    assert listed["count"] == 1 and listed["items"][0]["id"] == created["id"]

    renamed = api.patch(f"/projects/{created['id']}", {"title": "Launch film"})
    assert renamed.status_code == 200 and renamed.json()["title"] == "Launch film"

    assert api.delete(f"/projects/{created['id']}").status_code == 204
    assert not Project.objects.filter(pk=created["id"]).exists()
    assert api.get(f"/projects/{created['id']}").status_code == 404


def test_projects_list_pages_and_filters_by_workspace(api, member):
    other = MembershipFactory(user=member.user, role="editor")
    for n in range(3):
        ProjectFactory(workspace=member.workspace, title=f"Mine {n}")
    ProjectFactory(workspace=other.workspace, title="Theirs")
    ProjectFactory(title="Someone else's")  # outside the user's workspaces
    page = api.get("/projects", {"limit": 2}).json()
    assert (page["count"], len(page["items"]), page["limit"], page["offset"]) == (4, 2, 2, 0)
    rest = api.get("/projects", {"limit": 2, "offset": 2}).json()
    assert len(rest["items"]) == 2
    titles = {p["title"] for p in page["items"] + rest["items"]}
    assert titles == {"Mine 0", "Mine 1", "Mine 2", "Theirs"}
    only = api.get("/projects", {"workspace": other.workspace_id}).json()
    assert [p["title"] for p in only["items"]] == ["Theirs"]
    assert only["items"][0]["role"] == "editor"


def test_project_input_errors_name_the_field(api, member):
    response = api.post("/projects", {"title": ""})
    assert response.status_code == 422
    assert error(response)["field"] == "title"
    response = api.post("/projects", {"title": "x" * 201})
    assert error(response)["field"] == "title"
    response = api.post("/projects", {"title": "   "})
    assert error(response)["field"] == "title"
    assert "blank" in error(response)["message"]
    response = api.post("/projects", {"title": "Fine", "colour": "red"})
    assert error(response) == {
        "code": "validation_error",
        "message": "colour: This field is not part of the request.",
        "field": "colour",
    }
    response = api.post("/projects", {"title": "Nul\x00byte"})
    assert error(response)["field"] == "title"
    bad_json = api.client.post(
        f"{API}/projects", "{not json", content_type="application/json", headers=api.headers()
    )
    assert bad_json.status_code == 400
    assert error(bad_json)["code"] == "bad_request"


def test_projects_outside_your_workspaces_are_404(api):
    foreign = ProjectFactory()
    ready_version(foreign)
    for response in [
        api.get(f"/projects/{foreign.pk}"),
        api.patch(f"/projects/{foreign.pk}", {"title": "Mine now"}),
        api.delete(f"/projects/{foreign.pk}"),
        api.get(f"/projects/{foreign.pk}/versions"),
        api.get(f"/projects/{foreign.pk}/versions/1"),
        api.get(f"/projects/{foreign.pk}/versions/1/video"),
        api.post(f"/projects/{foreign.pk}/versions", generation()),
        api.post(f"/projects/{foreign.pk}/versions/1/cancel"),
        api.get(f"/projects/{foreign.pk}/versions/1/comments"),
        api.post(f"/projects/{foreign.pk}/versions/1/comments", {"body": "Hi"}),
        api.post(f"/projects/{foreign.pk}/versions/1/reviews", {"decision": "approved"}),
        api.get(f"/projects/{foreign.pk}/assets"),
        api.post("/projects", {"title": "In theirs", "workspace": foreign.workspace_id}),
    ]:
        assert response.status_code == 404, response.request
        assert error(response)["code"] == "not_found"
    foreign.refresh_from_db()
    assert foreign.title != "Mine now"


def test_absurd_ids_are_validation_errors_not_crashes(api, project):
    for path in [f"/projects/{2**70}", f"/projects/{project.pk}/versions/{2**40}", "/projects/-1"]:
        response = api.get(path)
        assert response.status_code == 422, path
        assert error(response)["code"] == "validation_error"
    response = api.get("/projects", {"offset": 10**12})
    assert error(response)["field"] == "offset"


def test_viewers_cannot_change_anything(project, member):
    viewer = api_as(Membership.Role.VIEWER, member.workspace)
    ready_version(project)
    still = SimpleUploadedFile("still.png", image_bytes(), "image/png")
    refusals = [
        viewer.post("/projects", {"title": "Mine"}),
        viewer.patch(f"/projects/{project.pk}", {"title": "Mine"}),
        viewer.delete(f"/projects/{project.pk}"),
        viewer.post(f"/projects/{project.pk}/versions", generation()),
        viewer.post(f"/projects/{project.pk}/versions", {"parent": 1, "instruction": "Mute it"}),
        viewer.upload(f"/projects/{project.pk}/assets", {"file": still}),
        viewer.post(f"/projects/{project.pk}/versions/1/retry"),
        viewer.post(f"/projects/{project.pk}/versions/1/rerun"),
        viewer.post(f"/projects/{project.pk}/versions/1/comments", {"body": "Nice"}),
        viewer.post(f"/projects/{project.pk}/versions/1/reviews", {"decision": "approved"}),
    ]
    for response in refusals:
        assert response.status_code == 403, (response.request, response.content)
        assert error(response)["code"] == "permission_denied"
        assert error(response)["message"]
    assert Project.objects.count() == 1 and Version.objects.count() == 1
    # ... but they can watch.
    assert viewer.get(f"/projects/{project.pk}/versions/1").status_code == 200


def test_roles_decide_who_generates_and_who_reviews(project, member):
    reviewer = api_as(Membership.Role.REVIEWER, member.workspace)
    editor = api_as(Membership.Role.EDITOR, member.workspace)
    ready_version(project)
    assert reviewer.post(f"/projects/{project.pk}/versions", generation()).status_code == 403
    assert editor.post(f"/projects/{project.pk}/versions", generation()).status_code == 201
    response = editor.post(f"/projects/{project.pk}/versions/1/reviews", {"decision": "approved"})
    assert response.status_code == 403
    assert "reviewers and owners" in error(response)["message"]
    response = reviewer.post(f"/projects/{project.pk}/versions/1/reviews", {"decision": "approved"})
    assert response.status_code == 201


# Versions.


def test_generate_follow_and_download(api, project, tasks):
    response = api.post(f"/projects/{project.pk}/versions", generation())
    assert response.status_code == 201, response.content
    version = response.json()
    assert (version["number"], version["kind"], version["status"]) == (1, "text_to_video", "queued")
    assert version["phase"] == "Queued" and version["finished"] is False
    assert version["video_url"] is None and version["can_cancel"] is True
    assert response["Location"] == f"{API}/projects/{project.pk}/versions/1"

    tasks()
    ready = api.get(f"/projects/{project.pk}/versions/1").json()
    assert ready["status"] == "ready", ready["error"]
    assert (ready["percent"], ready["eta_seconds"], ready["finished"]) == (100, None, True)
    assert (ready["width"], ready["height"]) == (852, 480)
    assert ready["video_url"] == f"{API}/projects/{project.pk}/versions/1/video"

    video = api.get(f"/projects/{project.pk}/versions/1/video")
    assert video.status_code == 200 and video["Content-Type"] == "video/mp4"
    body = b"".join(video.streaming_content)
    assert body[4:8] == b"ftyp" and len(body) == ready["video_bytes"]
    part = api.get(f"/projects/{project.pk}/versions/1/video", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part["Content-Range"] == f"bytes 0-99/{len(body)}"
    assert b"".join(part.streaming_content) == body[:100]
    download = api.get(f"/projects/{project.pk}/versions/1/video", {"download": "true"})
    assert download["Content-Disposition"].startswith("attachment;")
    poster = api.get(ready["poster_url"].removeprefix(API))
    assert poster["Content-Type"] == "image/jpeg"
    assert b"".join(poster.streaming_content)[:2] == b"\xff\xd8"


def test_a_generation_at_30_fps_is_a_30_fps_mp4_and_its_edit_keeps_it(api, project, tasks):
    made = api.post(f"/projects/{project.pk}/versions", generation(fps=30)).json()
    assert made["fps"] == 30
    tasks()
    video = api.get(f"/projects/{project.pk}/versions/{made['number']}/video")
    with av.open(io.BytesIO(b"".join(video.streaming_content))) as container:
        assert container.streams.video[0].average_rate == 30
    edit = api.post(
        f"/projects/{project.pk}/versions",
        {"parent": made["number"], "instruction": "Make it warmer"},
    ).json()
    assert edit["fps"] == 30
    slower = api.post(
        f"/projects/{project.pk}/versions",
        {"parent": made["number"], "instruction": "Make it warmer", "fps": 12},
    ).json()
    assert slower["fps"] == 12


def test_media_of_an_unfinished_version_is_404(api, project):
    api.post(f"/projects/{project.pk}/versions", generation())
    response = api.get(f"/projects/{project.pk}/versions/1/video")
    assert response.status_code == 404
    assert "queued" in error(response)["message"]


def test_generation_defaults_and_structured_fields(api, project):
    response = api.post(
        f"/projects/{project.pk}/versions",
        {"prompt_fields": {"subject": "A red kite", "action": "climbs", "lighting": "golden hour"}},
    )
    assert response.status_code == 201, response.content
    version = response.json()
    assert version["prompt"] == "A red kite climbs. Lighting: golden hour."
    assert version["prompt_fields"] == {
        "subject": "A red kite",
        "action": "climbs",
        "lighting": "golden hour",
    }
    # The web form's defaults: the project's aspect ratio and engine, 720p, 5 s.
    assert (version["aspect_ratio"], version["resolution"], version["duration_seconds"]) == (
        "16:9",
        "720p",
        5,
    )
    assert version["engine"] == "local"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"prompt": "   "}, "prompt", "Write a prompt."),
        ({"prompt": "x" * 5000}, "prompt", "the limit is 4,000"),
        ({"duration_seconds": 30}, "duration_seconds", "Duration must be 3 to 10 seconds."),
        ({"duration_seconds": 61}, "duration_seconds", "less than or equal to 60"),
        ({"aspect_ratio": "4:3"}, "aspect_ratio", "'16:9', '9:16' or '1:1'"),
        ({"engine": "sora"}, "engine", "There is no engine called 'sora'."),
        ({"kind": "image_to_video"}, "assets", "Upload a still to animate."),
        ({"assets": [999]}, "assets", "There is no asset 999 in this project."),
        ({"instruction": "Make it warmer"}, "instruction", "`instruction` is for edits"),
        ({"prompt_fields": {"mood": "calm"}}, "prompt_fields.mood", "not part of the request"),
        ({"fps": 25}, "fps", "12, 24 or 30"),
    ],
)
def test_generation_input_errors_name_the_field(api, project, overrides, field, message):
    response = api.post(f"/projects/{project.pk}/versions", generation(**overrides))
    assert response.status_code == 422
    detail = error(response)
    assert (detail["code"], detail["field"]) == ("validation_error", field)
    assert message in detail["message"]
    assert not Version.objects.exists()


def test_edit_a_ready_version_keeping_everything_else(api, project, tasks):
    api.post(f"/projects/{project.pk}/versions", generation())
    tasks()
    response = api.post(
        f"/projects/{project.pk}/versions",
        {"parent": 1, "instruction": "Make it black and white", "preserve": "the boat"},
    )
    assert response.status_code == 201, response.content
    edit = response.json()
    assert (edit["number"], edit["parent"], edit["kind"]) == (2, 1, "edit")
    assert edit["prompt"] == (
        "Make it black and white. Keep everything else the same. Preserve the boat."
    )
    assert edit["keep_rest_same"] is True and edit["instruction"] == "Make it black and white"
    assert (edit["aspect_ratio"], edit["resolution"], edit["duration_seconds"]) == (
        "16:9",
        "480p",
        3,
    )
    tasks()
    assert api.get(f"/projects/{project.pk}/versions/2").json()["status"] == "ready"
    child = Version.objects.get(number=2)
    assert child.parent.number == 1


def test_an_edit_can_address_review_comments(api, project, member):
    parent = ready_version(project)
    comment = review_services.comment_create(
        version=parent, membership=member, body="Too bright", start_seconds=1.0
    )
    response = api.post(
        f"/projects/{project.pk}/versions",
        {"parent": 1, "instruction": "[1s] Make it darker", "addresses": [comment.pk]},
    )
    assert response.status_code == 201, response.content
    assert list(Version.objects.get(number=2).addressed_comments.all()) == [comment]
    response = api.post(
        f"/projects/{project.pk}/versions",
        {"parent": 1, "instruction": "Make it darker", "addresses": [comment.pk + 100]},
    )
    assert error(response)["field"] == "addresses"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"parent": 7, "instruction": "Mute it"}, "parent", "There is no version 7"),
        ({"parent": 1, "instruction": " "}, "instruction", "Say what to change."),
        ({"parent": 1, "instruction": "Make it sing"}, "instruction", "understand"),
        ({"parent": 1, "instruction": "Mute it", "prompt": "x"}, "prompt", "An edit is described"),
        ({"parent": 1, "instruction": "Mute it", "aspect_ratio": "9:16"}, "aspect_ratio", "keeps"),
        ({"parent": 1, "instruction": "Mute it", "assets": [1]}, "assets", "takes no assets"),
        ({"parent": 1, "instruction": "Mute it", "kind": "text_to_video"}, "kind", "is an edit"),
        ({"parent": 1, "instruction": "Mute it", "fps": 60}, "fps", "12, 24 or 30"),
    ],
)
def test_edit_input_errors_name_the_field(api, project, body, field, message):
    ready_version(project)
    response = api.post(f"/projects/{project.pk}/versions", body)
    assert response.status_code == 422
    assert error(response)["field"] == field
    assert message in error(response)["message"]


def test_a_long_clip_is_edited_a_section_at_a_time(api, project):
    ready_version(
        project, kind=Version.Kind.UPLOAD, engine="upload", duration_seconds=15, video_duration=15.0
    )
    body = {"parent": 1, "instruction": "Mute it", "engine": "local"}
    response = api.post(f"/projects/{project.pk}/versions", {**body, "section_start": 9})
    assert response.status_code == 422
    assert error(response)["field"] == "section_start"
    assert "start the section between 0 and 5.0 s" in error(response)["message"]
    response = api.post(f"/projects/{project.pk}/versions", {**body, "duration_seconds": 15})
    assert response.status_code == 422
    assert "(here 10)" in error(response)["message"]
    response = api.post(f"/projects/{project.pk}/versions", {**body, "section_start": 2.5})
    assert response.status_code == 201, response.json()
    made = response.json()
    assert (made["section_start"], made["duration_seconds"]) == (2.5, 10)


def test_editing_an_unfinished_version_is_refused(api, project):
    ready_version(project, status=Version.Status.GENERATING)
    response = api.post(f"/projects/{project.pk}/versions", {"parent": 1, "instruction": "Mute it"})
    assert response.status_code == 422
    assert "not ready yet" in error(response)["message"]


def test_versions_list_pages_and_filters_by_status(api, project):
    statuses = ["ready", "failed", "queued", "ready", "generating"]
    for number, status in enumerate(statuses, start=1):
        ready_version(project, number=number, status=status)
    page = api.get(f"/projects/{project.pk}/versions", {"limit": 2}).json()
    assert page["count"] == 5
    assert [v["number"] for v in page["items"]] == [1, 2]
    page = api.get(f"/projects/{project.pk}/versions", {"limit": 2, "offset": 4}).json()
    assert [v["number"] for v in page["items"]] == [5]
    assert page["items"][0]["status"] == "generating"

    ready = api.get(f"/projects/{project.pk}/versions", {"status": "ready"}).json()
    assert ready["count"] == 2 and [v["number"] for v in ready["items"]] == [1, 4]
    running = api.get(f"/projects/{project.pk}/versions?status=queued&status=generating").json()
    assert [v["number"] for v in running["items"]] == [3, 5]
    response = api.get(f"/projects/{project.pk}/versions", {"status": "done"})
    assert response.status_code == 422 and error(response)["field"] == "status"


def test_cancel_and_retry(api, project, tasks):
    api.post(f"/projects/{project.pk}/versions", generation())
    cancelled = api.post(f"/projects/{project.pk}/versions/1/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["can_retry"] is True
    again = api.post(f"/projects/{project.pk}/versions/1/cancel")
    assert again.status_code == 409
    assert error(again) == {"code": "conflict", "message": "v1 is cancelled.", "field": None}

    retried = api.post(f"/projects/{project.pk}/versions/1/retry")
    assert retried.status_code == 200
    assert (retried.json()["status"], retried.json()["attempt"]) == ("queued", 2)
    tasks()
    assert api.get(f"/projects/{project.pk}/versions/1").json()["status"] == "ready"
    response = api.post(f"/projects/{project.pk}/versions/1/retry")
    assert response.status_code == 409
    assert "cannot be retried" in error(response)["message"]


def test_rerun_makes_another_take_beside_it_once_per_key(api, project, tasks):
    first = api.post(f"/projects/{project.pk}/versions", generation()).json()
    assert first["seed"] is None
    tasks()
    url = f"/projects/{project.pk}/versions/1/rerun"
    again = api.post(url, headers={"Idempotency-Key": "take-2"})
    replayed = api.post(url, headers={"Idempotency-Key": "take-2"})
    assert again.status_code == replayed.status_code == 201
    assert replayed.json() == again.json() and replayed["Idempotent-Replayed"] == "true"
    take = again.json()
    assert again["Location"].endswith(f"/projects/{project.pk}/versions/2")
    assert take["number"] == 2 and take["parent"] is None and take["seed"] is not None
    assert {k: take[k] for k in ("prompt", "aspect_ratio", "resolution", "duration_seconds")} == {
        k: first[k] for k in ("prompt", "aspect_ratio", "resolution", "duration_seconds")
    }
    assert Version.objects.filter(project=project).count() == 2
    missing = api.post(f"/projects/{project.pk}/versions/9/rerun")
    assert missing.status_code == 404
    unfinished = api.post(f"/projects/{project.pk}/versions/2/rerun")
    assert unfinished.status_code == 409
    assert error(unfinished)["message"] == "Only a ready version is re-run; v2 is queued."


def test_a_failed_version_shows_its_error(api, project):
    ready_version(
        project,
        status=Version.Status.FAILED,
        error_kind="unavailable",
        error_message="The engine is down.",
    )
    version = api.get(f"/projects/{project.pk}/versions/1").json()
    assert version["error"] == {"kind": "unavailable", "message": "The engine is down."}
    assert version["phase"] == "Failed" and version["can_retry"] is True


def test_progress_shows_phase_percent_and_estimate(api, project, monkeypatch):
    now = timezone.now()
    monkeypatch.setattr(progress.timezone, "now", lambda: now)
    ready_version(
        project,
        status=Version.Status.GENERATING,
        progress=0.25,
        submitted_at=now - timedelta(seconds=30),
    )
    version = api.get(f"/projects/{project.pk}/versions/1").json()
    assert (version["phase"], version["percent"]) == ("Generating", 25)
    # A quarter took 30 s: three quarters to go take 90 s.
    assert version["eta_seconds"] == 90


# Assets.


def test_bodies_must_say_what_they_are_and_uploads_hold_one_file(api, project):
    as_text = api.client.post(
        f"{API}/projects",
        json.dumps({"title": "Sent as text"}),
        content_type="text/plain",
        headers=api.headers(None),
    )
    assert as_text.status_code == 415
    assert error(as_text)["code"] == "unsupported_media_type"
    assert "not text/plain" in error(as_text)["message"]
    stills = [SimpleUploadedFile(f"s{n}.png", image_bytes(), "image/png") for n in range(2)]
    two = api.upload(f"/projects/{project.pk}/assets", {"file": stills})
    assert two.status_code == 422
    assert (error(two)["field"], error(two)["message"]) == ("file", "Send one file in `file`.")
    assert not Project.objects.filter(title="Sent as text").exists()
    assert Asset.objects.count() == 0


def test_upload_a_still_and_animate_it(api, project, tasks):
    still = SimpleUploadedFile(
        "photo.webp", image_bytes(size=(1200, 900), fmt="WEBP"), "image/webp"
    )
    response = api.upload(f"/projects/{project.pk}/assets", {"file": still})
    assert response.status_code == 201, response.content
    asset = response.json()
    assert (asset["kind"], asset["mime_type"], asset["width"], asset["height"]) == (
        "image",
        "image/jpeg",
        1200,
        900,
    )
    assert asset["original_name"] == "photo.webp" and asset["version"] is None
    response = api.post(
        f"/projects/{project.pk}/versions",
        generation(prompt="Slow push in", assets=[asset["id"]], aspect_ratio="9:16"),
    )
    assert response.status_code == 201, response.content
    version = response.json()
    assert (version["kind"], version["assets"]) == ("image_to_video", [asset["id"]])
    tasks()
    ready = api.get(f"/projects/{project.pk}/versions/1").json()
    assert ready["status"] == "ready" and ready["width"] < ready["height"]
    assert [a["id"] for a in api.get(f"/projects/{project.pk}/assets").json()] == [asset["id"]]


def test_an_uploaded_clip_becomes_a_root_version(api, project, tasks):
    clip = SimpleUploadedFile("phone.mp4", clip_bytes(), "video/mp4")
    response = api.upload(f"/projects/{project.pk}/assets", {"file": clip})
    assert response.status_code == 201, response.content
    asset = response.json()
    assert (asset["kind"], asset["version"], asset["width"]) == ("video", 1, 160)
    version = api.get(f"/projects/{project.pk}/versions/1").json()
    assert (version["kind"], version["status"], version["assets"]) == (
        "upload",
        "queued",
        [asset["id"]],
    )
    tasks()
    assert api.get(f"/projects/{project.pk}/versions/1").json()["status"] == "ready"
    assert api.get(f"/projects/{project.pk}/assets").json()[0]["version"] == 1


def test_upload_errors_name_the_file(api, project, member):
    fake = SimpleUploadedFile("x.jpg", b"<html></html>", "image/jpeg")
    response = api.upload(f"/projects/{project.pk}/assets", {"file": fake})
    assert response.status_code == 422 and error(response)["field"] == "file"
    broken_clip = SimpleUploadedFile(
        "x.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64, "video/mp4"
    )
    response = api.upload(f"/projects/{project.pk}/assets", {"file": broken_clip})
    assert response.status_code == 422 and error(response)["field"] == "file"
    unreadable = SimpleUploadedFile("holiday.mp4", b"\x00" * 4096, "video/mp4")
    response = api.upload(f"/projects/{project.pk}/assets", {"file": unreadable})
    assert response.status_code == 422 and "image" not in error(response)["message"]
    response = api.upload(f"/projects/{project.pk}/assets", {})
    assert response.status_code == 422 and error(response)["field"] == "file"
    assert not Asset.objects.exists() and not Version.objects.exists()

    member.workspace.region = Workspace.Region.EEA
    member.workspace.save()
    still = SimpleUploadedFile("still.png", image_bytes(), "image/png")
    response = api.upload(f"/projects/{project.pk}/assets", {"file": still})
    assert error(response)["field"] == "confirm_no_minors"
    still.seek(0)
    response = api.upload(
        f"/projects/{project.pk}/assets", {"file": still}, data={"confirm_no_minors": "true"}
    )
    assert response.status_code == 201


# Idempotency.


def test_the_same_idempotency_key_creates_one_version(api, project, tasks, counting_engine):
    body = generation(engine=counting_engine)
    first = api.post(f"/projects/{project.pk}/versions", body, headers={"Idempotency-Key": "k-1"})
    second = api.post(f"/projects/{project.pk}/versions", body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert second["Location"] == first["Location"]
    assert Version.objects.count() == 1
    tasks()
    assert len(CountingEngine.submits) == 1, "rendered once"
    record = IdempotencyRecord.objects.get()
    assert (record.key, record.response_status) == ("k-1", 201)
    assert record.object_id == Version.objects.get().pk

    # The same request with the keys in another order is the same request.
    reordered = json.loads(json.dumps(dict(reversed(list(body.items())))))
    again = api.post(
        f"/projects/{project.pk}/versions", reordered, headers={"Idempotency-Key": "k-1"}
    )
    assert again.status_code == 201 and again.json()["number"] == 1


def test_an_idempotency_key_reused_for_another_request_is_422(api, project):
    api.post(f"/projects/{project.pk}/versions", generation(), headers={"Idempotency-Key": "k-2"})
    response = api.post(
        f"/projects/{project.pk}/versions",
        generation(prompt="Something else"),
        headers={"Idempotency-Key": "k-2"},
    )
    assert response.status_code == 422
    assert error(response)["code"] == "idempotency_key_reused"
    assert error(response)["field"] == "Idempotency-Key"
    other_endpoint = api.post("/projects", {"title": "X"}, headers={"Idempotency-Key": "k-2"})
    assert error(other_endpoint)["code"] == "idempotency_key_reused"
    assert Version.objects.count() == 1 and Project.objects.count() == 1


def test_idempotency_keys_belong_to_their_user(api, project, member):
    colleague = api_as(Membership.Role.EDITOR, member.workspace)
    body = generation()
    api.post(f"/projects/{project.pk}/versions", body, headers={"Idempotency-Key": "shared"})
    response = colleague.post(
        f"/projects/{project.pk}/versions", body, headers={"Idempotency-Key": "shared"}
    )
    assert response.status_code == 201 and response.json()["number"] == 2


def test_a_refused_request_is_not_remembered(api, project):
    bad = api.post(
        f"/projects/{project.pk}/versions",
        generation(duration_seconds=30),
        headers={"Idempotency-Key": "k-3"},
    )
    assert bad.status_code == 422
    fixed = api.post(
        f"/projects/{project.pk}/versions", generation(), headers={"Idempotency-Key": "k-3"}
    )
    assert fixed.status_code == 201


def test_idempotent_project_and_upload_creation(api, project):
    first = api.post("/projects", {"title": "Once"}, headers={"Idempotency-Key": "p-1"})
    second = api.post("/projects", {"title": "Once"}, headers={"Idempotency-Key": "p-1"})
    assert first.json()["id"] == second.json()["id"]
    assert Project.objects.filter(title="Once").count() == 1

    content = image_bytes()
    ids = []
    for _ in range(2):
        still = SimpleUploadedFile("still.png", content, "image/png")
        response = api.upload(
            f"/projects/{project.pk}/assets", {"file": still}, headers={"Idempotency-Key": "a-1"}
        )
        assert response.status_code == 201
        ids.append(response.json()["id"])
    assert ids[0] == ids[1] and Asset.objects.count() == 1
    other = SimpleUploadedFile("still.png", image_bytes(color=(1, 2, 3)), "image/png")
    response = api.upload(
        f"/projects/{project.pk}/assets", {"file": other}, headers={"Idempotency-Key": "a-1"}
    )
    assert error(response)["code"] == "idempotency_key_reused"


def test_a_malformed_idempotency_key_is_422(api, project):
    response = api.post(
        f"/projects/{project.pk}/versions", generation(), headers={"Idempotency-Key": "x" * 201}
    )
    assert response.status_code == 422 and error(response)["field"] == "Idempotency-Key"
    assert not Version.objects.exists()


# The per-user limit.


def test_too_many_running_generations_is_429_with_retry_after(api, project, settings, tasks):
    settings.STUDIO_API_MAX_ACTIVE_GENERATIONS = 2
    for key in ("a", "b"):
        response = api.post(
            f"/projects/{project.pk}/versions", generation(), headers={"Idempotency-Key": key}
        )
        assert response.status_code == 201
    response = api.post(f"/projects/{project.pk}/versions", generation())
    assert response.status_code == 429
    assert error(response)["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 300
    clip = SimpleUploadedFile("phone.mp4", clip_bytes(), "video/mp4")
    assert api.upload(f"/projects/{project.pk}/assets", {"file": clip}).status_code == 429
    # A retry of a request that was accepted is answered, not limited.
    replay = api.post(
        f"/projects/{project.pk}/versions", generation(), headers={"Idempotency-Key": "a"}
    )
    assert replay.status_code == 201 and replay.json()["number"] == 1
    # The limit is the user's own: a colleague is not held up.
    colleague = api_as(Membership.Role.EDITOR, project.workspace)
    assert colleague.post(f"/projects/{project.pk}/versions", generation()).status_code == 201
    tasks()
    assert api.post(f"/projects/{project.pk}/versions", generation()).status_code == 201


# Review.


def test_timecoded_comments_and_replies(api, project):
    ready_version(project)
    path = f"/projects/{project.pk}/versions/1/comments"
    later = api.post(path, {"body": "Logo too small", "start_seconds": 3.04, "end_seconds": 4.5})
    assert later.status_code == 201, later.content
    # Kept to the millisecond, with the frames those times show at 24 fps.
    assert later.json()["timecode"] == "[3.04-4.5s]" and later.json()["start_seconds"] == 3.04
    assert (later.json()["start_frame"], later.json()["end_frame"]) == (72, 108)
    earlier = api.post(path, {"body": "Nice opening", "start_seconds": 0.5}).json()
    untimed = api.post(path, {"body": "Overall good"}).json()
    reply = api.post(path, {"body": "Agreed", "parent": earlier["id"], "start_seconds": 4})
    assert reply.status_code == 201 and reply.json()["parent"] == earlier["id"]
    assert reply.json()["start_seconds"] is None
    listed = api.get(path).json()
    assert [c["body"] for c in listed] == [
        "Nice opening",
        "Logo too small",
        "Overall good",
        "Agreed",
    ]
    assert listed[2]["id"] == untimed["id"] and listed[0]["author"] == project.created_by.username


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"body": "  "}, "body"),
        ({"body": ""}, "body"),
        ({"body": "x", "start_seconds": 9}, "start_seconds"),
        ({"body": "x", "start_seconds": -1}, "start_seconds"),
        ({"body": "x", "start_seconds": 3, "end_seconds": 2}, "end_seconds"),
        ({"body": "x", "end_seconds": 2}, "start_seconds"),
        ({"body": "x", "parent": 12345}, "parent"),
        ({"body": "x", "annotation": [{"kind": "pin", "x": 0.5, "y": 0.5}]}, "start_seconds"),
        (
            {"body": "x", "start_seconds": 1, "annotation": [{"kind": "pin", "x": 2, "y": 0}]},
            "annotation.pin.x",
        ),
        (
            {
                "body": "x",
                "start_seconds": 1,
                "annotation": [{"kind": "box", "x": 0.9, "y": 0, "w": 0.5, "h": 0.5}],
            },
            "annotation",
        ),
    ],
)
def test_comment_errors_name_the_field(api, project, body, field):
    ready_version(project)
    response = api.post(f"/projects/{project.pk}/versions/1/comments", body)
    assert response.status_code == 422
    assert error(response)["field"] == field
    assert not Comment.objects.exists()


def test_a_comment_with_a_drawing_on_the_frame(api, project):
    ready_version(project)
    path = f"/projects/{project.pk}/versions/1/comments"
    drawing = [
        {"kind": "box", "color": "green", "x": 0.5, "y": 0.5, "w": 0.25, "h": 0.2},
        {"kind": "stroke", "points": [[0.1, 0.1], [0.2, 0.15]]},
    ]
    made = api.post(path, {"body": "This corner", "start_seconds": 2, "annotation": drawing})
    assert made.status_code == 201, made.content
    assert made.json()["annotation"] == [
        drawing[0],
        {"kind": "stroke", "color": "red", "points": [[0.1, 0.1], [0.2, 0.15]]},
    ]
    assert api.get(path).json()[0]["annotation"] == made.json()["annotation"]


def test_reviews(api, project, member):
    version = ready_version(project)
    comment = review_services.comment_create(
        version=version, membership=member, body="Fix the logo"
    )
    edit = ready_version(project, number=2, parent=version)
    edit.addressed_comments.set([comment])
    path = f"/projects/{project.pk}/versions/2/reviews"
    response = api.post(path, {"decision": "changes_requested", "note": "Closer"})
    assert response.status_code == 201
    response = api.post(path, {"decision": "approved", "note": "Ship it"})
    review = response.json()
    assert (review["decision"], review["note"], review["version"]) == ("approved", "Ship it", 2)
    assert [r["decision"] for r in api.get(path).json()] == ["approved", "changes_requested"]
    comment.refresh_from_db()
    assert comment.is_resolved, "approving resolves the comments it addressed"

    response = api.post(path, {"decision": "love it"})
    assert response.status_code == 422 and error(response)["field"] == "decision"
    ready_version(project, number=3, status=Version.Status.QUEUED)
    response = api.post(f"/projects/{project.pk}/versions/3/reviews", {"decision": "approved"})
    assert response.status_code == 409
    assert error(response)["message"] == "v3 is not ready to review."
    assert Review.objects.count() == 2


# The token page and the command.


def test_the_token_page_shows_a_new_token_once(logged_in, user):
    page = logged_in.get(reverse("api_tokens"))
    assert page.status_code == 200 and "You have no tokens yet." in page.text
    assert f'href="{reverse("api_tokens")}"' in page.text, "linked from the account menu"
    created = logged_in.post(reverse("api_token_create"), {"name": "render bot"})
    assert created.status_code == 201
    api_token = ApiToken.objects.get(user=user)
    token = created.context["new_token"]
    assert token in created.text and api_token.token_digest == token_digest(token)
    assert Api(token).get("/workspaces").status_code == 200
    later = logged_in.get(reverse("api_tokens"))
    assert token not in later.text and "render bot" in later.text and api_token.prefix in later.text

    revoked = logged_in.post(reverse("api_token_revoke", args=[api_token.pk]))
    assert revoked.status_code == 302
    assert Api(token).get("/workspaces").status_code == 401
    assert "Revoked" in logged_in.get(reverse("api_tokens")).text


def test_the_token_page_refuses_bad_input_and_other_peoples_tokens(logged_in):
    assert logged_in.post(reverse("api_token_create"), {"name": ""}).status_code == 422
    theirs, _ = api_token_create(user=UserFactory(), name="theirs")
    assert logged_in.post(reverse("api_token_revoke", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert logged_in.get(reverse("api_token_revoke", args=[theirs.pk])).status_code == 405


def test_the_token_page_needs_a_login(client, db):
    response = client.get(reverse("api_tokens"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_create_api_token_command(user, capsys):
    call_command("create_api_token", user.username, name="ci")
    token = capsys.readouterr().out.strip()
    assert ApiToken.objects.get(user=user).name == "ci"
    assert Api(token).get("/workspaces").status_code == 200

    with pytest.raises(CommandError, match="no user 'nobody'"):
        call_command("create_api_token", "nobody")
    call_command("create_api_token", "robot", create_user=True)
    token = capsys.readouterr().out.strip()
    workspaces = Api(token).get("/workspaces").json()
    assert [w["role"] for w in workspaces] == ["owner"]


# Server-sent events.


async def read_events(stream, *, until=None, limit=500):
    """Parsed events from a stream, until one matches (or the stream ends)."""
    events = []
    for _ in range(limit):
        try:
            chunk = await asyncio.wait_for(anext(stream), timeout=30)
        except StopAsyncIteration:
            return events
        for block in chunk.decode().split("\n\n"):
            fields = dict(
                line.split(": ", 1)
                for line in block.splitlines()
                if ": " in line and line[0] != ":"
            )
            if block.startswith(": keep-alive"):
                events.append({"event": "keep-alive"})
            if "data" in fields:
                events.append({**fields, "data": json.loads(fields["data"])})
                if until and until(events[-1]):
                    return events
    raise AssertionError(f"The stream went on past {limit} chunks")


def close_connection():
    connection.close()


@sync_to_async
def api_setup(role="owner"):
    member = MembershipFactory(role=role)
    project = ProjectFactory(workspace=member.workspace, created_by=member.user)
    api_token, token = api_token_create(user=member.user, name="events")
    return member, project, api_token, token


class AsyncApi:
    """AsyncClient with a bearer token on every request."""

    def __init__(self, token: str):
        self.client = AsyncClient()
        self.auth = {"Authorization": f"Bearer {token}"}

    async def get(self, path, headers=None):
        return await self.client.get(path, headers={**self.auth, **(headers or {})})

    async def post(self, path, body=None):
        return await self.client.post(
            path, json.dumps(body or {}), content_type="application/json", headers=self.auth
        )


def async_client(token):
    return AsyncApi(token)


@sync_to_async
def create_version(member, project, **overrides):
    fields = {
        "kind": Version.Kind.TEXT_TO_VIDEO,
        "prompt": "A lighthouse at dusk",
        "aspect_ratio": "16:9",
        "resolution": "480p",
        "duration_seconds": 3,
        "engine": "local",
    }
    fields.update(overrides)
    return versions.version_create(project=project, membership=member, author=member.user, **fields)


@pytest.mark.django_db(transaction=True)
async def test_a_version_stream_follows_its_whole_life(monkeypatch):
    _, project, _, token = await api_setup()
    client = async_client(token)
    created = await client.post(f"{API}/projects/{project.pk}/versions", generation())
    assert created.status_code == 201
    response = await client.get(f"{API}/projects/{project.pk}/versions/1/events")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    assert response["Cache-Control"] == "no-cache"
    stream = response.streaming_content
    opened = await read_events(stream, until=lambda e: e["event"] == "version")
    assert [e["event"] for e in opened] == ["open", "version"]
    assert opened[1]["data"]["status"] == "queued" and opened[1]["data"]["kind"] == "snapshot"

    # Lockstep: the worker waits after each event until the stream has shown
    # it, so every state the version passes through is seen, none skipped.
    shown = threading.Condition()
    seen_seq = [opened[1]["data"]["seq"]]
    original_send = broadcast.send

    def send_and_wait(group, message):
        original_send(group, message)
        if message.get("type") == "version.changed":
            with shown:
                assert shown.wait_for(lambda: seen_seq[0] >= message["seq"], timeout=30)

    monkeypatch.setattr(broadcast, "send", send_and_wait)

    async def follow():
        events = []
        while True:
            batch = await read_events(stream, until=lambda e: True)
            if not batch:
                return events
            events += batch
            with shown:
                seen_seq[0] = max(seen_seq[0], batch[-1]["data"]["seq"])
                shown.notify_all()

    def work_in_another_thread():
        try:
            run_tasks()
        finally:
            connection.close()

    following = asyncio.create_task(follow())
    await sync_to_async(work_in_another_thread, thread_sensitive=False)()
    life = await asyncio.wait_for(following, timeout=60)

    states = [e["data"]["status"] for e in life]
    assert list(dict.fromkeys(states)) == ["submitting", "generating", "saving", "ready"]
    percents = [e["data"]["percent"] for e in life if e["data"]["status"] == "generating"]
    assert percents == sorted(percents) and len(set(percents)) > 2
    seqs = [e["data"]["seq"] for e in life]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert [e["id"] for e in life] == [str(s) for s in seqs]
    last = life[-1]["data"]
    assert last["finished"] is True and last["percent"] == 100 and last["version"] == 1
    assert last["video_url"] == f"{API}/projects/{project.pk}/versions/1/video"


@pytest.mark.django_db(transaction=True)
async def test_a_finished_versions_stream_sends_its_state_and_ends():
    _, project, _, token = await api_setup()
    await sync_to_async(ready_version)(project)
    response = await async_client(token).get(f"{API}/projects/{project.pk}/versions/1/events")
    events = await read_events(response.streaming_content)
    assert [(e["event"], e["data"].get("status")) for e in events] == [
        ("open", None),
        ("version", "ready"),
    ]


@pytest.mark.django_db(transaction=True)
async def test_a_version_stream_ends_when_the_version_is_cancelled():
    member, project, _, token = await api_setup()
    await create_version(member, project)
    client = async_client(token)
    response = await client.get(f"{API}/projects/{project.pk}/versions/1/events")
    stream = response.streaming_content
    await read_events(stream, until=lambda e: e["event"] == "version")
    cancelled = await client.post(f"{API}/projects/{project.pk}/versions/1/cancel")
    assert cancelled.status_code == 200
    events = await read_events(stream)
    assert events[-1]["data"]["status"] == "cancelled"
    assert events[-1]["data"]["error"]["kind"] == "cancelled"


@pytest.mark.django_db(transaction=True)
async def test_the_project_stream_sends_a_snapshot_then_every_change():
    member, project, _, token = await api_setup()
    ready = await sync_to_async(ready_version)(project)
    await create_version(member, project)  # v2, queued
    response = await async_client(token).get(f"{API}/projects/{project.pk}/events")
    stream = response.streaming_content
    snapshot = await read_events(stream, until=lambda e: e["event"] == "version")
    assert snapshot[0]["event"] == "open" and snapshot[0]["data"]["project"] == project.pk
    assert [(e["data"]["version"], e["data"]["status"]) for e in snapshot[1:]] == [(2, "queued")]

    await sync_to_async(review_services.comment_create)(
        version=ready, membership=member, body="Lovely", start_seconds=1.0
    )
    changed = await read_events(stream, until=lambda e: e["event"] == "version")
    assert (changed[-1]["data"]["version"], changed[-1]["data"]["kind"]) == (1, "comments")
    await create_version(member, project, prompt="A second lighthouse")
    created = await read_events(stream, until=lambda e: e["event"] == "version")
    assert (created[-1]["data"]["version"], created[-1]["data"]["kind"]) == (3, "created")


@pytest.mark.django_db(transaction=True)
async def test_last_event_id_resends_what_changed_since():
    member, project, _, token = await api_setup()
    first = await sync_to_async(ready_version)(project)
    await sync_to_async(review_services.comment_create)(
        version=first, membership=member, body="One"
    )
    await sync_to_async(ready_version)(project, number=2)
    client = async_client(token)
    response = await client.get(
        f"{API}/projects/{project.pk}/events", headers={"Last-Event-ID": "0"}
    )
    events = await read_events(response.streaming_content, until=lambda e: e["event"] == "version")
    assert events[-1]["data"]["version"] == 1
    response = await client.get(
        f"{API}/projects/{project.pk}/events", headers={"Last-Event-ID": "1"}
    )
    opened = await read_events(response.streaming_content, until=lambda e: e["event"] == "open")
    assert opened[-1]["data"]["seq"] == 1  # nothing changed since: only the open event


@pytest.mark.django_db(transaction=True)
async def test_streams_keep_alive_and_stop_when_the_token_is_revoked(monkeypatch):
    member, project, api_token, token = await api_setup()
    monkeypatch.setattr(api_events, "KEEPALIVE_SECONDS", 0)
    response = await async_client(token).get(f"{API}/projects/{project.pk}/events")
    stream = response.streaming_content
    await read_events(stream, until=lambda e: e["event"] == "open")
    chunk = await asyncio.wait_for(anext(stream), timeout=30)
    assert chunk == b": keep-alive\n\n"
    await sync_to_async(api_token_revoke)(user=member.user, token_id=api_token.pk)
    rest = await read_events(stream)  # ends by itself
    assert all(e["event"] == "keep-alive" for e in rest)


@pytest.mark.django_db(transaction=True)
async def test_streams_stop_when_the_member_is_removed(monkeypatch):
    member, project, _, token = await api_setup()
    owner = await sync_to_async(MembershipFactory)(workspace=member.workspace, role="owner")
    monkeypatch.setattr(api_events, "KEEPALIVE_SECONDS", 0)
    response = await async_client(token).get(f"{API}/projects/{project.pk}/events")
    stream = response.streaming_content
    await read_events(stream, until=lambda e: e["event"] == "open")
    await sync_to_async(team.membership_remove)(by=owner, target=member)
    assert all(e["event"] == "keep-alive" for e in await read_events(stream))


@pytest.mark.django_db(transaction=True)
async def test_streams_need_a_token_and_membership():
    _, project, _, token = await api_setup()
    response = await AsyncClient().get(f"{API}/projects/{project.pk}/events")
    assert response.status_code == 401
    *_, outsider_token = await api_setup()
    for path in [f"/projects/{project.pk}/events", f"/projects/{project.pk}/versions/1/events"]:
        response = await async_client(outsider_token).get(API + path)
        assert response.status_code == 404
        assert json.loads(response.content)["error"]["code"] == "not_found"
    response = await async_client(token).get(f"{API}/projects/{project.pk}/versions/9/events")
    assert response.status_code == 404
    # No stream was opened to give the request thread's connection back.
    await sync_to_async(close_connection)()


def test_a_blocked_version_is_retried_unchanged_only_when_confirmed(
    api, project, counting_engine, tasks
):
    ready_version(
        project,
        engine=counting_engine,
        status=Version.Status.BLOCKED,
        error_kind="blocked",
        error_message="Blocked by the safety filters.",
    )
    refused = api.post(f"/projects/{project.pk}/versions/1/retry")
    assert refused.status_code == 409
    assert "charged and most likely blocked again" in error(refused)["message"]
    assert Version.objects.get(project=project, number=1).status == Version.Status.BLOCKED
    assert CountingEngine.submits == []

    confirmed = api.post(f"/projects/{project.pk}/versions/1/retry?confirm_same_prompt=true")
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "queued"


def test_a_version_that_needs_a_decision_is_decided_through_the_api(
    api, project, counting_engine, tasks
):
    for number in (1, 2):
        ready_version(
            project,
            number=number,
            engine=counting_engine,
            status=Version.Status.RECONCILE,
            video="",
            error_kind="uncertain",
        )
    resubmitted = api.post(f"/projects/{project.pk}/versions/1/decision", {"decision": "resubmit"})
    assert resubmitted.status_code == 200 and resubmitted.json()["status"] == "queued"
    tasks()
    assert api.get(f"/projects/{project.pk}/versions/1").json()["status"] == "ready"
    assert len(CountingEngine.submits) == 1

    cancelled = api.post(f"/projects/{project.pk}/versions/2/decision", {"decision": "cancel"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = api.post(f"/projects/{project.pk}/versions/2/decision", {"decision": "resubmit"})
    assert again.status_code == 409 and "does not need a decision" in error(again)["message"]
    unknown = api.post(f"/projects/{project.pk}/versions/1/decision", {"decision": "maybe"})
    assert unknown.status_code == 422 and error(unknown)["field"] == "decision"
    reviewer = api_as("reviewer", project.workspace)
    assert (
        reviewer.post(f"/projects/{project.pk}/versions/2/decision", {"decision": "cancel"})
    ).status_code == 403
