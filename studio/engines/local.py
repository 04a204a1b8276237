"""The local engine: offline, deterministic, real MP4s.

It makes no AI video. It renders something honest and watchable instead, so the
studio can be developed, tested and demoed without a network or a budget:

- text_to_video: a title card. The prompt's first sentence in large type over a
  drifting gradient whose palette comes from words in the prompt, with a few
  slow shapes, and a soft chord.
- image_to_video: the still, cover-cropped to the aspect ratio, animated with a
  camera move read from the prompt (push in, pull out, pan, tilt, static).
- edit: the parent MP4 decoded, changed by the operations parsed from the
  prompt (see ``parse_edit``) and encoded again.

Output is H.264 (yuv420p, CRF 23, ``+faststart``) and AAC (48 kHz stereo) at
24 fps for new videos; edits keep the parent's frame rate.

The engine is stateless: ``submit`` validates and names the interaction after a
hash of the request, ``poll`` renders the whole video in one call, reporting
progress after every encoded frame. This module must import without Django.
"""

from __future__ import annotations

import colorsys
import contextlib
import enum
import hashlib
import json
import math
import random
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Protocol, cast

import av
import numpy as np
from av.audio.frame import AudioFrame
from av.video.frame import PictureType, VideoFrame
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

from studio.engines.base import (
    ASPECT_RATIOS,
    FPS,
    Capabilities,
    EngineError,
    ErrorKind,
    GenerationRequest,
    InputMedia,
    PollResult,
    PollState,
    ProgressCallback,
    Submission,
    Task,
    VideoOutput,
    frame_size,
)

MODEL = "local-1"
TEMP_PREFIX = "omni-local-"

VIDEO_CODEC = "libx264"
VIDEO_PRESET = "veryfast"
VIDEO_CRF = "23"
# A keyframe every two seconds so browsers can seek without decoding far.
GOP_FRAMES = 2 * FPS
SAMPLE_RATE = 48_000
AUDIO_BITRATE = 128_000

MIN_DURATION = 3
MAX_DURATION = 10
MIN_EDIT_SECONDS = 1.0

RESAMPLE = Image.Resampling.BICUBIC


# --------------------------------------------------------------------------
# Probing


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


def probe_video(path: Path) -> VideoInfo:
    """Stream facts from the container's headers, without decoding frames."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise EngineError(ErrorKind.INVALID_INPUT, f"{Path(path).name} has no video.")
            video = container.streams.video[0]
            fps = Fraction(video.average_rate or video.guessed_rate or FPS)
            frame_count = video.frames
            if not frame_count:
                if video.duration is not None and video.time_base is not None:
                    seconds = float(video.duration * video.time_base)
                else:
                    seconds = (container.duration or 0) / av.time_base
                frame_count = round(seconds * fps)
            audio = container.streams.audio[0] if container.streams.audio else None
            return VideoInfo(
                width=video.codec_context.width,
                height=video.codec_context.height,
                duration_seconds=float(frame_count / fps),
                frame_count=frame_count,
                fps=fps,
                has_audio=audio is not None,
                video_codec=video.codec_context.name,
                audio_codec=audio.codec_context.name if audio is not None else "",
            )
    except (av.FFmpegError, OSError) as error:
        raise EngineError(
            ErrorKind.INVALID_INPUT, f"Could not read the video {Path(path).name}: {error}"
        ) from error


# --------------------------------------------------------------------------
# Encoding


class Mp4Writer:
    """H.264 + AAC MP4 writer with the studio's settings. Frames stream through:
    nothing is kept beyond the encoders' own look-ahead."""

    def __init__(
        self,
        path: Path,
        width: int,
        height: int,
        *,
        fps: Fraction = Fraction(FPS),
        audio: bool = True,
    ):
        self.width = width
        self.height = height
        self.frames_written = 0
        self._samples_written = 0
        self._video_time_base = 1 / Fraction(fps)
        self._container = av.open(str(path), "w", options={"movflags": "+faststart"})
        try:
            self._video = self._container.add_stream(
                VIDEO_CODEC, rate=fps, options={"crf": VIDEO_CRF, "preset": VIDEO_PRESET}
            )
            self._video.width = width
            self._video.height = height
            self._video.pix_fmt = "yuv420p"
            self._video.codec_context.gop_size = GOP_FRAMES
            self._audio = None
            if audio:
                self._audio = self._container.add_stream("aac", rate=SAMPLE_RATE)
                self._audio.layout = "stereo"
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
            # the parent's; the encoder must choose its own.
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
            np.ascontiguousarray(samples, dtype=np.float32), format="fltp", layout="stereo"
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


# --------------------------------------------------------------------------
# Sound


class Chord:
    """A soft sustained chord, fading in and out, slightly detuned between
    channels. Deterministic from a seed; any sample range can be asked for."""

    ROOTS = (130.81, 146.83, 164.81, 174.61, 196.00, 220.00)
    FADE_SECONDS = 0.6
    VOICE_LEVEL = 0.05

    def __init__(self, seed: int, total_samples: int):
        root = self.ROOTS[seed % len(self.ROOTS)]
        third = 6 / 5 if (seed >> 8) & 1 else 5 / 4
        self.frequencies = (root, root * third, root * 3 / 2, root * 2)
        self.total_samples = total_samples

    def samples(self, start: int, count: int) -> np.ndarray:
        index = np.arange(start, start + count, dtype=np.float64)
        seconds = index / SAMPLE_RATE
        left = np.zeros(count)
        right = np.zeros(count)
        for frequency in self.frequencies:
            left += np.sin(2 * np.pi * frequency * seconds)
            right += np.sin(2 * np.pi * frequency * 1.002 * seconds + 0.7)
        fade = self.FADE_SECONDS * SAMPLE_RATE
        envelope = np.clip(np.minimum(index / fade, (self.total_samples - index) / fade), 0, 1)
        swell = 0.85 + 0.15 * np.sin(2 * np.pi * 0.25 * seconds)
        level = self.VOICE_LEVEL * envelope * swell
        return np.stack([left * level, right * level]).astype(np.float32)


def _frame_sample_bounds(index: int, fps: Fraction) -> tuple[int, int]:
    """The audio samples that play under video frame ``index``."""
    return round(index * SAMPLE_RATE / fps), round((index + 1) * SAMPLE_RATE / fps)


# --------------------------------------------------------------------------
# Text


def _font(size: int) -> ImageFont.FreeTypeFont:
    # Not cached: loading is cheap, and a FreeType face must not be shared
    # between threads rendering at the same time.
    font = ImageFont.load_default(size=size)
    assert isinstance(font, ImageFont.FreeTypeFont)
    return font


def _wrap(text: str, font: ImageFont.FreeTypeFont, max_width: float) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if not current or font.getlength(candidate) <= max_width:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    # A single word wider than the frame is broken by characters.
    broken: list[str] = []
    for line in lines:
        while font.getlength(line) > max_width and len(line) > 1:
            cut = len(line) - 1
            while cut > 1 and font.getlength(line[:cut]) > max_width:
                cut -= 1
            broken.append(line[:cut])
            line = line[cut:]
        broken.append(line)
    return broken or [""]


def _fit_text(
    text: str, *, max_width: float, start_size: int, min_size: int, max_lines: int
) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    """The largest font size (stepping down from start_size) at which the text
    wraps into max_lines lines, each no wider than max_width."""
    size = start_size
    while True:
        font = _font(size)
        words_fit = all(font.getlength(word) <= max_width for word in text.split())
        lines = _wrap(text, font, max_width)
        if (words_fit and len(lines) <= max_lines) or size <= min_size:
            return font, lines
        size = max(min_size, int(size * 0.9))


def _text_block(
    lines: Sequence[str],
    font: ImageFont.FreeTypeFont,
    *,
    backing: bool,
    shadow: bool,
) -> Image.Image:
    """White centred lines on a transparent RGBA block, with a dark outline and
    either a translucent dark box behind them or a soft drop shadow."""
    size = font.size
    ascent, descent = font.getmetrics()
    line_height = round((ascent + descent) * 1.12)
    stroke = max(1, round(size / 18))
    padding = round(size * 0.35) if backing else round(size * 0.3)
    widest = max(font.getlength(line) for line in lines)
    width = math.ceil(widest) + 2 * (padding + stroke)
    height = line_height * len(lines) + 2 * (padding + stroke)
    block = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    if backing:
        ImageDraw.Draw(block).rounded_rectangle(
            (0, 0, width - 1, height - 1), radius=round(size * 0.2), fill=(0, 0, 0, 150)
        )
    if shadow:
        shade = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        draw = ImageDraw.Draw(shade)
        offset = max(1, round(size / 20))
        for row, line in enumerate(lines):
            x = (width - font.getlength(line)) / 2 + offset
            y = padding + stroke + row * line_height + offset
            draw.text((x, y), line, font=font, fill=(0, 0, 0, 170))
        shade = shade.filter(ImageFilter.GaussianBlur(max(1, size / 14)))
        block = Image.alpha_composite(block, shade)
    draw = ImageDraw.Draw(block)
    for row, line in enumerate(lines):
        x = (width - font.getlength(line)) / 2
        y = padding + stroke + row * line_height
        draw.text(
            (x, y),
            line,
            font=font,
            fill=(255, 255, 255, 255),
            stroke_width=stroke,
            stroke_fill=(10, 10, 10, 255),
        )
    return block


