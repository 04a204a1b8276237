"""Uploaded stills and clips: checked by content and bounds, normalised, and
kept as the project's assets."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile, File
from django.core.files.uploadedfile import UploadedFile

from projects.media import check_video_file, normalise_image, sha256_file, sniff_video_container
from projects.models import Asset, Membership, Project
from projects.services.access import require_role
from projects.services.errors import StudioError

MINOR_POLICY_MESSAGE = (
    "In the EEA, Switzerland and the UK the model may not be given images that depict "
    "minors: confirm this image does not show anyone under 18."
)
UPLOADED_VIDEO_POLICY_MESSAGE = (
    "In the EEA, Switzerland and the UK Gemini cannot edit uploaded videos (it can edit "
    "the videos it made). Choose the local engine for this edit."
)


def asset_create_image(
    *,
    project: Project,
    membership: Membership,
    user: AbstractBaseUser,
    upload: UploadedFile,
    confirmed_no_minors: bool = False,
) -> Asset:
    require_role(membership, generate=True)
    if project.workspace.restricts_minors_and_uploaded_video and not confirmed_no_minors:
        raise StudioError(MINOR_POLICY_MESSAGE, field="confirm_no_minors")
    image = normalise_image(upload)
    asset = Asset(
        project=project,
        kind=Asset.Kind.IMAGE,
        original_name=(upload.name or "")[:255],
        mime_type=image.mime_type,
        size_bytes=len(image.content),
        width=image.width,
        height=image.height,
        sha256=image.sha256,
        uploaded_by=user,
    )
    asset.file.save(
        f"{image.sha256[:16]}.{image.extension}", ContentFile(image.content), save=False
    )
    asset.save()
    return asset


def asset_create_video(
    *, project: Project, membership: Membership, user: AbstractBaseUser, upload: UploadedFile
) -> Asset:
    """Store an uploaded clip once its content and bounds are checked."""
    require_role(membership, generate=True)
    with _upload_on_disk(upload) as path:
        info = check_video_file(path, size=upload.size)
        digest = sha256_file(path)
        asset = Asset(
            project=project,
            kind=Asset.Kind.VIDEO,
            original_name=(upload.name or "")[:255],
            mime_type="video/webm" if sniff_video_container(_head(path)) == "webm" else "video/mp4",
            size_bytes=upload.size,
            width=info.width,
            height=info.height,
            duration_seconds=info.duration_seconds,
            codec=info.video_codec,
            sha256=digest,
            uploaded_by=user,
        )
        extension = "webm" if asset.mime_type == "video/webm" else "mp4"
        with open(path, "rb") as handle:
            asset.file.save(f"{digest[:16]}.{extension}", File(handle), save=False)
    asset.save()
    return asset


def _head(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(16)


@contextmanager
def _upload_on_disk(upload: UploadedFile) -> Iterator[Path]:
    if hasattr(upload, "temporary_file_path"):
        yield Path(upload.temporary_file_path())
        return
    with tempfile.NamedTemporaryFile(prefix="studio-upload-") as handle:
        upload.seek(0)
        shutil.copyfileobj(upload, handle)
        handle.flush()
        yield Path(handle.name)


def nearest_aspect_ratio(width: int, height: int) -> str:
    ratio = width / height
    return min(("16:9", "9:16", "1:1"), key=lambda r: abs(_ratio(r) - ratio))


def _ratio(aspect_ratio: str) -> float:
    w, h = aspect_ratio.split(":")
    return int(w) / int(h)


def nearest_resolution(width: int, height: int) -> str:
    short = min(width, height)
    return min(("480p", "720p", "1080p"), key=lambda r: abs(int(r[:-1]) - short))
