"""Video files: probing, the one MP4 writer, transcoding, posters, reframing
(and in ``joins``, joining files end to end).

Every MP4 the studio writes goes through ``Mp4Writer``, with one encoder
setting: H.264 (libx264, preset veryfast, CRF 21, yuv420p, a keyframe every
2 s) and AAC (48 kHz stereo, 128 kb/s), the index at the front of the file
(``+faststart``) so browsers start playing before the download ends.

Files are only ever opened as local files: a video must not make ffmpeg read
URLs or other files. A file that cannot be read or written raises VideoError
with a message for a person. This module must import without Django.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import math
import shutil
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import numpy as np
from av.audio.frame import AudioFrame
from av.container import InputContainer
from av.video.frame import PictureType, VideoFrame
from PIL import Image

from studio.engines.base import ASPECT_RATIOS, FPS, ProgressCallback, aspect_size

VIDEO_CODEC = "libx264"
VIDEO_PRESET = "veryfast"
# One quality for every file: new videos, edits (which re-encode their
# parent, so a lower CRF loses less over a chain of edits) and uploads.
VIDEO_CRF = 21
PIXEL_FORMAT = "yuv420p"
# A keyframe every two seconds so browsers can seek without decoding far.
KEYFRAME_SECONDS = 2
AUDIO_CODEC = "aac"
AUDIO_LAYOUT = "stereo"
SAMPLE_RATE = 48_000
AUDIO_BITRATE = 128_000

# The filter for scaling frames and parts of frames.
RESAMPLE = Image.Resampling.BICUBIC

_READ_OPTIONS = {"protocol_whitelist": "file"}

type Box = tuple[float, float, float, float]


class VideoError(ValueError):
    """A video that cannot be read or written, with a message for a person."""


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    duration_seconds: float
    frame_count: int
    fps: Fraction
    has_audio: bool
    video_codec: str
    audio_codec: str


def _open(path: Path | str) -> InputContainer:
    return cast(InputContainer, av.open(str(path), options=_READ_OPTIONS))


def _reason(error: BaseException) -> str:
    return getattr(error, "strerror", None) or str(error)


def probe_video(path: Path | str) -> VideoInfo:
    """What a video file holds, from its headers (no frame is decoded).

    The duration is frame_count / fps when the stream knows how many frames
    it has; otherwise it is the stream's duration (or the container's), and
    frame_count is that duration in frames."""
    try:
        with _open(path) as container:
            if not container.streams.video:
                raise VideoError("The file has no video stream.")
            video = container.streams.video[0]
            audio = container.streams.audio[0] if container.streams.audio else None
            fps = Fraction(video.average_rate or video.guessed_rate or FPS)
            if video.frames:
                frame_count = video.frames
                duration = float(frame_count / fps)
            else:
                if video.duration is not None and video.time_base is not None:
                    duration = float(video.duration * video.time_base)
                else:
                    duration = (container.duration or 0) / av.time_base
                frame_count = round(duration * fps)
            return VideoInfo(
                width=video.codec_context.width,
                height=video.codec_context.height,
                duration_seconds=duration,
                frame_count=frame_count,
                fps=fps,
                has_audio=audio is not None,
                video_codec=video.codec_context.name,
                audio_codec=audio.codec_context.name if audio is not None else "",
            )
    except (av.FFmpegError, OSError) as error:
        raise VideoError("The file is not a video we can read.") from error


# Writing


class Mp4Writer:
    """The studio's H.264 + AAC MP4 writer. Frames stream through: nothing is
    kept beyond the encoders' own look-ahead. Frames of another size or pixel
    format are converted by the encoder."""

    def __init__(
        self, path: Path | str, width: int, height: int, *, fps: Fraction, audio: bool = True
    ):
        self.width = width
        self.height = height
        self.frames_written = 0
        self._samples_written = 0
        self._video_time_base = 1 / Fraction(fps)
        self._container = av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"})
        try:
            self._video = self._container.add_stream(
                VIDEO_CODEC, rate=fps, options={"crf": str(VIDEO_CRF), "preset": VIDEO_PRESET}
            )
            self._video.width = width
            self._video.height = height
            self._video.pix_fmt = PIXEL_FORMAT
            self._video.codec_context.gop_size = round(KEYFRAME_SECONDS * fps)
            self._audio = None
            if audio:
                self._audio = self._container.add_stream(AUDIO_CODEC, rate=SAMPLE_RATE)
                self._audio.layout = AUDIO_LAYOUT
                self._audio.bit_rate = AUDIO_BITRATE
        except BaseException:
            self._container.close()
            raise

    def write_video(self, image: Image.Image | VideoFrame) -> None:
        if isinstance(image, Image.Image):
            frame = VideoFrame.from_image(image if image.mode == "RGB" else image.convert("RGB"))
        else:
            frame = image
            # libx264 obeys a frame's picture type, and decoded frames carry
            # their source's; the encoder must choose its own.
            frame.pict_type = PictureType.NONE
        frame.pts = self.frames_written
        frame.time_base = self._video_time_base
        for packet in self._video.encode(frame):
            self._container.mux(packet)
        self.frames_written += 1

    def write_audio(self, samples: np.ndarray) -> None:
        """Append float samples shaped (2, n), in -1..1, at 48 kHz."""
        if self._audio is None or samples.shape[1] == 0:
            return
        frame = AudioFrame.from_ndarray(
            np.ascontiguousarray(samples, dtype=np.float32), format="fltp", layout=AUDIO_LAYOUT
        )
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._samples_written
        frame.time_base = Fraction(1, SAMPLE_RATE)
        for packet in self._audio.encode(frame):
            self._container.mux(packet)
        self._samples_written += samples.shape[1]

    def close(self) -> None:
        for packet in self._video.encode(None):
            self._container.mux(packet)
        if self._audio is not None:
            for packet in self._audio.encode(None):
                self._container.mux(packet)
        self._container.close()

    def abort(self) -> None:
        with contextlib.suppress(av.FFmpegError, OSError):
            self._container.close()

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def frame_sample_bounds(index: int, fps: Fraction) -> tuple[int, int]:
    """The audio samples that play under video frame ``index``."""
    return round(index * SAMPLE_RATE / fps), round((index + 1) * SAMPLE_RATE / fps)


def read_ahead[T](items: Iterator[T]) -> Iterator[T]:
    """Yield items while the next one is made on a worker thread, so drawing
    and decoding overlap encoding (Pillow and PyAV release the GIL). One item
    ahead at most; ``items`` is only ever advanced by one thread at a time."""
    done = object()
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="video-read-ahead") as pool:
            pending = pool.submit(next, items, done)
            while (item := pending.result()) is not done:
                pending = pool.submit(next, items, done)
                yield cast(T, item)
    finally:
        # After the pool has shut down: nothing else is advancing items now.
        close = getattr(items, "close", None)
        if close is not None:
            close()


# Plays the samples from start, count of them, as an array shaped (2, count).
SoundSource = Callable[[int, int], np.ndarray]


def write_mp4(
    path: Path | str,
    frames: Iterator[Image.Image | VideoFrame],
    *,
    width: int,
    height: int,
    fps: Fraction,
    frame_count: int,
    sound: SoundSource | None,
    progress: ProgressCallback | None = None,
) -> None:
    """Encode frames, each with the sound that plays under it, reporting the
    fraction done after every frame. The next frame is made while one is
    encoded."""
    ahead = read_ahead(frames)
    writer = Mp4Writer(path, width, height, fps=fps, audio=sound is not None)
    with contextlib.closing(ahead), writer:
        for index, frame in enumerate(ahead):
            writer.write_video(frame)
            if sound is not None:
                start, end = frame_sample_bounds(index, fps)
                writer.write_audio(sound(start, end - start))
            if progress is not None:
                progress((index + 1) / frame_count)


def sound_of(samples: np.ndarray) -> SoundSource:
    """A SoundSource playing a soundtrack held in memory, then silence."""

    def play(start: int, count: int) -> np.ndarray:
        piece = samples[:, start : start + count]
        if piece.shape[1] == count:
            return piece
        padded = np.zeros((2, count), dtype=np.float32)
        padded[:, : piece.shape[1]] = piece
        return padded

    return play


# Reading


def decode_frames(path: Path | str) -> Iterator[VideoFrame]:
    """Every frame of the first video stream, decoded as it goes."""
    try:
        with _open(path) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            yield from container.decode(stream)
    except (av.FFmpegError, OSError, IndexError) as error:
        raise VideoError(f"Could not decode the video: {_reason(error)}.") from error


def decode_frames_at(path: Path | str, indexes: Iterable[int]) -> Iterator[VideoFrame]:
    """The frame at each of ``indexes`` (which never go down), decoding once;
    past the end of a short video its last frame is held."""
    decoded = decode_frames(path)
    try:
        current: VideoFrame | None = None
        current_index = -1
        for wanted in indexes:
            while current_index < wanted:
                following = next(decoded, None)
                if following is None:
                    break
                current, current_index = following, current_index + 1
            if current is None:
                raise VideoError("The video has no frames.")
            yield current
    finally:
        decoded.close()


def decode_audio(path: Path | str) -> np.ndarray:
    """The whole soundtrack as float32 (2, n) at 48 kHz (a 10 s clip is a few MB)."""
    chunks: list[np.ndarray] = []
    try:
        with _open(path) as container:
            resampler = av.AudioResampler(format="fltp", layout=AUDIO_LAYOUT, rate=SAMPLE_RATE)
            for frame in container.decode(container.streams.audio[0]):
                chunks.extend(out.to_ndarray() for out in resampler.resample(frame))
            chunks.extend(out.to_ndarray() for out in resampler.resample(None))
    except (av.FFmpegError, OSError, IndexError) as error:
        raise VideoError(f"Could not decode the sound: {_reason(error)}.") from error
    if not chunks:
        return np.zeros((2, 0), dtype=np.float32)
    return np.concatenate(chunks, axis=1).astype(np.float32)


def cover_box(source: tuple[int, int], target: tuple[int, int]) -> Box:
    """The centred box of ``source`` with the aspect ratio of ``target``."""
    source_width, source_height = source
    ratio = target[0] / target[1]
    if source_width / source_height > ratio:
        width = source_height * ratio
        return ((source_width - width) / 2, 0.0, (source_width + width) / 2, float(source_height))
    height = source_width / ratio
    return (0.0, (source_height - height) / 2, float(source_width), (source_height + height) / 2)


def crop_frame(frame: VideoFrame, box: Box, size: tuple[int, int]) -> Image.Image:
    """The box of a frame, scaled to size."""
    return frame.to_image().resize(size, RESAMPLE, box=box)


def reframed_size(info: VideoInfo, aspect_ratio: str) -> tuple[int, int] | None:
    """The frame size for showing a video at aspect_ratio, keeping its short
    side (made even); None when it already has that ratio."""
    short = min(info.width // 2 * 2, info.height // 2 * 2)
    target = aspect_size(aspect_ratio, short)
    if abs(target[0] / target[1] - info.width / info.height) <= 0.01:
        return None
    return target


# Whole files


@contextlib.contextmanager
def _writing(destination: Path | str, failure: str = "") -> Iterator[None]:
    """Remove what was written of destination when writing fails; ffmpeg's and
    the file system's errors become VideoError("<failure>: <reason>")."""
    try:
        yield
    except BaseException as error:
        Path(destination).unlink(missing_ok=True)
        if isinstance(error, (av.FFmpegError, OSError)):
            reason = _reason(error)
            raise VideoError(f"{failure}: {reason}" if failure else reason) from error
        raise


