"""Colour looks: what each is called and how a frame gets it."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image, ImageEnhance

# Each look, as a note on the version describes it.
COLOR_LOOKS = {
    "grayscale": "black and white",
    "warmer": "warmer",
    "cooler": "cooler",
    "brighter": "brighter",
    "darker": "darker",
    "night": "night",
    "neon": "neon grade",
}


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
    """An RGB image with one of COLOR_LOOKS applied."""
    if look == "grayscale":
        return image.convert("L").convert("RGB")
    if look == "night":
        gray = image.convert("L").convert("RGB")
        return Image.blend(image, gray, 0.6).point(_LUTS["night"])
    if look == "neon":
        return ImageEnhance.Color(image).enhance(1.6).point(_LUTS["neon"])
    return image.point(_LUTS[look])
