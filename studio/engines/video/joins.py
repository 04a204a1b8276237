"""Joining video files end to end: a sequence's clips with cuts and
crossfades, and a shot followed by its continuation. Written with the
package's one MP4 writer; imports without Django."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

from studio.engines.base import ProgressCallback
from studio.engines.video import (
    SAMPLE_RATE,
    VideoError,
    VideoInfo,
    _writing,
    cover_box,
    crop_frame,
    decode_audio,
    decode_frames_at,
    frame_index,
    frame_sample_bounds,
    probe_video,
    sound_of,
    write_mp4,
)

# Sequences: clips cut from several videos, joined end to end


@dataclass(frozen=True)
class SequencePart:
    """A clip of a sequence: ``start`` to ``end`` seconds of the video at
    ``path``, and the crossfade into the next clip (0 for a cut)."""

    path: Path | str
    start: float
    end: float
    crossfade_seconds: float = 0.0


def sequence_frame_counts(parts: list[SequencePart], fps: Fraction) -> list[int]:
    """How many frames each clip lasts at ``fps`` (at least one)."""
    return [max(1, round((part.end - part.start) * fps)) for part in parts]


def sequence_overlaps(parts: list[SequencePart], fps: Fraction) -> list[int]:
    """The frames each crossfade lasts (one per join: the last clip has none)."""
    return [round(part.crossfade_seconds * fps) for part in parts[:-1]]


def sequence_starts(counts: list[int], overlaps: list[int]) -> list[int]:
    """The frame each clip starts at, and after them the sequence's length in
    frames: each clip starts as the one before it starts fading out."""
    starts = [0]
    for count, overlap in zip(counts, [*overlaps, 0], strict=True):
        starts.append(starts[-1] + count - overlap)
    return starts


def compose_sequence(
    parts: list[SequencePart],
    destination: Path | str,
    *,
    width: int,
    height: int,
    fps: Fraction,
    progress: ProgressCallback | None = None,
) -> VideoInfo:
    """One MP4 of the clips in order, each decoded from its in to its out
    point, scaled to fill ``width`` × ``height`` and centre-cropped, retimed
    to ``fps``; a crossfade mixes the end of a clip with the start of the
    next, picture and sound alike, so the whole lasts the clips' lengths
    less the crossfades. A clip without sound is silent."""
    if not parts:
        raise VideoError("A sequence needs at least one clip.")
    counts = sequence_frame_counts(parts, fps)
    overlaps = [*sequence_overlaps(parts, fps), 0]
    for index, count in enumerate(counts):
        into = overlaps[index - 1] if index else 0
        if into + overlaps[index] > count:
            raise VideoError(f"Clip {index + 1} is shorter than its crossfades.")
    infos = [probe_video(part.path) for part in parts]
    total = sum(counts) - sum(overlaps)
    frames = _sequence_frames(parts, infos, counts, overlaps, (width, height), fps)
    sound = sound_of(_sequence_sound(parts, infos, counts, overlaps, fps))
    with _writing(destination, "Could not render the sequence"):
        write_mp4(
            destination,
            frames,
            width=width,
            height=height,
            fps=fps,
            frame_count=total,
            sound=sound,
            progress=progress,
        )
    return probe_video(destination)


def _part_frames(
    part: SequencePart, info: VideoInfo, count: int, size: tuple[int, int], fps: Fraction
) -> Iterator[Image.Image]:
    """The clip's ``count`` frames at ``fps``, filling ``size``."""
    source_fps = float(info.fps)
    indexes = (
        frame_index(part.start + k / float(fps), source_fps, info.frame_count) for k in range(count)
    )
    box = cover_box((info.width, info.height), size)
    for frame in decode_frames_at(part.path, indexes):
        yield crop_frame(frame, box, size)


def _sequence_frames(
    parts: list[SequencePart],
    infos: list[VideoInfo],
    counts: list[int],
    overlaps: list[int],
    size: tuple[int, int],
    fps: Fraction,
) -> Iterator[Image.Image]:
    """The sequence's frames in order. A crossfade decodes both clips at
    once, so nothing but the two frames being mixed is held."""
    current = _part_frames(parts[0], infos[0], counts[0], size, fps)
    try:
        for index, count in enumerate(counts):
            into = overlaps[index - 1] if index else 0
            out = overlaps[index]
            for _ in range(count - into - out):
                yield next(current)
            if index + 1 == len(parts):
                break
            following = _part_frames(
                parts[index + 1], infos[index + 1], counts[index + 1], size, fps
            )
            for k in range(out):
                # Strictly between the two: the first frame of a crossfade
                # already shows the next clip, the last still the one before.
                yield Image.blend(next(current), next(following), (k + 1) / (out + 1))
            current.close()
            current = following
    finally:
        current.close()


