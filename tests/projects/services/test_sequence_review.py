"""Drawings on a sequence's render: drawn on the render's frame at a time,
stored on the comment of the version playing then, at its own time, moved
back into that version's own picture through the render's fill and
centre-crop; renders made before the snapshot kept the clips' sizes map the
same; a bad drawing is refused and stores nothing."""

import pytest

from projects.models import Comment, SequenceRender, Version
from projects.services import sequence_review, sequences
from projects.services.errors import StudioError
from projects.services.sequences import ClipSpec
from tests.projects.sequence_clips import ready_version

BOX = {"kind": "box", "color": "yellow", "x": 0.25, "y": 0.2, "w": 0.5, "h": 0.3}
PIN = {"kind": "pin", "color": "red", "x": 0.5, "y": 0.5}


@pytest.fixture
def wide_and_tall(project, member, tasks):
    """A 16:9 version (852 × 480) and a 9:16 one (480 × 852), by the local engine."""
    wide = ready_version(project, member, tasks, prompt="A red kite")
    tall = ready_version(project, member, tasks, aspect_ratio="9:16", prompt="A blue door")
    assert (wide.width, wide.height, tall.width, tall.height) == (852, 480, 480, 852)
    return wide, tall


def rendered(project, member, tasks, versions, *, aspect_ratio: str) -> SequenceRender:
    """A ready 480p render of the versions' first two seconds each, cut."""
    sequence = sequences.sequence_create(
        project=project,
        membership=member,
        title=f"Cut {aspect_ratio}",
        aspect_ratio=aspect_ratio,
        resolution="480p",
        clips=[ClipSpec(v.number, 0.0, 2.0) for v in versions],
    )
    render = sequences.sequence_render(sequence=sequence, membership=member)
    tasks()
    render.refresh_from_db()
    assert render.status == SequenceRender.Status.READY, render.error_message
    return render


def drawn(render, member, seconds: float, shapes: list) -> Comment:
    comment = sequence_review.render_comment_create(
        render=render, membership=member, body="Here", seconds=seconds, annotation=shapes
    )
    comment.refresh_from_db()
    return comment


def test_a_box_on_a_portrait_render_lands_on_each_clip_in_its_own_picture(
    project, member, tasks, wide_and_tall
):
    wide, tall = wide_and_tall
    render = rendered(project, member, tasks, [wide, tall], aspect_ratio="9:16")
    assert (render.width, render.height) == (480, 852)
    assert [(c["width"], c["height"]) for c in render.clips] == [(852, 480), (480, 852)]

    # At 1.5 s the landscape clip plays, seen through a strip 270.42 px of its
    # 852 wide, 290.79 px in: x in it is 0.3413 + 0.3174 × x on the render.
    on_wide = drawn(render, member, 1.5, [BOX, PIN])
    assert (on_wide.version_id, on_wide.start_seconds) == (wide.pk, 1.5)
    assert on_wide.annotation == [{**BOX, "x": 0.4207, "w": 0.1587}, PIN]
    # At 3.25 s, 1.25 s into the portrait clip: the render's own ratio, unchanged.
    on_tall = drawn(render, member, 3.25, [BOX])
    assert (on_tall.version_id, on_tall.start_seconds) == (tall.pk, 1.25)
    assert on_tall.annotation == [BOX]
    assert on_tall.body == "Here (from sequence Cut 9:16 r1 at 0:03.2)"


def test_a_box_on_a_landscape_render_of_a_portrait_clip_moves_into_its_middle_band(
    project, member, tasks, wide_and_tall
):
    wide, tall = wide_and_tall
    render = rendered(project, member, tasks, [tall, wide], aspect_ratio="16:9")
    on_tall = drawn(render, member, 0.5, [BOX])
    assert on_tall.version_id == tall.pk
    assert on_tall.annotation == [{**BOX, "y": 0.4048, "h": 0.0952}]
    on_wide = drawn(render, member, 2.5, [BOX])
    assert (on_wide.version_id, on_wide.annotation) == (wide.pk, [BOX])


def test_a_render_made_before_the_snapshot_kept_sizes_maps_by_its_versions(
    project, member, tasks, wide_and_tall
):
    wide, tall = wide_and_tall
    render = rendered(project, member, tasks, [wide, tall], aspect_ratio="9:16")
    old = [{k: v for k, v in clip.items() if k not in ("width", "height")} for clip in render.clips]
    SequenceRender.objects.filter(pk=render.pk).update(clips=old)
    render.refresh_from_db()
    assert drawn(render, member, 1.5, [BOX]).annotation == [{**BOX, "x": 0.4207, "w": 0.1587}]
    # Nor the version's size: its aspect ratio is all the crop depends on.
    Version.objects.filter(pk=wide.pk).update(width=None, height=None)
    assert drawn(render, member, 1.5, [BOX]).annotation == [{**BOX, "x": 0.4207, "w": 0.1587}]
    # Nor a ratio the studio knows: the drawing is refused, the comment not made.
    Version.objects.filter(pk=wide.pk).update(aspect_ratio="4:3")
    with pytest.raises(StudioError, match="The size of v1's picture is not known"):
        drawn(render, member, 1.5, [BOX])
    assert Comment.objects.count() == 2


REFUSED = [
    ([{**BOX, "x": 0.8}], "Shape 1: the box goes past the edge of the picture."),
    ([{"kind": "arrow"}], "draw a pin, a box or a stroke"),
    # 0.012 of the portrait frame's width is 0.0038 of the landscape clip's.
    (
        [PIN, {**BOX, "w": 0.012}],
        "Shape 2: the box is too small to mark anything on the clip's own picture",
    ),
]


def test_a_bad_drawing_on_a_render_is_refused_and_stores_nothing(
    project, member, tasks, wide_and_tall
):
    render = rendered(project, member, tasks, list(wide_and_tall), aspect_ratio="9:16")
    for shapes, message in REFUSED:
        with pytest.raises(StudioError) as refused:
            sequence_review.render_comment_create(
                render=render, membership=member, body="Here", seconds=1.0, annotation=shapes
            )
        assert message in refused.value.message, shapes
        assert refused.value.field == "annotation"
    assert not Comment.objects.exists()