def transcode_to_mp4(
    source: Path | str, destination: Path | str, *, progress: ProgressCallback | None = None
) -> VideoInfo:
    """Normalise a clip to what every engine and browser takes: the studio's
    MP4 with even dimensions and a constant frame rate."""
    info = probe_video(source)
    width, height = info.width // 2 * 2, info.height // 2 * 2
    rate = info.fps.limit_denominator(1001)
    expected = max(info.frame_count, 1)
    with (
        # The reason alone: the caller says what could not be converted.
        _writing(destination),
        _open(source) as container,
        Mp4Writer(destination, width, height, fps=rate, audio=info.has_audio) as writer,
    ):
        streams = [container.streams.video[0], *container.streams.audio[:1]]
        resampler = av.AudioResampler(format="fltp", layout=AUDIO_LAYOUT, rate=SAMPLE_RATE)
        for frame in container.decode(*streams):
            if isinstance(frame, VideoFrame):
                writer.write_video(frame)
                if progress is not None:
                    progress(min(writer.frames_written / expected, 0.99))
                continue
            frame.pts = None
            for resampled in resampler.resample(frame):
                writer.write_audio(resampled.to_ndarray())
        for resampled in resampler.resample(None):
            writer.write_audio(resampled.to_ndarray())
    return probe_video(destination)


