"""The API's sequences: versions cut at in and out points and joined in
order (cuts or crossfades) into one MP4; their renders (r1, r2, ...), each
with the clips it was made from, its video, comments at its time and its
provenance."""

from datetime import datetime
from typing import Literal

from django.http import Http404, HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from projects.api import presenters
from projects.api.common import (
    CREATE_ERRORS,
    READ_ERRORS,
    WRITE_ERRORS,
    ProjectId,
    RowId,
    VersionNumber,
    project_of,
    request_user,
)
from projects.api.schemas import (
    AspectRatio,
    CommentOut,
    ErrorOut,
    Number,
    Seconds,
    Shape,
    StrictSchema,
    drawing_field,
    text,
)
from projects.api.versions import binary_responses
from projects.media import render_file_response
from projects.models import Sequence, SequenceRender
from projects.models.sequences import CROSSFADE_MAX_SECONDS
from projects.services import sequence_review, sequences
from projects.services.sequences import ClipSpec

router = Router(tags=["sequences"])

SequenceId = RowId
RenderNumber = VersionNumber


class ClipIn(StrictSchema):
    version: Number = Field(description="The version's number (ready, in this project).")
    in_seconds: Seconds | None = Field(default=None, description="From its start when left out.")
    out_seconds: Seconds | None = Field(default=None, description="To its end when left out.")
    transition: Literal["cut", "crossfade"] = Field(
        default="cut", description="Into the next clip (the last clip's is not used)."
    )
    transition_seconds: float = Field(
        default=0,
        ge=0,
        le=CROSSFADE_MAX_SECONDS,
        allow_inf_nan=False,
        description="A crossfade's length, 0.1 to 2 s; 0 for a cut.",
    )


class ClipsIn(StrictSchema):
    clips: list[ClipIn] = Field(
        max_length=sequences.MAX_CLIPS, description="The clips in the order they play."
    )


class SequenceCreateIn(StrictSchema):
    title: text(200, required=True)  # type: ignore[valid-type]
    aspect_ratio: AspectRatio = "16:9"
    resolution: Literal["480p", "720p", "1080p"] = "720p"
    fps: Literal[12, 24, 30] = 24
    clips: list[ClipIn] | None = Field(
        default=None,
        max_length=sequences.MAX_CLIPS,
        description="The clips in order; or leave out and set `from_picks`, or start empty.",
    )
    from_picks: bool = Field(
        default=False, description="Start with each branch's pick or latest ready version."
    )


class ClipOut(Schema):
    position: int = Field(description="From 1, in the order the clips play.")
    version: int
    in_seconds: float
    out_seconds: float
    transition: Literal["cut", "crossfade"]
    transition_seconds: float


class RenderClipOut(ClipOut):
    starts_at: float = Field(description="Seconds into the render where the clip starts.")


class RenderOut(Schema):
    sequence: int
    number: int = Field(description="r1, r2, ...: each render of the sequence.")
    status: Literal["queued", "rendering", "ready", "failed"]
    progress: float | None
    error_message: str
    aspect_ratio: AspectRatio
    width: int
    height: int
    fps: int
    duration_seconds: float | None
    clips: list[RenderClipOut] = Field(description="The clips it was made from.")
    video_url: str | None
    created_at: datetime
    finished_at: datetime | None


class SequenceOut(Schema):
    id: int
    project: int
    title: str
    aspect_ratio: AspectRatio
    resolution: str
    fps: int
    clips: list[ClipOut]
    renders: int = Field(description="How many renders were made.")
    created_at: datetime
    updated_at: datetime


class RenderCommentIn(StrictSchema):
    body: text(2000, required=True)  # type: ignore[valid-type]
    seconds: Seconds = Field(description="The time in the render the comment is at.")
    annotation: list[Shape] = drawing_field(
        at="seconds",
        placed=" Drawn on the render's picture; stored on the comment of the version playing "
        "then, moved into that version's own picture (the render scales each clip to fill its "
        "frame and centre-crops it), so the answer's `annotation` is in the version's "
        "coordinates.",
    )


