"""The API's versions: list, generate or edit, extend, follow, cancel,
retry, and download the video and its poster."""

from django.http import Http404, HttpRequest, HttpResponse
from ninja import Query, Router

from projects.api import presenters
from projects.api.common import (
    CREATE_ERRORS,
    READ_ERRORS,
    WRITE_ERRORS,
    IdempotencyKey,
    Limit,
    Offset,
    ProjectId,
    StatusFilter,
    VersionNumber,
    dump,
    project_of,
    refuse,
    request_user,
    respond,
    version_of,
)
from projects.api.errors import ApiError, invalid
from projects.api.idempotency import Created, check_generation_limit, create_once
from projects.api.schemas import (
    EDIT_ONLY_FIELDS,
    GENERATION_ONLY_FIELDS,
    KEPT_BY_EDITS,
    DecisionIn,
    ErrorOut,
    ExtendIn,
    StatusName,
    VersionCreateIn,
    VersionOut,
    VersionPage,
)
from projects.media import version_file_response
from projects.models import Asset, Project, Version
from projects.services import access, composer, decisions, extend, versions
from projects.services.composer import VersionArguments
from projects.services.errors import StudioError

router = Router(tags=["versions"])


@router.get(
    "/projects/{project_id}/versions", response={200: VersionPage, **READ_ERRORS}, tags=["versions"]
)
def version_list(
    request: HttpRequest,
    project_id: int = ProjectId,
    status: list[StatusName] | None = StatusFilter,
    limit: int = Limit,
    offset: int = Offset,
):
    """A project's versions by number, with their progress."""
    project, _ = project_of(request, project_id)
    versions = project.versions.select_related("author").order_by("number")
    if status:
        versions = versions.filter(status__in=status)
    return {
        "count": versions.count(),
        "limit": limit,
        "offset": offset,
        "items": presenters.versions_out(list(versions[offset : offset + limit])),
    }


def _assets(project: Project, ids: list[int]) -> list[Asset]:
    found = {a.pk: a for a in Asset.objects.filter(project=project, pk__in=ids)}
    for asset_id in ids:
        if asset_id not in found:
            raise ApiError(
                422,
                "validation_error",
                f"There is no asset {asset_id} in this project.",
                field="assets",
            )
    return [found[asset_id] for asset_id in dict.fromkeys(ids)]


def _generation_arguments(project: Project, payload: VersionCreateIn) -> VersionArguments:
    """A generation's arguments, defaulting as the web form does."""
    for name in EDIT_ONLY_FIELDS:
        if getattr(payload, name) not in (None, []):
            raise refuse(name, f"`{name}` is for edits: give the `parent` version to edit.")
    return composer.generation_arguments(
        project=project,
        engine=payload.engine,
        kind=payload.kind,
        prompt=payload.prompt or "",
        prompt_fields=payload.prompt_fields.model_dump() if payload.prompt_fields else {},
        aspect_ratio=payload.aspect_ratio,
        resolution=payload.resolution,
        duration_seconds=payload.duration_seconds,
        fps=payload.fps,
        assets=_assets(project, payload.assets),
    )


def _edit_arguments(project: Project, user, payload: VersionCreateIn) -> VersionArguments:
    """An edit's arguments, as the web's edit form makes them."""
    try:
        parent, _ = access.version_for_user(user=user, project_id=project.pk, number=payload.parent)
    except Http404 as error:
        raise refuse("parent", f"There is no version {payload.parent} in this project.") from error
    refusals = {
        "kind": "A version with a `parent` is an edit.",
        "prompt": "An edit is described by `instruction` (and `preserve`).",
        "prompt_fields": "An edit is described by `instruction` (and `preserve`).",
        "assets": "An edit works on its parent's video; it takes no assets.",
    }
    for name in GENERATION_ONLY_FIELDS:
        if getattr(payload, name) not in (None, []):
            raise refuse(name, refusals[name])
    arguments = composer.edit_arguments(
        parent=parent,
        instruction=payload.instruction or "",
        keep_rest_same=True if payload.keep_rest_same is None else payload.keep_rest_same,
        preserve=payload.preserve or "",
        engine=payload.engine,
        addresses=payload.addresses,
        section_start=payload.section_start,
        fps=payload.fps,
        region=payload.region.model_dump(exclude_none=True) if payload.region else None,
    )
    for name in KEPT_BY_EDITS:
        value = getattr(payload, name)
        if value is not None and value != arguments[name]:
            raise refuse(
                name,
                f"An edit keeps its parent's {name.replace('_', ' ')} as far as the engine "
                f"can make it (here {arguments[name]}); say what to change in the "
                "instruction (for example “Reframe to 9:16”).",
            )
    return arguments


