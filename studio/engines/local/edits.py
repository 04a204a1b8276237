"""Edits: operations planned against the parent video, then rendered frame by
frame into a new MP4.

Timeline operations apply in a fixed order (trims as written, then speed,
then reverse); then each frame is reframed, graded (looks as written) and
gets its text. Text and look times are seconds of the edited video.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import numpy as np
from av.video.frame import VideoFrame
from PIL import Image, ImageFilter

from studio.engines.base import EngineError, ErrorKind, ProgressCallback
from studio.engines.local.looks import COLOR_LOOKS, apply_look
from studio.engines.local.operations import (
    MIN_EDIT_SECONDS,
    ChangeSpeed,
    ColorGrade,
    CropToRegion,
    EditOperation,
    Mute,
    Obscure,
    Reframe,
    Reverse,
    TextOverlay,
    Trim,
)
from studio.engines.local.text import overlay_layer
from studio.engines.video import (
    SAMPLE_RATE,
    Box,
    VideoError,
    VideoInfo,
    cover_box,
    crop_frame,
    decode_audio,
    decode_frames,
    decode_frames_at,
    probe_video,
    reframed_size,
    sound_of,
    write_mp4,
)

# x, y, width and height from 0 to 1 of the picture.
type Region = tuple[float, float, float, float]


@dataclass(frozen=True)
class Timeline:
    """Which source frame plays at each output frame."""

    start: int  # first source frame used
    span: Fraction  # source frames covered
    frames: int  # output frames
    reverse: bool

    @property
    def ratio(self) -> Fraction:
        """Source frames per output frame."""
        return self.span / self.frames

    @property
    def last(self) -> int:
        return self.start + math.ceil(self.span) - 1

    def source_index(self, output_index: int) -> int:
        offset = math.floor(output_index * self.ratio)
        index = self.last - offset if self.reverse else self.start + offset
        return min(self.last, max(self.start, index))


@dataclass(frozen=True)
class EditPlan:
    operations: tuple[EditOperation, ...]
    source: VideoInfo
    timeline: Timeline
    width: int
    height: int
    # The source box resampled into each output frame; None keeps geometry.
    crop: Box | None
    looks: tuple[tuple[str, int, int], ...]  # with output frame range
    overlays: tuple[tuple[TextOverlay, int, int], ...]  # with output frame range
    keep_audio: bool
    fps: Fraction  # the output's; the source's unless another was asked for
    obscures: tuple[tuple[str, int, int], ...] = ()  # style, output frame range
    # Where looks, blur and text apply, in output pixels (left, top, right,
    # bottom); None: the whole frame.
    region: tuple[int, int, int, int] | None = None

    @property
    def frame_count(self) -> int:
        return self.timeline.frames

    def describe(self) -> str:
        applied = [op.describe() for op in self.operations]
        if self.region is not None and any(
            isinstance(op, ColorGrade | Obscure | TextOverlay) for op in self.operations
        ):
            applied.append("inside the marked box")
        if self.fps != self.source.fps:
            applied.append(f"made at {self.fps} fps")
        return "Applied: " + "; ".join(applied) + "."


@contextlib.contextmanager
def parent_read() -> Iterator[None]:
    """A parent video that cannot be read is the request's fault."""
    try:
        yield
    except VideoError as error:
        raise EngineError(
            ErrorKind.INVALID_INPUT, f"The parent video could not be used. {error}"
        ) from error


def probe_parent(path: Path) -> VideoInfo:
    with parent_read():
        return probe_video(path)


def _from_start(seconds: float, length: Fraction) -> float | Fraction:
    """Seconds from the start of a video length long; negative seconds count
    back from its end."""
    return seconds if seconds >= 0 else length + seconds


