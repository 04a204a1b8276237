"""Checking and normalising uploads, and serving media files with Range.

Uploads are judged by their content, never by their name: Pillow and PyAV
decide what a file is, within bounds set before anything is decoded. Probing,
transcoding and posters are ``studio.engines.video``'s; its errors reach the
person who uploaded as MediaError, with the same message.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header
from PIL import Image, ImageOps, UnidentifiedImageError

from studio.engines.video import VideoError, VideoInfo, probe_video

IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MIN_IMAGE_SIDE = 512
MAX_IMAGE_SIDE = 4096


class MediaError(ValueError):
    """A file that cannot be used, with a message for the person who gave it."""


@dataclass(frozen=True)
class NormalisedImage:
    content: bytes
    mime_type: str
    extension: str
    width: int
    height: int
    sha256: str


def check_image(upload: UploadedFile) -> tuple[str, int, int]:
    """An uploaded still's format and size, read from its header alone (no
    pixel decoded); MediaError when it is not one we take."""
    _check_size(upload)
    upload.seek(0)
    try:
        with Image.open(upload) as probe:
            return _checked_header(probe)
    except MediaError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as error:
        raise _unreadable(error) from error
    finally:
        upload.seek(0)


def normalise_image(upload: UploadedFile) -> NormalisedImage:
    """Check an uploaded still by content and return it ready for an engine:
    EXIF orientation applied and both sides within 512 to 4096 pixels.
    Decoded once, in place; a JPEG far larger than that is decoded at a
    fraction of its size (Pillow's draft mode)."""
    _check_size(upload)
    upload.seek(0)
    try:
        image = Image.open(upload)
        _checked_header(image)
        if image.format == "JPEG":
            image.draft("RGB", _fitted_size(*image.size))
        image.load()
        ImageOps.exif_transpose(image, in_place=True)
    except MediaError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as error:
        raise _unreadable(error) from error

    image = _fit_sides(image)
    has_alpha = image.mode in {"RGBA", "LA"} or (image.mode == "P" and "transparency" in image.info)
    buffer = io.BytesIO()
    if has_alpha:
        if image.mode != "RGBA":
            image = image.convert("RGBA")
        image.save(buffer, "PNG", optimize=False)
        mime_type, extension = "image/png", "png"
    else:
        if image.mode != "RGB":
            image = image.convert("RGB")
        image.save(buffer, "JPEG", quality=92)
        mime_type, extension = "image/jpeg", "jpg"
    content = buffer.getvalue()
    return NormalisedImage(
        content=content,
        mime_type=mime_type,
        extension=extension,
        width=image.width,
        height=image.height,
        sha256=hashlib.sha256(content).hexdigest(),
    )


def _check_size(upload: UploadedFile) -> None:
    if upload.size == 0:
        raise MediaError("The file is empty.")
    if upload.size > settings.STUDIO_MAX_IMAGE_BYTES:
        limit = settings.STUDIO_MAX_IMAGE_BYTES // (1024 * 1024)
        raise MediaError(f"The image is larger than {limit} MB.")


def _checked_header(probe: Image.Image) -> tuple[str, int, int]:
    width, height = probe.size
    if probe.format not in IMAGE_FORMATS:
        raise MediaError("Upload a JPEG, PNG or WebP image.")
    # Checked before decoding a single pixel: a small file can declare a
    # huge canvas (a decompression bomb).
    if width * height > settings.STUDIO_MAX_IMAGE_PIXELS:
        raise MediaError(
            f"The image is {width}×{height} pixels; the limit is "
            f"{settings.STUDIO_MAX_IMAGE_PIXELS // 1_000_000} megapixels."
        )
    return probe.format, width, height


def _unreadable(error: Exception) -> MediaError:
    if isinstance(error, Image.DecompressionBombError):
        return MediaError(
            "The image declares more pixels than we accept (the limit is "
            f"{settings.STUDIO_MAX_IMAGE_PIXELS // 1_000_000} megapixels)."
        )
    return MediaError("This file is not an image we can read (JPEG, PNG or WebP).")


def _fitted_size(width: int, height: int) -> tuple[int, int]:
    scale = min(1.0, MAX_IMAGE_SIDE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _fit_sides(image: Image.Image) -> Image.Image:
    width, height = image.size
    scale = 1.0
    if max(width, height) > MAX_IMAGE_SIDE:
        scale = MAX_IMAGE_SIDE / max(width, height)
    elif min(width, height) < MIN_IMAGE_SIDE:
        scale = min(MIN_IMAGE_SIDE / min(width, height), MAX_IMAGE_SIDE / max(width, height))
    if scale == 1.0:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


# Containers we accept, recognised by their first bytes, and the demuxer each
# is opened with. Forcing the demuxer keeps ffmpeg from treating an upload as
# a playlist or concat script that would make it read other files.
VIDEO_CONTAINERS = {"mp4": "mov", "mov": "mov", "webm": "matroska"}
# How each is named to clients (the API's schema lists these).
VIDEO_MEDIA_TYPES = {"mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm"}


def sniff_video_container(head: bytes) -> str | None:
    if len(head) >= 12 and head[4:8] in {b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"}:
        return "mov" if head[8:10] == b"qt" else "mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm"
    return None


def check_video_file(path: Path | str, *, size: int) -> VideoInfo:
    """Check an uploaded clip by content and bounds, without following any
    reference out of the file."""
    if size == 0:
        raise MediaError("The file is empty.")
    if size > settings.STUDIO_MAX_VIDEO_BYTES:
        raise MediaError(
            f"The video is larger than {settings.STUDIO_MAX_VIDEO_BYTES // (1024 * 1024)} MB."
        )
    with open(path, "rb") as handle:
        container_kind = sniff_video_container(handle.read(16))
    if container_kind is None:
        raise MediaError("Upload an MP4, MOV or WebM video.")
    try:
        with av.open(
            str(path),
            format=VIDEO_CONTAINERS[container_kind],
            options={"protocol_whitelist": "file"},
        ) as container:
            if len(container.streams) > 4:
                raise MediaError("The video has more streams than a clip should (at most 4).")
            if not container.streams.video:
                raise MediaError("The file has no video stream.")
    except av.FFmpegError as error:
        raise MediaError("The file is not a video we can read.") from error
    try:
        info = probe_video(path)
    except VideoError as error:
        raise MediaError(str(error)) from error
    if max(info.width, info.height) > settings.STUDIO_MAX_VIDEO_SIDE:
        raise MediaError(
            f"The video is {info.width}×{info.height}; the limit is "
            f"{settings.STUDIO_MAX_VIDEO_SIDE} pixels on a side."
        )
    if info.duration_seconds > settings.STUDIO_MAX_VIDEO_SECONDS:
        raise MediaError(
            f"The video is {info.duration_seconds:.0f} s long; the limit is "
            f"{settings.STUDIO_MAX_VIDEO_SECONDS} s."
        )
    if info.duration_seconds <= 0 or info.width == 0:
        raise MediaError("The video has no frames we can read.")
    return info


def sha256_file(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def ranged_file_response(
    request: HttpRequest,
    file,
    *,
    content_type: str,
    filename: str,
    as_attachment: bool = False,
    size: int | None = None,
) -> HttpResponse:
    """Serve a stored file, honouring a single HTTP Range so players can
    seek; streamed from wherever it is stored, never read whole. A size
    already known saves asking the storage (a round trip to a bucket)."""
    size = size or file.size
    header = request.headers.get("Range", "").strip()
    match = _RANGE.match(header) if header else None
    start, end, status = 0, size - 1, 200
    if header and match and (match[1] or match[2]):
        if match[1]:
            start = int(match[1])
            end = min(int(match[2]), size - 1) if match[2] else size - 1
        else:  # the last N bytes
            start = max(size - int(match[2]), 0)
        if start >= size or start > end:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        status = 206
    response = StreamingHttpResponse(
        stored_bytes(file, start=start, end=end), status=status, content_type=content_type
    )
    response["Content-Disposition"] = content_disposition_header(as_attachment, filename)
    if status == 206:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=3600"
    return response


CHUNK = 256 * 1024


def stored_bytes(file, *, start: int = 0, end: int | None = None) -> Iterator[bytes]:
    """Bytes start to end (inclusive) of a stored file, a chunk at a time: a
    ranged GET from a bucket, a seek on local disk."""
    storage = file.storage
    if hasattr(storage, "bucket"):  # S3-compatible storage (django-storages)
        key = storage._normalize_name(file.name)
        wanted = f"bytes={start}-{'' if end is None else end}"
        body = storage.bucket.Object(key).get(Range=wanted)["Body"]
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()
        return
    with storage.open(file.name, "rb") as handle:
        handle.seek(start)
        remaining = None if end is None else end - start + 1
        while remaining is None or remaining > 0:
            chunk = handle.read(CHUNK if remaining is None else min(CHUNK, remaining))
            if not chunk:
                break
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk


def _slug(title: str, fallback: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in title)[:40].strip("-") or fallback


def render_file_response(request: HttpRequest, render, *, as_attachment: bool = False):
    """A sequence render's MP4, under a friendly name."""
    return ranged_file_response(
        request,
        render.video,
        content_type="video/mp4",
        filename=f"{_slug(render.sequence.title, 'sequence')}-{render.label}.mp4",
        as_attachment=as_attachment,
        size=render.video_bytes,
    )


def version_file_response(
    request: HttpRequest, version, *, what: str, as_attachment: bool = False
) -> HttpResponse:
    """A version's MP4 ("video") or JPEG ("poster"), under a friendly name."""
    if what == "video":
        return ranged_file_response(
            request,
            version.video,
            content_type="video/mp4",
            filename=f"{_slug(version.project.title, 'video')}-v{version.number}.mp4",
            as_attachment=as_attachment,
            size=version.video_bytes,
        )
    return ranged_file_response(
        request, version.poster, content_type="image/jpeg", filename=f"v{version.number}.jpg"
    )