@router.post(
    "/projects/{project_id}/versions",
    response={201: VersionOut, 429: ErrorOut, **CREATE_ERRORS},
)
def version_create(
    request: HttpRequest,
    response: HttpResponse,
    payload: VersionCreateIn,
    project_id: int = ProjectId,
    idempotency_key: str | None = IdempotencyKey,
):
    """Generate a version (from a prompt or structured fields, and optionally
    uploaded assets), or edit one (`parent` and `instruction`). The version is
    queued and rendered in the background: follow it with GET or the events
    stream. Owners and editors only."""
    user = request_user(request)
    project, membership = access.project_for_user(user=user, project_id=project_id)
    access.require_role(membership, generate=True)

    def create() -> Created:
        if payload.parent is not None:
            arguments = _edit_arguments(project, user, payload)
        else:
            arguments = _generation_arguments(project, payload)
        try:
            version = versions.version_create(
                project=project, membership=membership, author=user, **arguments
            )
        except StudioError as error:
            raise invalid(error, image="assets", references="assets") from error
        body = dump(VersionOut, presenters.version_detail(version))
        return Created(201, body, version.pk)

    return _created_once(request, response, user=user, key=idempotency_key, create=create)


def _created_once(request, response, *, user, key: str | None, create) -> object:
    """A new version made at most once per idempotency key, answered 201
    with where it lives."""
    created = create_once(
        request, user=user, key=key, create=create, before=lambda: check_generation_limit(user)
    )
    project, number = created.body["project"], created.body["number"]
    return respond(
        response, created, f"{presenters.api_root()}projects/{project}/versions/{number}"
    )


@router.get(
    "/projects/{project_id}/versions/{number}",
    response={200: VersionOut, **READ_ERRORS},
)
def version_get(request: HttpRequest, project_id: int = ProjectId, number: int = VersionNumber):
    """A version, with its status, phase, percent and estimated time left."""
    version, _ = version_of(request, project_id, number)
    return presenters.version_detail(version)


def _version_action(request: HttpRequest, project_id: int, number: int, action) -> dict:
    version, membership = version_of(request, project_id, number)
    try:
        action(version=version, membership=membership)
    except StudioError as error:
        raise ApiError(409, "conflict", error.message) from error
    return presenters.version_detail(version)


@router.post(
    "/projects/{project_id}/versions/{number}/cancel",
    response={200: VersionOut, 409: ErrorOut, **WRITE_ERRORS},
)
def version_cancel(request: HttpRequest, project_id: int = ProjectId, number: int = VersionNumber):
    """Cancel a queued or running generation (or one that needs a decision)."""
    return _version_action(request, project_id, number, decisions.version_cancel)


@router.post(
    "/projects/{project_id}/versions/{number}/retry",
    response={200: VersionOut, 409: ErrorOut, 429: ErrorOut, **WRITE_ERRORS},
)
def version_retry(
    request: HttpRequest,
    project_id: int = ProjectId,
    number: int = VersionNumber,
    confirm_same_prompt: bool = Query(
        False,
        description="Retry a blocked version unchanged: the same prompt is charged again and "
        "most likely blocked again. Without it, a blocked version's retry answers 409.",
    ),
):
    """Try a failed, blocked or cancelled version again, as a new attempt."""
    version, membership = version_of(request, project_id, number)
    access.require_role(membership, generate=True)
    if version.can_retry:
        check_generation_limit(request_user(request))

    def retry(*, version: Version, membership) -> None:
        decisions.version_retry(
            version=version, membership=membership, same_prompt_confirmed=confirm_same_prompt
        )

    return _version_action(request, project_id, number, retry)


