"""Drawings on the frame: what is kept (a normal form, in 0-1 coordinates)
and what is refused with a message, storing nothing; and a drawing on a
reframed picture moved back into its source's own picture."""

import math

import pytest

from projects.models import Comment, Membership
from projects.services import review
from projects.services.annotations import (
    MAX_POINTS,
    MAX_SHAPES,
    annotation_checked,
    annotation_from_json,
    annotation_uncropped,
)
from projects.services.errors import StudioError
from tests.factories import MembershipFactory, ProjectFactory, VersionFactory

BOX = {"kind": "box", "color": "yellow", "x": 0.1, "y": 0.2, "w": 0.3, "h": 0.25}
PIN = {"kind": "pin", "x": 0.8, "y": 0.1}
STROKE = {"kind": "stroke", "color": "blue", "points": [[0.5, 0.5], [0.55, 0.6], [0.6, 0.62]]}


def test_shapes_are_kept_in_a_normal_form():
    assert annotation_checked([BOX, PIN, STROKE]) == [
        BOX,
        {"kind": "pin", "color": "red", "x": 0.8, "y": 0.1},
        STROKE,
    ]
    assert annotation_checked([{**PIN, "x": 0.123456789}])[0]["x"] == 0.1235
    assert annotation_from_json("") == [] == annotation_checked(None)
    assert annotation_from_json('[{"kind": "pin", "x": 0, "y": 1}]')[0]["y"] == 1.0


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"kind": "box"}, "A drawing is a list of shapes."),
        ([BOX] * (MAX_SHAPES + 1), f"at most {MAX_SHAPES} shapes"),
        (["box"], "Shape 1 is not a shape."),
        ([{"kind": "arrow", "x": 0, "y": 0}], "draw a pin, a box or a stroke"),
        ([{**PIN, "color": "purple"}], "the colours are red, yellow, green, blue, white"),
        ([{**PIN, "x": 1.5}], "coordinates are from 0 to 1 (of the picture); got 1.5"),
        ([{**PIN, "y": -0.1}], "got -0.1"),
        ([{**PIN, "x": math.nan}], "coordinates are from 0 to 1"),
        ([{**PIN, "x": "0.5"}], "coordinates are numbers from 0 to 1"),
        ([{**PIN, "x": True}], "coordinates are numbers from 0 to 1"),
        ([{"kind": "pin", "x": 0.5}], "Shape 1: y is missing."),
        ([PIN, {**BOX, "x": 0.9, "w": 0.3}], "Shape 2: the box goes past the edge"),
        ([{**BOX, "w": 0.001}], "too small to mark anything"),
        ([{**STROKE, "points": [[0.5, 0.5]]}], "a stroke has at least two points"),
        ([{**STROKE, "points": [[0.5, 0.5, 0.5]] * 3}], "a point is a pair [x, y]"),
        ([{**STROKE, "points": [[0.5, 0.5]] * 401}], "a stroke has at most 400 points"),
        ([{**STROKE, "points": [[0.5, 0.5]] * 400}] * 6, f"at most {MAX_POINTS} points"),
    ],
)
def test_a_bad_drawing_is_refused_saying_what_is_wrong(raw, message):
    with pytest.raises(StudioError) as refused:
        annotation_checked(raw)
    assert message in refused.value.message
    assert refused.value.field == "annotation"


@pytest.mark.parametrize("text", ["{", "[1, 2", "x" * 70_000])
def test_unreadable_or_huge_json_is_refused(text):
    with pytest.raises(StudioError) as refused:
        annotation_from_json(text)
    assert refused.value.field == "annotation"


@pytest.fixture
def reviewer(db):
    owner = MembershipFactory(role=Membership.Role.OWNER)
    return MembershipFactory(workspace=owner.workspace, role=Membership.Role.REVIEWER)


@pytest.fixture
def version(reviewer):
    project = ProjectFactory(workspace=reviewer.workspace)
    return VersionFactory(project=project, number=1, video_duration=5.0, duration_seconds=5)


def test_a_comment_keeps_its_drawing_at_its_time(reviewer, version):
    comment = review.comment_create(
        version=version,
        membership=reviewer,
        body="The logo is too small here",
        start_seconds=2.0,
        annotation=[BOX, PIN],
    )
    comment.refresh_from_db()
    assert comment.annotation == annotation_checked([BOX, PIN])
    assert comment.annotation_summary == "a box and a pin"


def test_a_drawing_needs_a_time_and_a_reply_cannot_have_one(reviewer, version):
    with pytest.raises(StudioError) as refused:
        review.comment_create(version=version, membership=reviewer, body="Here", annotation=[BOX])
    assert refused.value.field == "start_seconds" and "give the time" in refused.value.message
    first = review.comment_create(version=version, membership=reviewer, body="Hm", start_seconds=1)
    with pytest.raises(StudioError) as refused:
        review.comment_create(
            version=version, membership=reviewer, body="Yes", parent=first, annotation=[PIN]
        )
    assert refused.value.field == "annotation"
    with pytest.raises(StudioError):
        review.comment_create(
            version=version,
            membership=reviewer,
            body="Bad",
            start_seconds=1,
            annotation=[{**BOX, "x": 2}],
        )
    assert list(Comment.objects.values_list("body", flat=True)) == ["Hm"]


