from datetime import timedelta

import av
import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from projects.models import Version
from projects.services import (
    decisions,
    engines,
    leases,
    prompts,
    sweeper,
    tree,
    versions,
)
from projects.services.errors import StudioError
from projects.services.leases import LeaseLost
from tests.engines import CountingEngine


@pytest.fixture
def counting_engine(settings):
    settings.STUDIO_ENGINES = {
        **settings.STUDIO_ENGINES,
        "counting": "tests.engines.CountingEngine",
    }
    CountingEngine.submits.clear()
    CountingEngine.polls.clear()
    yield "counting"
    engines.get_engine.cache_clear()


def create(project, member, **overrides):
    fields = {
        "kind": Version.Kind.TEXT_TO_VIDEO,
        "prompt": "A marble rolling on a chain-reaction track. Lighting: neon.",
        "aspect_ratio": "16:9",
        "resolution": "480p",
        "duration_seconds": 3,
        "engine": "local",
    }
    fields.update(overrides)
    return versions.version_create(project=project, membership=member, author=member.user, **fields)


def decode(field_file):
    with av.open(field_file.path) as container:
        video = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video))
        return {
            "size": (video.codec_context.width, video.codec_context.height),
            "frames": frames,
            "audio": bool(container.streams.audio),
            "codec": video.codec_context.name,
        }


def test_text_to_video_goes_through_every_state_to_a_stored_mp4(project, member, tasks):
    version = create(project, member)
    assert version.status == Version.Status.QUEUED
    assert version.number == 1
    tasks()
    version.refresh_from_db()
    assert version.status == Version.Status.READY, version.error_message
    assert version.interaction_id.startswith("local-")
    assert version.progress == 1.0
    decoded = decode(version.video)
    assert decoded == {"size": (852, 480), "frames": 72, "audio": True, "codec": "h264"}
    assert version.poster.size > 0
    assert (version.width, version.height) == (852, 480)


def test_edit_continues_the_parents_interaction_and_branches(project, member, tasks):
    root = create(project, member)
    tasks()
    root.refresh_from_db()
    first = create(
        project, member, kind=Version.Kind.EDIT, parent=root, prompt="Make it black and white."
    )
    branch = create(project, member, kind=Version.Kind.EDIT, parent=root, prompt="Reframe to 9:16.")
    tasks()
    first.refresh_from_db()
    branch.refresh_from_db()
    assert first.previous_interaction_id == root.interaction_id
    assert branch.previous_interaction_id == root.interaction_id
    assert (first.number, branch.number) == (2, 3)
    assert first.status == branch.status == Version.Status.READY
    assert decode(first.video)["frames"] == decode(root.video)["frames"]
    assert decode(branch.video)["size"][0] < decode(branch.video)["size"][1]
    index = tree.TreeIndex.for_project(project)
    assert index.roots == [root.pk]
    assert index.child_ids(root.pk) == [first.pk, branch.pk]


def test_an_instruction_the_local_engine_does_not_understand_is_refused_before_queuing(
    project, member, tasks
):
    root = create(project, member)
    tasks()
    root.refresh_from_db()
    with pytest.raises(StudioError) as refused:
        create(project, member, kind=Version.Kind.EDIT, parent=root, prompt="Make the cat dance.")
    assert "cat dance" in refused.value.message.lower()
    assert project.versions.count() == 1


def test_an_edit_of_an_unfinished_version_is_refused(project, member):
    root = create(project, member)
    with pytest.raises(StudioError, match="not ready"):
        create(project, member, kind=Version.Kind.EDIT, parent=root, prompt="Make it darker.")


def test_a_viewer_cannot_generate(project, member):
    member.role = "viewer"
    member.save()
    with pytest.raises(PermissionDenied, match="viewer"):
        create(project, member)
    assert not project.versions.exists()


def test_version_and_task_commit_together_or_not_at_all(project, member):
    with pytest.raises(RuntimeError), transaction.atomic():
        create(project, member)
        raise RuntimeError("the request failed after creating the version")
    assert not Version.objects.exists()
    assert not DBTaskResult.objects.exists()


def test_a_second_claim_is_refused_while_the_first_holds_the_lease(project, member):
    version = create(project, member)
    first = leases.version_claim(version_id=version.pk)
    assert first is not None
    assert leases.version_claim(version_id=version.pk) is None


