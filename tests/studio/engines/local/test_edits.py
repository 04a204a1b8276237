"""Edits of a parent clip, rendered by the local engine and decoded with PyAV."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import pytest

from studio.engines.base import FPS, EngineError, ErrorKind
from studio.engines.local.engine import LocalEngine
from studio.engines.local.grammar import parse_instruction
from studio.engines.local.operations import ColorGrade
from studio.engines.video import probe_video
from tests.studio.engines.clips import (
    DIFFERENT,
    PARENT_FRAMES,
    PARENT_SIZE,
    SAME,
    audio_seconds,
    decode_frames,
    mad,
    write_parent,
)
from tests.studio.engines.local.conftest import edit_request, render


def test_black_and_white_keeps_everything_else(
    engine: LocalEngine, tmp_path: Path, parent: Path, parent_frames: list[np.ndarray]
) -> None:
    path = render(engine, edit_request("Make it black and white", parent), tmp_path / "a.mp4")
    info = probe_video(path)
    assert (info.width, info.height) == PARENT_SIZE
    assert info.fps == FPS
    assert info.has_audio
    frames = decode_frames(path)
    assert len(frames) == len(parent_frames) == PARENT_FRAMES
    for frame in frames[::12]:
        spread = frame.max(axis=2) - frame.min(axis=2)
        assert spread.mean() < 2.0
        assert np.percentile(spread, 99) <= 6
    # The parent was colourful, so this is a real change.
    assert (parent_frames[0].max(axis=2) - parent_frames[0].min(axis=2)).mean() > 50
    assert abs(audio_seconds(path) - 3.0) <= 1 / FPS


def test_a_look_can_hold_for_a_time_range_as_review_comments_write_it(
    engine: LocalEngine, tmp_path: Path, parent: Path, parent_frames: list[np.ndarray]
) -> None:
    prompt = "[0-1.5s] Make it black and white. Keep everything else the same."
    assert parse_instruction(prompt) == [ColorGrade("grayscale", start=0.0, end=1.5)]
    path = render(engine, edit_request(prompt, parent), tmp_path / "a.mp4")
    frames = decode_frames(path)
    assert len(frames) == PARENT_FRAMES
    spread = [(f.max(axis=2) - f.min(axis=2)).mean() for f in frames]
    assert max(spread[:36]) < 2.0
    assert min(spread[36:]) > 50
    assert mad(frames[60], parent_frames[60]) < 3.0


def test_reframe_to_portrait_changes_geometry_only(
    engine: LocalEngine, tmp_path: Path, parent: Path
) -> None:
    path = render(engine, edit_request("reframe to 9:16", parent), tmp_path / "a.mp4")
    info = probe_video(path)
    assert (info.width, info.height) == (480, 852)
    assert info.frame_count == PARENT_FRAMES
    assert len(decode_frames(path)) == PARENT_FRAMES
    assert info.has_audio


def test_text_shows_only_in_its_time_range(
    engine: LocalEngine, tmp_path: Path, parent: Path, parent_frames: list[np.ndarray]
) -> None:
    request = edit_request('add on-screen text "LAUNCH DAY" at the top from 1s to 2s', parent)
    path = render(engine, request, tmp_path / "a.mp4")
    frames = decode_frames(path)
    assert len(frames) == PARENT_FRAMES

    def top_band(frame: np.ndarray) -> np.ndarray:
        return frame[: frame.shape[0] // 3]

    differences = [
        mad(top_band(frame), top_band(original))
        for frame, original in zip(frames, parent_frames, strict=True)
    ]
    inside = differences[FPS : 2 * FPS]
    outside = differences[:FPS] + differences[2 * FPS :]
    assert max(outside) < SAME
    assert min(inside) > DIFFERENT


def test_bracketed_time_range_and_default_position(
    engine: LocalEngine, tmp_path: Path, parent: Path, parent_frames: list[np.ndarray]
) -> None:
    path = render(
        engine, edit_request("add subtitles 'See you soon' [0-1s]", parent), tmp_path / "a.mp4"
    )
    frames = decode_frames(path)

    def band(frame: np.ndarray, part: slice) -> np.ndarray:
        return frame[part, 200:-200]

    bottom, middle = slice(-130, -20), slice(200, 280)
    assert mad(band(frames[10], bottom), band(parent_frames[10], bottom)) > DIFFERENT
    assert mad(band(frames[10], middle), band(parent_frames[10], middle)) < SAME
    assert mad(band(frames[40], bottom), band(parent_frames[40], bottom)) < SAME


def test_trims_change_the_frame_count(engine: LocalEngine, tmp_path: Path, parent: Path) -> None:
    path = render(engine, edit_request("trim to 2s", parent), tmp_path / "a.mp4")
    assert len(decode_frames(path)) == 2 * FPS
    assert abs(audio_seconds(path) - 2.0) <= 1 / FPS

    path = render(engine, edit_request("cut the first 1 second", parent), tmp_path / "b.mp4")
    assert len(decode_frames(path)) == 2 * FPS


def test_cut_the_first_seconds_starts_later(
    engine: LocalEngine, tmp_path: Path, parent: Path, parent_frames: list[np.ndarray]
) -> None:
    path = render(engine, edit_request("trim from 1s to 2.5s", parent), tmp_path / "a.mp4")
    frames = decode_frames(path)
    assert len(frames) == 36
    assert mad(frames[0], parent_frames[FPS]) < SAME
    assert mad(frames[-1], parent_frames[FPS + 35]) < SAME


def test_trim_that_keeps_under_a_second_is_refused(engine: LocalEngine, parent: Path) -> None:
    with pytest.raises(EngineError) as caught:
        engine.submit(edit_request("cut the first 2.5 seconds", parent))
    assert caught.value.kind is ErrorKind.INVALID_INPUT
    with pytest.raises(EngineError) as caught:
        parse_instruction("trim to 0.5s")
    assert caught.value.kind is ErrorKind.INVALID_INPUT


def test_speed_up_halves_the_duration(
    engine: LocalEngine, tmp_path: Path, parent: Path, parent_frames: list[np.ndarray]
) -> None:
    path = render(engine, edit_request("speed it up", parent), tmp_path / "a.mp4")
    frames = decode_frames(path)
    assert len(frames) == PARENT_FRAMES // 2
    assert abs(probe_video(path).duration_seconds - 1.5) < 1e-9
    assert abs(audio_seconds(path) - 1.5) <= 1 / FPS
    assert mad(frames[10], parent_frames[20]) < SAME


def test_slow_motion_plays_the_first_half_at_half_speed(
    engine: LocalEngine, tmp_path: Path, parent: Path, parent_frames: list[np.ndarray]
) -> None:
    path = render(engine, edit_request("slow motion", parent), tmp_path / "a.mp4")
    frames = decode_frames(path)
    assert len(frames) == PARENT_FRAMES
    assert abs(audio_seconds(path) - 3.0) <= 1 / FPS
    assert mad(frames[70], parent_frames[35]) < SAME
    assert mad(frames[70], parent_frames[70]) > DIFFERENT
    assert mad(frames[20], frames[21]) < SAME


def test_reverse_starts_with_the_parents_last_frame(
    engine: LocalEngine, tmp_path: Path, parent: Path, parent_frames: list[np.ndarray]
) -> None:
    path = render(engine, edit_request("play it in reverse", parent), tmp_path / "a.mp4")
    frames = decode_frames(path)
    assert len(frames) == PARENT_FRAMES
    assert mad(frames[0], parent_frames[-1]) < SAME
    assert mad(frames[0], parent_frames[0]) > DIFFERENT
    assert mad(frames[-1], parent_frames[0]) < SAME
    assert abs(audio_seconds(path) - 3.0) <= 1 / FPS
    # The spill file for reversing is gone with the rest of the work dir.
    assert not any(Path(tempfile.gettempdir()).glob("omni-local-*/reverse.npy"))


def test_mute_removes_the_audio_stream(engine: LocalEngine, tmp_path: Path, parent: Path) -> None:
    path = render(engine, edit_request("remove the audio", parent), tmp_path / "a.mp4")
    with av.open(str(path)) as container:
        assert len(container.streams.audio) == 0
        assert len(container.streams.video) == 1
    assert len(decode_frames(path)) == PARENT_FRAMES


def test_a_silent_parent_stays_silent(engine: LocalEngine, tmp_path: Path) -> None:
    silent = write_parent(tmp_path / "silent.mp4", audio=False)
    path = render(engine, edit_request("make it warmer", silent), tmp_path / "a.mp4")
    assert not probe_video(path).has_audio
    frames, originals = decode_frames(path), decode_frames(silent)
    red_gain = frames[5][..., 0].mean() - originals[5][..., 0].mean()
    blue_gain = frames[5][..., 2].mean() - originals[5][..., 2].mean()
    assert red_gain > 3 and blue_gain < -3


def test_combined_edit_and_its_note(engine: LocalEngine, tmp_path: Path, parent: Path) -> None:
    prompt = (
        'Make it square, then night. Add caption "Hello, and goodbye". '
        "Keep everything else the same."
    )
    submission = engine.submit(edit_request(prompt, parent))
    assert submission.route
    assert "reframed to 1:1" in submission.note and "night" in submission.note
    path = render(engine, edit_request(prompt, parent), tmp_path / "a.mp4")
    info = probe_video(path)
    assert (info.width, info.height) == (480, 480)
    assert info.frame_count == PARENT_FRAMES


def test_text_or_a_look_past_the_end_is_refused(engine: LocalEngine, parent: Path) -> None:
    for prompt, message in [
        ('add text "LATE" from 5s', 'The text "LATE" would not be on screen'),
        ("[4-5s] make it darker", "The darker would apply to no frame"),
    ]:
        with pytest.raises(EngineError) as caught:
            engine.submit(edit_request(prompt, parent))
        assert caught.value.kind is ErrorKind.INVALID_INPUT
        assert caught.value.message == f"{message}: the edited video is 3 s long."


def test_an_edit_keeps_its_parents_frame_rate_unless_asked(
    engine: LocalEngine, tmp_path: Path, parent: Path, parent_frames: list[np.ndarray]
) -> None:
    kept = render(engine, edit_request("Make it warmer", parent), tmp_path / "kept.mp4")
    assert probe_video(kept).fps == FPS

    request = replace(edit_request("Make it warmer", parent), fps=12)
    path = render(engine, request, tmp_path / "twelve.mp4")
    info = probe_video(path)
    assert info.fps == 12
    frames = decode_frames(path)
    # The same three seconds, half the frames: frame i shows the parent's 2i.
    assert len(frames) == PARENT_FRAMES // 2
    assert abs(audio_seconds(path) - 3.0) <= 1 / 12
    for index in (10, 20, 30):
        here = mad(frames[index], parent_frames[2 * index])
        assert here < mad(frames[index], parent_frames[min(2 * index + 12, PARENT_FRAMES - 1)])
    assert "made at 12 fps" in engine.submit(request).note


def test_an_edit_at_a_rate_neither_made_nor_kept_is_refused(
    engine: LocalEngine, parent: Path
) -> None:
    with pytest.raises(EngineError, match="keeps its parent's 24 fps or is made at"):
        engine.submit(replace(edit_request("Make it warmer", parent), fps=25))
