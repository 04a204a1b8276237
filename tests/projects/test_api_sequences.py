"""The API's sequences, round trip: made from versions with in and out
points and a crossfade, its clips replaced, rendered (201), followed to
ready, downloaded, commented on at a time and exported; and the refusals."""

import io

import av
import pytest

from projects.models import Comment, Membership, SequenceRender
from tests.factories import WorkspaceFactory
from tests.projects.sequence_clips import ready_version
from tests.projects.test_api import Api, api_as, error, token_for


@pytest.fixture
def api(user):
    return Api(token_for(user))


@pytest.fixture
def two(project, member, tasks):
    return [
        ready_version(project, member, tasks, prompt="A red kite"),
        ready_version(project, member, tasks, aspect_ratio="1:1", prompt="A green field"),
    ]


def test_a_sequence_is_made_rendered_downloaded_and_reviewed(api, project, two, tasks):
    made = api.post(
        f"/projects/{project.pk}/sequences",
        {
            "title": "Square cut",
            "aspect_ratio": "1:1",
            "resolution": "480p",
            "clips": [
                {
                    "version": 1,
                    "in_seconds": 0.5,
                    "transition": "crossfade",
                    "transition_seconds": 1,
                },
                {"version": 2, "out_seconds": 2},
            ],
        },
    )
    assert made.status_code == 201, made.content
    sequence = made.json()
    assert [c["version"] for c in sequence["clips"]] == [1, 2]
    assert sequence["clips"][0]["out_seconds"] == pytest.approx(3.0)
    base = f"/projects/{project.pk}/sequences/{sequence['id']}"
    assert api.get(base).json() == sequence

    replaced = api.put(
        f"{base}/clips",
        {"clips": [{"version": 2}, {"version": 1, "in_seconds": 1, "out_seconds": 2.5}]},
    )
    assert replaced.status_code == 200
    assert [c["version"] for c in replaced.json()["clips"]] == [2, 1]

    started = api.post(f"{base}/renders")
    assert started.status_code == 201
    render = started.json()
    assert (render["number"], render["status"], render["video_url"]) == (1, "queued", None)
    assert (render["width"], render["height"]) == (480, 480)
    assert api.get(f"{base}/renders/1/video").status_code == 404
    tasks()
    render = api.get(f"{base}/renders/1").json()
    assert render["status"] == "ready" and render["duration_seconds"] == pytest.approx(
        4.5, abs=1 / 24
    )
    assert [c["starts_at"] for c in render["clips"]] == [0, 3.0]

    video = api.get(f"{base}/renders/1/video", {"download": "true"})
    assert video.status_code == 200 and video["Content-Type"] == "video/mp4"
    with av.open(io.BytesIO(b"".join(video.streaming_content))) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (480, 480)
        assert container.streams.audio[0].codec_context.name == "aac"

    commented = api.post(f"{base}/renders/1/comments", {"body": "Shorter", "seconds": 3.5})
    assert commented.status_code == 201, commented.content
    comment = commented.json()
    assert (comment["version"], comment["start_seconds"]) == (1, 1.5)
    assert comment["body"] == "Shorter (from sequence Square cut r1 at 0:03.5)"

    exported = api.get(f"{base}/renders/1/provenance").json()
    assert [c["version"] for c in exported["clips"]] == [2, 1]
    assert exported["clips"][0]["lineage"][0]["version"] == 2

    again = api.post(f"{base}/renders")
    assert again.json()["number"] == 2
    assert api.get(f"{base}/renders/1").json()["status"] == "ready"