def _trimmed(operations: Sequence[EditOperation], source: VideoInfo) -> tuple[int, int]:
    """The source frames the trims keep, start and end."""
    fps = source.fps
    start, end = 0, source.frame_count
    for trim in (op for op in operations if isinstance(op, Trim)):
        length = (end - start) / fps
        first = _from_start(trim.start, length)
        last = length if trim.end is None else _from_start(trim.end, length)
        first, last = min(max(first, 0.0), float(length)), min(max(last, 0.0), float(length))
        kept = last - first
        if kept < MIN_EDIT_SECONDS:
            raise EngineError(
                ErrorKind.INVALID_INPUT,
                f"The trim keeps {max(kept, 0):.2g} s of a {float(length):.3g} s video; "
                f"keep at least {MIN_EDIT_SECONDS:g} s.",
            )
        start, end = start + round(first * fps), start + round(last * fps)
    return start, end


def _timeline(operations: Sequence[EditOperation], source: VideoInfo) -> Timeline:
    start, end = _trimmed(operations, source)
    kept_frames = end - start
    span = Fraction(kept_frames)
    frames = kept_frames
    for change in (op for op in operations if isinstance(op, ChangeSpeed)):
        if change.factor > 1:
            min_frames = min(kept_frames, math.ceil(MIN_EDIT_SECONDS * source.fps))
            frames = max(min_frames, round(kept_frames / change.factor))
        else:
            span = Fraction(kept_frames) * Fraction(change.factor).limit_denominator(100)
    reverse = any(isinstance(op, Reverse) for op in operations)
    return Timeline(start, span, frames, reverse)


def _geometry(
    operations: Sequence[EditOperation], source: VideoInfo, region: Region | None
) -> tuple[int, int, Box | None]:
    """The output size, and the box of each source frame scaled into it."""
    width, height = source.width // 2 * 2, source.height // 2 * 2
    crop: Box | None = None
    if (width, height) != (source.width, source.height):
        crop = (0.0, 0.0, float(width), float(height))
    for reframe in (op for op in operations if isinstance(op, Reframe)):
        target = reframed_size(source, reframe.aspect_ratio)
        if target is not None:
            width, height = target
            crop = cover_box((source.width, source.height), target)
    if any(isinstance(op, CropToRegion) for op in operations):
        if region is None:
            raise EngineError(
                ErrorKind.INVALID_INPUT,
                "Cropping to the box needs a box: draw one on the frame in a comment and "
                "turn the comment into the edit.",
            )
        crop = _widened(region, (source.width, source.height), width / height)
    return width, height, crop


def _widened(region: Region, size: tuple[int, int], ratio: float) -> Box:
    """The region (0 to 1 of the picture) in pixels, widened or heightened to
    ``ratio`` around its centre and kept inside the picture."""
    frame_width, frame_height = size
    x, y, w, h = region
    width, height = w * frame_width, h * frame_height
    if width / height < ratio:
        width = height * ratio
    else:
        height = width / ratio
    width, height = min(width, frame_width), min(height, frame_height)
    centre_x, centre_y = (x + w / 2) * frame_width, (y + h / 2) * frame_height
    left = min(max(0.0, centre_x - width / 2), frame_width - width)
    top = min(max(0.0, centre_y - height / 2), frame_height - height)
    return (left, top, left + width, top + height)


def _frame_span(
    operation: ColorGrade | TextOverlay | Obscure, timeline: Timeline, fps: Fraction
) -> tuple[int, int]:
    """The output frames an operation holds for, first to end (exclusive);
    its seconds are on the edited video, negative ones counted from its end."""
    duration = timeline.frames / fps
    first = _from_start(operation.start, duration)
    last = duration if operation.end is None else _from_start(operation.end, duration)
    first_frame, end_frame = max(0, round(first * fps)), min(timeline.frames, round(last * fps))
    if end_frame <= first_frame:
        if isinstance(operation, TextOverlay):
            what = f'The text "{operation.text}" would not be on screen'
        elif isinstance(operation, Obscure):
            what = f"The {operation.style} would apply to no frame"
        else:
            what = f"The {COLOR_LOOKS[operation.look]} would apply to no frame"
        raise EngineError(
            ErrorKind.INVALID_INPUT,
            f"{what}: the edited video is {float(duration):.3g} s long.",
        )
    return first_frame, end_frame