def _specs(clips: list[ClipIn]) -> list[ClipSpec]:
    return [
        ClipSpec(
            version=clip.version,
            in_seconds=clip.in_seconds,
            out_seconds=clip.out_seconds,
            transition=clip.transition,
            transition_seconds=clip.transition_seconds,
        )
        for clip in clips
    ]


def sequence_out(sequence: Sequence) -> dict:
    return {
        "id": sequence.pk,
        "project": sequence.project_id,
        "title": sequence.title,
        "aspect_ratio": sequence.aspect_ratio,
        "resolution": sequence.resolution,
        "fps": sequence.fps,
        "clips": [
            {
                "position": clip.position + 1,
                "version": clip.version.number,
                "in_seconds": clip.in_seconds,
                "out_seconds": clip.out_seconds,
                "transition": clip.transition,
                "transition_seconds": clip.transition_seconds,
            }
            for clip in sequences.clips_of(sequence)
        ],
        "renders": sequence.last_render_number,
        "created_at": sequence.created_at,
        "updated_at": sequence.updated_at,
    }


def render_out(render: SequenceRender) -> dict:
    sequence = render.sequence
    video = (
        f"{presenters.api_root()}projects/{sequence.project_id}/sequences/{sequence.pk}"
        f"/renders/{render.number}/video"
    )
    return {
        "sequence": sequence.pk,
        "number": render.number,
        "status": render.status,
        "progress": render.progress,
        "error_message": render.error_message,
        "aspect_ratio": render.aspect_ratio,
        "width": render.width,
        "height": render.height,
        "fps": render.fps,
        "duration_seconds": render.duration_seconds,
        "clips": [
            {
                "position": position,
                "version": clip["number"],
                "in_seconds": clip["in"],
                "out_seconds": clip["out"],
                "transition": clip["transition"],
                "transition_seconds": clip["transition_seconds"],
                "starts_at": round(clip["starts_at"], 3),
            }
            for position, clip in enumerate(render.clips, start=1)
        ],
        "video_url": video if render.is_ready else None,
        "created_at": render.created_at,
        "finished_at": render.finished_at,
    }


def _sequence_of(request: HttpRequest, project_id: int, sequence_id: int):
    return sequences.sequence_for_user(
        user=request_user(request), project_id=project_id, sequence_id=sequence_id
    )


def _render_of(request: HttpRequest, project_id: int, sequence_id: int, number: int):
    return sequences.render_for_user(
        user=request_user(request), project_id=project_id, sequence_id=sequence_id, number=number
    )


@router.post("/projects/{project_id}/sequences", response={201: SequenceOut, **CREATE_ERRORS})
def sequence_create(request: HttpRequest, payload: SequenceCreateIn, project_id: int = ProjectId):
    """A new sequence: of the clips given, of each branch's pick or latest
    ready version (`from_picks`), or empty. Owners and editors."""
    project, membership = project_of(request, project_id)
    sequence = sequences.sequence_create(
        project=project,
        membership=membership,
        title=payload.title,
        aspect_ratio=payload.aspect_ratio,
        resolution=payload.resolution,
        fps=payload.fps,
        clips=_specs(payload.clips or []),
        from_picks=payload.from_picks,
    )
    return Status(201, sequence_out(sequence))


@router.get(
    "/projects/{project_id}/sequences/{sequence_id}", response={200: SequenceOut, **READ_ERRORS}
)
def sequence_get(request: HttpRequest, project_id: int = ProjectId, sequence_id: int = SequenceId):
    """A sequence and its clips in order."""
    sequence, _ = _sequence_of(request, project_id, sequence_id)
    return sequence_out(sequence)


