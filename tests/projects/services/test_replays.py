"""Replaying an edit chain onto another base: the same instructions, one
after another, as a new branch continuing each step's interaction; a failed
step stops the rest and says which."""

import io

import av
import numpy as np
import pytest

from projects.models import Membership, Replay, Version
from projects.services import composer, decisions, replays, versions
from projects.services.errors import StudioError
from tests.contract.interactions_double import interaction
from tests.factories import MembershipFactory
from tests.projects.conftest import completes
from tests.projects.test_gemini_studio import render


def generate(project, member, tasks, prompt: str, engine="local") -> Version:
    version = versions.version_create(
        project=project,
        membership=member,
        author=member.user,
        kind=Version.Kind.TEXT_TO_VIDEO,
        prompt=prompt,
        aspect_ratio="16:9",
        resolution="480p" if engine == "local" else "720p",
        duration_seconds=3,
        engine=engine,
    )
    tasks()
    version.refresh_from_db()
    assert version.status == Version.Status.READY, version.error_message
    return version


def edit(project, member, tasks, parent, instruction: str, engine="local") -> Version:
    arguments = composer.edit_arguments(parent=parent, instruction=instruction, engine=engine)
    version = versions.version_create(
        project=project, membership=member, author=member.user, **arguments
    )
    tasks()
    version.refresh_from_db()
    assert version.status == Version.Status.READY, version.error_message
    return version


