"""Extensions: the parent's shot carried on from its last frame.

The continuation starts on that frame exactly, at its size, so the joint
shows no jump; the camera move the shot names (the last one, so an
instruction can change it) carries on from rest, easing in and out as every
move here does. A pull out would need picture outside the last frame, so the
shot holds instead. The sound carries on too: the steady part of the
parent's soundtrack, repeated with crossfades; a parent without sound gives a
silent continuation.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

from studio.engines.base import FPS, ProgressCallback
from studio.engines.local.scenes import CameraMove, ease
from studio.engines.video import RESAMPLE, SAMPLE_RATE, decode_audio, sound_of, write_mp4

# Moves that need no picture beyond the frame they start from.
CONTINUABLE_MOVES = frozenset(CameraMove) - {CameraMove.PULL_OUT}

# The parent's soundtrack repeated: its last LOOP_SECONDS before any fade at
# its end (up to FADE_SECONDS long), crossfaded over CROSSFADE_SECONDS.
LOOP_SECONDS = 2.0
FADE_SECONDS = 0.6
CROSSFADE_SECONDS = 0.1
END_RAMP_SECONDS = 0.02


class ContinuationScene:
    """The last frame moved on by the camera, with the parent's sound."""

    ZOOM = 1.18  # push in, end to end (as a still's)
    TRAVEL_ZOOM = 1.15  # how far in a pan or tilt ends, leaving it room

    def __init__(
        self,
        last_frame: Image.Image,
        move: CameraMove,
        frame_count: int,
        *,
        sound: np.ndarray | None,
        fps: int = FPS,
    ):
        self.move = move if move in CONTINUABLE_MOVES else CameraMove.STATIC
        self._frame = last_frame.convert("RGB")
        self.width = self._frame.width // 2 * 2
        self.height = self._frame.height // 2 * 2
        if (self.width, self.height) != self._frame.size:
            self._frame = self._frame.crop((0, 0, self.width, self.height))
        self.frame_count = frame_count
        self.fps = fps
        self._sound = sound

    def crop_box(self, index: int) -> tuple[float, float, float, float]:
        """Where the camera looks at frame ``index``: the whole frame first."""
        progress = ease(index / max(1, self.frame_count - 1))
        width, height = self.width, self.height
        zoom = 1.0
        if self.move is CameraMove.PUSH_IN:
            zoom = 1 + (self.ZOOM - 1) * progress
        elif self.move is not CameraMove.STATIC:
            zoom = 1 + (self.TRAVEL_ZOOM - 1) * progress
        half_width, half_height = width / zoom / 2, height / zoom / 2
        # The room the zoom leaves, taken up towards where the camera turns.
        room_x, room_y = width / 2 - half_width, height / 2 - half_height
        centre_x, centre_y = width / 2, height / 2
        if self.move is CameraMove.PAN_LEFT:
            centre_x -= room_x
        elif self.move is CameraMove.PAN_RIGHT:
            centre_x += room_x
        elif self.move is CameraMove.TILT_UP:
            centre_y -= room_y
        elif self.move is CameraMove.TILT_DOWN:
            centre_y += room_y
        return (
            centre_x - half_width,
            centre_y - half_height,
            centre_x + half_width,
            centre_y + half_height,
        )

    def frame(self, index: int) -> Image.Image:
        if self.move is CameraMove.STATIC:
            return self._frame
        return self._frame.resize((self.width, self.height), RESAMPLE, box=self.crop_box(index))

    def audio(self, start: int, count: int) -> np.ndarray:
        assert self._sound is not None
        return sound_of(self._sound)(start, count)


def carried_sound(soundtrack: np.ndarray, total: int) -> np.ndarray | None:
    """``total`` samples carrying a soundtrack on: its steady end (leaving
    out a fade at either end) repeated, each repeat crossfaded into the
    last; None when there is too little sound to repeat."""
    length = soundtrack.shape[1]
    fade = min(round(FADE_SECONDS * SAMPLE_RATE), length // 4)
    end = length - fade
    start = max(fade, end - round(LOOP_SECONDS * SAMPLE_RATE))
    overlap = round(CROSSFADE_SECONDS * SAMPLE_RATE)
    if end - start <= 2 * overlap:
        return None
    segment = soundtrack[:, start:end]
    ramp = np.linspace(0.0, np.pi / 2, overlap, dtype=np.float32)
    fade_in, fade_out = np.sin(ramp), np.cos(ramp)
    step = segment.shape[1] - overlap
    result = np.zeros((2, total + segment.shape[1]), dtype=np.float32)
    for at in range(0, total, step):
        piece = segment.copy()
        if at:
            piece[:, :overlap] *= fade_in
        piece[:, -overlap:] *= fade_out
        result[:, at : at + piece.shape[1]] += piece
    result = result[:, :total]
    ramp_length = min(total, round(END_RAMP_SECONDS * SAMPLE_RATE))
    if ramp_length:
        result[:, total - ramp_length :] *= np.linspace(1.0, 0.0, ramp_length, dtype=np.float32)
    return result


def render_continuation(
    last_frame: Image.Image,
    parent: Path,
    output: Path,
    *,
    move: CameraMove,
    seconds: int,
    fps: int,
    has_audio: bool,
    progress: ProgressCallback,
) -> None:
    """Write ``seconds`` of the parent's shot carried on from its last frame."""
    frame_count = seconds * fps
    total = frame_count * SAMPLE_RATE // fps
    sound = carried_sound(decode_audio(parent), total) if has_audio else None
    scene = ContinuationScene(last_frame, move, frame_count, sound=sound, fps=fps)
    write_mp4(
        output,
        (scene.frame(index) for index in range(frame_count)),
        width=scene.width,
        height=scene.height,
        fps=Fraction(fps),
        frame_count=frame_count,
        sound=scene.audio if sound is not None else None,
        progress=progress,
    )
