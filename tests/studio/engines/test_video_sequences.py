"""Compositing a sequence: clips cut at their in and out points, reframed to
the sequence's size, joined by cuts and crossfades (picture and sound)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from studio.engines.video import VideoError, probe_video
from studio.engines.video.joins import SequencePart, compose_sequence
from tests.studio.engines.clips import audio_seconds, decode_frames, write_clip

RED, GREEN, BLUE = (220, 30, 30), (30, 200, 40), (30, 40, 220)
FPS = Fraction(24)


def solid(path: Path, color, *, size=(320, 180), seconds=2.0, sound=True) -> Path:
    frames = [Image.new("RGB", size, color)] * round(seconds * 24)
    return write_clip(path, frames, codec="libx264", rate=24, sample_rate=48_000 if sound else 0)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sequence-clips")
    return {
        "red": solid(folder / "red.mp4", RED, seconds=3),
        "green": solid(folder / "green.mp4", GREEN),
        "blue": solid(folder / "blue.mp4", BLUE, sound=False),
    }


def mean_colour(frame: np.ndarray) -> np.ndarray:
    return frame.reshape(-1, 3).mean(axis=0)


def test_three_clips_with_a_crossfade_last_their_lengths_less_the_crossfade(clips, tmp_path):
    out = tmp_path / "sequence.mp4"
    parts = [
        SequencePart(clips["red"], 0.5, 2.5, crossfade_seconds=0.5),  # 2 s
        SequencePart(clips["green"], 0.0, 2.0),  # 2 s, cut into the next
        SequencePart(clips["blue"], 0.25, 1.75),  # 1.5 s, silent
    ]
    seen = []
    info = compose_sequence(parts, out, width=426, height=240, fps=FPS, progress=seen.append)

    expected = 2 + 2 + 1.5 - 0.5
    assert abs(info.duration_seconds - expected) <= 1 / 24
    assert (info.width, info.height) == (426, 240)
    assert info.has_audio and info.video_codec == "h264" and info.audio_codec == "aac"
    assert abs(audio_seconds(out) - expected) <= 0.05
    assert seen[-1] == pytest.approx(1.0)

    frames = decode_frames(out)
    assert len(frames) == round(expected * 24)
    # Red alone, then the crossfade's middle mixes red and green, then green,
    # then blue straight after the cut.
    assert np.allclose(mean_colour(frames[12]), RED, atol=12)
    middle = mean_colour(frames[48 - 6])
    assert 60 < middle[0] < 190 and 60 < middle[1] < 170
    assert np.allclose(mean_colour(frames[48 + 24]), GREEN, atol=12)
    assert np.allclose(mean_colour(frames[-1]), BLUE, atol=12)


def test_the_sound_crossfades_and_a_silent_clip_stays_silent(clips, tmp_path):
    out = tmp_path / "sound.mp4"
    parts = [
        SequencePart(clips["red"], 0.0, 2.0, crossfade_seconds=1.0),
        SequencePart(clips["blue"], 0.0, 2.0),
    ]
    compose_sequence(parts, out, width=320, height=180, fps=FPS)
    with av.open(str(out)) as container:
        samples = np.concatenate(
            [frame.to_ndarray() for frame in container.decode(audio=0)], axis=1
        )
    level = lambda start, end: float(np.abs(samples[:, start:end]).mean())  # noqa: E731
    rate = 48_000
    alone, fading, silent = (
        level(0, rate // 2),
        level(int(1.6 * rate), int(1.9 * rate)),
        level(int(2.3 * rate), int(2.9 * rate)),
    )
    assert alone > 0.05
    assert 0.005 < fading < alone * 0.6  # fading out under the silent clip
    assert silent < 0.002


def test_a_clip_of_another_shape_is_scaled_to_fill_and_centre_cropped(tmp_path):
    portrait = Image.new("RGB", (180, 320), BLUE)
    # Red bands at the top and bottom: the crop to 16:9 keeps only the middle.
    for y in list(range(0, 100)) + list(range(220, 320)):
        for x in range(180):
            portrait.putpixel((x, y), RED)
    clip = write_clip(tmp_path / "portrait.mp4", [portrait] * 24, codec="libx264", rate=24)
    out = tmp_path / "reframed.mp4"
    info = compose_sequence([SequencePart(clip, 0, 1)], out, width=320, height=180, fps=FPS)
    assert (info.width, info.height) == (320, 180)
    frame = decode_frames(out)[12]
    assert np.allclose(mean_colour(frame), BLUE, atol=12)
    assert info.has_audio  # silence, so every sequence plays the same way


def test_crossfades_longer_than_a_clip_are_refused(clips, tmp_path):
    parts = [
        SequencePart(clips["red"], 0.0, 1.0, crossfade_seconds=0.6),
        SequencePart(clips["green"], 0.0, 1.0, crossfade_seconds=0.6),
        SequencePart(clips["blue"], 0.0, 1.0),
    ]
    out = tmp_path / "refused.mp4"
    with pytest.raises(VideoError, match="Clip 2 is shorter than its crossfades"):
        compose_sequence(parts, out, width=320, height=180, fps=FPS)
    assert not out.exists()
    with pytest.raises(VideoError):
        compose_sequence([], out, width=320, height=180, fps=FPS)


def test_the_output_is_retimed_to_the_sequence_rate(clips, tmp_path):
    out = tmp_path / "thirty.mp4"
    info = compose_sequence(
        [SequencePart(clips["green"], 0, 2)], out, width=320, height=180, fps=Fraction(30)
    )
    assert info.fps == 30 and info.frame_count == 60
    assert probe_video(out).duration_seconds == pytest.approx(2.0, abs=1 / 30)
