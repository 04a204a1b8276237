"""Our copies of media: videos and posters kept in storage (local disk, or
an S3-compatible bucket), local copies of stored files for engines to read,
and files removed once their rows are."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path

from django.core.files.base import ContentFile, File
from django.core.files.storage import Storage
from django.db import transaction

from projects.media import stored_bytes
from projects.models import Version


def media_storage() -> Storage:
    return Version._meta.get_field("video").storage


def local_copy(field_file, workdir: Path) -> Path:
    """A copy of a stored file in workdir, for an engine to read: streamed
    through the storage API (a bucket or local disk alike), never a path
    into the storage itself."""
    destination = workdir / Path(field_file.name).name
    with open(destination, "wb") as target:
        for chunk in stored_bytes(field_file):
            target.write(chunk)
    return destination


def store_file(name: str, path: Path) -> str:
    with open(path, "rb") as handle:
        return media_storage().save(name, File(handle))


def store_bytes(name: str, content: bytes) -> str:
    return media_storage().save(name, ContentFile(content))


def delete_files(names: Iterable[str]) -> None:
    storage = media_storage()
    for name in names:
        with suppress(OSError):
            storage.delete(name)


def delete_files_on_commit(names: Iterable[str]) -> None:
    names = [name for name in names if name]
    transaction.on_commit(lambda: delete_files(names))