# Moving a drawing back through a fill-and-centre-crop (as a sequence's
# render shows its clips). A 16:9 clip of 852 × 480 in a 9:16 frame of
# 480 × 852 is scaled by 852 / 480 = 1.775 to fill its height; the frame then
# shows a strip 480 / 1.775 = 270.42 px of the clip wide, starting
# (852 - 270.42) / 2 = 290.79 px in: x in the clip = (290.79 + 270.42 x) / 852
# = 0.3413 + 0.3174 x, and y is unchanged.

WIDE, TALL = (852, 480), (480, 852)
SQUARE_BOX = {"kind": "box", "color": "red", "x": 0.25, "y": 0.2, "w": 0.5, "h": 0.3}
MIDDLE = {"kind": "pin", "color": "red", "x": 0.5, "y": 0.5}
CORNER_TO_CORNER = {"kind": "stroke", "color": "red", "points": [[0.0, 0.0], [1.0, 1.0]]}


def test_a_drawing_on_a_portrait_crop_of_a_landscape_clip_moves_to_its_middle_strip():
    box, pin, stroke = annotation_uncropped(
        [SQUARE_BOX, MIDDLE, CORNER_TO_CORNER], shown=TALL, source=WIDE
    )
    # x 0.25 → 0.3413 + 0.3174 × 0.25; x 0.75 → 0.5793: the box is 0.1587 wide.
    assert box == {**SQUARE_BOX, "x": 0.4207, "w": 0.1587}
    assert pin == MIDDLE  # the middle stays the middle
    # The frame's corners are the strip's: nothing left or right of it was shown.
    assert stroke["points"] == [[0.3413, 0.0], [0.6587, 1.0]]


def test_a_drawing_on_a_landscape_crop_of_a_portrait_clip_moves_to_its_middle_band():
    # The reverse: the band is 270.42 px of 852 high, 290.79 px down.
    box, pin, stroke = annotation_uncropped(
        [SQUARE_BOX, MIDDLE, CORNER_TO_CORNER], shown=WIDE, source=TALL
    )
    # y 0.2 → (290.79 + 0.2 × 270.42) / 852 = 0.4048; y 0.5 → 0.5.
    assert box == {**SQUARE_BOX, "y": 0.4048, "h": 0.0952}
    assert pin == MIDDLE
    assert stroke["points"] == [[0.0, 0.3413], [1.0, 0.6587]]


def test_a_drawing_on_a_clip_of_the_frames_own_ratio_is_unchanged():
    shapes = [SQUARE_BOX, MIDDLE, CORNER_TO_CORNER]
    assert annotation_uncropped(shapes, shown=WIDE, source=WIDE) == shapes
    assert annotation_uncropped(shapes, shown=(720, 720), source=(480, 480)) == shapes
    # 852 × 480 is a hair narrower than 16:9 (1280 × 720): filling 1280 × 720
    # crops 0.375 px off its top and bottom, and the mapping says so.
    box, _, stroke = annotation_uncropped(shapes, shown=(1280, 720), source=WIDE)
    assert (box["x"], box["w"], box["y"]) == (0.25, 0.5, 0.2005)
    assert stroke["points"] == [[0.0, 0.0008], [1.0, 0.9992]]


def test_a_box_over_the_whole_crop_stays_inside_the_clips_picture():
    whole = {"kind": "box", "color": "green", "x": 0.0, "y": 0.0, "w": 1.0, "h": 1.0}
    (box,) = annotation_uncropped([whole], shown=TALL, source=WIDE)
    assert box == {**whole, "x": 0.3413, "w": 0.3174}
    # 1:1 of 852 × 480: the middle 480 × 480.
    (box,) = annotation_uncropped([whole], shown=(480, 480), source=WIDE)
    assert (box["x"], box["w"]) == (0.2183, 0.5634)
    assert box["x"] + box["w"] <= 1


def test_a_box_the_crop_makes_too_small_is_refused_saying_so():
    # 0.012 of the portrait frame is 0.012 × 0.3174 = 0.0038 of the clip.
    thin = {**SQUARE_BOX, "w": 0.012}
    with pytest.raises(StudioError) as refused:
        annotation_uncropped([thin], shown=TALL, source=WIDE)
    assert refused.value.message == (
        "Shape 1: the box is too small to mark anything on the clip's own picture "
        "(the render shows it cropped)."
    )
    assert refused.value.field == "annotation"
    assert annotation_uncropped([thin], shown=WIDE, source=WIDE)[0]["w"] == 0.012