@router.put(
    "/projects/{project_id}/sequences/{sequence_id}/clips",
    response={200: SequenceOut, **WRITE_ERRORS},
)
def sequence_clips_replace(
    request: HttpRequest,
    payload: ClipsIn,
    project_id: int = ProjectId,
    sequence_id: int = SequenceId,
):
    """Replace the sequence's clips (all are checked first: a refusal changes
    nothing). Owners and editors."""
    sequence, membership = _sequence_of(request, project_id, sequence_id)
    sequences.sequence_set_clips(
        sequence=sequence, membership=membership, clips=_specs(payload.clips)
    )
    return sequence_out(sequence)


@router.post(
    "/projects/{project_id}/sequences/{sequence_id}/renders",
    response={201: RenderOut, **WRITE_ERRORS},
)
def sequence_render(
    request: HttpRequest, project_id: int = ProjectId, sequence_id: int = SequenceId
):
    """Render the sequence as it is now: a new render (r1, r2, ...), queued;
    earlier renders stay. Follow it with GET. Owners and editors."""
    sequence, membership = _sequence_of(request, project_id, sequence_id)
    render = sequences.sequence_render(sequence=sequence, membership=membership)
    return Status(201, render_out(render))


@router.get(
    "/projects/{project_id}/sequences/{sequence_id}/renders/{number}",
    response={200: RenderOut, **READ_ERRORS},
)
def sequence_render_get(
    request: HttpRequest,
    project_id: int = ProjectId,
    sequence_id: int = SequenceId,
    number: int = RenderNumber,
):
    """A render: its state and progress, and the clips it was made from."""
    render, _ = _render_of(request, project_id, sequence_id, number)
    return render_out(render)


@router.get(
    "/projects/{project_id}/sequences/{sequence_id}/renders/{number}/video",
    response=READ_ERRORS,
    openapi_extra=binary_responses("video/mp4"),
)
def sequence_render_video(
    request: HttpRequest,
    project_id: int = ProjectId,
    sequence_id: int = SequenceId,
    number: int = RenderNumber,
    download: bool = Query(False, description="Send as an attachment."),
):
    """The render's MP4 (H.264 + AAC), with HTTP Range support; members only."""
    render, _ = _render_of(request, project_id, sequence_id, number)
    if not render.is_ready or not render.video:
        state = render.get_status_display().lower()
        raise Http404(f"{render.label} has no video yet: it is {state}.")
    return render_file_response(request, render, as_attachment=download)


@router.post(
    "/projects/{project_id}/sequences/{sequence_id}/renders/{number}/comments",
    response={201: CommentOut, 400: ErrorOut, **WRITE_ERRORS},
)
def sequence_render_comment(
    request: HttpRequest,
    payload: RenderCommentIn,
    project_id: int = ProjectId,
    sequence_id: int = SequenceId,
    number: int = RenderNumber,
):
    """Comment at a time of a ready render, perhaps with a drawing on its
    frame: stored on the version playing then, at its own time (the drawing
    in that version's own picture), noting the sequence, render and time.
    Everyone but viewers."""
    render, membership = _render_of(request, project_id, sequence_id, number)
    comment = sequence_review.render_comment_create(
        render=render,
        membership=membership,
        body=payload.body,
        seconds=payload.seconds,
        annotation=[shape.model_dump() for shape in payload.annotation],
    )
    return Status(201, presenters.comment_out(comment, version_number=comment.version.number))


@router.get(
    "/projects/{project_id}/sequences/{sequence_id}/renders/{number}/provenance",
    response={200: dict, **READ_ERRORS},
)
def sequence_render_provenance(
    request: HttpRequest,
    project_id: int = ProjectId,
    sequence_id: int = SequenceId,
    number: int = RenderNumber,
):
    """The render's clips in order, each with its version's lineage (as a
    version's provenance export)."""
    render, _ = _render_of(request, project_id, sequence_id, number)
    return sequence_review.render_provenance(render)
