"""New videos: a title card for text to video, a still moved by a camera for
image to video, and the soft chord under both."""

from __future__ import annotations

import colorsys
import enum
import hashlib
import math
import random
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from studio.engines.base import FPS, EngineError, ErrorKind, InputMedia, ProgressCallback
from studio.engines.local.text import fit_text, text_block
from studio.engines.video import RESAMPLE, SAMPLE_RATE, cover_box, write_mp4


class Chord:
    """A soft sustained chord, fading in, slightly detuned between channels.
    Deterministic from a seed; any sample range can be asked for. It ends
    with a ramp just long enough not to click, not a fade: an extension
    carries the sound on from the very end (see ``continuation``)."""

    ROOTS = (130.81, 146.83, 164.81, 174.61, 196.00, 220.00)
    FADE_SECONDS = 0.6
    END_RAMP_SECONDS = 0.02
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
        fade, ramp = self.FADE_SECONDS * SAMPLE_RATE, self.END_RAMP_SECONDS * SAMPLE_RATE
        envelope = np.clip(np.minimum(index / fade, (self.total_samples - index) / ramp), 0, 1)
        swell = 0.85 + 0.15 * np.sin(2 * np.pi * 0.25 * seconds)
        level = self.VOICE_LEVEL * envelope * swell
        return np.stack([left * level, right * level]).astype(np.float32)


class Scene(Protocol):
    width: int
    height: int
    frame_count: int
    fps: int

    def frame(self, index: int) -> Image.Image: ...

    def audio(self, start: int, count: int) -> np.ndarray: ...


def seed_of(text: str, variation: int | None = None) -> int:
    """A number from text, for choices that must be the same every time;
    another variation of the same text gives another number."""
    if variation is not None:
        text = f"{text}\n#{variation}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def ease(fraction: float) -> float:
    """Cosine ease in and out: starts and ends at rest, so moves never jerk."""
    return 0.5 - 0.5 * math.cos(math.pi * min(1.0, max(0.0, fraction)))


def encode_scene(scene: Scene, path: Path, progress: ProgressCallback) -> None:
    """Write a scene at its frame rate, its audio under each frame."""
    write_mp4(
        path,
        (scene.frame(index) for index in range(scene.frame_count)),
        width=scene.width,
        height=scene.height,
        fps=Fraction(scene.fps),
        frame_count=scene.frame_count,
        sound=scene.audio,
        progress=progress,
    )


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
    hue = (seed_of(prompt) % 360) / 360

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

    def __init__(
        self,
        prompt: str,
        width: int,
        height: int,
        frame_count: int,
        variation: int | None = None,
        *,
        fps: int = FPS,
    ):
        self.width = width
        self.height = height
        self.frame_count = frame_count
        self.fps = fps
        # The palette follows the words; where shapes drift and the chord
        # follow the variation too.
        seed = seed_of(prompt, variation)
        self.palette = palette_for(prompt)
        self.subject = title_subject(prompt)
        self._chord = Chord(seed, frame_count * SAMPLE_RATE // fps)
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
        font, lines = fit_text(
            self.subject,
            max_width=width * 0.84,
            start_size=max(12, round(short * 0.13)),
            min_size=max(10, round(short * 0.04)),
            max_lines=3,
        )
        block = text_block(lines, font, backing=False, shadow=True)
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
        seconds = index / self.fps
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
        scale = 1 + self.TEXT_GROWTH * ease(index / max(1, self.frame_count - 1))
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


def parse_camera_move(
    prompt: str, variation: int | None = None, *, latest: bool = False
) -> CameraMove:
    """The first camera move the prompt names (the last, when ``latest``:
    what a continuation was told last); else a gentle push in, or for a
    variation a move of its own."""
    lower = prompt.lower()
    found = [
        (match.start(), move)
        for move, pattern in _CAMERA_PATTERNS
        if (match := re.search(pattern, lower))
    ]
    if found:
        return (max if latest else min)(found)[1]
    if variation is None:
        return CameraMove.PUSH_IN
    moving = [move for move in CameraMove if move is not CameraMove.STATIC]
    return moving[seed_of(prompt, variation) % len(moving)]


def load_still(media: InputMedia) -> Image.Image:
    """The input image upright and in RGB; INVALID_INPUT when unreadable."""
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
        *,
        fps: int = FPS,
    ):
        self.width = width
        self.height = height
        self.frame_count = frame_count
        self.fps = fps
        self.move = move
        self._chord = Chord(seed, frame_count * SAMPLE_RATE // fps)
        box = cover_box(still.size, (width, height))
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
        progress = ease(index / max(1, self.frame_count - 1))
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