def plan_edit(
    operations: Sequence[EditOperation],
    source: VideoInfo,
    *,
    fps: int | None = None,
    region: Region | None = None,
) -> EditPlan:
    """Resolve operations against the parent video (see the module docstring);
    INVALID_INPUT for what it cannot do to this video. ``fps`` other than the
    parent's (rounded) retimes the edit to it, keeping its length; a region
    holds its looks, blur and text (or is what it crops to)."""
    if source.frame_count < 1:
        raise EngineError(ErrorKind.INVALID_INPUT, "The parent video has no frames.")
    timeline = _timeline(operations, source)
    output_fps = source.fps
    if fps is not None and fps != round(source.fps):
        output_fps = Fraction(fps)
        timeline = replace(timeline, frames=max(1, round(timeline.frames * fps / source.fps)))
    width, height, crop = _geometry(operations, source, region)
    cropped = any(isinstance(op, CropToRegion) for op in operations)
    box = None
    if region is not None and not cropped:
        x, y, w, h = region
        box = (
            round(x * width),
            round(y * height),
            max(round((x + w) * width), round(x * width) + 2),
            max(round((y + h) * height), round(y * height) + 2),
        )
    return EditPlan(
        operations=tuple(operations),
        source=source,
        timeline=timeline,
        width=width,
        height=height,
        crop=crop,
        looks=tuple(
            (op.look, *_frame_span(op, timeline, output_fps))
            for op in operations
            if isinstance(op, ColorGrade)
        ),
        overlays=tuple(
            (op, *_frame_span(op, timeline, output_fps))
            for op in operations
            if isinstance(op, TextOverlay)
        ),
        keep_audio=source.has_audio and not any(isinstance(op, Mute) for op in operations),
        fps=output_fps,
        obscures=tuple(
            (op.style, *_frame_span(op, timeline, output_fps))
            for op in operations
            if isinstance(op, Obscure)
        ),
        region=box,
    )


def edited_audio(
    source: np.ndarray, timeline: Timeline, fps: Fraction, *, source_fps: Fraction | None = None
) -> np.ndarray:
    """The soundtrack following the timeline. A speed change resamples it
    (the pitch moves with the speed); its length always matches the video's.
    ``fps`` is the output's, ``source_fps`` the parent's (the same unless the
    edit is retimed)."""
    source_fps = fps if source_fps is None else source_fps
    count = round(timeline.frames * SAMPLE_RATE / fps)
    samples_per_frame = SAMPLE_RATE / source_fps
    first = timeline.start * samples_per_frame
    # Source samples per output sample.
    ratio = timeline.ratio * fps / source_fps
    if ratio == 1 and float(first).is_integer():
        first = int(first)
        result = np.zeros((2, count), dtype=np.float32)
        piece = source[:, first : first + count]
        result[:, : piece.shape[1]] = piece
        return result[:, ::-1].copy() if timeline.reverse else result
    step = float(ratio)
    if step > 1:
        # Average neighbours before skipping samples, against aliasing.
        width = round(step)
        kernel = np.ones(width) / width
        source = np.stack([np.convolve(channel, kernel, mode="same") for channel in source])
    offsets = np.arange(count, dtype=np.float64) * step
    if timeline.reverse:
        positions = float((timeline.start + timeline.span) * samples_per_frame) - 1 - offsets
    else:
        positions = float(first) + offsets
    known = np.arange(source.shape[1], dtype=np.float64)
    return np.stack(
        [np.interp(positions, known, channel, left=0.0, right=0.0) for channel in source]
    ).astype(np.float32)


def _reversed_frames(timeline: Timeline, path: Path, workdir: Path) -> Iterator[VideoFrame]:
    """The timeline's frames last first. Decoding runs forwards, so the frames
    are spilled to a raw yuv420p file in workdir rather than kept in memory."""
    first, last = timeline.start, timeline.last
    spill_path = workdir / "reverse.npy"
    spill: np.ndarray | None = None
    stored = 0
    decoded = decode_frames(path)
    try:
        for index, frame in enumerate(decoded):
            if index > last:
                break
            if index < first:
                continue
            planes = frame.reformat(format="yuv420p").to_ndarray()
            if spill is None:
                spill = np.lib.format.open_memmap(
                    spill_path, mode="w+", dtype=np.uint8, shape=(last - first + 1, *planes.shape)
                )
            spill[index - first] = planes
            stored += 1
    finally:
        decoded.close()
    if spill is None:
        raise VideoError("The video has no frames.")
    for output_index in range(timeline.frames):
        position = min(timeline.source_index(output_index) - first, stored - 1)
        yield VideoFrame.from_ndarray(np.asarray(spill[position]), format="yuv420p")
    del spill
    spill_path.unlink(missing_ok=True)