@router.post(
    "/projects/{project_id}/versions/{number}/rerun",
    response={201: VersionOut, 409: ErrorOut, 429: ErrorOut, **WRITE_ERRORS},
)
def version_rerun(
    request: HttpRequest,
    response: HttpResponse,
    project_id: int = ProjectId,
    number: int = VersionNumber,
    idempotency_key: str | None = IdempotencyKey,
):
    """Another take of a version: a new version beside it (same parent, prompt,
    settings, engine and inputs) with a new seed. Owners and editors only."""
    source, membership = version_of(request, project_id, number)
    user = request_user(request)
    access.require_role(membership, generate=True)

    def create() -> Created:
        try:
            version = versions.version_rerun(source=source, membership=membership, author=user)
        except StudioError as error:
            raise ApiError(409, "conflict", error.message) from error
        return Created(201, dump(VersionOut, presenters.version_detail(version)), version.pk)

    return _created_once(request, response, user=user, key=idempotency_key, create=create)


@router.post(
    "/projects/{project_id}/versions/{number}/extend",
    response={201: VersionOut, 409: ErrorOut, 429: ErrorOut, **CREATE_ERRORS},
)
def version_extend(
    request: HttpRequest,
    response: HttpResponse,
    payload: ExtendIn,
    project_id: int = ProjectId,
    number: int = VersionNumber,
    idempotency_key: str | None = IdempotencyKey,
):
    """Extend a ready version by `seconds`: a new child version whose video is
    this one followed by that many seconds carried on from its last frame
    (on Gemini, an image-to-video request from that frame). Only the seconds
    added are estimated, held against the budgets and billed. Owners and
    editors only; a version not ready is a 409."""
    parent, membership = version_of(request, project_id, number)
    user = request_user(request)
    access.require_role(membership, generate=True)

    def create() -> Created:
        try:
            version = extend.version_extend(
                version=parent,
                membership=membership,
                seconds=payload.seconds,
                instruction=payload.instruction or "",
                engine=payload.engine,
            )
        except StudioError as error:
            if error.field is None:
                raise ApiError(409, "conflict", error.message) from error
            raise invalid(error, prompt="instruction") from error
        return Created(201, dump(VersionOut, presenters.version_detail(version)), version.pk)

    return _created_once(request, response, user=user, key=idempotency_key, create=create)


@router.post(
    "/projects/{project_id}/versions/{number}/decision",
    response={200: VersionOut, 409: ErrorOut, **WRITE_ERRORS},
)
def version_decide(
    request: HttpRequest,
    payload: DecisionIn,
    project_id: int = ProjectId,
    number: int = VersionNumber,
):
    """Decide on a version that needs a decision (status `reconcile`): the studio
    stopped while the paid call was being answered, so it may or may not have
    been charged. `resubmit` sends it again (possibly paying twice); `cancel`
    stops it."""

    def decide(*, version: Version, membership) -> None:
        decisions.version_reconcile(
            version=version, membership=membership, resubmit=payload.decision == "resubmit"
        )

    return _version_action(request, project_id, number, decide)


def _media(request: HttpRequest, project_id: int, number: int, what: str, download: bool):
    version, _ = version_of(request, project_id, number)
    field = version.video if what == "video" else version.poster
    if version.status != Version.Status.READY or not field:
        raise Http404(
            f"v{version.number} has no {what} yet: it is {version.get_status_display().lower()}."
        )
    return version_file_response(request, version, what=what, as_attachment=download)


def binary_responses(media_type: str) -> dict:
    content = {media_type: {"schema": {"type": "string", "format": "binary"}}}
    return {
        "responses": {
            "200": {"description": "The file.", "content": content},
            "206": {
                "description": "The requested byte range (`Range: bytes=...`).",
                "content": content,
            },
            "416": {"description": "The range is outside the file."},
        }
    }


@router.get(
    "/projects/{project_id}/versions/{number}/video",
    response=READ_ERRORS,
    openapi_extra=binary_responses("video/mp4"),
)
def version_video(
    request: HttpRequest,
    project_id: int = ProjectId,
    number: int = VersionNumber,
    download: bool = Query(False, description="Send as an attachment."),
):
    """The version's MP4 (H.264 + AAC), with HTTP Range support."""
    return _media(request, project_id, number, "video", download)


@router.get(
    "/projects/{project_id}/versions/{number}/poster",
    response=READ_ERRORS,
    openapi_extra=binary_responses("image/jpeg"),
)
def version_poster(request: HttpRequest, project_id: int = ProjectId, number: int = VersionNumber):
    """A JPEG still from the version's video."""
    return _media(request, project_id, number, "poster", False)
