"""Any uploaded clip can be edited on Gemini: one under 720p is raised to
720p before it is sent, one longer than 10 s is edited 10 s at a time and
the edited section is put back into the rest of the clip. The real SDK
against the local double of the API; the videos are decoded."""

import io
import threading
import time
from decimal import Decimal

import av
import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from PIL import Image

from projects.models import Version
from projects.services import composer, leases, versions
from projects.services.errors import StudioError
from studio.engines.video import probe_video
from tests.factories import MembershipFactory, ProjectFactory
from tests.projects.conftest import completes, run_tasks
from tests.studio.engines.clips import write_clip


def clip(tmp_path, name, colour, *, seconds, size=(640, 360), rate=12) -> bytes:
    frames = [Image.new("RGB", size, colour)] * (seconds * rate)
    path = write_clip(tmp_path / name, frames, codec="libx264", rate=rate, sample_rate=48_000)
    return path.read_bytes()


def upload(project, member, tasks, data: bytes) -> Version:
    version = versions.version_create_upload(
        project=project,
        membership=member,
        author=member.user,
        upload=SimpleUploadedFile("clip.mp4", data, "video/mp4"),
    )
    tasks()
    version.refresh_from_db()
    assert version.status == Version.Status.READY, version.error_message
    return version


def edit(project, member, parent, **options) -> Version:
    arguments = composer.edit_arguments(
        parent=parent, instruction="Make it night", engine="gemini", **options
    )
    return versions.version_create(
        project=project, membership=member, author=member.user, **arguments
    )


def colours(data: bytes, seconds: list[float]) -> list[tuple[int, int, int]]:
    """The mean colour of the frame shown at each of the given times."""
    found = []
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        frames = [
            (float(frame.time), np.asarray(frame.to_image()).reshape(-1, 3).mean(axis=0))
            for frame in container.decode(stream)
        ]
    for second in seconds:
        _, mean = min(frames, key=lambda pair: abs(pair[0] - second))
        found.append(tuple(int(c) for c in mean))
    return found


def test_a_640x360_clip_is_upscaled_to_720p_and_edited(
    project,
    member,
    tasks,
    double,
    tmp_path,
):
    parent = upload(project, member, tasks, clip(tmp_path, "small.mp4", (40, 90, 200), seconds=3))
    assert (parent.width, parent.height, parent.resolution) == (640, 360, "480p")
    plan = composer.edit_plan(parent=parent, capabilities=composer.capabilities_of("gemini"))
    assert (plan.resolution, plan.upscaled_from, plan.section) == ("720p", "480p", False)

    answer = clip(tmp_path, "answer.mp4", (10, 20, 60), seconds=3, size=(1280, 720))
    completes(double, "int-small", answer)
    version = edit(project, member, parent)
    assert (version.resolution, version.duration_seconds) == ("720p", 3)
    tasks()
    version.refresh_from_db()
    assert version.status == Version.Status.READY, version.error_message
    sent = tmp_path / "sent.mp4"
    sent.write_bytes(double.uploaded_bytes[0])
    info = probe_video(sent)
    assert (info.width, info.height) == (1280, 720)
    assert abs(info.duration_seconds - 3) < 0.2
    assert double.creates[0].json["response_format"]["resolution"] == "720p"
    assert (version.width, version.height) == (1280, 720)
    # The section made for this edit is not kept as the parent's remote file.
    parent.refresh_from_db()
    assert parent.video_remote_uri == ""


def test_a_15_s_clip_is_edited_ten_seconds_at_a_time_and_the_rest_kept(
    project,
    member,
    tasks,
    double,
    tmp_path,
):
    grey = (128, 128, 128)
    parent = upload(project, member, tasks, clip(tmp_path, "long.mp4", grey, seconds=15))
    assert parent.duration_seconds == 15

    with pytest.raises(StudioError, match=r"start the section between 0 and 5\.0 s"):
        edit(project, member, parent, section_start=7)

    red = (220, 30, 30)
    completes(double, "int-long", clip(tmp_path, "red.mp4", red, seconds=10, size=(1280, 720)))
    version = edit(project, member, parent, section_start=3)
    assert (version.duration_seconds, version.section_start) == (10, 3.0)
    # The clip is 12 fps, and so is its edit: half the frames a 24 fps
    # edit would bill.
    assert (version.fps, version.cost_estimate) == (12, Decimal("0.25"))
    tasks()
    version.refresh_from_db()
    assert version.status == Version.Status.READY, version.error_message

    sent = tmp_path / "sent.mp4"
    sent.write_bytes(double.uploaded_bytes[0])
    section = probe_video(sent)
    assert abs(section.duration_seconds - 10) < 0.2 and section.height == 720
    assert double.creates[0].json["response_format"]["duration"] == "10s"

    made = version.video.read()
    assert abs(version.video_duration - 15) < 0.2
    before, inside, after = colours(made, [1.5, 8.0, 14.0])
    assert all(abs(c - 128) < 12 for c in before + after)  # kept as it was
    assert inside[0] > 180 and inside[1] < 70  # the edited section
    assert version.has_audio
    # Billed for the 10 s the model made, not the 15 s kept.
    assert version.cost == Decimal("0.25")