# A time written to the millisecond at a frame's start may fall a hair
# before it: a fiftieth of a frame counts as the frame.
FRAME_TOLERANCE = 0.02


def frame_index(seconds: float, fps: float, frame_count: int) -> int:
    """The frame shown at ``seconds`` of a video of ``frame_count`` frames
    (its last past the end)."""
    return min(max(0, math.floor(seconds * fps + FRAME_TOLERANCE)), max(frame_count - 1, 0))


def frame_image_at(path: Path | str, seconds: float) -> Image.Image:
    """The picture a video shows at ``seconds`` (its last past the end)."""
    info = probe_video(path)
    frames = decode_frames_at(path, [frame_index(seconds, float(info.fps), info.frame_count)])
    try:
        return next(frames).to_image()
    finally:
        frames.close()


def poster_jpeg(path: Path | str, *, at_fraction: float = 0.3) -> bytes:
    """A JPEG still from a video, a little way in (first frames are often
    dark): the first keyframe from ``at_fraction`` of its length, which
    decodes alone; in a video with none that late, the frame there."""
    try:
        frame = _keyframe_from(path, at_fraction) or _frame_at(path, at_fraction)
        buffer = io.BytesIO()
        frame.to_image().save(buffer, "JPEG", quality=85)
        return buffer.getvalue()
    except (av.FFmpegError, OSError, IndexError) as error:
        raise VideoError(f"Could not make a poster: {_reason(error)}.") from error


