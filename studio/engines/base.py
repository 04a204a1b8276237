"""The Engine protocol: the seam between the studio and whatever makes video.

An engine turns a GenerationRequest into an interaction it can be polled for.
The studio never calls an engine from a request: tasks do, through
``projects.services``. Engines raise EngineError with one of a small set of
kinds that a person can act on; anything else is a bug.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

# Frames per second: what a new video gets unless another rate is asked for,
# and the rates the studio offers (the ones Gemini Omni Flash makes).
FPS = 24
FRAME_RATES = (12, 24, 30)

ASPECT_RATIOS = ("16:9", "9:16", "1:1")

# Frame size per resolution, for the landscape orientation. H.264 with 4:2:0
# chroma needs even dimensions, which all of these are.
RESOLUTION_HEIGHTS = {"480p": 480, "720p": 720, "1080p": 1080}


def frame_size(aspect_ratio: str, resolution: str) -> tuple[int, int]:
    """Width and height in pixels for an aspect ratio at a resolution."""
    return aspect_size(aspect_ratio, RESOLUTION_HEIGHTS[resolution])


def aspect_size(aspect_ratio: str, short: int) -> tuple[int, int]:
    """Width and height in pixels for an aspect ratio with ``short`` pixels
    on its short side; the long side is rounded down to an even number."""
    long = (short * 16 // 9) // 2 * 2
    if aspect_ratio == "16:9":
        return long, short
    if aspect_ratio == "9:16":
        return short, long
    if aspect_ratio == "1:1":
        return short, short
    raise ValueError(f"Unknown aspect ratio {aspect_ratio!r}")


class Task(enum.StrEnum):
    TEXT_TO_VIDEO = "text_to_video"
    IMAGE_TO_VIDEO = "image_to_video"
    REFERENCE_TO_VIDEO = "reference_to_video"
    EDIT = "edit"
    # Continue a video from its last frame: ``images[0]`` is that frame (a
    # PNG) and ``parent_video`` the video it ends. The engine makes
    # ``duration_seconds`` of continuation starting on that frame; the studio
    # joins the two (``video.stitch_continuation``).
    EXTEND = "extend"


class ErrorKind(enum.StrEnum):
    """What went wrong, in terms a person can act on."""

    RATE_LIMITED = "rate_limited"
    SAFETY_BLOCKED = "safety_blocked"
    REGION_POLICY = "region_policy"
    NOT_UNDERSTOOD = "not_understood"
    INVALID_INPUT = "invalid_input"
    INPUT_EXPIRED = "input_expired"
    UNAVAILABLE = "unavailable"
    TIMED_OUT = "timed_out"
    BUDGET_EXCEEDED = "budget_exceeded"
    CANCELLED = "cancelled"

    @property
    def is_block(self) -> bool:
        """A refusal of the request itself: retrying it unchanged won't help."""
        return self in {self.SAFETY_BLOCKED, self.REGION_POLICY, self.NOT_UNDERSTOOD}

    @property
    def is_transient(self) -> bool:
        """Worth retrying automatically, after a pause."""
        return self in {self.RATE_LIMITED, self.UNAVAILABLE, self.TIMED_OUT}


