"""Clips for engine tests, written with PyAV directly (independent of the
engines), and ways to compare decoded frames."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw

from studio.engines.base import FPS

PARENT_SIZE = (852, 480)
PARENT_FRAMES = 3 * FPS

# Mean absolute difference (0-255) below which two decoded frames are the
# same picture after a lossy re-encode, and above which they clearly differ.
SAME = 3.0
DIFFERENT = 12.0


def decode_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [
            frame.to_ndarray(format="rgb24").astype(np.int16) for frame in container.decode(video=0)
        ]


def audio_seconds(path: Path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        return sum(frame.samples for frame in container.decode(stream)) / stream.sample_rate


def mad(first: np.ndarray, second: np.ndarray) -> float:
    return float(np.abs(first - second).mean())


def write_clip(
    path: Path,
    images: Iterable[Image.Image],
    *,
    codec: str,
    rate: int,
    options: dict[str, str] | None = None,
    pixel_format: str = "yuv420p",
    sample_rate: int = 0,
    layout: str = "stereo",
) -> Path:
    """A clip of images at rate frames a second, and a 440 Hz tone when
    sample_rate is set. Written with PyAV directly, independent of the
    engines."""
    images = iter(images)
    first = next(images)
    with av.open(str(path), "w") as container:
        video = container.add_stream(codec, rate=rate, options=options or {})
        video.width, video.height = first.size
        video.pix_fmt = pixel_format
        sound = None
        if sample_rate:
            sound = container.add_stream("aac", rate=sample_rate)
            sound.layout = layout
        per_frame = sample_rate // rate
        for index, image in enumerate(itertools.chain([first], images)):
            frame = av.VideoFrame.from_image(image)
            frame.pts = index
            frame.time_base = Fraction(1, rate)
            for packet in video.encode(frame):
                container.mux(packet)
            if sound is not None:
                start = index * per_frame
                seconds = np.arange(start, start + per_frame) / sample_rate
                tone = (0.2 * np.sin(2 * np.pi * 440 * seconds)).astype(np.float32)
                channels = np.stack([tone] * sound.codec_context.layout.nb_channels)
                chunk = av.AudioFrame.from_ndarray(channels, format="fltp", layout=layout)
                chunk.sample_rate = sample_rate
                chunk.pts = start
                chunk.time_base = Fraction(1, sample_rate)
                for packet in sound.encode(chunk):
                    container.mux(packet)
        for packet in video.encode(None):
            container.mux(packet)
        if sound is not None:
            for packet in sound.encode(None):
                container.mux(packet)
    return path


def _parent_frames() -> Iterator[Image.Image]:
    width, height = PARENT_SIZE
    for index in range(PARENT_FRAMES):
        level = round(index * 255 / (PARENT_FRAMES - 1))
        image = Image.new("RGB", (width, height), (level, 60, 255 - level))
        draw = ImageDraw.Draw(image)
        for bar, colour in enumerate([(255, 220, 0), (0, 200, 80), (0, 180, 255)]):
            draw.rectangle((bar * 90, height - 80, bar * 90 + 80, height), fill=colour)
        left = 20 + index * 10
        draw.rectangle((left, 150, left + 120, 270), fill=(255, 255, 255))
        yield image


def write_parent(path: Path, *, audio: bool = True) -> Path:
    """A 3 s 16:9 clip that changes a lot from frame to frame: a background
    that shifts from blue to red, a moving white square, colour bars, and a
    440 Hz tone."""
    return write_clip(
        path,
        _parent_frames(),
        codec="libx264",
        rate=FPS,
        options={"crf": "18"},
        sample_rate=48_000 if audio else 0,
    )


def write_still(path: Path) -> Path:
    """A 1920x1080 gradient with a red square in the middle."""
    ramp = np.linspace(30, 200, 1920, dtype=np.float64)
    pixels = np.zeros((1080, 1920, 3), dtype=np.uint8)
    pixels[..., 1] = ramp[None, :].astype(np.uint8)
    pixels[..., 2] = 120
    image = Image.fromarray(pixels, "RGB")
    ImageDraw.Draw(image).rectangle((860, 440, 1060, 640), fill=(255, 0, 0))
    image.save(path)
    return path


def red_mask(frame: np.ndarray) -> np.ndarray:
    red, green, blue = frame[..., 0], frame[..., 1], frame[..., 2]
    return (red > 180) & (green < 90) & (blue < 90)
