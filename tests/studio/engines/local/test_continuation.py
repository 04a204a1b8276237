"""Extending on the local engine: the continuation carries the parent's shot
on from its last frame, and the stitched MP4 shows no jump and no gap in the
sound at the joint. The files are decoded with PyAV."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from studio.engines.base import FPS, EngineError, ErrorKind, GenerationRequest, Task
from studio.engines.local.continuation import carried_sound
from studio.engines.local.engine import LocalEngine
from studio.engines.video import SAMPLE_RATE, decode_audio, probe_video
from studio.engines.video.joins import last_frame_image, stitch_continuation
from tests.studio.engines.clips import SAME, decode_frames, mad
from tests.studio.engines.local.conftest import (
    edit_request,
    extension_request,
    image_request,
    render,
)

FRAME = 1 / FPS


def _title_card(engine: LocalEngine, path: Path, seconds: int = 5) -> Path:
    request = GenerationRequest(
        Task.TEXT_TO_VIDEO, "A kite over the dunes", "16:9", "480p", seconds
    )
    return render(engine, request, path)


def _extend(
    engine: LocalEngine, parent: Path, workdir: Path, *, prompt: str, seconds: int = 5, **changes
) -> Path:
    """The studio's round trip: the last frame out, the continuation made,
    the two stitched."""
    last_frame = workdir / f"{parent.stem}-last.png"
    last_frame_image(parent).save(last_frame, "PNG")
    continuation = render(
        engine,
        extension_request(prompt, parent, last_frame, seconds, **changes),
        workdir / f"{parent.stem}-continuation.mp4",
    )
    stitched = workdir / f"{parent.stem}-extended.mp4"
    stitch_continuation(parent, continuation, stitched)
    return stitched


def _window_levels(samples: np.ndarray, start: int, end: int, width: int) -> list[float]:
    """The root-mean-square level of each ``width`` samples from start to end."""
    return [
        float(np.sqrt(np.mean(samples[:, at : at + width] ** 2)))
        for at in range(start, end - width + 1, width)
    ]


@pytest.fixture(scope="module")
def extended(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    workdir = tmp_path_factory.mktemp("extend")
    engine = LocalEngine()
    parent = _title_card(engine, workdir / "parent.mp4")
    return parent, _extend(
        engine, parent, workdir, prompt="Continue this shot: A kite over the dunes."
    )


def test_the_stitched_mp4_lasts_the_parent_and_the_extension(
    extended: tuple[Path, Path],
) -> None:
    parent, stitched = extended
    info = probe_video(stitched)

    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert abs(info.duration_seconds - 10.0) <= FRAME
    assert (info.width, info.height) == (probe_video(parent).width, probe_video(parent).height)
    with av.open(str(stitched)) as container:
        decoded = sum(1 for _ in container.decode(video=0))
    assert abs(decoded - 10 * FPS) <= 1


def test_the_joint_shows_the_parents_last_frame(extended: tuple[Path, Path]) -> None:
    parent, stitched = extended
    parent_frames = decode_frames(parent)
    frames = decode_frames(stitched)
    joint = len(parent_frames)

    # The parent's own end, then the continuation's first frame: both the
    # parent's last picture, so the joint holds one frame and never jumps.
    assert mad(frames[joint - 1], parent_frames[-1]) < SAME
    assert mad(frames[joint], parent_frames[-1]) < SAME
    # The continuation moves on from there (a push in), frame by frame.
    steps = [mad(frames[i], frames[i + 1]) for i in range(joint - 3, joint + 3)]
    assert max(steps) < SAME
    assert mad(frames[-1], parent_frames[-1]) > SAME


def test_the_sound_runs_on_across_the_joint(extended: tuple[Path, Path]) -> None:
    parent, stitched = extended
    samples = decode_audio(stitched)
    joint = round(probe_video(parent).duration_seconds * SAMPLE_RATE)

    # The decoded sound covers the whole video.
    assert samples.shape[1] >= round(9.98 * SAMPLE_RATE)
    # 10 ms windows from half a second before the joint to half a second
    # after: none falls silent (the chord's level is about 0.05).
    width = SAMPLE_RATE // 100
    around = _window_levels(samples, joint - SAMPLE_RATE // 2, joint + SAMPLE_RATE // 2, width)
    steady = np.median(_window_levels(samples, SAMPLE_RATE, 4 * SAMPLE_RATE, width))
    assert steady > 0.01
    assert min(around) > 0.3 * steady
    # And the sound does not stop after the joint either.
    assert min(_window_levels(samples, joint, 9 * SAMPLE_RATE, SAMPLE_RATE // 10)) > 0.3 * steady


def test_extending_twice_chains(tmp_path: Path) -> None:
    engine = LocalEngine()
    first = _title_card(engine, tmp_path / "v1.mp4")
    second = _extend(engine, first, tmp_path, prompt="Continue this shot: A kite.")
    (tmp_path / "v2.mp4").write_bytes(second.read_bytes())
    third = _extend(engine, tmp_path / "v2.mp4", tmp_path, prompt="Continue this shot: A kite.")

    durations = [probe_video(path).duration_seconds for path in (first, second, third)]
    assert [round(d * FPS) for d in durations] == [5 * FPS, 10 * FPS, 15 * FPS]
    frames = decode_frames(third)
    assert mad(frames[10 * FPS], decode_frames(second)[-1]) < SAME


@pytest.mark.parametrize(
    "prompt",
    ["Continue this shot: pan left across the dunes.", "Continue this shot: tilt up to the sky."],
)
def test_a_named_move_carries_on_from_the_whole_last_frame(
    engine: LocalEngine, still: Path, tmp_path: Path, prompt: str
) -> None:
    parent = render(engine, image_request("A push in on the still", still), tmp_path / "p.mp4")
    last = tmp_path / "last.png"
    last_frame_image(parent).save(last, "PNG")
    request = extension_request(prompt, parent, last, 3)
    continuation = render(engine, request, tmp_path / "c.mp4")

    frames = decode_frames(continuation)
    assert mad(frames[0], decode_frames(parent)[-1]) < SAME
    assert mad(frames[-1], frames[0]) > SAME
    move = prompt.split(": ")[1].split(" ")[:2]
    assert engine.submit(request).note == f"Continued from the last frame: {' '.join(move)}."


def test_the_instruction_s_move_wins_over_the_shot_s(
    engine: LocalEngine, still: Path, tmp_path: Path
) -> None:
    parent = render(engine, image_request("A push in", still), tmp_path / "p.mp4")
    last = tmp_path / "last.png"
    last_frame_image(parent).save(last, "PNG")
    request = extension_request("Continue this shot: a push in. Then pan right.", parent, last, 3)
    assert "pan right" in engine.submit(request).note


def test_a_pull_out_holds_the_last_frame(engine: LocalEngine, still: Path, tmp_path: Path) -> None:
    parent = render(engine, image_request("A push in", still), tmp_path / "p.mp4")
    last = tmp_path / "last.png"
    last_frame_image(parent).save(last, "PNG")
    request = extension_request("Continue this shot. Pull out.", parent, last, 3)

    assert "held" in engine.submit(request).note
    frames = decode_frames(render(engine, request, tmp_path / "c.mp4"))
    assert mad(frames[-1], frames[0]) < SAME


def test_a_silent_parent_is_carried_on_silently(
    engine: LocalEngine, parent: Path, tmp_path: Path
) -> None:
    muted = render(engine, edit_request("Mute", parent), tmp_path / "muted.mp4")
    last = tmp_path / "last.png"
    last_frame_image(muted).save(last, "PNG")
    continuation = render(
        engine, extension_request("Continue this shot.", muted, last, 3), tmp_path / "c.mp4"
    )
    assert not probe_video(continuation).has_audio
    stitched = tmp_path / "s.mp4"
    assert not stitch_continuation(muted, continuation, stitched).has_audio


def test_an_extension_needs_its_last_frame_and_parent(
    engine: LocalEngine, parent: Path, still: Path
) -> None:
    no_frame = extension_request("Continue.", parent, still, 3, images=())
    with pytest.raises(EngineError) as refused:
        engine.submit(no_frame)
    assert refused.value.kind is ErrorKind.INVALID_INPUT
    assert "last frame" in refused.value.message

    no_parent = extension_request("Continue.", parent, still, 3, parent_video=None)
    with pytest.raises(EngineError, match="parent video"):
        engine.submit(no_parent)

    too_long = extension_request("Continue.", parent, still, 11)
    with pytest.raises(EngineError, match="3 to 10 seconds"):
        engine.submit(too_long)


def test_carried_sound_repeats_the_steady_end_without_gaps() -> None:
    seconds = np.arange(3 * SAMPLE_RATE) / SAMPLE_RATE
    tone = np.stack([np.sin(2 * np.pi * 220 * seconds)] * 2).astype(np.float32) * 0.1
    carried = carried_sound(tone, 7 * SAMPLE_RATE)

    assert carried is not None and carried.shape == (2, 7 * SAMPLE_RATE)
    levels = _window_levels(carried, 0, 7 * SAMPLE_RATE - SAMPLE_RATE // 50, SAMPLE_RATE // 100)
    assert min(levels) > 0.05
    assert carried_sound(tone[:, :100], SAMPLE_RATE) is None
