"""Drawings on a paused frame, attached to a comment: pins, boxes and
freehand strokes in a few colours, as vectors in coordinates from 0 to 1 of
the picture's width and height (so they fit the video at any size).

What a browser or a program sends is checked and bounded here, and stored
only in the normal form this returns; anything else is refused with a
message saying what is wrong, and nothing is stored.
"""

from __future__ import annotations

import json
from typing import Any

from projects.services.errors import StudioError

COLORS = ("red", "yellow", "green", "blue", "white")
KINDS = ("pin", "box", "stroke")
MAX_SHAPES = 20
MAX_STROKE_POINTS = 400
MAX_POINTS = 2000
# A box narrower or lower than this is a slip of the hand, not a region.
MIN_BOX_SIDE = 0.005

Shape = dict[str, Any]


def annotation_from_json(text: str) -> list[Shape]:
    """The drawing a form posted (JSON text); none when left empty."""
    text = (text or "").strip()
    if not text:
        return []
    if len(text) > 64_000:
        raise _refused("The drawing is too large.")
    try:
        raw = json.loads(text)
    except ValueError as error:
        raise _refused("The drawing could not be read.") from error
    return annotation_checked(raw)


def annotation_checked(raw: object) -> list[Shape]:
    """The drawing in its normal form: a list of shapes, each with a kind, a
    colour and coordinates within the picture, rounded to 4 places."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _refused("A drawing is a list of shapes.")
    if len(raw) > MAX_SHAPES:
        raise _refused(f"A drawing has at most {MAX_SHAPES} shapes; this one has {len(raw)}.")
    shapes = [_shape(item, n) for n, item in enumerate(raw, start=1)]
    points = sum(len(s["points"]) for s in shapes if s["kind"] == "stroke")
    if points > MAX_POINTS:
        raise _refused(f"A drawing has at most {MAX_POINTS} points; this one has {points}.")
    return shapes


def _shape(item: object, n: int) -> Shape:
    if not isinstance(item, dict):
        raise _refused(f"Shape {n} is not a shape.")
    kind = item.get("kind")
    if kind not in KINDS:
        raise _refused(f"Shape {n}: draw a pin, a box or a stroke.")
    color = item.get("color", COLORS[0])
    if color not in COLORS:
        raise _refused(f"Shape {n}: the colours are {', '.join(COLORS)}.")
    if kind == "pin":
        return {"kind": kind, "color": color, "x": _unit(item, "x", n), "y": _unit(item, "y", n)}
    if kind == "box":
        x, y = _unit(item, "x", n), _unit(item, "y", n)
        w, h = _unit(item, "w", n), _unit(item, "h", n)
        if w < MIN_BOX_SIDE or h < MIN_BOX_SIDE:
            raise _refused(f"Shape {n}: the box is too small to mark anything.")
        if x + w > 1.0001 or y + h > 1.0001:
            raise _refused(f"Shape {n}: the box goes past the edge of the picture.")
        return {"kind": kind, "color": color, "x": x, "y": y, "w": w, "h": h}
    points = item.get("points")
    if not isinstance(points, list) or len(points) < 2:
        raise _refused(f"Shape {n}: a stroke has at least two points.")
    if len(points) > MAX_STROKE_POINTS:
        raise _refused(f"Shape {n}: a stroke has at most {MAX_STROKE_POINTS} points.")
    return {
        "kind": kind,
        "color": color,
        "points": [_point(point, n) for point in points],
    }


def _point(point: object, n: int) -> list[float]:
    if not (isinstance(point, list | tuple) and len(point) == 2):
        raise _refused(f"Shape {n}: a point is a pair [x, y].")
    return [_number(point[0], n), _number(point[1], n)]


def _unit(item: dict, name: str, n: int) -> float:
    if name not in item:
        raise _refused(f"Shape {n}: {name} is missing.")
    return _number(item[name], n)


def _number(value: object, n: int) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _refused(f"Shape {n}: coordinates are numbers from 0 to 1.")
    if not 0 <= value <= 1:
        raise _refused(f"Shape {n}: coordinates are from 0 to 1 (of the picture); got {value}.")
    return round(float(value), 4)


def _refused(message: str) -> StudioError:
    return StudioError(message, field="annotation")
