"""The API's operations. Each one scopes its lookups with the services'
helpers (404 outside the caller's workspaces) and calls the same service
functions as the web views; nothing here decides what the studio allows."""

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from ninja import File, Form, Header, Path, Query, Router, Status, UploadedFile

from projects import services
from projects.api import presenters
from projects.api.errors import ApiError, invalid
from projects.api.idempotency import HEADER, Created, check_generation_limit, create_once
from projects.api.schemas import (
    MAX_ID,
    MAX_NUMBER,
    AssetOut,
    CommentCreateIn,
    CommentOut,
    EngineOut,
    ErrorOut,
    Id,
    ProjectCreateIn,
    ProjectOut,
    ProjectPage,
    ProjectRenameIn,
    ReviewCreateIn,
    ReviewOut,
    StatusName,
    VersionCreateIn,
    VersionOut,
    VersionPage,
    WorkspaceOut,
)
from projects.forms import EditForm, GenerateForm
from projects.media import MediaError, ranged_file_response, sniff_video_container
from projects.models import Asset, Comment, Membership, Project, Version
from projects.services import StudioError
from studio.engines import engine_names, get_engine

router = Router()

IdempotencyKey = Header(
    None,
    alias=HEADER,
    description="Send the same key again to retry safely: the same request gets the same "
    "response and creates nothing twice; the key with a different request is a 422.",
    pattern=r"^[\x21-\x7e]{1,200}$",
)
Limit = Query(50, ge=1, le=200, description="Items per page.")
Offset = Query(0, ge=0, le=10**9, description="Items to skip.")
WorkspaceFilter = Query(None, description="Only this workspace's projects.")
StatusFilter = Query(
    None, description="Only versions in these states (repeat the parameter for several)."
)
ProjectId = Path(..., ge=1, le=MAX_ID)
VersionNumber = Path(..., ge=1, le=MAX_NUMBER)

E401 = {401: ErrorOut}
READ_ERRORS = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
CREATE_ERRORS = {400: ErrorOut, **WRITE_ERRORS}


def _user(request: HttpRequest) -> AbstractBaseUser:
    return request.auth


def _dump(schema, data: dict) -> dict:
    """The JSON a schema makes of data (what an idempotent replay sends)."""
    return schema.model_validate(data).model_dump(mode="json")


def _respond(response: HttpResponse, created: Created, location: str | None = None):
    if created.replayed:
        response["Idempotent-Replayed"] = "true"
    if location and created.status == 201:
        response["Location"] = location
    return Status(created.status, created.body)


# Workspaces and engines.


@router.get("/workspaces", response={200: list[WorkspaceOut], **E401}, tags=["workspaces"])
def workspace_list(request: HttpRequest):
    """Your workspaces and your role in each."""
    memberships = (
        Membership.objects.filter(user=_user(request))
        .select_related("workspace")
        .order_by("workspace__name", "workspace_id")
    )
    return [
        {
            "id": m.workspace_id,
            "name": m.workspace.name,
            "region": m.workspace.region,
            "role": m.role,
        }
        for m in memberships
    ]


@router.get("/engines", response={200: list[EngineOut], **E401}, tags=["workspaces"])
def engine_list(request: HttpRequest):
    """The engines this studio runs and what each can make."""
    engines = []
    for name in engine_names():
        caps = get_engine(name).capabilities()
        engines.append(
            {
                "name": caps.name,
                "label": caps.label,
                "default": name == settings.STUDIO_DEFAULT_ENGINE,
                "tasks": sorted(str(task) for task in caps.tasks),
                "aspect_ratios": list(caps.aspect_ratios),
                "resolutions": list(caps.resolutions),
                "min_duration": caps.min_duration,
                "max_duration": caps.max_duration,
                "max_images": caps.max_images,
                "max_videos": caps.max_videos,
                "max_prompt_chars": caps.max_prompt_chars,
                "reports_percent": caps.reports_percent,
                "paid": caps.paid,
            }
        )
    return engines


# Projects.


def _projects(user: AbstractBaseUser):
    return (
        Project.objects.for_user(user)
        .select_related("workspace", "picked_version")
        .annotate(version_count=Count("versions", distinct=True))
    )


def _project_out(project: Project, memberships: dict[int, Membership]) -> dict:
    return presenters.project_out(
        project, memberships[project.workspace_id], version_count=project.version_count
    )