def _keyframe_from(path: Path | str, at_fraction: float) -> VideoFrame | None:
    with _open(path) as container:
        stream = container.streams.video[0]
        if not stream.duration or not stream.time_base:
            return None
        try:
            offset = (stream.start_time or 0) + int(stream.duration * at_fraction)
            container.seek(offset, stream=stream, backward=False)
        except av.FFmpegError:
            return None  # no keyframe after that point
        return next(container.decode(stream), None)


def _frame_at(path: Path | str, at_fraction: float) -> VideoFrame:
    with _open(path) as container:
        stream = container.streams.video[0]
        # Frames no other frame refers to need not be decoded on the way.
        stream.codec_context.skip_frame = "NONREF"
        duration = float(stream.duration * stream.time_base) if stream.duration else 0.0
        target = duration * at_fraction
        chosen = None
        for frame in container.decode(stream):
            chosen = frame
            if frame.time is None or frame.time >= target:
                break
        if chosen is None:
            raise VideoError("The video has no frames.")
        return chosen


def reframe(
    source: Path | str,
    destination: Path | str,
    aspect_ratio: str,
    *,
    progress: ProgressCallback | None = None,
) -> None:
    """Centre-crop a video to aspect_ratio, keeping its short side, frame
    count, frame rate and sound; a copy when it already has that ratio."""
    if aspect_ratio not in ASPECT_RATIOS:
        raise VideoError(f"Unknown aspect ratio {aspect_ratio!r}.")
    info = probe_video(source)
    size = reframed_size(info, aspect_ratio)
    if size is None:
        shutil.copyfile(source, destination)
        return
    box = cover_box((info.width, info.height), size)
    frames = (
        crop_frame(frame, box, size) for frame in decode_frames_at(source, range(info.frame_count))
    )
    sound = sound_of(decode_audio(source)) if info.has_audio else None
    with _writing(destination, "Could not reframe the video"):
        write_mp4(
            destination,
            frames,
            width=size[0],
            height=size[1],
            fps=info.fps,
            frame_count=info.frame_count,
            sound=sound,
            progress=progress,
        )


