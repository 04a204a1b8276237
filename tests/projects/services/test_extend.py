"""Extending a version: a child whose video is the parent carried on from its
last frame, made by the local engine or by Gemini (the real SDK against the
local double), stitched by the studio, estimated and billed for the seconds
added; refusals change nothing."""

import base64
import io
import tempfile
from decimal import Decimal
from pathlib import Path

import av
import numpy as np
import pytest
from django.core.exceptions import PermissionDenied
from django_tasks_db.models import DBTaskResult
from PIL import Image

from projects.models import Activity, Project, Version
from projects.services import budgets, extend, versions
from projects.services.errors import StudioError
from studio.engines.base import FPS, GenerationRequest, Task
from studio.engines.local.engine import LocalEngine
from studio.engines.video import decode_audio, probe_video
from studio.engines.video.joins import last_frame_image
from tests.factories import MembershipFactory, VersionFactory
from tests.projects.conftest import completes

pytestmark = pytest.mark.django_db

FRAME = 1 / FPS
SAME = 3.0


def generate(project, member, **overrides) -> Version:
    fields = {
        "kind": Version.Kind.TEXT_TO_VIDEO,
        "prompt": "A kite over the dunes, slow push in.",
        "aspect_ratio": "16:9",
        "resolution": "480p",
        "duration_seconds": 5,
        "engine": "local",
    }
    fields.update(overrides)
    return versions.version_create(project=project, membership=member, author=member.user, **fields)


def frames_of(version: Version) -> list[np.ndarray]:
    with av.open(version.video.path) as container:
        return [f.to_ndarray(format="rgb24").astype(np.int16) for f in container.decode(video=0)]


def mad(first: np.ndarray, second: np.ndarray) -> float:
    return float(np.abs(first - second).mean())


def ready_parent(project, **fields) -> Version:
    """A ready version as v1 of the project (its video is never read)."""
    fields = {"video_duration": 3.0, **fields}
    parent = VersionFactory(project=project, number=1, **fields)
    Project.objects.filter(pk=project.pk).update(last_version_number=1)
    return parent


def made(version: Version) -> Version:
    version.refresh_from_db()
    assert version.status == Version.Status.READY, version.error_message
    return version


def test_extending_twice_on_the_local_engine_chains_5_10_15_seconds(project, member, tasks):
    first = generate(project, member)
    tasks()
    second = extend.version_extend(
        version=made(first), membership=member, seconds=5, instruction="The kite drifts higher"
    )
    assert (second.kind, second.parent_id, second.extend_seconds) == ("extend", first.pk, 5)
    assert second.duration_seconds == 10 and second.status == Version.Status.QUEUED
    assert second.prompt == (
        "Continue this shot: A kite over the dunes, slow push in. The kite drifts higher."
    )
    assert second.previous_interaction_id == ""
    tasks()
    third = extend.version_extend(version=made(second), membership=member, seconds=5)
    # A chain carries the first shot on, not a prompt about a prompt.
    assert third.prompt == "Continue this shot: A kite over the dunes, slow push in."
    tasks()
    made(third)

    lengths = [v.video_duration for v in (first, second, third)]
    assert [round(seconds * FPS) for seconds in lengths] == [5 * FPS, 10 * FPS, 15 * FPS]
    assert abs(third.video_duration - 15.0) <= FRAME
    assert (third.width, third.height, third.has_audio) == (first.width, first.height, True)
    # No jump at either joint: the frame there is the one before it ended.
    ends = [frames_of(v)[-1] for v in (first, second)]
    frames = frames_of(third)
    assert mad(frames[5 * FPS], ends[0]) < SAME
    assert mad(frames[10 * FPS], ends[1]) < SAME
    # The sound covers the whole video.
    assert decode_audio(third.video.path).shape[1] >= round((15 - FRAME) * 48_000)
    assert "Continued from the last frame: push in" in second.engine_note


def test_an_extension_is_estimated_held_and_billed_for_the_seconds_it_adds(
    project, member, tasks, double
):
    project.monthly_budget = Decimal("10")
    project.save()
    parent = ready_parent(
        project, engine="gemini", resolution="720p", duration_seconds=10, video_duration=10
    )
    child = extend.version_extend(version=parent, membership=member, seconds=4)

    # 4 s at 720p, not the 14 s the whole will last.
    assert child.cost_estimate == child.budget_held == Decimal("0.20")
    assert budgets.budget_status(project=project).project.committed == Decimal("0.20")
    assert child.duration_seconds == 14


def test_the_activity_feed_says_a_version_was_extended(project, member, double):
    parent = ready_parent(project, engine="gemini", resolution="720p", duration_seconds=8)
    child = extend.version_extend(version=parent, membership=member, seconds=4)
    entry = Activity.objects.get(project=project, version=child)
    assert (entry.verb, entry.get_verb_display()) == ("extended", "extended")


@pytest.fixture(scope="module")
def continuation_mp4() -> bytes:
    """What the double sends back for an extension: 3 s of another scene."""
    engine = LocalEngine()
    request = GenerationRequest(Task.TEXT_TO_VIDEO, "Sand blowing", "16:9", "480p", 3)
    result = engine.poll(engine.submit(request).interaction_id, request, progress=lambda f: None)
    with tempfile.TemporaryDirectory() as workdir:
        target = Path(workdir) / "out.mp4"
        engine.fetch_output(result.output, target)
        return target.read_bytes()