def _memberships(user: AbstractBaseUser) -> dict[int, Membership]:
    return {m.workspace_id: m for m in Membership.objects.filter(user=user)}


def _project_detail(user: AbstractBaseUser, project_id: int) -> dict:
    project = _projects(user).get(pk=project_id)
    return _project_out(project, _memberships(user))


@router.get("/projects", response={200: ProjectPage, **READ_ERRORS}, tags=["projects"])
def project_list(
    request: HttpRequest,
    workspace: Id | None = WorkspaceFilter,
    limit: int = Limit,
    offset: int = Offset,
):
    """The projects in your workspaces, most recently changed first."""
    user = _user(request)
    projects = _projects(user).order_by("-updated_at", "-pk")
    if workspace is not None:
        projects = projects.filter(workspace_id=workspace)
    memberships = _memberships(user)
    return {
        "count": projects.count(),
        "limit": limit,
        "offset": offset,
        "items": [_project_out(p, memberships) for p in projects[offset : offset + limit]],
    }


@router.post(
    "/projects",
    response={201: ProjectOut, **CREATE_ERRORS},
    tags=["projects"],
)
def project_create(
    request: HttpRequest,
    response: HttpResponse,
    payload: ProjectCreateIn,
    idempotency_key: str | None = IdempotencyKey,
):
    """Create a project in one of your workspaces (owners and editors)."""
    user = _user(request)
    if payload.workspace is not None:
        membership = services.membership_for(user=user, workspace_id=payload.workspace)
    else:
        membership = (
            Membership.objects.filter(user=user)
            .select_related("workspace")
            .order_by("workspace__name", "workspace_id")
            .first()
        )
        if membership is None:
            raise ApiError(
                422, "validation_error", "You belong to no workspace.", field="workspace"
            )

    def create() -> Created:
        try:
            project = services.project_create(user=user, membership=membership, title=payload.title)
        except StudioError as refused:
            raise ApiError(403, "permission_denied", refused.message) from refused
        body = _dump(ProjectOut, _project_detail(user, project.pk))
        return Created(201, body, project.pk)

    created = create_once(request, user=user, key=idempotency_key, create=create)
    return _respond(response, created, f"{presenters.api_root()}projects/{created.object_id}")


@router.get("/projects/{project_id}", response={200: ProjectOut, **READ_ERRORS}, tags=["projects"])
def project_get(request: HttpRequest, project_id: int = ProjectId):
    services.project_for_user(user=_user(request), project_id=project_id)
    return _project_detail(_user(request), project_id)


@router.patch(
    "/projects/{project_id}",
    response={200: ProjectOut, 400: ErrorOut, **WRITE_ERRORS},
    tags=["projects"],
)
def project_rename(request: HttpRequest, payload: ProjectRenameIn, project_id: int = ProjectId):
    """Rename a project (owners and editors)."""
    project, membership = services.project_for_user(user=_user(request), project_id=project_id)
    try:
        services.project_rename(project=project, membership=membership, title=payload.title)
    except StudioError as refused:
        raise ApiError(403, "permission_denied", refused.message) from refused
    return _project_detail(_user(request), project_id)


@router.delete("/projects/{project_id}", response={204: None, **WRITE_ERRORS}, tags=["projects"])
def project_delete(request: HttpRequest, project_id: int = ProjectId):
    """Delete a project with all its versions and files (owners and editors)."""
    project, membership = services.project_for_user(user=_user(request), project_id=project_id)
    try:
        services.project_delete(project=project, membership=membership)
    except StudioError as refused:
        raise ApiError(403, "permission_denied", refused.message) from refused
    return Status(204, None)


# Assets.


def _upload_version_numbers(assets: list[Asset]) -> dict[int, int]:
    links = Version.input_assets.through.objects.filter(
        asset_id__in=[a.pk for a in assets if a.kind == Asset.Kind.VIDEO],
        version__kind=Version.Kind.UPLOAD,
    )
    return dict(links.values_list("asset_id", "version__number"))


@router.get(
    "/projects/{project_id}/assets", response={200: list[AssetOut], **READ_ERRORS}, tags=["assets"]
)
def asset_list(request: HttpRequest, project_id: int = ProjectId):
    """The stills and clips uploaded to a project, newest first."""
    project, _ = services.project_for_user(user=_user(request), project_id=project_id)
    assets = list(project.assets.order_by("-created_at", "-pk"))
    numbers = _upload_version_numbers(assets)
    return [presenters.asset_out(a, version_number=numbers.get(a.pk)) for a in assets]


