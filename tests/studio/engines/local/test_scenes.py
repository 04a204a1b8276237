"""What new videos are made of: palettes, titles and camera moves."""

from __future__ import annotations

from studio.engines.local.scenes import (
    CameraMove,
    palette_for,
    parse_camera_move,
    title_subject,
)


def test_palette_and_subject_come_from_the_prompt() -> None:
    assert palette_for("A neon city at night").name == "night"
    assert palette_for("Sunset over the dunes").name == "sunset"
    assert palette_for("Deep in the forest").name == "forest"
    assert palette_for("Waves on the ocean").name == "ocean"
    assert palette_for("A cat on a sofa") == palette_for("A cat on a sofa")
    assert palette_for("A cat on a sofa").top != palette_for("A dog on a rug").top
    assert title_subject("A lighthouse in a storm. Waves crash.") == "A lighthouse in a storm"
    long = "An extraordinarily long opening sentence about a lighthouse keeper who " * 2
    assert len(title_subject(long)) <= 61
    assert title_subject(long).endswith("…")


def test_camera_moves_are_read_from_the_prompt() -> None:
    assert parse_camera_move("Slow push in on her face") is CameraMove.PUSH_IN
    assert parse_camera_move("zoom out to reveal the city") is CameraMove.PULL_OUT
    assert parse_camera_move("Pull back slowly") is CameraMove.PULL_OUT
    assert parse_camera_move("pan left across the bay") is CameraMove.PAN_LEFT
    assert parse_camera_move("Pan to the right") is CameraMove.PAN_RIGHT
    assert parse_camera_move("tilt up to the sky") is CameraMove.TILT_UP
    assert parse_camera_move("tilt down") is CameraMove.TILT_DOWN
    assert parse_camera_move("locked off shot, static") is CameraMove.STATIC
    assert parse_camera_move("pan right, then zoom in") is CameraMove.PAN_RIGHT
    assert parse_camera_move("a quiet morning") is CameraMove.PUSH_IN


def test_a_variation_of_a_still_moves_its_own_way_unless_the_prompt_says() -> None:
    moves = {parse_camera_move("a quiet morning", seed) for seed in range(12)}
    assert len(moves) > 1 and CameraMove.STATIC not in moves
    assert parse_camera_move("a quiet morning", 5) is parse_camera_move("a quiet morning", 5)
    assert {parse_camera_move("tilt up to the sky", seed) for seed in range(12)} == {
        CameraMove.TILT_UP
    }
