"""POST /projects/{id}/versions/{number}/extend: the new version object, once
per idempotency key, and refusals in the API's own words."""

import pytest

from projects.models import Membership, Version
from tests.projects.test_api import Api, api_as, error, generation, ready_version, token_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(user):
    return Api(token_for(user))


def test_extend_answers_the_new_version_and_makes_it_once_per_key(api, project, tasks):
    api.post(f"/projects/{project.pk}/versions", generation(duration_seconds=5))
    tasks()
    url = f"/projects/{project.pk}/versions/1/extend"
    body = {"seconds": 5, "instruction": "the kite drifts out of frame"}

    made = api.post(url, body, headers={"Idempotency-Key": "extend-1"})
    replayed = api.post(url, body, headers={"Idempotency-Key": "extend-1"})

    assert made.status_code == replayed.status_code == 201
    assert replayed.json() == made.json() and replayed["Idempotent-Replayed"] == "true"
    assert made["Location"].endswith(f"/projects/{project.pk}/versions/2")
    child = made.json()
    assert (child["number"], child["parent"], child["kind"]) == (2, 1, "extend")
    assert (child["extend_seconds"], child["duration_seconds"]) == (5, 10)
    assert child["instruction"] == "the kite drifts out of frame"
    assert child["prompt"].startswith("Continue this shot: A paper boat drifting")
    assert child["status"] == "queued" and child["cost_estimate"] == "0.0000"
    assert Version.objects.filter(project=project).count() == 2
    tasks()
    ready = api.get(f"/projects/{project.pk}/versions/2").json()
    assert ready["status"] == "ready"
    assert abs(ready["video_duration"] - 10.0) <= 1 / 24

    other = api.post(url, {"seconds": 3}, headers={"Idempotency-Key": "extend-1"})
    assert other.status_code == 422


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"seconds": 2}, 422, "Extend by 3 to 10 seconds"),
        ({"seconds": 11}, 422, "Extend by 3 to 10 seconds"),
        ({"seconds": 61}, 422, "seconds"),
        ({}, 422, "seconds"),
        ({"seconds": 5, "engine": "nope"}, 422, "no engine called 'nope'"),
        ({"seconds": 5, "extra": 1}, 422, "not part of the request"),
    ],
    ids=["2s", "11s", "61s", "missing", "engine", "extra"],
)
def test_bad_requests_are_422_and_make_nothing(api, project, body, status, needle):
    ready_version(project)
    response = api.post(f"/projects/{project.pk}/versions/1/extend", body)
    assert response.status_code == status
    assert needle in error(response)["message"]
    assert Version.objects.filter(project=project).count() == 1


def test_over_60_seconds_is_422_naming_seconds(api, project):
    ready_version(project, video_duration=56.0, duration_seconds=56)
    response = api.post(f"/projects/{project.pk}/versions/1/extend", {"seconds": 5})
    assert response.status_code == 422
    assert error(response)["field"] == "seconds"
    assert "extend it by at most 4 s" in error(response)["message"]


def test_a_version_not_ready_is_409_and_a_viewer_403(api, project):
    ready_version(project, status=Version.Status.GENERATING)
    response = api.post(f"/projects/{project.pk}/versions/1/extend", {"seconds": 5})
    assert response.status_code == 409
    assert error(response)["message"] == "Only a ready version is extended; v1 is generating."

    viewer = api_as(Membership.Role.VIEWER, project.workspace)
    Version.objects.filter(project=project).update(status=Version.Status.READY)
    url = f"/projects/{project.pk}/versions/{{}}/extend"
    assert viewer.post(url.format(1), {"seconds": 5}).status_code == 403
    assert api.post(url.format(9), {"seconds": 5}).status_code == 404
    assert Version.objects.filter(project=project).count() == 1