def test_the_edit_form_says_what_gemini_makes_of_a_long_small_clip(
    logged_in,
    project,
    member,
    tasks,
    double,
    tmp_path,
):
    parent = upload(project, member, tasks, clip(tmp_path, "long.mp4", (90, 90, 90), seconds=12))
    page = logged_in.get(parent.get_absolute_url()).text
    assert 'name="section_start"' in page
    assert "This clip is 12.0 s; Gemini Omni Flash edits 10 s at a time" in page
    assert "This clip is 480p: Gemini Omni Flash edits it at 720p, so it is upscaled" in page
    assert "Estimated cost: $0.25 for 10 s at 720p, 12 fps" in page

    response = logged_in.post(
        reverse("version_edit", args=[project.pk, parent.number]),
        {"instruction": "Make it night", "engine": "gemini", "section_start": "4"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "start the section between 0 and 2.0 s" in response.text
    assert 'aria-invalid="true"' in response.text
    assert Version.objects.filter(parent=parent).count() == 0


@pytest.mark.django_db(transaction=True)
def test_an_upload_processed_for_longer_than_the_lease_keeps_its_version(
    double, tmp_path, settings
):
    """The Files API holds the clip PROCESSING for about 5 s (waits of 1, 1.5
    and 2.25 s) against a 3 s lease: the engine renews it between waits, so no
    other worker takes the version, nothing needs a decision and nothing is
    cancelled."""
    settings.STUDIO_LEASE_SECONDS = 3
    member = MembershipFactory(role="owner")
    project = ProjectFactory(workspace=member.workspace, created_by=member.user)
    parent = upload(project, member, run_tasks, clip(tmp_path, "c.mp4", (60, 60, 60), seconds=3))
    double.next_file_states = ["PROCESSING", "PROCESSING", "PROCESSING", "ACTIVE"]
    completes(double, "int-slow-upload", clip(tmp_path, "a.mp4", (9, 9, 9), seconds=3))
    version = edit(project, member, parent)
    rival_claims: list[object] = []
    working = threading.Event()
    working.set()

    def another_worker() -> None:
        try:
            while working.is_set():
                time.sleep(0.3)
                if Version.objects.filter(pk=version.pk, status="submitting").exists():
                    rival_claims.append(leases.version_claim(version_id=version.pk))
        finally:
            connection.close()

    rival = threading.Thread(target=another_worker)
    rival.start()
    try:
        run_tasks()
    finally:
        working.clear()
        rival.join(10)
    version.refresh_from_db()
    assert version.status == Version.Status.READY, version.error_message
    assert len(double.file_gets) >= 3  # it really waited, past the lease
    assert len(rival_claims) >= 10 and not any(rival_claims)
    assert len(double.creates) == 1 and double.cancels == []


def test_a_25_fps_clip_is_edited_at_the_nearest_rate_the_model_makes(
    project, member, tasks, double, tmp_path
):
    parent = upload(
        project, member, tasks, clip(tmp_path, "pal.mp4", (40, 90, 200), seconds=3, rate=25)
    )
    assert parent.fps == 25
    plan = composer.edit_plan(parent=parent, capabilities=composer.capabilities_of("gemini"))
    assert (plan.fps, plan.refitted_from_fps) == (24, 25)
    local = composer.edit_plan(parent=parent, capabilities=composer.capabilities_of("local"))
    assert (local.fps, local.refitted_from_fps) == (25, None)

    answer = clip(tmp_path, "answer.mp4", (10, 20, 60), seconds=3, size=(1280, 720), rate=24)
    completes(double, "int-pal", answer)
    version = edit(project, member, parent)
    assert version.fps == 24
    tasks()
    version.refresh_from_db()
    assert version.status == Version.Status.READY, version.error_message
    assert double.creates[0].json["response_format"]["fps"] == 24
    assert version.fps == 24

    asked = edit(project, member, parent, fps=30)
    assert asked.fps == 30
    with pytest.raises(StudioError, match="makes 12, 24, 30 fps") as refused:
        edit(project, member, parent, fps=25)
    assert refused.value.field == "fps"