def _timeline_frames(timeline: Timeline, path: Path, workdir: Path) -> Iterator[VideoFrame]:
    """One source frame per output frame, decoding as it goes."""
    if timeline.reverse:
        return _reversed_frames(timeline, path, workdir)
    return decode_frames_at(path, map(timeline.source_index, range(timeline.frames)))


@dataclass(frozen=True)
class _Overlay:
    layer: Image.Image
    origin: tuple[int, int]
    first_frame: int
    end_frame: int


def _edited_frames(
    plan: EditPlan, parent: Path, workdir: Path
) -> Iterator[Image.Image | VideoFrame]:
    overlays = []
    for overlay, first_frame, end_frame in plan.overlays:
        layer, x, y = overlay_layer(overlay, plan.width, plan.height)
        if plan.region is not None:
            x, y = _centred_in(layer.size, plan.region, (plan.width, plan.height))
        overlays.append(_Overlay(layer, (x, y), first_frame, end_frame))
    frames = _timeline_frames(plan.timeline, parent, workdir)
    try:
        for index, frame in enumerate(frames):
            showing = [o for o in overlays if o.first_frame <= index < o.end_frame]
            looks = [look for look, first, end in plan.looks if first <= index < end]
            obscures = [style for style, first, end in plan.obscures if first <= index < end]
            if plan.crop is None and not looks and not showing and not obscures:
                # Untouched frames go to the encoder as decoded: no RGB round trip.
                yield frame
                continue
            if plan.crop is None:
                image = frame.to_image()
            else:
                image = crop_frame(frame, plan.crop, (plan.width, plan.height))
            if looks or obscures:
                image = _changed_in_region(image, plan.region, looks, obscures)
            for overlay in showing:
                image.paste(overlay.layer, overlay.origin, overlay.layer)
            yield image
    finally:
        frames.close()


def _changed_in_region(
    image: Image.Image,
    region: tuple[int, int, int, int] | None,
    looks: list[str],
    obscures: list[str],
) -> Image.Image:
    """Looks, then blur or pixelation, inside the region (or everywhere)."""
    part = image if region is None else image.crop(region)
    for look in looks:
        part = apply_look(part, look)
    short = min(part.size)
    for style in obscures:
        if style == "blur":
            part = part.filter(ImageFilter.GaussianBlur(max(2, short // 12)))
        else:
            cells = max(1, short // 12)
            small = part.resize(
                (max(1, part.width // cells), max(1, part.height // cells)), Image.Resampling.BOX
            )
            part = small.resize(part.size, Image.Resampling.NEAREST)
    if region is None:
        return part
    image.paste(part, region[:2])
    return image


def _centred_in(
    size: tuple[int, int], region: tuple[int, int, int, int], frame: tuple[int, int]
) -> tuple[int, int]:
    """Where a layer of ``size`` sits centred on the region, inside the frame."""
    left, top, right, bottom = region
    x = (left + right - size[0]) // 2
    y = (top + bottom - size[1]) // 2
    return min(max(0, x), max(0, frame[0] - size[0])), min(max(0, y), max(0, frame[1] - size[1]))


def render_edit(
    plan: EditPlan, parent: Path, output: Path, workdir: Path, progress: ProgressCallback
) -> None:
    """Write the planned edit of parent to output; workdir is for scratch files."""
    with parent_read():
        fps = plan.fps
        sound = None
        if plan.keep_audio:
            sound = sound_of(
                edited_audio(decode_audio(parent), plan.timeline, fps, source_fps=plan.source.fps)
            )
        write_mp4(
            output,
            _edited_frames(plan, parent, workdir),
            width=plan.width,
            height=plan.height,
            fps=fps,
            frame_count=plan.frame_count,
            sound=sound,
            progress=progress,
        )