@router.post(
    "/projects/{project_id}/assets",
    response={201: AssetOut, 429: ErrorOut, **CREATE_ERRORS},
    tags=["assets"],
)
def asset_upload(
    request: HttpRequest,
    response: HttpResponse,
    file: File[UploadedFile],
    project_id: int = ProjectId,
    confirm_no_minors: Form[bool] = False,
    idempotency_key: str | None = IdempotencyKey,
):
    """Upload a still (JPEG, PNG or WebP) to generate from, or a clip (MP4, MOV
    or WebM), which becomes a new root version once normalised (its number is
    in `version`). In the EEA, Switzerland and the UK a still needs
    `confirm_no_minors`."""
    user = _user(request)
    project, membership = services.project_for_user(user=user, project_id=project_id)
    file.seek(0)
    is_clip = bool(sniff_video_container(file.read(16)))
    file.seek(0)

    def create() -> Created:
        try:
            if is_clip:
                version = services.version_create_upload(
                    project=project, membership=membership, author=user, upload=file
                )
                asset = version.input_assets.get()
                number = version.number
            else:
                asset = services.asset_create_image(
                    project=project,
                    membership=membership,
                    user=user,
                    upload=file,
                    confirmed_no_minors=confirm_no_minors,
                )
                number = None
        except MediaError as error:
            raise invalid(error, field="file") from error
        except StudioError as error:
            raise invalid(error, clip="file", image="file") from error
        return Created(
            201, _dump(AssetOut, presenters.asset_out(asset, version_number=number)), asset.pk
        )

    created = create_once(
        request,
        user=user,
        key=idempotency_key,
        create=create,
        before=(lambda: check_generation_limit(user)) if is_clip else None,
    )
    return _respond(response, created)


# Versions.


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
    project, _ = services.project_for_user(user=_user(request), project_id=project_id)
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


def _refuse(field: str, message: str):
    return ApiError(422, "validation_error", message, field=field)


def _generation_arguments(project: Project, payload: VersionCreateIn) -> dict:
    """A generation's arguments, defaulting as the web form does."""
    for name in ("instruction", "keep_rest_same", "preserve"):
        if getattr(payload, name) is not None:
            raise _refuse(name, f"`{name}` is for edits: give the `parent` version to edit.")
    if payload.addresses:
        raise _refuse("addresses", "`addresses` is for edits: give the `parent` version to edit.")
    form = GenerateForm(initial={"engine": payload.engine}, project=project)
    assets = _assets(project, payload.assets)
    kind = payload.kind
    if kind is None:
        images = [a for a in assets if a.kind == Asset.Kind.IMAGE]
        if not assets:
            kind = Version.Kind.TEXT_TO_VIDEO
        elif len(assets) == 1 and images:
            kind = Version.Kind.IMAGE_TO_VIDEO
        else:
            kind = Version.Kind.REFERENCE_TO_VIDEO
    fields = payload.prompt_fields.model_dump() if payload.prompt_fields else {}
    prompt = payload.prompt if payload.prompt and payload.prompt.strip() else ""
    if not prompt:
        prompt = services.prompt_from_fields(fields)
    return {
        "kind": kind,
        "prompt": prompt,
        "prompt_fields": fields,
        "aspect_ratio": payload.aspect_ratio or form.fields["aspect_ratio"].initial,
        "resolution": payload.resolution or form.fields["resolution"].initial,
        "duration_seconds": payload.duration_seconds or form.fields["duration_seconds"].initial,
        "engine": payload.engine or form.capabilities.name,
        "assets": assets,
    }