def saturation(version: Version) -> float:
    """How coloured the video's middle frame is (0: grey)."""
    with av.open(io.BytesIO(version.video.read())) as container:
        frames = list(container.decode(video=0))
    pixels = np.asarray(frames[len(frames) // 2].to_image(), dtype=float)
    return float((pixels.max(axis=2) - pixels.min(axis=2)).mean())


def test_a_three_edit_chain_is_made_again_on_another_base(project, member, tasks):
    v1 = generate(project, member, tasks, "A red kite over green hills")
    v2 = edit(project, member, tasks, v1, "Make it warmer")
    v3 = edit(project, member, tasks, v2, 'Add text "SALE" at the top')
    v4 = edit(project, member, tasks, v3, "Black and white")
    v5 = generate(project, member, tasks, "A yellow taxi on a wet street at dusk")
    assert saturation(v5) > 20

    replay = replays.replay_start(project=project, membership=member, chain=[2, 3, 4], base=5)
    assert replay.current.number == 6 and replay.current.status == Version.Status.QUEUED
    tasks()
    replay.refresh_from_db()
    assert replay.status == Replay.Status.DONE, replay.stopped_reason
    made = list(Version.objects.filter(project=project, number__gt=5).order_by("number"))
    assert [(v.number, v.parent.number) for v in made] == [(6, 5), (7, 6), (8, 7)]
    assert [v.instruction for v in made] == [v.instruction for v in (v2, v3, v4)]
    assert [v.status for v in made] == [Version.Status.READY] * 3
    # Each step continued the interaction of the step before it.
    assert made[0].previous_interaction_id == v5.interaction_id
    assert made[1].previous_interaction_id == made[0].interaction_id != ""
    assert made[2].previous_interaction_id == made[1].interaction_id
    # And the edits were really made again: the taxi is black and white now.
    assert saturation(made[2]) < 3
    assert [s["version"] for s in replay.steps] == [v.pk for v in made]


def test_a_failing_middle_step_stops_the_rest_and_says_which(
    project, member, tasks, double, settings
):
    settings.STUDIO_MAX_TRANSIENT_RETRIES = 0
    # Polls at once: the double answers in milliseconds, and a poll put off
    # by the learned typical time would not be due yet when the tasks run.
    settings.STUDIO_POLL_MAX_SECONDS = 0
    clip = render()
    completes(double, "int-a", clip)
    root = generate(project, member, tasks, "A paper boat on a gutter", engine="gemini")
    completes(double, "int-b", clip)
    night = edit(project, member, tasks, root, "Make it night", engine="gemini")
    completes(double, "int-c", clip)
    edit(project, member, tasks, night, "Slow motion", engine="gemini")
    completes(double, "int-d", clip)
    generate(project, member, tasks, "A paper plane over a roof", engine="gemini")

    completes(double, "int-e", clip)
    double.on_create(interaction("int-f", "queued"))
    double.script(
        "int-f",
        interaction(
            "int-f",
            "failed",
            errors=[{"code": "internal", "message": "The model could not continue."}],
        ),
    )
    replay = replays.replay_start(project=project, membership=member, chain=[2, 3], base=4)
    tasks()
    replay.refresh_from_db()
    assert replay.status == Replay.Status.STOPPED
    first, second = Version.objects.filter(project=project, number__gt=4).order_by("number")
    assert first.status == Version.Status.READY and second.status == Version.Status.FAILED
    assert "Step 2 of 2 (v3's edit “Slow motion”) failed as v6" in replay.stopped_reason
    creates = [r.json for r in double.creates][-2:]
    assert [c.get("previous_interaction_id") for c in creates] == ["int-d", "int-e"]
    assert Version.objects.filter(project=project).count() == 6


def test_a_longer_chain_stops_at_its_failure_and_makes_nothing_after(project, member, tasks):
    v1 = generate(project, member, tasks, "A lighthouse at dusk")
    v2 = edit(project, member, tasks, v1, "Make it cooler")
    v3 = edit(project, member, tasks, v2, "Make it darker")
    edit(project, member, tasks, v3, "Mute")
    base = generate(project, member, tasks, "A harbour at dawn")
    replay = replays.replay_start(project=project, membership=member, chain=[2, 3, 4], base=5)
    # The first step is cancelled before it is made: the replay stops there.
    decisions.version_cancel(version=replay.current, membership=member)
    tasks()
    replay.refresh_from_db()
    assert replay.status == Replay.Status.STOPPED
    assert replay.stopped_reason.startswith("Step 1 of 3 (v2's edit “Make it cooler”) cancelled")
    assert Version.objects.filter(parent=replay.current).count() == 0
    assert base.children.count() == 1


@pytest.mark.parametrize(
    ("chain", "base", "message"),
    [
        ([], 3, "Choose the edits to replay."),
        ([1, 2], 3, "v1 is not an edit"),
        ([2, 9], 3, "There is no v9"),
        ([2, 2], 3, "Each version appears in the chain once."),
        ([2], 99, "There is no v99"),
        ([2], 2, "outside it"),
    ],
)
def test_a_chain_that_is_not_one_is_refused_and_nothing_is_made(
    project, member, tasks, chain, base, message
):
    v1 = generate(project, member, tasks, "A lighthouse at dusk")
    edit(project, member, tasks, v1, "Make it cooler")
    generate(project, member, tasks, "A harbour at dawn")
    with pytest.raises(StudioError, match=message):
        replays.replay_start(project=project, membership=member, chain=chain, base=base)
    assert not Replay.objects.exists() and Version.objects.count() == 3


def test_edits_that_are_not_parent_and_child_are_not_a_chain(project, member, tasks):
    v1 = generate(project, member, tasks, "A lighthouse at dusk")
    edit(project, member, tasks, v1, "Make it cooler")
    edit(project, member, tasks, v1, "Make it darker")
    with pytest.raises(StudioError, match="v3 is not an edit of v2"):
        replays.replay_start(project=project, membership=member, chain=[2, 3], base=1)


def test_a_first_step_the_base_cannot_take_refuses_the_replay(project, member, tasks):
    v1 = generate(project, member, tasks, "A lighthouse at dusk")
    edit(project, member, tasks, v1, "Make it cooler")
    queued = versions.version_create(
        project=project,
        membership=member,
        author=member.user,
        kind=Version.Kind.TEXT_TO_VIDEO,
        prompt="Not ready yet",
        aspect_ratio="16:9",
        resolution="480p",
        duration_seconds=3,
        engine="local",
    )
    with pytest.raises(StudioError, match="v3 is not ready"):
        replays.replay_start(project=project, membership=member, chain=[2], base=queued.number)
    assert not Replay.objects.exists()


def test_only_those_who_generate_may_replay(project, member, tasks):
    v1 = generate(project, member, tasks, "A lighthouse at dusk")
    edit(project, member, tasks, v1, "Make it cooler")
    reviewer = MembershipFactory(workspace=member.workspace, role=Membership.Role.REVIEWER)
    with pytest.raises(Exception, match=r"(?i)editor|owner"):
        replays.replay_start(project=project, membership=reviewer, chain=[2], base=1)
    assert not Replay.objects.exists()


def test_a_step_whose_end_was_not_followed_is_moved_on_by_housekeeping(project, member, tasks):
    from django_tasks_db.models import DBTaskResult

    from projects.services import housekeeping

    v1 = generate(project, member, tasks, "A lighthouse at dusk")
    v2 = edit(project, member, tasks, v1, "Make it cooler")
    edit(project, member, tasks, v2, "Make it darker")
    replay = replays.replay_start(project=project, membership=member, chain=[2, 3], base=1)
    tasks()  # the whole replay
    replay.refresh_from_db()
    assert replay.status == Replay.Status.DONE
    # A replay whose step is ready but whose move-on task was lost (a worker
    # killed in between): the housekeeping job finds and moves it.
    stuck = replays.replay_start(project=project, membership=member, chain=[2, 3], base=1)
    tasks()
    stuck.refresh_from_db()
    Replay.objects.filter(pk=stuck.pk).update(
        status=Replay.Status.RUNNING, finished_at=None, current=stuck.steps[0]["version"]
    )
    steps = list(stuck.steps)
    steps[1]["version"] = None
    Replay.objects.filter(pk=stuck.pk).update(steps=steps)
    Version.objects.filter(pk=stuck.current_id).delete()  # the second step, as if never made
    DBTaskResult.objects.all().delete()
    assert housekeeping.replays_move_on(dry_run=True).lines == [f"would move on replay {stuck.pk}"]
    assert housekeeping.replays_move_on(dry_run=False).count == 1
    tasks()
    stuck.refresh_from_db()
    assert stuck.status == Replay.Status.DONE and stuck.steps[1]["version"] is not None