def test_a_stale_workers_write_is_refused(project, member):
    version = create(project, member)
    stale = leases.version_claim(version_id=version.pk)
    Version.objects.filter(pk=version.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    fresh = leases.version_claim(version_id=version.pk)
    assert fresh.fence == stale.fence + 1
    with pytest.raises(LeaseLost):
        leases.version_write(stale, expect=Version.Status.QUEUED, status=Version.Status.SUBMITTING)
    leases.version_write(fresh, expect=Version.Status.QUEUED, status=Version.Status.SUBMITTING)
    assert Version.objects.get(pk=version.pk).status == Version.Status.SUBMITTING


def test_the_sweeper_resumes_a_dead_workers_version(project, member, tasks, counting_engine):
    version = create(project, member, engine=counting_engine)
    tasks()
    version.refresh_from_db()
    assert len(CountingEngine.submits) == 1
    # A worker claimed it, stored the interaction, then died mid-render.
    Version.objects.filter(pk=version.pk).update(
        status=Version.Status.GENERATING,
        video="",
        lease_until=timezone.now() - timedelta(seconds=5),
        fence=version.fence + 1,
    )
    assert sweeper.versions_sweep() == 1
    tasks()
    version.refresh_from_db()
    assert version.status == Version.Status.READY
    assert len(CountingEngine.submits) == 1, "resumed by polling, not by submitting again"
    assert CountingEngine.polls[-1] == version.interaction_id


def test_the_sweeper_leaves_a_version_alone_while_its_lease_holds(project, member):
    version = create(project, member)
    leases.version_claim(version_id=version.pk)
    assert sweeper.versions_sweep() == 0


def test_a_crash_before_the_paid_call_resubmits_by_itself(project, member, tasks, counting_engine):
    version = create(project, member, engine=counting_engine)
    # A worker died while preparing (uploads, say): no mark, so nothing paid.
    Version.objects.filter(pk=version.pk).update(
        status=Version.Status.SUBMITTING, lease_until=timezone.now() - timedelta(seconds=1)
    )
    sweeper.versions_sweep()
    tasks()
    version.refresh_from_db()
    assert version.status == Version.Status.READY
    assert len(CountingEngine.submits) == 1
    assert version.paid_call_started_at is not None


def test_a_crash_between_paying_and_recording_the_id_needs_a_decision(
    project, member, tasks, counting_engine
):
    version = create(project, member, engine=counting_engine)
    Version.objects.filter(pk=version.pk).update(
        status=Version.Status.SUBMITTING,
        paid_call_started_at=timezone.now(),
        lease_until=timezone.now() - timedelta(seconds=1),
    )
    sweeper.versions_sweep()
    tasks()
    version.refresh_from_db()
    assert version.status == Version.Status.RECONCILE
    assert CountingEngine.submits == []
    decisions.version_reconcile(version=version, membership=member, resubmit=True)
    tasks()
    version.refresh_from_db()
    assert version.status == Version.Status.READY
    assert len(CountingEngine.submits) == 1


def test_a_free_engine_resubmits_by_itself_after_such_a_crash(project, member, tasks):
    version = create(project, member)
    Version.objects.filter(pk=version.pk).update(
        status=Version.Status.SUBMITTING, lease_until=timezone.now() - timedelta(seconds=1)
    )
    sweeper.versions_sweep()
    tasks()
    version.refresh_from_db()
    assert version.status == Version.Status.READY


def test_retry_polls_the_stored_interaction_instead_of_paying_again(
    project, member, tasks, counting_engine
):
    version = create(project, member, engine=counting_engine)
    tasks()
    version.refresh_from_db()
    interaction = version.interaction_id
    Version.objects.filter(pk=version.pk).update(
        status=Version.Status.FAILED, error_kind="unavailable", error_message="503", video=""
    )
    version.refresh_from_db()
    decisions.version_retry(version=version, membership=member)
    tasks()
    version.refresh_from_db()
    assert version.status == Version.Status.READY
    assert version.attempt == 2
    assert version.interaction_id == interaction
    assert CountingEngine.submits == [interaction]


def test_retry_after_the_interaction_itself_failed_submits_a_new_one(
    project, member, tasks, counting_engine
):
    version = create(project, member, engine=counting_engine)
    tasks()
    version.refresh_from_db()
    Version.objects.filter(pk=version.pk).update(
        status=Version.Status.FAILED, error_kind="budget_exceeded", error_message="over budget"
    )
    version.refresh_from_db()
    old = version.interaction_id
    decisions.version_retry(version=version, membership=member)
    tasks()
    version.refresh_from_db()
    assert version.status == Version.Status.READY
    assert version.abandoned_interaction_ids == [old]
    assert len(CountingEngine.submits) == 2


def test_cancel_stops_a_queued_version_and_a_late_worker_writes_nothing(project, member, tasks):
    version = create(project, member)
    worker_view = leases.version_claim(version_id=version.pk)
    decisions.version_cancel(version=version, membership=member)
    with pytest.raises(LeaseLost):
        leases.version_write(
            worker_view, expect=Version.Status.QUEUED, status=Version.Status.SUBMITTING
        )
    tasks()
    version.refresh_from_db()
    assert version.status == Version.Status.CANCELLED
    assert not version.video


def test_cancel_of_a_finished_version_is_refused(project, member, tasks):
    version = create(project, member)
    tasks()
    version.refresh_from_db()
    with pytest.raises(StudioError, match="ready"):
        decisions.version_cancel(version=version, membership=member)


def test_prompt_from_fields_and_edit_prompt():
    prompt = prompts.prompt_from_fields(
        {
            "subject": "A red kite",
            "action": "climbs into the wind",
            "camera": "slow tilt up",
            "exclude": "people",
        }
    )
    assert prompt == "A red kite climbs into the wind. Camera: slow tilt up. Avoid: people."
    edit = prompts.edit_prompt(
        instruction="Make it night", keep_rest_same=True, preserve="the kite"
    )
    assert edit == "Make it night. Keep everything else the same. Preserve the kite."
    assert (
        prompts.edit_prompt(instruction="Make it night", keep_rest_same=False) == "Make it night."
    )
