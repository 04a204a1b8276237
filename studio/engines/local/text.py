"""Text on video: fonts, wrapping, and the blocks of white outlined type that
title cards, on-screen text and subtitles are drawn with."""

from __future__ import annotations

import math
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from studio.engines.local.operations import TextOverlay


def _load_font(size: int) -> ImageFont.FreeTypeFont:
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


def fit_text(
    text: str, *, max_width: float, start_size: int, min_size: int, max_lines: int
) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    """The largest font size (stepping down from start_size) at which the text
    wraps into max_lines lines, each no wider than max_width."""
    size = start_size
    while True:
        font = _load_font(size)
        words_fit = all(font.getlength(word) <= max_width for word in text.split())
        lines = _wrap(text, font, max_width)
        if (words_fit and len(lines) <= max_lines) or size <= min_size:
            return font, lines
        size = max(min_size, int(size * 0.9))


def text_block(
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


def overlay_layer(overlay: TextOverlay, width: int, height: int) -> tuple[Image.Image, int, int]:
    """The overlay's text as an RGBA layer, and where it goes on the frame."""
    short = min(width, height)
    font, lines = fit_text(
        overlay.text,
        max_width=width * 0.86,
        start_size=max(12, round(short * (0.06 if overlay.subtitle else 0.1))),
        min_size=max(10, round(short * 0.03)),
        max_lines=2 if overlay.subtitle else 3,
    )
    layer = text_block(lines, font, backing=True, shadow=False)
    margin = round(height * 0.07)
    x = (width - layer.width) // 2
    if overlay.position == "top":
        y = margin
    elif overlay.position == "bottom":
        y = height - margin - layer.height
    else:
        y = (height - layer.height) // 2
    return layer, x, y