# --------------------------------------------------------------------------
# Scenes for new videos


class Scene(Protocol):
    width: int
    height: int
    frame_count: int

    def frame(self, index: int) -> Image.Image: ...

    def audio(self, start: int, count: int) -> np.ndarray: ...


def _seed(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def _ease(fraction: float) -> float:
    """Cosine ease in and out: starts and ends at rest, so moves never jerk."""
    return 0.5 - 0.5 * math.cos(math.pi * min(1.0, max(0.0, fraction)))


def _read_ahead[T](items: Iterator[T]) -> Iterator[T]:
    """Yield items while the next one is made on a worker thread, so drawing
    and decoding overlap encoding (Pillow and PyAV release the GIL). One item
    ahead at most; ``items`` is only ever advanced by one thread at a time."""
    done = object()
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="local-engine") as pool:
            pending = pool.submit(next, items, done)
            while (item := pending.result()) is not done:
                pending = pool.submit(next, items, done)
                yield cast(T, item)
    finally:
        # After the pool has shut down: nothing else is advancing items now.
        close = getattr(items, "close", None)
        if close is not None:
            close()


def _encode_scene(scene: Scene, path: Path, progress: ProgressCallback) -> None:
    frames = _read_ahead(scene.frame(index) for index in range(scene.frame_count))
    with contextlib.closing(frames), Mp4Writer(path, scene.width, scene.height) as writer:
        for index, frame in enumerate(frames):
            writer.write_video(frame)
            start, end = _frame_sample_bounds(index, Fraction(FPS))
            writer.write_audio(scene.audio(start, end - start))
            progress((index + 1) / scene.frame_count)


@dataclass(frozen=True)
class Palette:
    name: str
    top: tuple[int, int, int]
    bottom: tuple[int, int, int]
    accent: tuple[int, int, int]


_PALETTES: tuple[tuple[tuple[str, ...], Palette], ...] = (
    (
        ("night", "neon", "city", "cyber", "cyberpunk", "midnight", "nightclub"),
        Palette("night", (10, 14, 52), (140, 22, 120), (0, 225, 255)),
    ),
    (
        ("sunset", "sunrise", "warm", "golden", "desert", "fire", "autumn", "dusk"),
        Palette("sunset", (255, 150, 62), (112, 30, 78), (255, 232, 150)),
    ),
    (
        ("forest", "jungle", "tree", "garden", "moss", "leaf", "leaves", "woods"),
        Palette("forest", (18, 64, 38), (118, 168, 78), (222, 255, 180)),
    ),
    (
        ("ocean", "sea", "water", "beach", "wave", "underwater", "lake", "river", "surf"),
        Palette("ocean", (8, 52, 124), (38, 168, 198), (200, 245, 255)),
    ),
    (
        ("snow", "winter", "ice", "frost", "arctic"),
        Palette("winter", (70, 108, 160), (196, 218, 240), (255, 255, 255)),
    ),
    (
        ("space", "galaxy", "star", "stars", "cosmic", "planet", "nebula"),
        Palette("space", (4, 4, 18), (58, 24, 96), (255, 220, 255)),
    ),
)


def palette_for(prompt: str) -> Palette:
    """The palette of the first word in the prompt that names one; otherwise
    colours derived from a hash of the prompt."""
    for word in re.findall(r"[a-z]+", prompt.lower()):
        for keywords, palette in _PALETTES:
            if word in keywords or (word.endswith("s") and word[:-1] in keywords):
                return palette
    hue = (_seed(prompt) % 360) / 360

    def rgb(h: float, s: float, v: float) -> tuple[int, int, int]:
        r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
        return round(r * 255), round(g * 255), round(b * 255)

    return Palette(
        "prompt", rgb(hue, 0.6, 0.32), rgb(hue + 0.1, 0.55, 0.78), rgb(hue + 0.5, 0.35, 1.0)
    )