def _edit_arguments(project: Project, user, payload: VersionCreateIn) -> dict:
    """An edit's arguments, as the web's edit form makes them."""
    try:
        parent, _ = services.version_for_user(
            user=user, project_id=project.pk, number=payload.parent
        )
    except Http404 as error:
        raise _refuse("parent", f"There is no version {payload.parent} in this project.") from error
    if payload.kind is not None and payload.kind != Version.Kind.EDIT:
        raise _refuse("kind", "A version with a `parent` is an edit.")
    for name in ("prompt", "prompt_fields"):
        if getattr(payload, name) is not None:
            raise _refuse(name, "An edit is described by `instruction` (and `preserve`).")
    if payload.assets:
        raise _refuse("assets", "An edit works on its parent's video; it takes no assets.")
    for name in ("aspect_ratio", "resolution", "duration_seconds"):
        value = getattr(payload, name)
        if value is not None and value != getattr(parent, name):
            raise _refuse(
                name,
                f"An edit keeps its parent's {name.replace('_', ' ')}; "
                "say what to change in the instruction (for example “Reframe to 9:16”).",
            )
    instruction = (payload.instruction or "").strip()
    if not instruction:
        raise _refuse("instruction", "Say what to change.")
    keep_rest_same = True if payload.keep_rest_same is None else payload.keep_rest_same
    preserve = payload.preserve or ""
    addressed = list(parent.comments.filter(pk__in=payload.addresses, parent=None))
    missing = set(payload.addresses) - {c.pk for c in addressed}
    if missing:
        raise _refuse("addresses", f"There is no comment {min(missing)} on v{parent.number}.")
    form = EditForm(parent=parent)
    return {
        "kind": Version.Kind.EDIT,
        "parent": parent,
        "instruction": instruction,
        "keep_rest_same": keep_rest_same,
        "prompt": services.edit_prompt(
            instruction=instruction, keep_rest_same=keep_rest_same, preserve=preserve
        ),
        "prompt_fields": {"preserve": preserve},
        "addressed_comments": addressed,
        "aspect_ratio": parent.aspect_ratio,
        "resolution": parent.resolution,
        "duration_seconds": parent.duration_seconds,
        "engine": payload.engine or form.fields["engine"].initial,
    }


@router.post(
    "/projects/{project_id}/versions",
    response={201: VersionOut, 429: ErrorOut, **CREATE_ERRORS},
    tags=["versions"],
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
    user = _user(request)
    project, membership = services.project_for_user(user=user, project_id=project_id)
    services.require_role(membership, generate=True)

    def create() -> Created:
        if payload.parent is not None:
            arguments = _edit_arguments(project, user, payload)
        else:
            arguments = _generation_arguments(project, payload)
        try:
            version = services.version_create(
                project=project, membership=membership, author=user, **arguments
            )
        except StudioError as error:
            raise invalid(error, image="assets", references="assets") from error
        body = _dump(VersionOut, presenters.version_detail(version))
        return Created(201, body, version.pk)

    created = create_once(
        request,
        user=user,
        key=idempotency_key,
        create=create,
        before=lambda: check_generation_limit(user),
    )
    number = created.body["number"]
    return _respond(
        response, created, f"{presenters.api_root()}projects/{project.pk}/versions/{number}"
    )


@router.get(
    "/projects/{project_id}/versions/{number}",
    response={200: VersionOut, **READ_ERRORS},
    tags=["versions"],
)
def version_get(request: HttpRequest, project_id: int = ProjectId, number: int = VersionNumber):
    """A version, with its status, phase, percent and estimated time left."""
    version, _ = services.version_for_user(
        user=_user(request), project_id=project_id, number=number
    )
    return presenters.version_detail(version)


def _version_action(request: HttpRequest, project_id: int, number: int, action) -> dict:
    version, membership = services.version_for_user(
        user=_user(request), project_id=project_id, number=number
    )
    try:
        action(version=version, membership=membership)
    except StudioError as error:
        raise ApiError(409, "conflict", error.message) from error
    return presenters.version_detail(version)


@router.post(
    "/projects/{project_id}/versions/{number}/cancel",
    response={200: VersionOut, 409: ErrorOut, **WRITE_ERRORS},
    tags=["versions"],
)
def version_cancel(request: HttpRequest, project_id: int = ProjectId, number: int = VersionNumber):
    """Cancel a queued or running generation (or one that needs a decision)."""
    return _version_action(request, project_id, number, services.version_cancel)


@router.post(
    "/projects/{project_id}/versions/{number}/retry",
    response={200: VersionOut, 409: ErrorOut, 429: ErrorOut, **WRITE_ERRORS},
    tags=["versions"],
)
def version_retry(request: HttpRequest, project_id: int = ProjectId, number: int = VersionNumber):
    """Try a failed, blocked or cancelled version again, as a new attempt."""
    version, membership = services.version_for_user(
        user=_user(request), project_id=project_id, number=number
    )
    services.require_role(membership, generate=True)
    if version.can_retry:
        check_generation_limit(_user(request))
    return _version_action(request, project_id, number, services.version_retry)


def _media(request: HttpRequest, project_id: int, number: int, what: str, download: bool):
    version, _ = services.version_for_user(
        user=_user(request), project_id=project_id, number=number
    )
    field = version.video if what == "video" else version.poster
    if version.status != Version.Status.READY or not field:
        raise Http404(
            f"v{version.number} has no {what} yet: it is {version.get_status_display().lower()}."
        )
    slug = "".join(c if c.isalnum() else "-" for c in version.project.title)[:40].strip("-")
    if what == "video":
        return ranged_file_response(
            request,
            field,
            content_type="video/mp4",
            filename=f"{slug or 'video'}-v{version.number}.mp4",
            as_attachment=download,
        )
    return ranged_file_response(
        request, field, content_type="image/jpeg", filename=f"v{version.number}.jpg"
    )


def _binary(media_type: str) -> dict:
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
    openapi_extra=_binary("video/mp4"),
    tags=["versions"],
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
    openapi_extra=_binary("image/jpeg"),
    tags=["versions"],
)
def version_poster(request: HttpRequest, project_id: int = ProjectId, number: int = VersionNumber):
    """A JPEG still from the version's video."""
    return _media(request, project_id, number, "poster", False)