def _sequence_sound(
    parts: list[SequencePart],
    infos: list[VideoInfo],
    counts: list[int],
    overlaps: list[int],
    fps: Fraction,
) -> np.ndarray:
    """The sequence's soundtrack: each clip's sound from its in point, under
    its frames; across a crossfade one fades out as the next fades in."""
    starts = sequence_starts(counts, overlaps[:-1])
    total = frame_sample_bounds(starts[-1] - 1, fps)[1]
    track = np.zeros((2, total), dtype=np.float32)
    for index, (part, info) in enumerate(zip(parts, infos, strict=True)):
        if not info.has_audio:
            continue
        begin = frame_sample_bounds(starts[index], fps)[0]
        end = frame_sample_bounds(starts[index] + counts[index] - 1, fps)[1]
        length = end - begin
        first = round(part.start * SAMPLE_RATE)
        piece = np.zeros((2, length), dtype=np.float32)
        source = decode_audio(part.path)[:, first : first + length]
        piece[:, : source.shape[1]] = source
        gain = np.ones(length, dtype=np.float32)
        fade_in = frame_sample_bounds(overlaps[index - 1], fps)[0] if index else 0
        fade_out = frame_sample_bounds(overlaps[index], fps)[0]
        if fade_in:
            gain[:fade_in] = np.linspace(0, 1, fade_in, endpoint=False, dtype=np.float32)
        if fade_out:
            gain[length - fade_out :] *= np.linspace(1, 0, fade_out, dtype=np.float32)
        track[:, begin:end] += piece * gain
    return track


def last_frame_image(path: Path | str) -> Image.Image:
    """The picture a video ends on."""
    frames = decode_frames_at(path, [max(probe_video(path).frame_count - 1, 0)])
    try:
        return next(frames).to_image()
    finally:
        frames.close()


# How long the continuation's sound fades in under the end of the original's.
AUDIO_CROSSFADE_SECONDS = 0.04


def crossfaded(first: np.ndarray, second: np.ndarray, overlap: int) -> np.ndarray:
    """``first`` then ``second``, (2, n) each, with no gap and no click:
    over the last ``overlap`` samples of ``first`` it fades out as ``second``
    fades in (equal power), ``second`` played backwards there from its first
    sample so it meets itself at the joint and keeps its own timing."""
    overlap = min(overlap, first.shape[1], second.shape[1])
    if overlap == 0:
        return np.concatenate([first, second], axis=1)
    ramp = np.linspace(0.0, np.pi / 2, overlap, dtype=np.float32)
    lead_in = second[:, overlap - 1 :: -1] if overlap > 1 else second[:, :1]
    joint = first[:, -overlap:] * np.cos(ramp) + lead_in * np.sin(ramp)
    return np.concatenate([first[:, :-overlap], joint, second], axis=1)


def _samples(path: Path | str, info: VideoInfo, count: int) -> np.ndarray:
    """A video's soundtrack as exactly ``count`` samples (silence if it has none)."""
    exact = np.zeros((2, count), dtype=np.float32)
    if info.has_audio:
        decoded = decode_audio(path)[:, :count]
        exact[:, : decoded.shape[1]] = decoded
    return exact


def stitch_continuation(
    original: Path | str,
    continuation: Path | str,
    destination: Path | str,
    *,
    progress: ProgressCallback | None = None,
) -> VideoInfo:
    """The original followed by its continuation, in one MP4 at the
    original's frame size and rate. The continuation starts on the
    original's last frame, which is so shown twice (a hold of one frame, no
    jump) and the whole lasts both lengths; the sound runs on without a gap
    (``crossfaded``)."""
    whole = probe_video(original)
    part = probe_video(continuation)
    fps = whole.fps
    count = max(1, round(part.duration_seconds * fps))
    # The continuation's frames on the original's clock (their rates may differ).
    part_indexes = [min(int(i * part.fps / fps), part.frame_count - 1) for i in range(count)]
    size = (whole.width // 2 * 2, whole.height // 2 * 2)
    box = cover_box((part.width, part.height), size)
    fitted = (
        frame if (frame.width, frame.height) == size else crop_frame(frame, box, size)
        for frame in decode_frames_at(continuation, part_indexes)
    )
    frames = itertools.chain(decode_frames_at(original, range(whole.frame_count)), fitted)
    sound = None
    if whole.has_audio or part.has_audio:
        before = frame_sample_bounds(whole.frame_count, fps)[0]
        after = round(count * SAMPLE_RATE / fps)
        sound = sound_of(
            crossfaded(
                _samples(original, whole, before),
                _samples(continuation, part, after),
                round(AUDIO_CROSSFADE_SECONDS * SAMPLE_RATE),
            )
        )
    with _writing(destination, "Could not join the continuation to the video"):
        write_mp4(
            destination,
            frames,
            width=size[0],
            height=size[1],
            fps=fps,
            frame_count=whole.frame_count + count,
            sound=sound,
            progress=progress,
        )
    return probe_video(destination)
