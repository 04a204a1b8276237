"""The API's replays: the edits of a chain of versions made again, one after
another, on another base (a new branch), and how far one has got."""

from datetime import datetime
from typing import Annotated, Literal

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from projects.api.common import CREATE_ERRORS, READ_ERRORS, ProjectId, RowId, project_of
from projects.api.errors import ApiError
from projects.api.schemas import MAX_NUMBER, StrictSchema
from projects.models import Replay, Version
from projects.services import replays
from projects.services.errors import StudioError

router = Router(tags=["replays"])


class ReplayCreateIn(StrictSchema):
    chain: list[Annotated[int, Field(ge=1, le=MAX_NUMBER)]] = Field(
        min_length=1,
        max_length=replays.MAX_REPLAY_STEPS,
        description="The edits to make again, by version number, oldest first: each an edit "
        "of the one before (e.g. [3, 4, 6]), each once.",
        json_schema_extra={"uniqueItems": True},
    )
    base: int = Field(ge=1, le=MAX_NUMBER, description="The ready version to replay them onto.")
    engine: str | None = Field(
        default=None,
        max_length=32,
        description="The engine for every step (one of /engines); by default each step's own.",
    )


class ReplayStepOut(Schema):
    source: int = Field(description="The number of the version whose edit this step makes.")
    instruction: str
    version: int | None = Field(description="The number of the step's new version, once made.")


class ReplayOut(Schema):
    id: int
    project: int
    base: int = Field(description="The number of the version replayed onto.")
    status: Literal["running", "done", "stopped"]
    steps: list[ReplayStepOut]
    stopped_reason: str = Field(description="Which step stopped the replay, and why.")
    created_at: datetime
    finished_at: datetime | None


def replay_out(replay: Replay) -> dict:
    made = [step["version"] for step in replay.steps if step.get("version")]
    numbers = dict(Version.objects.filter(pk__in=made).values_list("pk", "number"))
    return {
        "id": replay.pk,
        "project": replay.project_id,
        "base": replay.base.number,
        "status": replay.status,
        "steps": [
            {
                "source": step["number"],
                "instruction": step["instruction"],
                "version": numbers.get(step.get("version")),
            }
            for step in replay.steps
        ],
        "stopped_reason": replay.stopped_reason,
        "created_at": replay.created_at,
        "finished_at": replay.finished_at,
    }


@router.post("/projects/{project_id}/replays", response={201: ReplayOut, **CREATE_ERRORS})
def replay_create(request: HttpRequest, payload: ReplayCreateIn, project_id: int = ProjectId):
    """Replay a chain of edits onto another version. The first step is queued
    at once (or the replay is refused and nothing is made); each next step is
    made when the one before it is ready, continuing its interaction; a step
    that fails stops the rest, and `stopped_reason` says which. Editors and
    owners."""
    project, membership = project_of(request, project_id)
    replay = replays.replay_start(
        project=project,
        membership=membership,
        chain=payload.chain,
        base=payload.base,
        engine=payload.engine,
    )
    return Status(201, replay_out(replay))


@router.get("/projects/{project_id}/replays", response={200: list[ReplayOut], **READ_ERRORS})
def replay_list(request: HttpRequest, project_id: int = ProjectId):
    """The project's latest replays, newest first."""
    project, _ = project_of(request, project_id)
    return [replay_out(replay) for replay in replays.replays_of(project, limit=50)]


@router.get("/projects/{project_id}/replays/{replay_id}", response={200: ReplayOut, **READ_ERRORS})
def replay_get(request: HttpRequest, project_id: int = ProjectId, replay_id: int = RowId):
    """A replay: its steps, the versions made so far, and its state."""
    project, _ = project_of(request, project_id)
    try:
        replay = replays.replay_for_user(project=project, replay_id=replay_id)
    except StudioError as error:
        raise ApiError(404, "not_found", error.message) from error
    return replay_out(replay)