# Review.


@router.get(
    "/projects/{project_id}/versions/{number}/comments",
    response={200: list[CommentOut], **READ_ERRORS},
    tags=["review"],
)
def comment_list(request: HttpRequest, project_id: int = ProjectId, number: int = VersionNumber):
    """A version's comments in time order (untimed last); replies name their parent."""
    version, _ = services.version_for_user(
        user=_user(request), project_id=project_id, number=number
    )
    comments = version.comments.in_time_order().select_related("author")
    return [presenters.comment_out(c, version_number=version.number) for c in comments]


@router.post(
    "/projects/{project_id}/versions/{number}/comments",
    response={201: CommentOut, 400: ErrorOut, **WRITE_ERRORS},
    tags=["review"],
)
def comment_create(
    request: HttpRequest,
    payload: CommentCreateIn,
    project_id: int = ProjectId,
    number: int = VersionNumber,
):
    """Comment on a version, at a time (`start_seconds`) or over a range (and
    `end_seconds`), or reply to a comment. Everyone but viewers."""
    version, membership = services.version_for_user(
        user=_user(request), project_id=project_id, number=number
    )
    parent = None
    if payload.parent is not None:
        parent = Comment.objects.filter(pk=payload.parent, version=version).first()
        if parent is None:
            raise _refuse("parent", f"There is no comment {payload.parent} on v{version.number}.")
    comment = services.comment_create(
        version=version,
        membership=membership,
        body=payload.body,
        start_seconds=payload.start_seconds,
        end_seconds=payload.end_seconds,
        parent=parent,
    )
    return Status(201, presenters.comment_out(comment, version_number=version.number))


@router.get(
    "/projects/{project_id}/versions/{number}/reviews",
    response={200: list[ReviewOut], **READ_ERRORS},
    tags=["review"],
)
def review_list(request: HttpRequest, project_id: int = ProjectId, number: int = VersionNumber):
    """A version's decisions, newest first."""
    version, _ = services.version_for_user(
        user=_user(request), project_id=project_id, number=number
    )
    reviews = version.reviews.select_related("reviewer")
    return [presenters.review_out(r, version_number=version.number) for r in reviews]


@router.post(
    "/projects/{project_id}/versions/{number}/reviews",
    response={201: ReviewOut, 400: ErrorOut, 409: ErrorOut, **WRITE_ERRORS},
    tags=["review"],
)
def review_create(
    request: HttpRequest,
    payload: ReviewCreateIn,
    project_id: int = ProjectId,
    number: int = VersionNumber,
):
    """Approve a ready version or request changes (reviewers and owners).
    Approving resolves the comments the version was made to address."""
    version, membership = services.version_for_user(
        user=_user(request), project_id=project_id, number=number
    )
    try:
        review = services.review_decide(
            version=version, membership=membership, decision=payload.decision, note=payload.note
        )
    except StudioError as error:
        if error.field:
            raise
        raise ApiError(409, "conflict", error.message) from error
    return Status(201, presenters.review_out(review, version_number=version.number))
