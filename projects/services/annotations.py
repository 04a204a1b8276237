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

from PIL import Image, ImageDraw

from projects.services.errors import StudioError
from studio.engines.video import cover_box

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


# Reframed pictures: a drawing on a picture made from another one.


def annotation_uncropped(
    shapes: list[Shape], *, shown: tuple[int, int], source: tuple[int, int]
) -> list[Shape]:
    """A drawing (in its normal form) on a picture of size ``shown`` made by
    scaling a ``source``-sized picture to fill it and centre-cropping it (as
    a sequence's render shows its clips), in the source picture's own
    coordinates: each point lands where the same thing is in the source.

    The crop shows only part of the source, so nothing drawn falls outside
    it; a coordinate a rounding hair past an edge is clipped to it. Checked
    again there: a box the crop's scale makes too small is refused, saying
    so."""
    left, top, right, bottom = cover_box(source, shown)
    width, height = source

    def x(u: float) -> float:
        return _inside((left + u * (right - left)) / width)

    def y(v: float) -> float:
        return _inside((top + v * (bottom - top)) / height)

    mapped = []
    for shape in shapes:
        if shape["kind"] == "stroke":
            mapped.append({**shape, "points": [[x(u), y(v)] for u, v in shape["points"]]})
            continue
        moved = {**shape, "x": x(shape["x"]), "y": y(shape["y"])}
        if shape["kind"] == "box":
            moved["w"] = x(shape["x"] + shape["w"]) - moved["x"]
            moved["h"] = y(shape["y"] + shape["h"]) - moved["y"]
        mapped.append(moved)
    try:
        return annotation_checked(mapped)
    except StudioError as error:
        raise _refused(
            f"{error.message.rstrip('.')} on the clip's own picture (the render shows it cropped)."
        ) from error


def _inside(value: float) -> float:
    return min(max(value, 0.0), 1.0)


# Regions: where an edit made from a drawn-on comment applies.

# A pin marks a spot: the region around it is this far each way.
PIN_REACH = 0.06
# A region smaller than this a side is widened to it.
MIN_REGION_SIDE = 0.04


def annotation_region(shapes: list[Shape], *, at: float | None = None) -> dict | None:
    """The box around what a drawing marks (its boxes, pins and strokes),
    as an edit's region: x, y, w, h from 0 to 1, and the time it was drawn
    at; None for no drawing."""
    if not shapes:
        return None
    left, top, right, bottom = 1.0, 1.0, 0.0, 0.0
    for shape in shapes:
        if shape["kind"] == "box":
            xs = [shape["x"], shape["x"] + shape["w"]]
            ys = [shape["y"], shape["y"] + shape["h"]]
        elif shape["kind"] == "pin":
            xs = [shape["x"] - PIN_REACH, shape["x"] + PIN_REACH]
            ys = [shape["y"] - PIN_REACH, shape["y"] + PIN_REACH]
        else:
            xs = [x for x, _ in shape["points"]]
            ys = [y for _, y in shape["points"]]
        left, right = min(left, *xs), max(right, *xs)
        top, bottom = min(top, *ys), max(bottom, *ys)
    return region_checked(
        {
            "x": max(0.0, left),
            "y": max(0.0, top),
            "w": min(1.0, right) - max(0.0, left),
            "h": min(1.0, bottom) - max(0.0, top),
            **({"at": at} if at is not None else {}),
        }
    )


def region_checked(raw: object) -> dict | None:
    """An edit's region in its normal form, or a refusal saying what is
    wrong with it (field "region")."""
    if raw is None or raw == {}:
        return None
    if not isinstance(raw, dict):
        raise StudioError("A region is a box: x, y, w and h from 0 to 1.", field="region")
    values = {}
    for name in ("x", "y", "w", "h"):
        value = raw.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise StudioError(
                f"The region's {name} is a number from 0 to 1 (of the picture).", field="region"
            )
        values[name] = float(value)
    for side, start in (("w", "x"), ("h", "y")):
        if values[side] < MIN_REGION_SIDE:
            values[start] = max(0.0, min(values[start], 1 - MIN_REGION_SIDE))
            values[side] = MIN_REGION_SIDE
        if values[start] + values[side] > 1.0001:
            raise StudioError("The region goes past the edge of the picture.", field="region")
    region = {name: round(value, 4) for name, value in values.items()}
    at = raw.get("at")
    if at is not None:
        if isinstance(at, bool) or not isinstance(at, int | float) or at < 0:
            raise StudioError("The region's time is seconds into the video.", field="region")
        region["at"] = round(float(at), 3)
    return region


def region_words(region: dict) -> str:
    """Where the region is, as an instruction says it: "inside the marked
    box at the top left"."""
    centre_x = region["x"] + region["w"] / 2
    centre_y = region["y"] + region["h"] / 2
    row = "top" if centre_y < 1 / 3 else "bottom" if centre_y > 2 / 3 else ""
    column = "left" if centre_x < 1 / 3 else "right" if centre_x > 2 / 3 else ""
    place = " ".join(filter(None, [row, column])) or "middle"
    return f"inside the marked box at the {place}"


def region_from_json(text: str) -> dict | None:
    """The region a form posted (JSON text); none when left empty."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        raw = json.loads(text)
    except ValueError as error:
        raise StudioError("The region could not be read.", field="region") from error
    return region_checked(raw)


def annotated_frame(picture: Image.Image, *, region: dict, shapes: list[Shape]) -> Image.Image:
    """The frame as a model is shown it beside the instruction: the
    reviewer's drawing on it, and the region's box."""
    image = picture.convert("RGB")
    draw = ImageDraw.Draw(image)
    width, height = image.size
    line = max(2, min(width, height) // 160)
    # The region first: the reviewer's own drawing shows over it.
    box = (region["x"], region["y"], region["x"] + region["w"], region["y"] + region["h"])
    draw.rectangle(_pixels(box, width, height), outline=DRAWN_COLOURS["red"], width=line)
    for shape in shapes:
        colour = DRAWN_COLOURS[shape["color"]]
        if shape["kind"] == "box":
            box = (shape["x"], shape["y"], shape["x"] + shape["w"], shape["y"] + shape["h"])
            draw.rectangle(_pixels(box, width, height), outline=colour, width=line)
        elif shape["kind"] == "pin":
            x, y = shape["x"] * width, shape["y"] * height
            reach = line * 4
            draw.ellipse((x - reach, y - reach, x + reach, y + reach), outline=colour, width=line)
        else:
            points = [(x * width, y * height) for x, y in shape["points"]]
            draw.line(points, fill=colour, width=line)
    return image


DRAWN_COLOURS = {
    "red": (255, 59, 48),
    "yellow": (255, 214, 10),
    "green": (52, 199, 89),
    "blue": (10, 132, 255),
    "white": (255, 255, 255),
}


def _pixels(box: tuple[float, ...], width: int, height: int) -> tuple[int, int, int, int]:
    left, top, right, bottom = box
    return round(left * width), round(top * height), round(right * width), round(bottom * height)


def _refused(message: str) -> StudioError:
    return StudioError(message, field="annotation")
