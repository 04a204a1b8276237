"""The API's uploads: stills to generate from, and clips that become root
versions."""

from django.http import HttpRequest, HttpResponse
from ninja import File, Form, Router, UploadedFile

from projects.api import presenters
from projects.api.common import (
    CREATE_ERRORS,
    READ_ERRORS,
    IdempotencyKey,
    ProjectId,
    dump,
    project_of,
    request_user,
    respond,
)
from projects.api.errors import invalid
from projects.api.idempotency import Created, check_generation_limit, create_once
from projects.api.schemas import AssetOut, ErrorOut
from projects.media import MediaError, sniff_video_container
from projects.models import Asset, Version
from projects.services import access, assets, versions
from projects.services.errors import StudioError

router = Router(tags=["assets"])


def _upload_version_numbers(assets: list[Asset]) -> dict[int, int]:
    links = Version.input_assets.through.objects.filter(
        asset_id__in=[a.pk for a in assets if a.kind == Asset.Kind.VIDEO],
        version__kind=Version.Kind.UPLOAD,
    )
    return dict(links.values_list("asset_id", "version__number"))


@router.get("/projects/{project_id}/assets", response={200: list[AssetOut], **READ_ERRORS})
def asset_list(request: HttpRequest, project_id: int = ProjectId):
    """The stills and clips uploaded to a project, newest first."""
    project, _ = project_of(request, project_id)
    assets = list(project.assets.order_by("-created_at", "-pk"))
    numbers = _upload_version_numbers(assets)
    return [presenters.asset_out(a, version_number=numbers.get(a.pk)) for a in assets]


@router.post(
    "/projects/{project_id}/assets",
    response={201: AssetOut, 429: ErrorOut, **CREATE_ERRORS},
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
    user = request_user(request)
    project, membership = access.project_for_user(user=user, project_id=project_id)
    file.seek(0)
    # By content; a file that only calls itself a video is checked as one, so
    # an unreadable .mp4 is refused as a clip, not as "not an image".
    declared_video = (file.content_type or "").startswith("video/") or (
        file.name or ""
    ).lower().endswith((".mp4", ".mov", ".webm", ".m4v"))
    is_clip = bool(sniff_video_container(file.read(16))) or declared_video
    file.seek(0)

    def create() -> Created:
        try:
            if is_clip:
                version = versions.version_create_upload(
                    project=project, membership=membership, author=user, upload=file
                )
                asset = version.input_assets.get()
                number = version.number
            else:
                asset = assets.asset_create_image(
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
            201, dump(AssetOut, presenters.asset_out(asset, version_number=number)), asset.pk
        )

    created = create_once(
        request,
        user=user,
        key=idempotency_key,
        create=create,
        before=(lambda: check_generation_limit(user)) if is_clip else None,
    )
    return respond(response, created)
