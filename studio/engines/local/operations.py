"""The typed edit operations an instruction is read into, each able to say
what it did."""

from __future__ import annotations

from dataclasses import dataclass

from studio.engines.local.looks import COLOR_LOOKS

# The shortest video an edit may leave.
MIN_EDIT_SECONDS = 1.0


def describe_range(start: float, end: float | None) -> str:
    """Seconds start to end in words; negative values count back from the
    end and end None means to the end."""
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
            span = describe_range(self.start, self.end)
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
        return f"kept {describe_range(self.start, self.end)}"


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
        return f"{COLOR_LOOKS[self.look]} {describe_range(self.start, self.end)}"


@dataclass(frozen=True)
class Mute:
    def describe(self) -> str:
        return "removed the audio"


@dataclass(frozen=True)
class Obscure:
    """Blur or pixelate the picture (inside the edit's region, when it has
    one: a logo, a face, a number plate) for a time, as a look holds."""

    style: str  # "blur" or "pixelate"
    start: float = 0.0
    end: float | None = None

    def describe(self) -> str:
        done = "blurred" if self.style == "blur" else "pixelated"
        if self.start == 0 and self.end is None:
            return done
        return f"{done} {describe_range(self.start, self.end)}"


@dataclass(frozen=True)
class CropToRegion:
    """Reframe onto the edit's region: the marked box, widened to the
    video's aspect ratio, fills the frame."""

    def describe(self) -> str:
        return "cropped to the marked box"


EditOperation = (
    Reframe
    | TextOverlay
    | Trim
    | ChangeSpeed
    | Reverse
    | ColorGrade
    | Mute
    | Obscure
    | CropToRegion
)
