"""Media in an S3-compatible bucket (moto's standalone server): stored,
read back for engines, served to members with Range, deleted with their
project; nothing on local disk."""

import io

import av
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from projects.models import Version
from projects.services import catalog, versions
from tests.projects.conftest import image_bytes

pytestmark = pytest.mark.django_db(transaction=True)


def bucket_keys(client, bucket) -> list[str]:
    listed = client.list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listed.get("Contents", []))


def decode(data: bytes) -> int:
    with av.open(io.BytesIO(data)) as container:
        return sum(1 for _ in container.decode(container.streams.video[0]))


def test_a_generation_and_an_edit_live_in_the_bucket(
    s3_storage, settings, project, member, tasks, client
):
    s3, bucket = s3_storage
    root = versions.version_create(
        project=project,
        membership=member,
        author=member.user,
        kind="text_to_video",
        prompt="A paper boat on a rainy street",
        aspect_ratio="16:9",
        resolution="480p",
        duration_seconds=3,
        engine="local",
    )
    tasks()
    root.refresh_from_db()
    assert root.status == Version.Status.READY, root.error_message
    # The edit reads its parent back from the bucket.
    edit = versions.version_create(
        project=project,
        membership=member,
        author=member.user,
        kind="edit",
        parent=root,
        prompt="Make it black and white.",
        aspect_ratio="16:9",
        resolution="480p",
        duration_seconds=3,
        engine="local",
    )
    tasks()
    edit.refresh_from_db()
    assert edit.status == Version.Status.READY, edit.error_message
    keys = bucket_keys(s3, bucket)
    assert root.video.name in keys and edit.video.name in keys and edit.poster.name in keys
    assert not (settings.MEDIA_ROOT.exists() and any(settings.MEDIA_ROOT.rglob("*.*")))

    # Served to a member from the bucket, whole and by range.
    client.force_login(member.user)
    url = reverse("version_video", args=[project.pk, edit.number])
    whole = b"".join(client.get(url).streaming_content)
    assert decode(whole) == 72
    part = client.get(url, HTTP_RANGE="bytes=100-1099")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 100-1099/{len(whole)}"
    assert b"".join(part.streaming_content) == whole[100:1100]
    tail = client.get(url, HTTP_RANGE="bytes=-500")
    assert b"".join(tail.streaming_content) == whole[-500:]

    # Deleted with the project, once it commits.
    catalog.project_delete(project=project, membership=member)
    assert bucket_keys(s3, bucket) == []


def test_uploads_go_to_the_bucket_and_are_normalised_from_it(
    s3_storage, project, member, tasks, logged_in
):
    s3, bucket = s3_storage
    still = SimpleUploadedFile("still.png", image_bytes(size=(900, 600)), "image/png")
    response = logged_in.post(
        reverse("version_generate", args=[project.pk]),
        {
            "mode": "image",
            "engine": "local",
            "prompt": "The still, slowly",
            "aspect_ratio": "9:16",
            "resolution": "480p",
            "duration_seconds": "3",
            "image": still,
        },
    )
    assert response.status_code == 302, response.content[:500]
    tasks()
    version = project.versions.get()
    assert version.status == Version.Status.READY, version.error_message
    asset = version.input_assets.get()
    assert asset.file.name in bucket_keys(s3, bucket)
