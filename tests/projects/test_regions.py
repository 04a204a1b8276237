"""Annotation to spatial edit: a box a reviewer drew on the frame becomes
the region of the edit made from the comment. The local engine changes the
picture inside it and nowhere else (decoded); Gemini, through the real SDK
and the local double, is sent the parent's frame with the box drawn on it,
and the words say where."""

import base64
import io

import av
import numpy as np
import pytest
from django.urls import reverse
from PIL import Image

from projects.models import Version
from projects.services import composer, review, versions
from projects.services.annotations import annotation_region, region_checked
from projects.services.errors import StudioError
from tests.projects.conftest import completes
from tests.projects.test_gemini_studio import landscape_mp4, render  # noqa: F401
from tests.studio.engines.clips import SAME, mad

BOX = {"kind": "box", "color": "yellow", "x": 0.55, "y": 0.1, "w": 0.3, "h": 0.35}
REGION = {"x": 0.55, "y": 0.1, "w": 0.3, "h": 0.35, "at": 2.0}


def frames_at(version: Version, seconds: float) -> np.ndarray:
    with version.video.open("rb") as handle, av.open(io.BytesIO(handle.read())) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            if frame.time >= seconds:
                return frame.to_ndarray(format="rgb24").astype(int)
    raise AssertionError("no frame that late")


def ready(project, member, tasks, **fields) -> Version:
    version = versions.version_create(
        project=project, membership=member, author=member.user, **fields
    )
    tasks()
    version.refresh_from_db()
    assert version.status == Version.Status.READY, version.error_message
    return version


def drawn_on(project, member, tasks, *, engine: str, resolution: str, body: str):
    """A ready 3 s version on ``engine`` and a comment at 2 s with BOX drawn."""
    parent = ready(
        project,
        member,
        tasks,
        kind="text_to_video",
        prompt="A lighthouse at dusk",
        aspect_ratio="16:9",
        resolution=resolution,
        duration_seconds=3,
        engine=engine,
    )
    comment = review.comment_create(
        version=parent, membership=member, body=body, start_seconds=2.0, annotation=[BOX]
    )
    return parent, comment


def edit_from(project, member, tasks, parent, comment, *, engine: str) -> Version:
    """The edit a drawn-on comment makes, with its words and region."""
    return ready(
        project,
        member,
        tasks,
        **composer.edit_arguments(
            parent=parent,
            instruction=review.comments_edit_instruction([comment]),
            engine=engine,
            addresses=[comment.pk],
            region=review.edit_region([comment]),
        ),
    )


def test_a_region_is_the_box_around_what_was_drawn():
    assert annotation_region([BOX], at=2.0) == REGION
    pin = {"kind": "pin", "color": "red", "x": 0.5, "y": 0.5}
    stroke = {"kind": "stroke", "color": "red", "points": [[0.1, 0.2], [0.3, 0.25]]}
    assert annotation_region([pin, stroke]) == {"x": 0.1, "y": 0.2, "w": 0.46, "h": 0.36}
    assert annotation_region([]) is None
    for bad, message in [
        ({"x": 0.5, "y": 0.5, "w": 0.6, "h": 0.1}, "past the edge"),
        ({"x": -0.1, "y": 0, "w": 0.5, "h": 0.5}, "x is a number from 0 to 1"),
        ({"x": 0, "y": 0, "w": "wide", "h": 0.5}, "w is a number"),
        ([0, 0, 1, 1], "A region is a box"),
    ]:
        with pytest.raises(StudioError, match=message) as refused:
            region_checked(bad)
        assert refused.value.field == "region"


def test_a_drawn_comment_turned_into_an_edit_changes_only_inside_its_box(
    client, project, member, tasks
):
    parent, comment = drawn_on(
        project, member, tasks, engine="local", resolution="480p", body="Make this brighter"
    )
    client.force_login(member.user)
    form = client.post(
        reverse("comments_to_edit", args=[project.pk, parent.number]),
        {"comment": [comment.pk]},
        headers={"HX-Request": "true"},
    )
    assert "[2s] Make this brighter, inside the marked box at the top right." in form.text
    assert review.edit_region([comment]) == REGION
    edit = edit_from(project, member, tasks, parent, comment, engine="local")
    assert edit.region == REGION
    assert "inside the marked box" in edit.engine_note
    before, after = frames_at(parent, 2.2), frames_at(edit, 2.2)
    height, width = before.shape[:2]
    left, top = round(0.55 * width) + 6, round(0.1 * height) + 6
    right, bottom = round(0.85 * width) - 6, round(0.45 * height) - 6
    inside = (slice(top, bottom), slice(left, right))
    assert after[inside].mean() > before[inside].mean() + 10
    for part in (
        (slice(None), slice(0, left - 14)),
        (slice(bottom + 14, None), slice(None)),
        (slice(None), slice(right + 14, None)),
    ):
        assert mad(after[part], before[part]) < SAME
    # Before 2 s the look does not hold, inside the box or out.
    assert mad(frames_at(edit, 0.5), frames_at(parent, 0.5)) < SAME


def test_gemini_is_sent_the_frame_with_the_box_drawn_on_it(
    project,
    member,
    tasks,
    double,
    landscape_mp4,  # noqa: F811
):
    completes(double, "int-root", landscape_mp4)
    parent, comment = drawn_on(
        project, member, tasks, engine="gemini", resolution="720p", body="Blur this logo"
    )
    completes(double, "int-edit", landscape_mp4)
    instruction = review.comments_edit_instruction([comment])
    assert instruction == "[2s] Blur this logo, inside the marked box at the top right."
    edit = edit_from(project, member, tasks, parent, comment, engine="gemini")
    sent = double.creates[-1].json
    assert sent["previous_interaction_id"] == "int-root"
    [step] = sent["input"]
    images = [block for block in step["content"] if block["type"] == "image"]
    text = [block["text"] for block in step["content"] if block["type"] == "text"]
    assert len(images) == 1 and images[0]["mime_type"] == "image/png"
    assert "inside the marked box at the top right" in text[0]
    frame = np.asarray(Image.open(io.BytesIO(base64.b64decode(images[0]["data"]))).convert("RGB"))
    height, width = frame.shape[:2]
    # The box's edge is drawn in the reviewer's yellow (over the region's
    # red outline).
    edge_row = frame[round(0.1 * height) + 1, round(0.6 * width) : round(0.8 * width)]
    assert (edge_row[:, 0] > 200).all() and (edge_row[:, 1] > 150).all()
    assert (edge_row[:, 2] < 90).all()
    assert edit.region == REGION


def test_only_an_edit_has_a_region(project, member):
    with pytest.raises(StudioError, match="Only an edit applies in a region") as refused:
        versions.version_create(
            project=project,
            membership=member,
            author=member.user,
            kind="text_to_video",
            prompt="A lighthouse",
            aspect_ratio="16:9",
            resolution="480p",
            duration_seconds=3,
            engine="local",
            region={"x": 0, "y": 0, "w": 0.5, "h": 0.5},
        )
    assert refused.value.field == "region"
    assert not Version.objects.exists()