class EngineError(Exception):
    def __init__(self, kind: ErrorKind, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retry_after = retry_after


class SubmissionUncertain(Exception):
    """The paid call may or may not have been accepted (a timeout, a dropped
    connection). Submitting again could pay twice, so the caller must not."""


@dataclass(frozen=True)
class Capabilities:
    name: str
    label: str
    tasks: frozenset[Task]
    aspect_ratios: tuple[str, ...]
    resolutions: tuple[str, ...]
    min_duration: int
    max_duration: int
    max_images: int
    max_videos: int
    max_prompt_chars: int
    # Whether poll() reports a percentage; when False progress is a phase and
    # an estimate from past durations.
    reports_percent: bool
    # Aspect ratios the engine makes by generating another and reframing.
    reframed_aspect_ratios: frozenset[str] = frozenset()
    # Whether submit() costs money. A free, deterministic engine may be
    # resubmitted after a crash; a paid one goes to reconcile instead.
    paid: bool = True
    # Frame rates a new video can be made at.
    frame_rates: tuple[int, ...] = (FPS,)
    # Whether an edit can keep its parent's rate when it is none of those
    # (an uploaded 25 fps clip); otherwise it is made at the nearest.
    edits_keep_any_frame_rate: bool = False
    # Whether an edit's region (a box drawn on the frame) is applied as its
    # coordinates; otherwise the studio sends the frame with the box drawn on
    # it as an image, and the instruction says where in words.
    edits_in_region: bool = False
    # Whether poll() works on the request's files (an engine that renders
    # while polled) or from the interaction alone, so polls need no copies.
    polls_with_files: bool = True

    @property
    def durations(self) -> range:
        return range(self.min_duration, self.max_duration + 1)


@dataclass(frozen=True)
class InputMedia:
    """A file the request refers to, readable on local disk."""

    key: str
    kind: str  # "image" or "video"
    path: Path
    mime_type: str
    # Handle at the engine (for example a Files API uri) and when it expires.
    remote_uri: str = ""
    remote_expires_at: datetime | None = None


@dataclass(frozen=True)
class RemoteFile:
    key: str
    uri: str
    expires_at: datetime | None


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class GenerationRequest:
    task: Task
    prompt: str
    aspect_ratio: str
    resolution: str
    duration_seconds: int
    model: str = ""
    # Frames per second of the output. An edit keeps its parent's rate unless
    # the request asks for another.
    fps: int = FPS
    images: tuple[InputMedia, ...] = ()
    videos: tuple[InputMedia, ...] = ()
    # For edits: the parent's stored interaction and its MP4, so an engine
    # can continue the interaction or, when it cannot, work on the file.
    previous_interaction_id: str = ""
    parent_video: InputMedia | None = None
    # Where the engine's randomness starts, for a variation or a re-run that
    # must differ from its siblings; None: the engine's own choice.
    seed: int | None = None
    # For an edit: where in the picture it applies, as x, y, width and height
    # from 0 to 1 of the frame (a box a reviewer drew); None: everywhere.
    region: tuple[float, float, float, float] | None = None
    # The studio's hooks into submit(). An engine calls keep_alive() during
    # long free steps (uploads, waiting for them to be processed) so its
    # claim on the work holds, and paid_call_starting() immediately before
    # the one request that is charged; either may raise to stop the work
    # (the claim was lost), and then nothing more may be sent.
    keep_alive: Callable[[], None] = field(default=_nothing, compare=False, repr=False)
    paid_call_starting: Callable[[], None] = field(default=_nothing, compare=False, repr=False)


@dataclass(frozen=True)
class VideoOutput:
    """Where a finished video is: inline bytes, a remote uri or a local file."""

    data: bytes | None = None
    uri: str = ""
    path: Path | None = None
    mime_type: str = "video/mp4"


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0


@dataclass(frozen=True)
class Submission:
    interaction_id: str
    model: str = ""
    # Some APIs only name the output's uri in the create response.
    output: VideoOutput | None = None
    uploads: tuple[RemoteFile, ...] = ()
    # How the request was carried out, e.g. "continued interaction" or
    # "uploaded parent video"; shown on the version.
    route: str = ""
    # A note for the user about what was done on their behalf (e.g. reframing).
    note: str = ""


class PollState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"


@dataclass(frozen=True)
class PollResult:
    state: PollState
    # 0.0 to 1.0 when the engine knows it, else None.
    fraction: float | None = None
    output: VideoOutput | None = None
    usage: Usage | None = None


# Called with the fraction done (0.0 to 1.0). It raises to stop the work,
# for instance when the version was cancelled or its lease was lost.
ProgressCallback = Callable[[float], None]


@runtime_checkable
class Engine(Protocol):
    name: str

    def capabilities(self) -> Capabilities: ...

    def submit(self, request: GenerationRequest) -> Submission:
        """Start a generation: free preparation (uploads), then the paid call,
        right after ``request.paid_call_starting()``. Raises EngineError, or
        SubmissionUncertain when it cannot tell whether the call was taken."""

    def poll(
        self,
        interaction_id: str,
        request: GenerationRequest,
        *,
        progress: ProgressCallback,
    ) -> PollResult:
        """Where the interaction is. Raises EngineError when it failed."""

    def fetch_output(self, output: VideoOutput, destination: Path) -> None:
        """Write the finished MP4 to destination."""

    def cancel(self, interaction_id: str) -> None: ...

    def check_instruction(self, prompt: str) -> None:
        """Raise EngineError (NOT_UNDERSTOOD or INVALID_INPUT) when the engine
        could not carry out this edit instruction; cheap, and before paying."""