def test_refusals_are_in_words_and_change_nothing(api, project, member, two):
    base = f"/projects/{project.pk}/sequences"
    too_long = api.post(
        base,
        {
            "title": "Cut",
            "clips": [{"version": 1, "out_seconds": 9}],
        },
    )
    assert too_long.status_code == 422
    assert "past the end of v1" in error(too_long)["message"]
    fade = api.post(
        base,
        {
            "title": "Cut",
            "clips": [
                {"version": 1, "transition": "crossfade", "transition_seconds": 2},
                {"version": 2, "out_seconds": 1.5},
            ],
        },
    )
    assert fade.status_code == 422 and "longer than clip 2" in error(fade)["message"]
    many = api.post(base, {"title": "Cut", "clips": [{"version": 1}] * 21})
    assert many.status_code == 422
    both = api.post(base, {"title": "Cut", "from_picks": True, "clips": [{"version": 1}]})
    assert both.status_code == 422 and "not both" in error(both)["message"]
    sequence = api.post(base, {"title": "Cut", "from_picks": True}).json()
    assert [c["version"] for c in sequence["clips"]] == [1, 2]
    reversed_points = api.put(
        f"{base}/{sequence['id']}/clips",
        {"clips": [{"version": 1, "in_seconds": 2, "out_seconds": 1}]},
    )
    assert reversed_points.status_code == 422
    assert "must be after the in point" in error(reversed_points)["message"]

    viewer = api_as(Membership.Role.VIEWER, member.workspace)
    assert viewer.get(f"{base}/{sequence['id']}").status_code == 200
    refused = viewer.post(f"{base}/{sequence['id']}/renders")
    assert refused.status_code == 403 and error(refused)["code"] == "permission_denied"
    assert viewer.put(f"{base}/{sequence['id']}/clips", {"clips": []}).status_code == 403
    assert not SequenceRender.objects.exists()
    assert len(api.get(f"{base}/{sequence['id']}").json()["clips"]) == 2

    outsider = api_as(Membership.Role.OWNER, WorkspaceFactory())
    assert outsider.get(f"{base}/{sequence['id']}").status_code == 404
    assert outsider.get(f"{base}/{sequence['id']}/renders/1/video").status_code == 404
    assert outsider.post(f"{base}/{sequence['id']}/renders").status_code == 404
    assert not Comment.objects.exists()


def test_a_drawing_on_a_render_is_stored_in_the_clips_own_picture(api, project, member, two, tasks):
    # A square render of the 16:9 clip (852 × 480) then the square one: the
    # render shows the landscape clip's middle 480 px, from 186 px in, so x
    # in it is (186 + 480 x) / 852 = 0.2183 + 0.5634 x.
    sequence = api.post(
        f"/projects/{project.pk}/sequences",
        {
            "title": "Square cut",
            "aspect_ratio": "1:1",
            "resolution": "480p",
            "clips": [{"version": 1, "out_seconds": 2}, {"version": 2, "out_seconds": 2}],
        },
    ).json()
    base = f"/projects/{project.pk}/sequences/{sequence['id']}/renders"
    assert api.post(base).status_code == 201
    tasks()
    box = {"kind": "box", "color": "green", "x": 0.25, "y": 0.2, "w": 0.5, "h": 0.3}
    pin = {"kind": "pin", "color": "red", "x": 0.0, "y": 1.0}
    commented = api.post(
        f"{base}/1/comments", {"body": "Logo here", "seconds": 1.25, "annotation": [box, pin]}
    )
    assert commented.status_code == 201, commented.content
    comment = commented.json()
    assert (comment["version"], comment["start_seconds"]) == (1, 1.25)
    mapped = [{**box, "x": 0.3592, "w": 0.2817}, {**pin, "x": 0.2183}]
    assert comment["annotation"] == mapped
    listed = api.get(f"/projects/{project.pk}/versions/1/comments").json()
    assert [c["annotation"] for c in listed] == [mapped]
    # In the square clip, its own ratio: as drawn.
    square = api.post(f"{base}/1/comments", {"body": "And here", "seconds": 3, "annotation": [box]})
    assert (square.json()["version"], square.json()["annotation"]) == (2, [box])

    too_thin = api.post(
        f"{base}/1/comments",
        {"body": "Thin", "seconds": 1, "annotation": [{**box, "w": 0.007}]},
    )
    assert too_thin.status_code == 422 and error(too_thin)["field"] == "annotation"
    assert "too small to mark anything on the clip's own picture" in error(too_thin)["message"]
    past_edge = api.post(
        f"{base}/1/comments", {"body": "Edge", "seconds": 1, "annotation": [{**box, "x": 0.9}]}
    )
    assert past_edge.status_code == 422 and "past the edge" in error(past_edge)["message"]
    not_a_shape = api.post(
        f"{base}/1/comments", {"body": "Arrow", "seconds": 1, "annotation": [{"kind": "arrow"}]}
    )
    assert not_a_shape.status_code == 422
    viewer = api_as(Membership.Role.VIEWER, member.workspace)
    refused = viewer.post(f"{base}/1/comments", {"body": "Hm", "seconds": 1, "annotation": [box]})
    assert refused.status_code == 403
    assert Comment.objects.count() == 2