def test_on_gemini_the_last_frame_is_the_image_and_the_instruction_is_in_the_prompt(
    project, member, tasks, double, continuation_mp4
):
    parent = generate(project, member, engine="local", duration_seconds=3)
    tasks()
    made(parent)
    completes(double, "int-extend", continuation_mp4)
    child = extend.version_extend(
        version=parent,
        membership=member,
        seconds=3,
        instruction="the kite drifts out of frame",
        engine="gemini",
    )
    tasks()
    made(child)

    [create] = double.creates
    sent = create.json
    assert "previous_interaction_id" not in sent
    assert sent["generation_config"]["video_config"]["task"] == "image_to_video"
    assert sent["response_format"]["duration"] == "3s"
    [step] = sent["input"]
    image, text = step["content"]
    assert text["text"] == (
        "Continue this shot: A kite over the dunes, slow push in. The kite drifts out of frame."
    )
    assert image["type"] == "image" and image["mime_type"] == "image/png"
    sent_frame = np.asarray(
        Image.open(io.BytesIO(base64.b64decode(image["data"]))).convert("RGB")
    ).astype(np.int16)
    parent_end = np.asarray(last_frame_image(parent.video.path)).astype(np.int16)
    assert sent_frame.shape == parent_end.shape and mad(sent_frame, parent_end) < 1
    assert child.route == "image to video from the last frame"
    # Stitched: the parent's 3 s, then the 3 s Gemini made; billed for those.
    assert abs(child.video_duration - 6.0) <= FRAME
    assert probe_video(child.video.path).audio_codec == "aac"
    assert child.cost == Decimal("0.15")


def test_a_rerun_of_an_extension_is_another_extension_beside_it(project, member, tasks):
    parent = generate(project, member, duration_seconds=3)
    tasks()
    first = extend.version_extend(version=made(parent), membership=member, seconds=3)
    tasks()
    again = versions.version_rerun(source=made(first), membership=member, author=member.user)
    assert (again.kind, again.parent_id, again.extend_seconds) == ("extend", parent.pk, 3)
    assert again.duration_seconds == 6 and again.seed is not None
    tasks()
    assert abs(made(again).video_duration - 6.0) <= FRAME


@pytest.mark.parametrize(
    ("seconds", "parent_fields", "needle"),
    [
        (2, {}, "Extend by 3 to 10 seconds"),
        (11, {}, "Extend by 3 to 10 seconds"),
        (5, {"video_duration": 55.5, "duration_seconds": 56}, "extend it by at most 4 s"),
        (3, {"video_duration": 58.0, "duration_seconds": 58}, "cannot be extended further"),
        (5, {"status": Version.Status.GENERATING}, "Only a ready version is extended"),
        (5, {"status": Version.Status.FAILED}, "v1 is failed"),
    ],
    ids=["2s", "11s", "over-60s", "at-the-limit", "not-ready", "failed"],
)
def test_refusals_change_nothing(project, member, seconds, parent_fields, needle):
    parent = ready_parent(project, **parent_fields)
    with pytest.raises(StudioError) as refused:
        extend.version_extend(version=parent, membership=member, seconds=seconds)
    assert needle in refused.value.message
    assert Version.objects.count() == 1
    assert DBTaskResult.objects.count() == 0


def test_an_extension_up_to_60_seconds_is_made(project, member):
    parent = ready_parent(project, video_duration=55.0, duration_seconds=55)
    child = extend.version_extend(version=parent, membership=member, seconds=5)
    assert child.duration_seconds == 60


def test_an_extension_over_the_budget_is_refused_before_anything_is_queued(project, member, double):
    project.monthly_budget = Decimal("0.10")
    project.save()
    parent = ready_parent(project, engine="gemini", resolution="720p")
    with pytest.raises(StudioError, match=r"about \$0.25"):
        extend.version_extend(version=parent, membership=member, seconds=5)
    assert Version.objects.count() == 1
    assert budgets.budget_status(project=project).project.committed == Decimal(0)


@pytest.mark.parametrize("role", ["reviewer", "viewer"])
def test_only_owners_and_editors_extend(project, member, role):
    parent = ready_parent(project)
    watcher = MembershipFactory(workspace=project.workspace, role=role)
    with pytest.raises(PermissionDenied):
        extend.version_extend(version=parent, membership=watcher, seconds=5)
    editor = MembershipFactory(workspace=project.workspace, role="editor")
    assert extend.version_extend(version=parent, membership=editor, seconds=5).author == editor.user


def test_an_extension_takes_no_files_and_says_its_seconds(project, member):
    parent = ready_parent(project)
    arguments = extend.extend_arguments(parent=parent, seconds=3)
    with pytest.raises(StudioError, match="every one, says how many seconds"):
        versions.version_create(
            project=project,
            membership=member,
            author=member.user,
            **{**arguments, "extend_seconds": None},
        )
    assert Version.objects.count() == 1
