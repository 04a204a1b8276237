"""Edits steered by a region: a box a reviewer drew on the frame. Looks,
blur and pixelation apply inside it and nowhere else, text is placed in it,
and "crop to the marked box" fills the frame with it. Decoded with PyAV."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.engines.base import EngineError
from studio.engines.local.engine import LocalEngine
from studio.engines.video import probe_video
from tests.studio.engines.clips import (
    DIFFERENT,
    PARENT_FRAMES,
    PARENT_SIZE,
    SAME,
    decode_frames,
    mad,
)
from tests.studio.engines.local.conftest import edit_request, render

# x, y, width, height from 0 to 1: where the parent's white square passes
# from frame 30 to 60.
REGION = (0.4, 0.25, 0.35, 0.4)
WIDTH, HEIGHT = PARENT_SIZE
LEFT, TOP = round(0.4 * WIDTH), round(0.25 * HEIGHT)
RIGHT, BOTTOM = round(0.75 * WIDTH), round(0.65 * HEIGHT)


def inside(frame: np.ndarray) -> np.ndarray:
    # A few pixels in from the edge: the encoder blurs the border a little.
    return frame[TOP + 6 : BOTTOM - 6, LEFT + 6 : RIGHT - 6]


def outside(frame: np.ndarray) -> list[np.ndarray]:
    return [frame[:, : LEFT - 8], frame[BOTTOM + 8 :], frame[:, RIGHT + 8 :]]


def edited(engine, tmp_path, parent, instruction, region=REGION) -> list[np.ndarray]:
    request = replace(edit_request(instruction, parent), region=region)
    path = render(engine, request, tmp_path / "edited.mp4")
    assert probe_video(path).frame_count == PARENT_FRAMES
    return decode_frames(path)


@pytest.mark.parametrize(
    "instruction",
    [
        "Make this brighter, inside the marked box at the middle.",
        "Blur the logo, inside the marked box at the middle",
        "Pixelate the face",
    ],
)
def test_a_change_inside_the_box_and_none_outside(
    engine: LocalEngine,
    tmp_path: Path,
    parent: Path,
    parent_frames: list[np.ndarray],
    instruction: str,
) -> None:
    frames = edited(engine, tmp_path, parent, instruction)
    for index in (30, 40, 50):
        assert mad(inside(frames[index]), inside(parent_frames[index])) > DIFFERENT / 3
        for part, original in zip(
            outside(frames[index]), outside(parent_frames[index]), strict=True
        ):
            assert mad(part, original) < SAME


def test_brighter_inside_the_box_is_brighter(
    engine: LocalEngine, tmp_path: Path, parent: Path, parent_frames: list[np.ndarray]
) -> None:
    frames = edited(engine, tmp_path, parent, "Make it brighter")
    assert inside(frames[30]).mean() > inside(parent_frames[30]).mean() + 10


def test_text_is_placed_in_the_box(
    engine: LocalEngine, tmp_path: Path, parent: Path, parent_frames: list[np.ndarray]
) -> None:
    frames = edited(engine, tmp_path, parent, 'Add text "SALE" inside the marked box')
    change = np.abs(frames[30].astype(int) - parent_frames[30].astype(int)).sum(axis=2) > 60
    rows, columns = np.nonzero(change)
    # The text's middle is the box's middle, give or take a few pixels.
    assert abs(columns.mean() - (LEFT + RIGHT) / 2) < 25
    assert abs(rows.mean() - (TOP + BOTTOM) / 2) < 25


def test_crop_to_the_box_fills_the_frame_with_it(
    engine: LocalEngine, tmp_path: Path, parent: Path, parent_frames: list[np.ndarray]
) -> None:
    # A box already 16:9 fills the frame as it is.
    region = (0.25, 0.25, 0.5, 0.5)
    frames = edited(engine, tmp_path, parent, "Crop to the marked box", region=region)
    assert frames[30].shape[:2] == (HEIGHT, WIDTH)
    expected = np.asarray(
        Image.fromarray(parent_frames[30].astype(np.uint8))
        .crop((WIDTH // 4, HEIGHT // 4, 3 * WIDTH // 4, 3 * HEIGHT // 4))
        .resize((WIDTH, HEIGHT))
    ).astype(int)
    assert mad(frames[30], expected) < SAME * 2
    assert mad(frames[30], parent_frames[30]) > DIFFERENT


def test_crop_to_the_box_needs_a_box(engine: LocalEngine, parent: Path) -> None:
    with pytest.raises(EngineError, match="needs a box"):
        engine.submit(edit_request("Crop to the marked box", parent))


def test_the_region_names_another_interaction(engine: LocalEngine, parent: Path) -> None:
    request = edit_request("Make it brighter", parent)
    boxed = replace(request, region=REGION)
    assert engine.submit(request).interaction_id != engine.submit(boxed).interaction_id
    assert "inside the marked box" in engine.submit(boxed).note
