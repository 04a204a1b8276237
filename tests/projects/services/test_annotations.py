"""Drawings on the frame: what is kept (a normal form, in 0-1 coordinates)
and what is refused with a message, storing nothing."""

import math

import pytest

from projects.models import Comment, Membership
from projects.services import review
from projects.services.annotations import (
    MAX_POINTS,
    MAX_SHAPES,
    annotation_checked,
    annotation_from_json,
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