def title_subject(prompt: str, limit: int = 60) -> str:
    """The prompt's first sentence, or its first clause when that is too long,
    cut to about ``limit`` characters on a word boundary."""
    text = " ".join(prompt.split())
    subject = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0].rstrip(".!? ")
    if len(subject) > limit:
        clause = re.split(r"[,;:\u2013\u2014]|\s-\s", subject, maxsplit=1)[0].strip()
        if len(clause) >= 3:
            subject = clause
    if len(subject) > limit:
        cut = subject.rfind(" ", 0, limit)
        subject = subject[: cut if cut > limit // 2 else limit].rstrip(" ,;:") + "…"
    return subject or "Untitled"


@dataclass(frozen=True)
class _Shape:
    x: float
    y: float
    radius: float
    drift_x: float
    drift_y: float
    period: float
    phase: float
    ring: bool
    alpha: int


class TitleCardScene:
    """The subject in large type over a drifting gradient, with slow shapes."""

    TEXT_GROWTH = 0.05
    DRIFT = 0.25  # how much larger than the frame the gradient is
    DRIFT_PERIOD = 24.0  # seconds for the gradient window to come full circle

    def __init__(self, prompt: str, width: int, height: int, frame_count: int):
        self.width = width
        self.height = height
        self.frame_count = frame_count
        seed = _seed(prompt)
        self.palette = palette_for(prompt)
        self.subject = title_subject(prompt)
        self._chord = Chord(seed, frame_count * SAMPLE_RATE // FPS)
        short = min(width, height)
        rng = random.Random(seed)
        self._shapes = [
            _Shape(
                x=rng.uniform(0.05, 0.95) * width,
                y=rng.uniform(0.05, 0.95) * height,
                radius=rng.uniform(0.04, 0.13) * short,
                drift_x=rng.uniform(0.04, 0.12) * width,
                drift_y=rng.uniform(0.03, 0.08) * height,
                period=rng.uniform(6.0, 12.0),
                phase=rng.random(),
                ring=rng.random() < 0.4,
                alpha=rng.randint(40, 90),
            )
            for _ in range(6)
        ]
        font, lines = _fit_text(
            self.subject,
            max_width=width * 0.84,
            start_size=max(12, round(short * 0.13)),
            min_size=max(10, round(short * 0.04)),
            max_lines=3,
        )
        block = _text_block(lines, font, backing=False, shadow=True)
        # A transparent margin the text grows into, so every frame's source
        # box for the scaled text stays inside the layer.
        margin_x = math.ceil(block.width * self.TEXT_GROWTH / 2) + 2
        margin_y = math.ceil(block.height * self.TEXT_GROWTH / 2) + 2
        padded = Image.new("RGBA", (block.width + 2 * margin_x, block.height + 2 * margin_y))
        padded.paste(block, (margin_x, margin_y))
        # Premultiplied alpha, so resampling does not darken the glyph edges.
        self._text = padded.convert("RGBa")
        self._text_region = (padded.width - 2, padded.height - 2)
        self._text_origin = (
            math.ceil((width - self._text_region[0]) / 2),
            math.ceil((height - self._text_region[1]) / 2),
        )
        self._field = self._gradient_field()

    def _gradient_field(self) -> Image.Image:
        """A gradient larger than the frame; each frame shows a window of it
        that drifts slowly. Computed coarsely once, then upscaled."""
        field_width = round(self.width * (1 + self.DRIFT))
        field_height = round(self.height * (1 + self.DRIFT))
        grid_x = np.linspace(0.0, 1.0, max(2, field_width // 8))[None, :]
        grid_y = np.linspace(0.0, 1.0, max(2, field_height // 8))[:, None]
        wave = 0.12 * np.sin(2 * np.pi * (0.7 * grid_x + 0.5 * grid_y))
        mix = np.clip(0.75 * grid_y + 0.25 * grid_x + wave, 0.0, 1.0)[..., None]
        top = np.array(self.palette.top, dtype=np.float64)
        bottom = np.array(self.palette.bottom, dtype=np.float64)
        colours = np.round(top * (1 - mix) + bottom * mix).astype(np.uint8)
        small = Image.fromarray(colours, "RGB")
        return small.resize((field_width, field_height), Image.Resampling.BILINEAR)

    def _background(self, seconds: float) -> Image.Image:
        angle = 2 * math.pi * seconds / self.DRIFT_PERIOD
        room_x = self._field.width - self.width
        room_y = self._field.height - self.height
        left = round(room_x * (0.5 + 0.5 * math.sin(angle)))
        top = round(room_y * (0.5 - 0.5 * math.cos(angle)))
        return self._field.crop((left, top, left + self.width, top + self.height))

    def frame(self, index: int) -> Image.Image:
        seconds = index / FPS
        image = self._background(seconds)
        draw = ImageDraw.Draw(image, "RGBA")
        accent = self.palette.accent
        for shape in self._shapes:
            angle = 2 * np.pi * (seconds / shape.period + shape.phase)
            x = shape.x + shape.drift_x * math.sin(angle)
            y = shape.y + shape.drift_y * math.cos(angle)
            box = (x - shape.radius, y - shape.radius, x + shape.radius, y + shape.radius)
            if shape.ring:
                width = max(2, round(shape.radius * 0.12))
                draw.ellipse(box, outline=(*accent, shape.alpha + 40), width=width)
            else:
                draw.ellipse(box, fill=(*accent, shape.alpha))
        scale = 1 + self.TEXT_GROWTH * _ease(index / max(1, self.frame_count - 1))
        # Scale about the frame's centre in float, so the growth has no steps.
        region_width, region_height = self._text_region
        centre_x = self.width / 2 - self._text_origin[0]
        centre_y = self.height / 2 - self._text_origin[1]
        left = self._text.width / 2 - centre_x / scale
        top = self._text.height / 2 - centre_y / scale
        box = (left, top, left + region_width / scale, top + region_height / scale)
        text = self._text.resize(self._text_region, RESAMPLE, box=box).convert("RGBA")
        image.paste(text, self._text_origin, text)
        return image

    def audio(self, start: int, count: int) -> np.ndarray:
        return self._chord.samples(start, count)


class CameraMove(enum.StrEnum):
    PUSH_IN = "push in"
    PULL_OUT = "pull out"
    PAN_LEFT = "pan left"
    PAN_RIGHT = "pan right"
    TILT_UP = "tilt up"
    TILT_DOWN = "tilt down"
    STATIC = "static"


_CAMERA_PATTERNS = (
    (CameraMove.PUSH_IN, r"\b(?:push(?:es|ing)?|zoom(?:s|ing)?|dolly(?:ing)?|move(?:s)?) in\b"),
    (
        CameraMove.PULL_OUT,
        r"\b(?:(?:pull(?:s|ing)?|dolly(?:ing)?) (?:out|back)|zoom(?:s|ing)? out)\b",
    ),
    (CameraMove.PAN_LEFT, r"\bpan(?:s|ning)? (?:to the )?left\b"),
    (CameraMove.PAN_RIGHT, r"\bpan(?:s|ning)? (?:to the )?right\b"),
    (CameraMove.TILT_UP, r"\btilt(?:s|ing)? up(?:wards?)?\b"),
    (CameraMove.TILT_DOWN, r"\btilt(?:s|ing)? down(?:wards?)?\b"),
    (CameraMove.STATIC, r"\b(?:static|locked[- ]off|lock(?:ed)? off|no camera move(?:ment)?)\b"),
)


def parse_camera_move(prompt: str) -> CameraMove:
    """The first camera move the prompt names; a gentle push in by default."""
    lower = prompt.lower()
    found = [
        (match.start(), move)
        for move, pattern in _CAMERA_PATTERNS
        if (match := re.search(pattern, lower))
    ]
    return min(found)[1] if found else CameraMove.PUSH_IN


def _cover_box(
    source: tuple[int, int], target: tuple[int, int]
) -> tuple[float, float, float, float]:
    """The centred box of ``source`` with the aspect ratio of ``target``."""
    source_width, source_height = source
    ratio = target[0] / target[1]
    if source_width / source_height > ratio:
        width = source_height * ratio
        return ((source_width - width) / 2, 0.0, (source_width + width) / 2, float(source_height))
    height = source_width / ratio
    return (0.0, (source_height - height) / 2, float(source_width), (source_height + height) / 2)


def _load_still(media: InputMedia) -> Image.Image:
    try:
        with Image.open(media.path) as opened:
            return ImageOps.exif_transpose(opened).convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise EngineError(
            ErrorKind.INVALID_INPUT, f"Could not read the image {media.path.name}: {error}"
        ) from error


class StillScene:
    """A still reframed to the output's aspect ratio and moved by a camera."""

    ZOOM = 1.18  # push in / pull out, end to end
    TRAVEL_ZOOM = 1.15  # how far in the frame sits, leaving room to pan or tilt

    def __init__(
        self,
        still: Image.Image,
        move: CameraMove,
        width: int,
        height: int,
        frame_count: int,
        seed: int,
    ):
        self.width = width
        self.height = height
        self.frame_count = frame_count
        self.move = move
        self._chord = Chord(seed, frame_count * SAMPLE_RATE // FPS)
        box = _cover_box(still.size, (width, height))
        box_width = box[2] - box[0]
        # Keep at most the pixels the tightest crop needs: large stills are
        # reduced once here rather than resampled from full size every frame.
        scale = min(1.0, width * max(self.ZOOM, self.TRAVEL_ZOOM) / box_width)
        base_size = (
            max(width, round(box_width * scale)),
            max(height, round((box[3] - box[1]) * scale)),
        )
        self._base = still.resize(base_size, Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)

    def crop_box(self, index: int) -> tuple[float, float, float, float]:
        """Where the camera looks at frame ``index``, in base-image pixels."""
        base_width, base_height = self._base.size
        progress = _ease(index / max(1, self.frame_count - 1))
        zoom = 1.0
        centre_x, centre_y = base_width / 2, base_height / 2
        if self.move is CameraMove.PUSH_IN:
            zoom = 1 + (self.ZOOM - 1) * progress
        elif self.move is CameraMove.PULL_OUT:
            zoom = self.ZOOM - (self.ZOOM - 1) * progress
        elif self.move is not CameraMove.STATIC:
            zoom = self.TRAVEL_ZOOM
            room_x = (base_width - base_width / zoom) / 2
            room_y = (base_height - base_height / zoom) / 2
            # The camera turns one way, so the picture slides the other.
            if self.move is CameraMove.PAN_LEFT:
                centre_x += room_x * (1 - 2 * progress)
            elif self.move is CameraMove.PAN_RIGHT:
                centre_x -= room_x * (1 - 2 * progress)
            elif self.move is CameraMove.TILT_UP:
                centre_y += room_y * (1 - 2 * progress)
            elif self.move is CameraMove.TILT_DOWN:
                centre_y -= room_y * (1 - 2 * progress)
        half_width, half_height = base_width / zoom / 2, base_height / zoom / 2
        return (
            centre_x - half_width,
            centre_y - half_height,
            centre_x + half_width,
            centre_y + half_height,
        )

    def frame(self, index: int) -> Image.Image:
        return self._base.resize((self.width, self.height), RESAMPLE, box=self.crop_box(index))

    def audio(self, start: int, count: int) -> np.ndarray:
        return self._chord.samples(start, count)


# --------------------------------------------------------------------------
# Edit operations


@dataclass(frozen=True)
class Reframe:
    aspect_ratio: str

    def describe(self) -> str:
        return f"reframed to {self.aspect_ratio}"


@dataclass(frozen=True)
class TextOverlay:
    """Text drawn over the video. Times are seconds of the edited video
    (after any trim, speed change or reverse); a negative start counts back
    from its end; end None means to the end."""

    text: str
    position: str = "center"  # "top", "center" or "bottom"
    start: float = 0.0
    end: float | None = None
    subtitle: bool = False

    def describe(self) -> str:
        what = "subtitle" if self.subtitle else "text"
        when = ""
        if self.start != 0 or self.end is not None:
            span = _describe_range(self.start, self.end)
            when = f" (for {span})" if span.startswith("the ") else f" ({span})"
        return f'added {what} "{self.text}" at the {self.position}{when}'


@dataclass(frozen=True)
class Trim:
    """Keep seconds ``start`` to ``end`` of the clip; a negative value counts
    back from the end, end None means to the end."""

    start: float = 0.0
    end: float | None = None

    def describe(self) -> str:
        if self.start == 0 and self.end is not None and self.end < 0:
            return f"cut the last {-self.end:g} s"
        if self.start > 0 and self.end is None:
            return f"cut the first {self.start:g} s"
        return f"kept {_describe_range(self.start, self.end)}"


@dataclass(frozen=True)
class ChangeSpeed:
    """factor 2: twice as fast, half as long (at least 1 s). factor 0.5: slow
    motion at the same length, showing the first half of the clip."""

    factor: float

    def describe(self) -> str:
        if self.factor > 1:
            return f"sped up {self.factor:g}x"
        return "slow motion (half speed; the first half of the clip, same length)"


@dataclass(frozen=True)
class Reverse:
    def describe(self) -> str:
        return "reversed"


@dataclass(frozen=True)
class ColorGrade:
    look: str  # one of COLOR_LOOKS
    # Seconds on the edited timeline; end None means to the end.
    start: float = 0.0
    end: float | None = None

    def describe(self) -> str:
        if self.start == 0 and self.end is None:
            return COLOR_LOOKS[self.look]
        return f"{COLOR_LOOKS[self.look]} {_describe_range(self.start, self.end)}"


@dataclass(frozen=True)
class Mute:
    def describe(self) -> str:
        return "removed the audio"


EditOperation = Reframe | TextOverlay | Trim | ChangeSpeed | Reverse | ColorGrade | Mute

COLOR_LOOKS = {
    "grayscale": "black and white",
    "warmer": "warmer",
    "cooler": "cooler",
    "brighter": "brighter",
    "darker": "darker",
    "night": "night",
    "neon": "neon grade",
}

UNDERSTOOD_EDITS = (
    "reframe to 9:16, 16:9 or 1:1 (portrait, landscape, square); "
    'add text or subtitles in quotes (add text "LAUNCH DAY" at the top from 1s to 3s); '
    "trim (trim to 3s, cut the first 2 seconds); speed up or slow motion; reverse; "
    "black and white, warmer, cooler, brighter, darker, night or neon; mute"
)


def _describe_range(start: float, end: float | None) -> str:
    if start < 0 and end is None:
        return f"the last {-start:g} s"
    if start == 0 and end is not None and end > 0:
        return f"the first {end:g} s"
    begin = f"{start:g} s" if start >= 0 else f"{-start:g} s before the end"
    if end is None:
        return f"from {begin} to the end"
    return (
        f"from {begin} to {end:g} s" if end >= 0 else f"from {begin} to {-end:g} s before the end"
    )


def _not_understood(clause: str) -> EngineError:
    return EngineError(
        ErrorKind.NOT_UNDERSTOOD,
        f'The local engine did not understand "{clause}". It understands: {UNDERSTOOD_EDITS}.',
    )


# Splitting -----------------------------------------------------------------

# Straight, curly (\u201c \u201d, \u2018 \u2019), low-9 and guillemet quotes.
_OPENING_QUOTES = {
    '"': '"',
    "\u201c": "\u201d",
    "\u201e": "\u201c",
    "\u00ab": "\u00bb",
    "'": "'",
    "\u2018": "\u2019",
}
_SINGLE_QUOTES = "'\u2018\u2019"
_CLAUSE_JOINERS = re.compile(r"\s+(?:and|then)\s+", re.IGNORECASE)


def _is_word_char(character: str) -> bool:
    return character.isalnum()


def _split_sentences(prompt: str) -> list[list[str]]:
    """Sentences, each a list of clauses. Splits on sentence ends, newlines,
    ';', ',', ' and ' and ' then ', except inside quotes and in "black and
    white" and "between 1s and 3s"."""
    sentences: list[list[str]] = []
    clauses: list[str] = []
    buffer: list[str] = []

    def end_clause() -> None:
        clause = "".join(buffer).strip()
        buffer.clear()
        if clause:
            clauses.append(clause)

    def end_sentence() -> None:
        end_clause()
        if clauses:
            sentences.append(list(clauses))
            clauses.clear()

    closing = ""
    index = 0
    length = len(prompt)
    while index < length:
        character = prompt[index]
        before = prompt[index - 1] if index else ""
        after = prompt[index + 1] if index + 1 < length else ""
        if closing:
            buffer.append(character)
            # An apostrophe inside a word (don't) does not end a single quote.
            if character == closing and not (closing in _SINGLE_QUOTES and _is_word_char(after)):
                closing = ""
            index += 1
            continue
        if character in _OPENING_QUOTES:
            single = character in _SINGLE_QUOTES
            if not single or (not _is_word_char(before) and after and not after.isspace()):
                closing = _OPENING_QUOTES[character]
            buffer.append(character)
            index += 1
            continue
        if character == "\n" or (character in ".!?" and (not after or after.isspace())):
            end_sentence()
            index += 1
            continue
        if character == ";" or (character == "," and not (before.isdigit() and after.isdigit())):
            end_clause()
            index += 1
            continue
        joiner = _CLAUSE_JOINERS.match(prompt, index) if character.isspace() else None
        if joiner and not _joins_a_phrase("".join(buffer), prompt[joiner.end() :]):
            end_clause()
            index = joiner.end()
            continue
        buffer.append(character)
        index += 1
    end_sentence()
    return sentences


def _joins_a_phrase(before: str, after: str) -> bool:
    """Whether an ' and ' belongs to a phrase rather than joining clauses."""
    before, after = before.lower(), after.lower()
    if re.search(r"\bblack\s*$", before) and re.match(r"white\b", after):
        return True
    return bool(re.search(r"\bbetween\s+[\d:.]+\s*(?:s|secs?|seconds?)?\s*$", before))


# Clause parsing --------------------------------------------------------------

_NUMBER_WORDS = {
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
}
_TIME = r"(\d+:\d{1,2}(?:\.\d+)?|\d+(?:\.\d+)?)\s*(?:s|secs?|seconds?)?\b"
_QUOTED = re.compile(
    r"\"[^\"]*\"?|\u201c[^\u201d]*\u201d?|\u201e[^\u201c]*\u201c?|\u00ab[^\u00bb]*\u00bb?|"
    r"(?<!\w)'.*?'(?!\w)|\u2018.*?\u2019(?!\w)"
)
_QUOTE_MARK = "\x00"

_PRESERVATION = re.compile(
    r"^(?:keep|keeping|preserve|preserving|retain|maintain|leave|do not|don't|don\u2019t|dont|"
    r"never|without changing|no other|nothing else|exclude|excluding|avoid|same)\b"
)
_PRESERVATION_ANYWHERE = re.compile(r"\b(?:everything else|unchanged|as it is|as is)\b")
_ACTION_START = re.compile(
    r"^(?:add|make|turn|change|put|remove|cut|trim|speed|slow|reverse|crop|reframe|convert|"
    r"apply|give|set|mute|insert|replace|show|animate|move|zoom|pan|increase|decrease|boost|"
    r"lower|raise|render|play|transform|have|let|write|draw)\b"
)


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_FILLER = _word_set(
    """a an the it its it's this that video clip footage shot scene whole entire please make
    made turn into to be is so more much bit little slightly somewhat very really lot give
    apply set change convert use with look looks feel tone color colors colour colours
    effect filter style version image picture frames everything all of in on at for then
    also now just overall mood lighting light throughout vibe can you could would like i
    want lets let's go get some kind sort should me us by over"""
)


@dataclass(frozen=True)
class _Matcher:
    pattern: re.Pattern[str]
    build: Callable[[re.Match[str]], EditOperation]
    # Words that may stand around a match without making the clause unclear.
    context: frozenset[str] = frozenset()


def _seconds(text: str) -> float:
    if ":" in text:
        minutes, seconds = text.split(":", 1)
        return int(minutes) * 60 + float(seconds)
    return float(text)


def _trim(start: float = 0.0, end: float | None = None) -> Trim:
    trim = Trim(start, end)
    kept = None
    if start >= 0 and end is not None and end >= 0:
        kept = end - start
    elif start < 0 and end is None:
        kept = -start
    if kept is not None and kept < MIN_EDIT_SECONDS:
        raise EngineError(
            ErrorKind.INVALID_INPUT,
            f"A trim must keep at least {MIN_EDIT_SECONDS:g} s; this keeps {max(kept, 0):g} s.",
        )
    return trim


def _matcher(
    pattern: str, build: Callable[[re.Match[str]], EditOperation], context: str = ""
) -> _Matcher:
    return _Matcher(re.compile(pattern), build, _word_set(context))


_TRIM_VERB = r"(?:trim|cut|shorten|clip)(?: it| this| the (?:video|clip))?(?: down)?"
_KEEP_VERB = rf"(?:{_TRIM_VERB} to|keep(?: only)?|use(?: only)?|only keep|only use)"
_TRIM_CONTEXT = "trim trimmed cut shorten clip keep use only down seconds second s long"

_TRIM_MATCHERS: tuple[_Matcher, ...] = (
    _matcher(
        rf"\b(?:trim|cut|clip|keep|use|shorten)(?: it| this| the (?:video|clip))?(?: only)?"
        rf"(?: the part)? (?:from|between) {_TIME}\s*(?:to|until|till|and|-|\u2013)\s*{_TIME}",
        lambda match: _trim(_seconds(match[1]), _seconds(match[2])),
        _TRIM_CONTEXT,
    ),
    _matcher(
        rf"\b(?:cut|remove|drop|trim|skip|delete|lose)(?: off| out| away)? (?:the )?first {_TIME}",
        lambda match: _trim(start=_seconds(match[1])),
        _TRIM_CONTEXT,
    ),
    _matcher(
        rf"\b(?:cut|remove|drop|trim|delete|lose)(?: off| out| away)? (?:the )?last {_TIME}",
        lambda match: _trim(end=-_seconds(match[1])),
        _TRIM_CONTEXT,
    ),
    _matcher(
        rf"\b{_KEEP_VERB} (?:just )?the last {_TIME}",
        lambda match: _trim(start=-_seconds(match[1])),
        _TRIM_CONTEXT,
    ),
    _matcher(
        rf"\b{_KEEP_VERB} (?:just )?(?:the )?(?:first )?{_TIME}(?: only)?",
        lambda match: _trim(end=_seconds(match[1])),
        _TRIM_CONTEXT,
    ),
)
_MATCHERS: tuple[_Matcher, ...] = (
    *_TRIM_MATCHERS,
    _matcher(
        r"\bmute\b|"
        r"\b(?:remove|drop|strip|cut|kill|delete|lose)(?: out)? (?:the |all )?"
        r"(?:audio|sound|music|soundtrack)\b|\bno (?:audio|sound|music)\b|"
        r"\bwithout (?:the )?(?:audio|sound|music)\b|\bsilent\b|\bsilence\b",
        lambda match: Mute(),
        "audio sound music track soundtrack",
    ),
    _matcher(
        r"\bslow[- ]?mo(?:tion)?\b|\bslow(?:er|ed)?(?: it| this| the (?:video|clip))?(?: down)?\b|"
        r"\bhalf[- ]speed\b|\b0?\.5 ?x\b",
        lambda match: ChangeSpeed(0.5),
        "motion speed playback down half",
    ),
    _matcher(
        r"\bspeed(?: it| this| the (?:video|clip))? up\b|\bsped up\b|\bfaster\b|\b2 ?x\b|"
        r"\bdouble[- ]speed\b|\btwice as fast\b|\bfast[- ]forward\b",
        lambda match: ChangeSpeed(2.0),
        "speed playback up double twice fast times as",
    ),
    _matcher(
        r"\breversed?\b|\bplay(?:ing|ed)?(?: it| this| the (?:video|clip))? backwards?\b|"
        r"\bbackwards?\b|\brewind\b",
        lambda match: Reverse(),
        "play playback run order time",
    ),
    _matcher(
        r"\b(16:9|9:16|1:1)\b",
        lambda match: Reframe(match[1]),
        "reframe re-frame crop cropped aspect ratio format orientation reformat frame",
    ),
    _matcher(
        r"\b(?:portrait|vertical)\b",
        lambda match: Reframe("9:16"),
        "reframe re-frame crop aspect ratio format orientation mode reformat frame",
    ),
    _matcher(
        r"\b(?:landscape|horizontal|widescreen)\b",
        lambda match: Reframe("16:9"),
        "reframe re-frame crop aspect ratio format orientation mode reformat frame",
    ),
    _matcher(
        r"\bsquare\b",
        lambda match: Reframe("1:1"),
        "reframe re-frame crop aspect ratio format orientation mode reformat frame",
    ),
    _matcher(
        r"\bblack ?(?:and|&) ?white\b|\bb ?& ?w\b|\bb/w\b|\bgr[ae]y ?scale\b|\bmonochrome\b|"
        r"\bdesaturated?\b",
        lambda match: ColorGrade("grayscale"),
        "grade grading tone tones saturation",
    ),
    _matcher(r"\bwarm(?:er|th)?\b", lambda match: ColorGrade("warmer"), "grade tone tones up"),
    _matcher(r"\b(?:cool|cold)(?:er)?\b", lambda match: ColorGrade("cooler"), "grade tone tones"),
    _matcher(
        r"\bbright(?:er|en)?\b|\blighter\b|\blighten\b",
        lambda match: ColorGrade("brighter"),
        "up exposure",
    ),
    _matcher(
        r"\bdark(?:er|en)?\b|\bdimmer\b|\bdim\b",
        lambda match: ColorGrade("darker"),
        "down exposure",
    ),
    _matcher(
        r"\bnight(?:[- ]?time)?\b|\bday for night\b",
        lambda match: ColorGrade("night"),
        "grade tone time",
    ),
    _matcher(
        r"\bneon\b|\bcyberpunk\b",
        lambda match: ColorGrade("neon"),
        "grade grading tone tones glow",
    ),
)

_TEXT_KEYWORDS = re.compile(
    r"\b(?:on[- ]?screen|text|title|titles|caption|captions|subtitle|subtitles|subs|"
    r"lower third|headline|label|words|overlay|banner|write|put|show|display|say|saying|says|"
    r"reads|reading)\b"
)
_SUBTITLE_KEYWORDS = re.compile(r"\b(?:caption|captions|subtitle|subtitles|subs|lower third)\b")
_TEXT_CONTEXT = _word_set(
    """add insert put write show display on-screen onscreen on screen text overlay title titles
    card caption captions subtitle subtitles subs lower third headline label words banner
    saying says say reads reading that with big large bold white"""
)
_POSITION = re.compile(
    r"\b(?:(?:at|on|in|to|across|along)\s+)?(?:the\s+)?(top|bottom|center|centre|middle|upper|"
    r"lower)\b(?:\s+(?:third|part|edge|half))?(?:\s+of\s+(?:the\s+)?(?:screen|frame|video|image))?"
)
_TimeReader = Callable[[re.Match[str]], tuple[float, float | None]]
_TEXT_TIMES: tuple[tuple[re.Pattern[str], _TimeReader], ...] = (
    (
        re.compile(rf"\[\s*{_TIME}\s*(?:-|\u2013|to)\s*{_TIME}\s*\]"),
        lambda match: (_seconds(match[1]), _seconds(match[2])),
    ),
    # A review comment's single timecode: from then on.
    (
        re.compile(rf"\[\s*{_TIME}\s*\]"),
        lambda match: (_seconds(match[1]), None),
    ),
    (
        re.compile(rf"\bfrom {_TIME}\s*(?:to|until|till|-|\u2013)\s*{_TIME}"),
        lambda match: (_seconds(match[1]), _seconds(match[2])),
    ),
    (
        re.compile(rf"\bbetween {_TIME}\s*(?:and|-|\u2013)\s*{_TIME}"),
        lambda match: (_seconds(match[1]), _seconds(match[2])),
    ),
    (
        re.compile(rf"\b(?:for|during|in|over) the first {_TIME}"),
        lambda match: (0.0, _seconds(match[1])),
    ),
    (
        re.compile(rf"\b(?:for|during|in|over) the last {_TIME}"),
        lambda match: (-_seconds(match[1]), None),
    ),
    (
        re.compile(rf"\b(?:from|after|starting(?: at| from)?) {_TIME}(?:\s*on(?:wards?)?)?"),
        lambda match: (_seconds(match[1]), None),
    ),
    (
        re.compile(rf"\b(?:until|till|up to|for) {_TIME}"),
        lambda match: (0.0, _seconds(match[1])),
    ),
)


class _Preserve:
    """A clause asking to keep something as it is: understood, nothing to do."""


_PRESERVE = _Preserve()


def _normalise(clause: str) -> str:
    lower = clause.lower()
    lower = re.sub(
        r"\b(" + "|".join(_NUMBER_WORDS) + r")\b(?=\s*(?:s|secs?|seconds?)\b)",
        lambda match: _NUMBER_WORDS[match[1]],
        lower,
    )
    return lower


def _blank(text: str, match: re.Match[str]) -> str:
    return text[: match.start()] + " " * (match.end() - match.start()) + text[match.end() :]


def _unquote(quoted: str) -> str:
    if quoted[:1] in _OPENING_QUOTES:
        quoted = quoted[1:]
    if quoted[-1:] in set(_OPENING_QUOTES.values()):
        quoted = quoted[:-1]
    return quoted.strip()


def _leftover_is_filler(text: str, allowed: frozenset[str]) -> bool:
    words = re.findall(r"[\w'\u2019:-]+", text.replace(_QUOTE_MARK, " "))
    return all(word in allowed or word.strip(_SINGLE_QUOTES + "-") in allowed for word in words)


def _parse_text(quoted: str, remaining: str) -> tuple[TextOverlay, str]:
    subtitle = bool(_SUBTITLE_KEYWORDS.search(remaining))
    position = "bottom" if subtitle else "center"
    start: float = 0.0
    end: float | None = None
    for pattern, read in _TEXT_TIMES:
        if match := pattern.search(remaining):
            start, end = read(match)
            remaining = _blank(remaining, match)
            break
    if match := _POSITION.search(remaining):
        position = {"upper": "top", "lower": "bottom", "centre": "center", "middle": "center"}.get(
            match[1], match[1]
        )
        remaining = _blank(remaining, match)
    if end is not None and end >= 0 and start >= 0 and end <= start:
        raise EngineError(
            ErrorKind.INVALID_INPUT, f'The text "{quoted}" would end before it starts.'
        )
    return TextOverlay(quoted, position, start, end, subtitle), remaining


def _parse_clause(clause: str) -> list[EditOperation] | _Preserve | None:
    """The operations a clause asks for, _PRESERVE for a clause that asks to
    keep something, None when it is not understood."""
    quotes = [match[0] for match in _QUOTED.finditer(clause)]
    remaining = _normalise(_QUOTED.sub(f" {_QUOTE_MARK} ", clause))
    preserving = bool(_PRESERVATION.match(remaining))
    allowed = _FILLER
    # Operations with where they were written, to keep the clause's order;
    # matched text is blanked with as many spaces, so positions hold.
    found: list[tuple[int, EditOperation]] = []
    if quotes and not preserving and _TEXT_KEYWORDS.search(remaining):
        position = remaining.index(_QUOTE_MARK)
        overlay, remaining = _parse_text(_unquote(quotes[0]), remaining)
        if len(quotes) > 1 or not overlay.text:
            return None
        found.append((position, overlay))
        allowed = allowed | _TEXT_CONTEXT
    elif quotes:
        return _PRESERVE if preserving else None

    for matcher in _TRIM_MATCHERS if preserving else _MATCHERS:
        matches = list(matcher.pattern.finditer(remaining))
        for match in matches:
            found.append((match.start(), matcher.build(match)))
            remaining = _blank(remaining, match)
        if matches:
            allowed = allowed | matcher.context

    operations = [operation for _, operation in sorted(found, key=lambda item: item[0])]
    if any(isinstance(op, ColorGrade) for op in operations):
        # "[0-2s] make it warmer": a look can hold for part of the video.
        for pattern, read in _TEXT_TIMES:
            if match := pattern.search(remaining):
                start, end = read(match)
                remaining = _blank(remaining, match)
                operations = [
                    replace(op, start=start, end=end) if isinstance(op, ColorGrade) else op
                    for op in operations
                ]
                break
    if operations:
        if _leftover_is_filler(remaining, allowed):
            return operations
        return _PRESERVE if preserving else None
    if preserving or _PRESERVATION_ANYWHERE.search(remaining):
        return _PRESERVE
    return None


def _strip_clause(clause: str) -> str:
    clause = clause.strip().strip(",;:").strip()
    clause = re.sub(r"^(?:[-*•]\s*|\d+[.)]\s+)", "", clause)
    clause = re.sub(
        r"^(?:(?:please|then|also|and|now|finally|next|lastly|first|second|just)\b[\s,]*)+",
        "",
        clause,
        flags=re.IGNORECASE,
    )
    return clause.strip()


def parse_edit(prompt: str) -> list[EditOperation]:
    """The operations an edit prompt asks for, in the order written.

    Raises EngineError NOT_UNDERSTOOD naming the first clause it cannot read,
    or when there is no operation at all, and INVALID_INPUT for operations it
    reads but cannot do (a trim keeping less than a second, text that ends
    before it starts, two different speeds or aspect ratios).

    Clauses asking to keep things as they are ("keep everything else the
    same", "preserve ...", "do not change ...", "exclude: ...", "avoid ...")
    are understood and do nothing; so are the list items that follow such a
    clause in its sentence ("preserve the subject, framing and lighting").
    """
    operations: list[EditOperation] = []
    for sentence in _split_sentences(prompt):
        preserving = False
        for raw in sentence:
            clause = _strip_clause(raw)
            if not re.search(r"\w", clause):
                continue
            outcome = _parse_clause(clause)
            if isinstance(outcome, _Preserve):
                preserving = True
                continue
            if outcome is None:
                if preserving and not _ACTION_START.match(clause.lower()):
                    continue
                raise _not_understood(clause)
            preserving = False
            for operation in outcome:
                if operation not in operations:
                    operations.append(operation)
    if not operations:
        raise EngineError(
            ErrorKind.NOT_UNDERSTOOD,
            f"The local engine found no edit to make. It understands: {UNDERSTOOD_EDITS}.",
        )
    for kind, label in ((ChangeSpeed, "speeds"), (Reframe, "aspect ratios")):
        if len({op for op in operations if isinstance(op, kind)}) > 1:
            raise EngineError(ErrorKind.INVALID_INPUT, f"The edit asks for two different {label}.")
    return operations


# Planning --------------------------------------------------------------------


@dataclass(frozen=True)
class _Timeline:
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

    @property
    def is_identity(self) -> bool:
        return self.ratio == 1 and not self.reverse


@dataclass(frozen=True)
class _Overlay:
    layer: Image.Image
    origin: tuple[int, int]
    first_frame: int
    end_frame: int


@dataclass(frozen=True)
class EditPlan:
    operations: tuple[EditOperation, ...]
    source: VideoInfo
    timeline: _Timeline
    width: int
    height: int
    # The source box resampled into each output frame; None keeps geometry.
    crop: tuple[float, float, float, float] | None
    looks: tuple[tuple[str, int, int], ...]  # with output frame range
    overlays: tuple[tuple[TextOverlay, int, int], ...]  # with output frame range
    keep_audio: bool

    @property
    def frame_count(self) -> int:
        return self.timeline.frames

    def describe(self) -> str:
        return "Applied: " + "; ".join(op.describe() for op in self.operations) + "."


def _aspect_size(aspect_ratio: str, short: int) -> tuple[int, int]:
    long = (short * 16 // 9) // 2 * 2
    return {"16:9": (long, short), "9:16": (short, long), "1:1": (short, short)}[aspect_ratio]


def _look_frames(
    grade: ColorGrade, duration: float, fps: Fraction, frames: int
) -> tuple[str, int, int]:
    first = grade.start if grade.start >= 0 else duration + grade.start
    last = duration if grade.end is None else grade.end
    first_frame, end_frame = max(0, round(first * fps)), min(frames, round(last * fps))
    if end_frame <= first_frame:
        raise EngineError(
            ErrorKind.INVALID_INPUT,
            f"The {COLOR_LOOKS[grade.look]} would apply to no frame: the edited video is "
            f"{float(duration):.3g} s long.",
        )
    return grade.look, first_frame, end_frame


def plan_edit(operations: Sequence[EditOperation], source: VideoInfo) -> EditPlan:
    """Resolve operations against the parent video. Timeline operations apply
    in a fixed order (trims as written, then speed, then reverse); then each
    frame is reframed, graded (looks as written) and gets its text. Text times
    are on the edited timeline."""
    fps = source.fps
    if source.frame_count < 1:
        raise EngineError(ErrorKind.INVALID_INPUT, "The parent video has no frames.")
    start, end = 0, source.frame_count
    for trim in (op for op in operations if isinstance(op, Trim)):
        length = (end - start) / fps
        first = trim.start if trim.start >= 0 else length + trim.start
        last = length if trim.end is None else (trim.end if trim.end >= 0 else length + trim.end)
        first, last = min(max(first, 0.0), float(length)), min(max(last, 0.0), float(length))
        kept = last - first
        if kept < MIN_EDIT_SECONDS:
            raise EngineError(
                ErrorKind.INVALID_INPUT,
                f"The trim keeps {max(kept, 0):.2g} s of a {float(length):.3g} s video; "
                f"keep at least {MIN_EDIT_SECONDS:g} s.",
            )
        start, end = start + round(first * fps), start + round(last * fps)

    kept_frames = end - start
    span = Fraction(kept_frames)
    frames = kept_frames
    for change in (op for op in operations if isinstance(op, ChangeSpeed)):
        if change.factor > 1:
            min_frames = min(kept_frames, math.ceil(MIN_EDIT_SECONDS * fps))
            frames = max(min_frames, round(kept_frames / change.factor))
        else:
            span = Fraction(kept_frames) * Fraction(change.factor).limit_denominator(100)
    reverse = any(isinstance(op, Reverse) for op in operations)
    timeline = _Timeline(start, span, frames, reverse)

    width, height = source.width // 2 * 2, source.height // 2 * 2
    crop: tuple[float, float, float, float] | None = None
    if (width, height) != (source.width, source.height):
        crop = (0.0, 0.0, float(width), float(height))
    for reframe in (op for op in operations if isinstance(op, Reframe)):
        target = _aspect_size(reframe.aspect_ratio, min(width, height))
        if abs(target[0] / target[1] - source.width / source.height) > 0.01:
            width, height = target
            crop = _cover_box((source.width, source.height), target)

    duration = frames / fps
    overlays = []
    for overlay in (op for op in operations if isinstance(op, TextOverlay)):
        first = overlay.start if overlay.start >= 0 else duration + overlay.start
        if overlay.end is None:
            last = duration
        else:
            last = overlay.end if overlay.end >= 0 else duration + overlay.end
        first_frame, end_frame = max(0, round(first * fps)), min(frames, round(last * fps))
        if end_frame <= first_frame:
            raise EngineError(
                ErrorKind.INVALID_INPUT,
                f'The text "{overlay.text}" would not be on screen: the edited video is '
                f"{float(duration):.3g} s long.",
            )
        overlays.append((overlay, first_frame, end_frame))

    return EditPlan(
        operations=tuple(operations),
        source=source,
        timeline=timeline,
        width=width,
        height=height,
        crop=crop,
        looks=tuple(
            _look_frames(op, duration, fps, frames)
            for op in operations
            if isinstance(op, ColorGrade)
        ),
        overlays=tuple(overlays),
        keep_audio=source.has_audio and not any(isinstance(op, Mute) for op in operations),
    )


# Rendering edits ---------------------------------------------------------------


def _curve_lut(*channels: Callable[[np.ndarray], np.ndarray]) -> list[int]:
    x = np.arange(256, dtype=np.float64) / 255
    return [
        int(value)
        for channel in channels
        for value in np.clip(np.round(channel(x) * 255), 0, 255).astype(np.uint8)
    ]


def _contrast(x: np.ndarray, amount: float) -> np.ndarray:
    return np.clip((x - 0.5) * amount + 0.5, 0, 1)


_LUTS = {
    "warmer": _curve_lut(lambda x: x * 1.06 + 0.03, lambda x: x * 1.01 + 0.01, lambda x: x * 0.86),
    "cooler": _curve_lut(lambda x: x * 0.88, lambda x: x * 1.0 + 0.01, lambda x: x * 1.08 + 0.04),
    "brighter": _curve_lut(*[lambda x: x**0.8 * 1.04 + 0.02] * 3),
    "darker": _curve_lut(*[lambda x: x**1.3 * 0.85] * 3),
    "night": _curve_lut(
        lambda x: x**1.4 * 0.55, lambda x: x**1.35 * 0.68, lambda x: x**1.2 * 0.85 + 0.05
    ),
    # Shadows toward magenta and blue, highlights toward cyan.
    "neon": _curve_lut(
        lambda x: _contrast(x, 1.35) * 1.05 + 0.04,
        lambda x: _contrast(x, 1.35) ** 1.5 * 0.95,
        lambda x: _contrast(x, 1.35) * 0.9 + 0.12,
    ),
}


def apply_look(image: Image.Image, look: str) -> Image.Image:
    if look == "grayscale":
        return image.convert("L").convert("RGB")
    if look == "night":
        gray = image.convert("L").convert("RGB")
        return Image.blend(image, gray, 0.6).point(_LUTS["night"])
    if look == "neon":
        return ImageEnhance.Color(image).enhance(1.6).point(_LUTS["neon"])
    return image.point(_LUTS[look])


def _overlay_layer(overlay: TextOverlay, width: int, height: int) -> tuple[Image.Image, int, int]:
    short = min(width, height)
    font, lines = _fit_text(
        overlay.text,
        max_width=width * 0.86,
        start_size=max(12, round(short * (0.06 if overlay.subtitle else 0.1))),
        min_size=max(10, round(short * 0.03)),
        max_lines=2 if overlay.subtitle else 3,
    )
    layer = _text_block(lines, font, backing=True, shadow=False)
    margin = round(height * 0.07)
    x = (width - layer.width) // 2
    if overlay.position == "top":
        y = margin
    elif overlay.position == "bottom":
        y = height - margin - layer.height
    else:
        y = (height - layer.height) // 2
    return layer, x, y


def _decoded_frames(path: Path) -> Iterator[VideoFrame]:
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            yield from container.decode(stream)
    except (av.FFmpegError, OSError) as error:
        raise EngineError(
            ErrorKind.INVALID_INPUT, f"Could not decode the parent video: {error}"
        ) from error


def _decode_audio(path: Path) -> np.ndarray:
    """The whole soundtrack as float32 (2, n) at 48 kHz (a ≤10 s clip is a few MB)."""
    chunks: list[np.ndarray] = []
    try:
        with av.open(str(path)) as container:
            resampler = av.AudioResampler(format="fltp", layout="stereo", rate=SAMPLE_RATE)
            for frame in container.decode(container.streams.audio[0]):
                chunks.extend(out.to_ndarray() for out in resampler.resample(frame))
            chunks.extend(out.to_ndarray() for out in resampler.resample(None))
    except (av.FFmpegError, OSError) as error:
        raise EngineError(
            ErrorKind.INVALID_INPUT, f"Could not decode the parent's audio: {error}"
        ) from error
    if not chunks:
        return np.zeros((2, 0), dtype=np.float32)
    return np.concatenate(chunks, axis=1).astype(np.float32)


def _edited_audio(source: np.ndarray, timeline: _Timeline, fps: Fraction) -> np.ndarray:
    """The soundtrack following the timeline. A speed change resamples it
    (the pitch moves with the speed); its length always matches the video's."""
    count = round(timeline.frames * SAMPLE_RATE / fps)
    samples_per_frame = SAMPLE_RATE / fps
    first = timeline.start * samples_per_frame
    if timeline.ratio == 1 and float(first).is_integer():
        first = int(first)
        result = np.zeros((2, count), dtype=np.float32)
        piece = source[:, first : first + count]
        result[:, : piece.shape[1]] = piece
        return result[:, ::-1].copy() if timeline.reverse else result
    step = float(timeline.ratio)
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


def _timeline_frames(plan: EditPlan, path: Path, workdir: Path) -> Iterator[VideoFrame]:
    """One source frame per output frame, decoding as it goes. Reversing needs
    the frames in the other order: they are spilled to a raw yuv420p file in
    workdir rather than kept in memory."""
    timeline = plan.timeline
    decoded = _decoded_frames(path)
    try:
        if not timeline.reverse:
            current: VideoFrame | None = None
            current_index = -1
            for output_index in range(timeline.frames):
                wanted = timeline.source_index(output_index)
                while current_index < wanted:
                    following = next(decoded, None)
                    if following is None:
                        break  # a short parent: hold its last frame
                    current, current_index = following, current_index + 1
                if current is None:
                    raise EngineError(ErrorKind.INVALID_INPUT, "The parent video has no frames.")
                yield current
            return

        first, last = timeline.start, timeline.last
        spill_path = workdir / "reverse.npy"
        spill: np.ndarray | None = None
        stored = 0
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
        if spill is None:
            raise EngineError(ErrorKind.INVALID_INPUT, "The parent video has no frames.")
        for output_index in range(timeline.frames):
            position = min(timeline.source_index(output_index) - first, stored - 1)
            yield VideoFrame.from_ndarray(np.asarray(spill[position]), format="yuv420p")
        del spill
        spill_path.unlink(missing_ok=True)
    finally:
        decoded.close()


def _edited_frames(
    plan: EditPlan, parent: Path, workdir: Path
) -> Iterator[Image.Image | VideoFrame]:
    overlays = []
    for overlay, first_frame, end_frame in plan.overlays:
        layer, x, y = _overlay_layer(overlay, plan.width, plan.height)
        overlays.append(_Overlay(layer, (x, y), first_frame, end_frame))
    frames = _timeline_frames(plan, parent, workdir)
    try:
        for index, frame in enumerate(frames):
            showing = [o for o in overlays if o.first_frame <= index < o.end_frame]
            looks = [look for look, first, end in plan.looks if first <= index < end]
            if plan.crop is None and not looks and not showing:
                # Untouched frames go to the encoder as decoded: no RGB round trip.
                yield frame
                continue
            image = frame.to_image()
            if plan.crop is not None:
                image = image.resize((plan.width, plan.height), RESAMPLE, box=plan.crop)
            for look in looks:
                image = apply_look(image, look)
            for overlay in showing:
                image.paste(overlay.layer, overlay.origin, overlay.layer)
            yield image
    finally:
        frames.close()


def _render_edit(
    plan: EditPlan, parent: Path, output: Path, workdir: Path, progress: ProgressCallback
) -> None:
    fps = plan.source.fps
    audio = _edited_audio(_decode_audio(parent), plan.timeline, fps) if plan.keep_audio else None
    total = plan.frame_count
    frames = _read_ahead(_edited_frames(plan, parent, workdir))
    writer = Mp4Writer(output, plan.width, plan.height, fps=fps, audio=audio is not None)
    with contextlib.closing(frames), writer:
        for index, frame in enumerate(frames):
            writer.write_video(frame)
            if audio is not None:
                start, end = _frame_sample_bounds(index, fps)
                writer.write_audio(audio[:, start:end])
            progress((index + 1) / total)


def reframe_video(
    source: Path,
    destination: Path,
    aspect_ratio: str,
    *,
    progress: ProgressCallback | None = None,
) -> None:
    """Centre-crop a finished MP4 to ``aspect_ratio``, keeping its short side,
    frame count, frame rate and sound: what the studio does to a video from an
    engine that cannot make that aspect ratio. Raises EngineError
    INVALID_INPUT when the source cannot be read."""
    if aspect_ratio not in ASPECT_RATIOS:
        raise EngineError(ErrorKind.INVALID_INPUT, f"Unknown aspect ratio {aspect_ratio!r}.")
    plan = plan_edit([Reframe(aspect_ratio)], probe_video(source))
    if plan.crop is None:
        shutil.copyfile(source, destination)
        return
    workdir = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
    try:
        output = workdir / "reframed.mp4"
        _render_edit(plan, Path(source), output, workdir, progress or (lambda fraction: None))
        shutil.move(output, destination)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# --------------------------------------------------------------------------
# The engine


def _file_sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _media_fingerprint(media: InputMedia) -> dict[str, str]:
    try:
        digest = _file_sha256(media.path)
    except OSError:
        digest = "unreadable"
    return {
        "key": media.key,
        "kind": media.kind,
        "path": str(media.path),
        "mime_type": media.mime_type,
        "sha256": digest,
    }


def interaction_id_for(request: GenerationRequest) -> str:
    """The interaction id: "local-" and the start of a hash of the request,
    including its files' contents, so the same request names the same id."""
    canonical = {
        "engine": "local",
        "model": MODEL,
        "requested_model": request.model,
        "task": str(request.task),
        "prompt": request.prompt,
        "aspect_ratio": request.aspect_ratio,
        "resolution": request.resolution,
        "duration_seconds": request.duration_seconds,
        "images": [_media_fingerprint(media) for media in request.images],
        "videos": [_media_fingerprint(media) for media in request.videos],
        "parent_video": (
            _media_fingerprint(request.parent_video) if request.parent_video else None
        ),
        "previous_interaction_id": request.previous_interaction_id,
    }
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "local-" + hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class _Job:
    route: str
    note: str
    render: Callable[[Path, Path, ProgressCallback], None]  # (output, workdir, progress)


class LocalEngine:
    """Offline engine: title cards, camera moves on stills, and real edits."""

    name = "local"

    def capabilities(self) -> Capabilities:
        return Capabilities(
            name=self.name,
            label="Local (offline)",
            tasks=frozenset({Task.TEXT_TO_VIDEO, Task.IMAGE_TO_VIDEO, Task.EDIT}),
            aspect_ratios=ASPECT_RATIOS,
            resolutions=("480p", "720p", "1080p"),
            min_duration=MIN_DURATION,
            max_duration=MAX_DURATION,
            max_images=1,
            max_videos=0,
            max_prompt_chars=4000,
            reports_percent=True,
            # Rendering here costs nothing, so a crash mid-submission is
            # simply submitted again.
            paid=False,
        )

    def submit(self, request: GenerationRequest) -> Submission:
        job = self._prepare(request)
        return Submission(
            interaction_id=interaction_id_for(request), model=MODEL, route=job.route, note=job.note
        )

    def poll(
        self,
        interaction_id: str,
        request: GenerationRequest,
        *,
        progress: ProgressCallback,
    ) -> PollResult:
        job = self._prepare(request)
        workdir = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
        output = workdir / "output.mp4"
        try:
            job.render(output, workdir, progress)
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        return PollResult(state=PollState.COMPLETED, fraction=1.0, output=VideoOutput(path=output))

    def fetch_output(self, output: VideoOutput, destination: Path) -> None:
        if output.path is None:
            raise EngineError(ErrorKind.INVALID_INPUT, "The local engine's output has no file.")
        destination = Path(destination)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(output.path, destination)
        workdir = Path(output.path).parent
        if workdir.name.startswith(TEMP_PREFIX):
            shutil.rmtree(workdir, ignore_errors=True)

    def cancel(self, interaction_id: str) -> None:
        """Nothing runs between polls; a render stops when progress raises."""

    def check_instruction(self, prompt: str) -> None:
        """Refuse an edit instruction the parser cannot read (see ``parse_edit``)."""
        parse_edit(prompt)

    # ----------------------------------------------------------------------

    def _prepare(self, request: GenerationRequest) -> _Job:
        """Validate cheaply (no decoding) and describe how to render."""
        capabilities = self.capabilities()
        if request.task not in capabilities.tasks:
            raise EngineError(
                ErrorKind.INVALID_INPUT, f"The local engine cannot do {request.task}."
            )
        if len(request.prompt) > capabilities.max_prompt_chars:
            raise EngineError(
                ErrorKind.INVALID_INPUT,
                f"The prompt is longer than {capabilities.max_prompt_chars} characters.",
            )
        if request.task is Task.EDIT:
            return self._prepare_edit(request)
        if request.videos:
            raise EngineError(ErrorKind.INVALID_INPUT, "The local engine takes no input videos.")

        if request.aspect_ratio not in capabilities.aspect_ratios:
            raise EngineError(
                ErrorKind.INVALID_INPUT, f"Unsupported aspect ratio {request.aspect_ratio!r}."
            )
        if request.resolution not in capabilities.resolutions:
            raise EngineError(
                ErrorKind.INVALID_INPUT, f"Unsupported resolution {request.resolution!r}."
            )
        if request.duration_seconds not in capabilities.durations:
            raise EngineError(
                ErrorKind.INVALID_INPUT,
                f"Duration must be {MIN_DURATION} to {MAX_DURATION} seconds.",
            )
        width, height = frame_size(request.aspect_ratio, request.resolution)
        frame_count = request.duration_seconds * FPS

        if request.task is Task.TEXT_TO_VIDEO:
            if not request.prompt.strip():
                raise EngineError(ErrorKind.INVALID_INPUT, "The prompt is empty.")

            def render_title(output: Path, workdir: Path, progress: ProgressCallback) -> None:
                scene = TitleCardScene(request.prompt, width, height, frame_count)
                _encode_scene(scene, output, progress)

            return _Job(
                route="rendered locally",
                note=f'Offline title card: "{title_subject(request.prompt)}".',
                render=render_title,
            )

        if not request.images:
            raise EngineError(ErrorKind.INVALID_INPUT, "Image to video needs an image.")
        if len(request.images) > capabilities.max_images:
            raise EngineError(ErrorKind.INVALID_INPUT, "The local engine animates one image.")
        media = request.images[0]
        try:
            with Image.open(media.path):
                pass  # opening reads and checks the header, without decoding
        except (OSError, ValueError, Image.DecompressionBombError) as error:
            raise EngineError(
                ErrorKind.INVALID_INPUT, f"Could not read the image {media.path.name}: {error}"
            ) from error
        move = parse_camera_move(request.prompt)

        def render_still(output: Path, workdir: Path, progress: ProgressCallback) -> None:
            still = _load_still(media)
            scene = StillScene(still, move, width, height, frame_count, _seed(request.prompt))
            _encode_scene(scene, output, progress)

        return _Job(
            route="rendered locally", note=f"Camera move: {move.value}.", render=render_still
        )

    def _prepare_edit(self, request: GenerationRequest) -> _Job:
        parent = request.parent_video
        if parent is None:
            raise EngineError(ErrorKind.INVALID_INPUT, "An edit needs the parent video.")
        operations = parse_edit(request.prompt)
        if not Path(parent.path).is_file():
            raise EngineError(
                ErrorKind.INVALID_INPUT, f"The parent video {parent.path.name} is missing."
            )
        plan = plan_edit(operations, probe_video(parent.path))

        def render_edit(output: Path, workdir: Path, progress: ProgressCallback) -> None:
            _render_edit(plan, parent.path, output, workdir, progress)

        return _Job(route="edited parent file locally", note=plan.describe(), render=render_edit)
