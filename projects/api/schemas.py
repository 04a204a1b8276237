"""What the API reads and writes, as Pydantic schemas (the OpenAPI schema is
generated from these)."""

from datetime import datetime
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from ninja import Schema
from pydantic import AfterValidator, ConfigDict, Field

from projects.models import MAX_ID, Membership, Review, Version
from projects.services import annotations as drawing
from projects.services.catalog import TITLE_MAX_CHARS
from projects.services.prompts import PROMPT_FIELD_MAX_CHARS, PROMPT_FIELDS
from projects.services.review import COMMENT_MAX_CHARS, REVIEW_NOTE_MAX_CHARS
from studio.engines.base import ASPECT_RATIOS, FRAME_RATES, RESOLUTION_HEIGHTS

# Bounds the databases can hold (PostgreSQL's integer and bigint), so an
# absurd number is a 422 rather than an overflow.
MAX_NUMBER = 2**31 - 1
# The longest address mail is sent to (RFC 5321), as Django's EmailField allows.
EMAIL_MAX_CHARS = 254


def _storable(value: str) -> str:
    """Text a database can store: no NUL (PostgreSQL refuses it) and no lone
    surrogates (not UTF-8)."""
    if "\x00" in value:
        raise ValueError("Text may not contain NUL characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError("Text must be valid Unicode.") from error
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("This field may not be blank.")
    return value


# What `_storable` and `_not_blank` accept, as JSON Schema patterns, so the
# OpenAPI document says it (tests/projects/test_api_schema.py checks they agree).
STORABLE_PATTERN = r"^[^\x00]*$"
NOT_BLANK_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"


def text(max_length: int | None = None, *, required: bool = False, **kwargs):
    """A string the database can store, at most max_length characters; with
    required, not blank either."""
    validators = [AfterValidator(_storable)]
    if required:
        validators.append(AfterValidator(_not_blank))
    pattern = NOT_BLANK_PATTERN if required else STORABLE_PATTERN
    # The pattern is documentation only: the validators above give the messages.
    extra = {"pattern": pattern}
    return Annotated[
        str, Field(max_length=max_length, json_schema_extra=extra, **kwargs), *validators
    ]


def _email(value: str) -> str:
    # The check the invitation form's EmailField makes.
    try:
        validate_email(value)
    except DjangoValidationError as error:
        raise ValueError("Enter a valid email address.") from error
    return value


EmailAddress = Annotated[
    str,
    Field(max_length=EMAIL_MAX_CHARS, json_schema_extra={"format": "email"}),
    AfterValidator(_email),
]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Number = Annotated[int, Field(ge=1, le=MAX_NUMBER)]
Seconds = Annotated[float, Field(ge=0, le=3600, allow_inf_nan=False)]

StatusName = Literal[tuple(Version.Status.values)]  # type: ignore[valid-type]
KindName = Literal[tuple(Version.Kind.values)]  # type: ignore[valid-type]
GenerationKind = Literal["text_to_video", "image_to_video", "reference_to_video"]
RoleName = Literal[tuple(Membership.Role.values)]  # type: ignore[valid-type]
AspectRatio = Literal[ASPECT_RATIOS]  # type: ignore[valid-type]
Resolution = Literal[tuple(RESOLUTION_HEIGHTS)]  # type: ignore[valid-type]
FrameRate = Literal[FRAME_RATES]  # type: ignore[valid-type]
DecisionName = Literal[tuple(Review.Decision.values)]  # type: ignore[valid-type]


class StrictSchema(Schema):
    """Input: an unknown field is an error naming it, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


# Errors.


class ErrorDetail(Schema):
    code: str = Field(description="Stable, for programs: validation_error, not_found, ...")
    message: str = Field(description="For people.")
    field: str | None = Field(description="The request field at fault, if any.")


class ErrorOut(Schema):
    error: ErrorDetail


# Workspaces and engines.


class WorkspaceOut(Schema):
    id: int
    name: str
    region: str
    role: RoleName


class EngineOut(Schema):
    name: str
    label: str
    default: bool
    tasks: list[str]
    aspect_ratios: list[str]
    resolutions: list[str]
    frame_rates: list[int]
    min_duration: int
    max_duration: int
    max_images: int
    max_videos: int
    max_prompt_chars: int
    reports_percent: bool
    paid: bool


# Projects.


class ProjectCreateIn(StrictSchema):
    title: text(TITLE_MAX_CHARS, min_length=1, required=True)  # type: ignore[valid-type]
    workspace: Id | None = Field(None, description="Defaults to your first workspace (by name).")


class ProjectRenameIn(StrictSchema):
    title: text(TITLE_MAX_CHARS, min_length=1, required=True)  # type: ignore[valid-type]


class WorkspaceRef(Schema):
    id: int
    name: str


class ProjectOut(Schema):
    id: int
    title: str
    workspace: WorkspaceRef
    role: RoleName = Field(description="Your role in the project's workspace.")
    default_engine: str
    default_aspect_ratio: str
    version_count: int
    picked_version: int | None = Field(description="The owner's pick, by version number.")
    seq: int = Field(description="The project's latest event number.")
    created_at: datetime
    updated_at: datetime
    web_url: str


class ProjectPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[ProjectOut]


# Assets.


class AssetOut(Schema):
    id: int
    kind: Literal["image", "video"]
    original_name: str
    mime_type: str
    size_bytes: int
    width: int
    height: int
    duration_seconds: float | None
    sha256: str
    version: int | None = Field(
        description="For an uploaded clip: the root version it became, by number."
    )
    created_at: datetime


# Versions.


class PromptFields(StrictSchema):
    """The composer's structured fields; the prompt is written from them when
    no prompt is given."""

    subject: text(PROMPT_FIELD_MAX_CHARS) = ""  # type: ignore[valid-type]
    action: text(PROMPT_FIELD_MAX_CHARS) = ""  # type: ignore[valid-type]
    camera: text(PROMPT_FIELD_MAX_CHARS) = ""  # type: ignore[valid-type]
    scene: text(PROMPT_FIELD_MAX_CHARS) = ""  # type: ignore[valid-type]
    lighting: text(PROMPT_FIELD_MAX_CHARS) = ""  # type: ignore[valid-type]
    style: text(PROMPT_FIELD_MAX_CHARS) = ""  # type: ignore[valid-type]
    preserve: text(PROMPT_FIELD_MAX_CHARS) = ""  # type: ignore[valid-type]
    exclude: text(PROMPT_FIELD_MAX_CHARS) = ""  # type: ignore[valid-type]


assert set(PromptFields.model_fields) == set(PROMPT_FIELDS)


class RegionIn(StrictSchema):
    x: Annotated[float, Field(ge=0, le=1)]
    y: Annotated[float, Field(ge=0, le=1)]
    w: Annotated[float, Field(gt=0, le=1)]
    h: Annotated[float, Field(gt=0, le=1)]
    at: Seconds | None = Field(None, description="The seconds into the parent it was drawn at.")


# Which of VersionCreateIn's fields a generation takes and which an edit
# takes (the API refuses the others by these lists; the schema's two forms of
# the body are made from them).
GENERATION_ONLY_FIELDS = ("kind", "prompt", "prompt_fields", "assets")
EDIT_ONLY_FIELDS = ("instruction", "keep_rest_same", "preserve", "addresses", "region")
# An edit keeps its parent's (as far as its engine makes it).
KEPT_BY_EDITS = ("aspect_ratio", "resolution", "duration_seconds")


class VersionCreateIn(StrictSchema):
    """A generation, or an edit when `parent` is given."""

    parent: Number | None = Field(
        None, description="Edit this version (by number); the new version is its child."
    )
    kind: GenerationKind | None = Field(
        None,
        description="For a generation. Inferred when left out: from the assets given "
        "(none: text_to_video, one still: image_to_video, else reference_to_video).",
    )
    prompt: text(100_000) | None = Field(  # type: ignore[valid-type]
        None, description="For a generation; written from prompt_fields when left out."
    )
    prompt_fields: PromptFields | None = None
    instruction: text(100_000) | None = Field(  # type: ignore[valid-type]
        None, description="For an edit: what to change."
    )
    keep_rest_same: bool | None = Field(
        None,
        description="For an edit (default true): append “Keep everything else the same.” "
        "and the preserve list.",
    )
    preserve: text(PROMPT_FIELD_MAX_CHARS) | None = Field(  # type: ignore[valid-type]
        None, description="For an edit: what must not change."
    )
    addresses: list[Id] = Field(
        default_factory=list,
        max_length=100,
        description="For an edit: ids of open comments on the parent it sets out to address.",
    )
    section_start: float | None = Field(
        None,
        ge=0,
        description="For an edit of a clip longer than the engine makes: where (in seconds) "
        "the edited section starts (default 0); the rest of the clip is kept as it is.",
    )
    assets: list[Id] = Field(
        default_factory=list,
        max_length=20,
        description="For a generation: ids of this project's uploaded stills or clips.",
    )
    region: RegionIn | None = Field(
        None,
        description="For an edit: where in the picture it applies, e.g. the box a reviewer "
        "drew. The local engine applies looks, blur and text inside it (and crops to it); "
        "Gemini is sent the parent's frame at `at` with the box drawn on it.",
    )
    aspect_ratio: AspectRatio | None = None
    resolution: Resolution | None = None
    duration_seconds: Annotated[int, Field(ge=1, le=60)] | None = None
    fps: FrameRate | None = Field(
        None,
        description="Frames per second (default 24). An edit keeps its parent's rate "
        "unless given one.",
    )
    engine: text(32) | None = Field(None, description="Defaults to the project's engine.")  # type: ignore[valid-type]


class ExtendIn(StrictSchema):
    """Extend a version: the seconds to add, carried on from its last frame."""

    seconds: Annotated[int, Field(ge=1, le=60)] = Field(
        description="Seconds to add: what the engine makes at a time (3 to 10 on both "
        "engines); the whole may last at most 60 s. Estimated and billed for these."
    )
    instruction: text(100_000) | None = Field(  # type: ignore[valid-type]
        None, description="What happens next, e.g. “the kite drifts out of frame”."
    )
    engine: text(32) | None = Field(  # type: ignore[valid-type]
        None, description="Defaults to the version's engine when it extends, else the studio's."
    )


class VersionError(Schema):
    kind: str
    message: str


class VersionOut(Schema):
    project: int
    number: int
    parent: int | None = Field(description="The parent version's number.")
    kind: KindName
    status: StatusName
    phase: str = Field(description="What the progress bar says: Generating, Retrying at …")
    percent: int | None = Field(description="When the engine reports one.")
    eta_seconds: int | None = Field(description="Estimated seconds left, when known.")
    finished: bool
    error: VersionError | None
    prompt: str
    instruction: str
    prompt_fields: dict[str, str]
    keep_rest_same: bool
    aspect_ratio: str
    resolution: str
    duration_seconds: int
    fps: float = Field(
        description="Frames per second: asked for, or measured in the video once it is made "
        "(an uploaded clip's may be 29.97)."
    )
    engine: str
    model: str
    route: str
    engine_note: str
    assets: list[int]
    author: str | None
    attempt: int
    width: int | None
    height: int | None
    video_duration: float | None
    video_bytes: int | None
    has_audio: bool
    section_start: float | None = Field(
        None,
        description="For an edit made a section at a time: where the edited section "
        "starts in its parent; it lasts duration_seconds and the rest was kept.",
    )
    region: dict[str, float] | None = Field(
        None, description="For an edit: where in the picture it applied (x, y, w, h, at)."
    )
    extend_seconds: int | None = Field(
        None,
        description="For an extension: the seconds made after its parent's last frame (what "
        "was estimated and billed); duration_seconds is the parent and these stitched.",
    )
    seed: int | None = Field(
        None,
        description="The seed the engine was given (variations and re-runs each have "
        "their own); null: the engine's own choice.",
    )
    cost_estimate: str
    cost: str | None
    can_cancel: bool
    can_retry: bool
    seq: int = Field(description="The project's event number at this version's last change.")
    created_at: datetime
    submitted_at: datetime | None
    finished_at: datetime | None
    video_url: str | None
    poster_url: str | None
    web_url: str


class VersionPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[VersionOut]


# Events (server-sent).


class OpenEvent(Schema):
    project: int
    seq: int


class VersionEvent(Schema):
    project: int
    version: int
    kind: str = Field(description="What changed: created, state, progress, comments, ...")
    status: StatusName
    phase: str
    percent: int | None
    eta_seconds: int | None
    finished: bool
    error: VersionError | None
    seq: int
    video_url: str | None
    sent_at: float | None = Field(
        None, description="When the server sent the event, in seconds since the epoch."
    )


# Review.


Unit = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
BoxSide = Annotated[float, Field(ge=drawing.MIN_BOX_SIDE, le=1, allow_inf_nan=False)]
Color = Literal[tuple(drawing.COLORS)]  # type: ignore[valid-type]


class PinShape(StrictSchema):
    kind: Literal["pin"]
    color: Color = "red"
    x: Unit
    y: Unit


class BoxShape(StrictSchema):
    kind: Literal["box"]
    color: Color = "red"
    x: Unit
    y: Unit
    w: BoxSide = Field(description="Width; x + w stays within the picture.")
    h: BoxSide = Field(description="Height; y + h stays within the picture.")


class StrokeShape(StrictSchema):
    kind: Literal["stroke"]
    color: Color = "red"
    points: list[tuple[Unit, Unit]] = Field(
        min_length=2, max_length=drawing.MAX_STROKE_POINTS, description="[x, y] pairs."
    )


Shape = Annotated[PinShape | BoxShape | StrokeShape, Field(discriminator="kind")]


def drawing_field(*, at: str, placed: str = "") -> Any:
    """A comment's ``annotation``: the shapes and the limits the services
    check them by, wherever a comment is taken."""
    return Field(
        default_factory=list,
        max_length=drawing.MAX_SHAPES,
        description=f"A drawing on the frame at {at} (which it needs): pins, boxes and strokes "
        "in coordinates from 0 to 1 of the picture's width and height, at most "
        f"{drawing.MAX_POINTS} points in all.{placed}",
    )


class CommentCreateIn(StrictSchema):
    body: text(COMMENT_MAX_CHARS, min_length=1, required=True)  # type: ignore[valid-type]
    start_seconds: Seconds | None = Field(None, description="Where in the video, in seconds.")
    end_seconds: Seconds | None = Field(None, description="The end of a time range.")
    parent: Id | None = Field(None, description="Reply to this comment (by id).")
    annotation: list[Shape] = drawing_field(at="start_seconds")


class CommentOut(Schema):
    id: int
    version: int
    parent: int | None
    author: str | None = Field(description="A guest's name is marked “(guest)”.")
    guest: bool = Field(description="Written through a guest review link.")
    body: str
    start_seconds: float | None
    end_seconds: float | None
    start_frame: int | None = Field(
        description="The frame shown at start_seconds, at the video's frame rate (0 first)."
    )
    end_frame: int | None
    timecode: str = Field(description="As an edit prompt writes it: [2s] or [0-3s].")
    annotation: list[Shape] = Field(description="The drawing on the frame, if any.")
    resolved: bool
    resolved_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ReviewCreateIn(StrictSchema):
    decision: DecisionName
    note: text(REVIEW_NOTE_MAX_CHARS) = ""  # type: ignore[valid-type]


class DecisionIn(StrictSchema):
    """What to do with a version that may or may not have been charged."""

    decision: Literal["resubmit", "cancel"]


class ReviewOut(Schema):
    id: int
    version: int
    reviewer: str | None
    guest: bool = Field(description="Decided through a guest review link.")
    decision: DecisionName
    note: str
    created_at: datetime


class MemberOut(Schema):
    id: int = Field(description="The membership's id.")
    username: str
    email: str
    role: RoleName
    joined_at: datetime


class RoleIn(StrictSchema):
    role: RoleName


class InvitationIn(StrictSchema):
    role: RoleName = "editor"
    email: EmailAddress | None = Field(None, description="Also mail the link to this address.")


class InvitationOut(Schema):
    id: int
    role: RoleName
    created_at: datetime
    expires_at: datetime
    link: str | None = Field(
        None, description="The single-use link: given once, when the invitation is made."
    )


class CommentEditIn(StrictSchema):
    body: text(COMMENT_MAX_CHARS, min_length=1, required=True)  # type: ignore[valid-type]


class CommentResolveIn(StrictSchema):
    resolved: bool = True


class PickIn(StrictSchema):
    version: Number | None = Field(description="The version to pick; null clears the pick.")


class PickOut(Schema):
    version: int | None = Field(description="The picked version's number, or null.")