def _even(value: float) -> int:
    return max(2, round(value) // 2 * 2)


def clip_section(
    source: Path | str,
    destination: Path | str,
    *,
    start: float = 0.0,
    seconds: float | None = None,
    min_short_side: int = 0,
) -> VideoInfo:
    """The part of a clip from ``start`` lasting ``seconds`` (to its end when
    None), scaled up, never down, until its short side is ``min_short_side``:
    what an engine that edits only so many seconds, at so many lines, is sent."""
    info = probe_video(source)
    first = min(max(0, round(start * info.fps)), max(info.frame_count - 1, 0))
    count = info.frame_count - first
    if seconds is not None:
        count = max(1, min(count, round(seconds * info.fps)))
    scale = max(1.0, min_short_side / min(info.width, info.height))
    width, height = _even(info.width * scale), _even(info.height * scale)
    sound = None
    if info.has_audio:
        begin = frame_sample_bounds(first, info.fps)[0]
        end = frame_sample_bounds(first + count - 1, info.fps)[1]
        sound = sound_of(decode_audio(source)[:, begin:end])
    frames = decode_frames_at(source, range(first, first + count))
    with _writing(destination, "Could not cut the section"):
        write_mp4(
            destination,
            frames,
            width=width,
            height=height,
            fps=info.fps,
            frame_count=count,
            sound=sound,
        )
    return probe_video(destination)


def splice_section(
    original: Path | str, section: Path | str, destination: Path | str, *, start: float
) -> VideoInfo:
    """The original with the part from ``start`` replaced by ``section`` for
    as long as the section lasts; the rest is kept as it was. Written at the
    section's frame size and the original's frame rate."""
    whole = probe_video(original)
    part = probe_video(section)
    fps = whole.fps
    first = min(max(0, round(start * fps)), whole.frame_count)
    count = min(round(part.duration_seconds * fps), whole.frame_count - first)
    # The section's frames on the original's clock (their rates may differ).
    section_indexes = [min(int(i * part.fps / fps), part.frame_count - 1) for i in range(count)]
    frames = itertools.chain(
        decode_frames_at(original, range(first)) if first else iter(()),
        decode_frames_at(section, section_indexes),
        decode_frames_at(original, range(first + count, whole.frame_count))
        if first + count < whole.frame_count
        else iter(()),
    )
    sound = None
    if whole.has_audio or part.has_audio:
        before = frame_sample_bounds(first, fps)[0]
        after = frame_sample_bounds(first + count, fps)[0]
        kept = decode_audio(original) if whole.has_audio else np.zeros((2, 0), np.float32)
        edited = decode_audio(section) if part.has_audio else np.zeros((2, 0), np.float32)
        middle = np.zeros((2, after - before), dtype=np.float32)
        middle[:, : min(edited.shape[1], after - before)] = edited[:, : after - before]
        sound = sound_of(np.concatenate([kept[:, :before], middle, kept[:, after:]], axis=1))
    with _writing(destination, "Could not put the edited section back into the clip"):
        write_mp4(
            destination,
            frames,
            width=part.width // 2 * 2,
            height=part.height // 2 * 2,
            fps=fps,
            frame_count=whole.frame_count,
            sound=sound,
        )
    return probe_video(destination)
