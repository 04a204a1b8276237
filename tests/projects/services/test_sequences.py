"""Sequences: arranged from ready versions, checked as a whole (a refusal
changes nothing), rendered by a task into a new numbered render that keeps
its snapshot, and reviewed at sequence time back on the clips' versions."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from projects.models import Comment, Membership, Sequence, SequenceRender, Version
from projects.services import housekeeping, review, sequence_rendering, sequence_review, sequences
from projects.services.errors import StudioError
from projects.services.leases import LeaseLost, shutdown_requested
from projects.services.sequences import ClipSpec
from tests.factories import MembershipFactory, ProjectFactory, VersionFactory
from tests.projects.sequence_clips import decoded, ready_version

FRAME = 1 / 24


@pytest.fixture
def three(project, member, tasks):
    """Two landscape versions and a portrait one, made by the local engine."""
    return [
        ready_version(project, member, tasks, prompt="A red kite"),
        ready_version(project, member, tasks, prompt="A green field"),
        ready_version(project, member, tasks, aspect_ratio="9:16", prompt="A blue door"),
    ]


def arranged(project, member, versions) -> Sequence:
    v1, v2, v3 = versions
    return sequences.sequence_create(
        project=project,
        membership=member,
        title="Launch cut",
        resolution="480p",
        clips=[
            ClipSpec(v1.number, 0.5, 2.5, "crossfade", 0.5),  # 2 s
            ClipSpec(v2.number, 0.0, 3.0),  # 3 s, cut into the next
            ClipSpec(v3.number, 0.5, 2.5),  # 2 s, portrait
        ],
    )


def test_three_clips_with_a_crossfade_render_to_their_length_less_the_crossfade(
    project, member, tasks, three
):
    sequence = arranged(project, member, three)
    render = sequences.sequence_render(sequence=sequence, membership=member)
    assert (render.number, render.status) == (1, SequenceRender.Status.QUEUED)
    tasks()
    render.refresh_from_db()
    assert render.status == SequenceRender.Status.READY, render.error_message
    found = decoded(render.video)
    expected = 2 + 3 + 2 - 0.5
    print(f"\nrendered r1: {found['seconds']:.3f} s (expected {expected} s), {found}")
    assert abs(found["seconds"] - expected) <= FRAME
    assert abs(render.duration_seconds - expected) <= FRAME
    # The portrait clip was scaled to fill 16:9 and centre-cropped.
    assert (found["width"], found["height"]) == (852, 480) == (render.width, render.height)
    assert found["codec"] == "h264" and found["audio_codec"] == "aac"
    assert abs(found["audio_seconds"] - expected) <= 0.05
    assert render.progress == 1.0


def test_a_time_in_the_render_maps_to_the_clip_and_its_time_around_a_crossfade(
    project, member, tasks, three
):
    v1, v2, v3 = three
    render = sequences.sequence_render(sequence=arranged(project, member, three), membership=member)
    # Clip 2 starts fading in at 1.5 s; the crossfade lasts to 2.0 s.
    expected = {
        1.0: (v1, 1.5),  # before the crossfade
        1.6: (v1, 2.1),  # inside it, before its middle: still the clip fading out
        1.9: (v2, 0.4),  # inside it, past its middle: the clip fading in
        3.0: (v2, 1.5),  # after it
        5.0: (v3, 1.0),  # after the cut at 4.5 s
    }
    for at, (version, seconds) in expected.items():
        mapped, into = sequence_review.sequence_time_to_clip(render, at)
        assert (mapped.pk, into) == (version.pk, pytest.approx(seconds, abs=0.001)), at
    with pytest.raises(StudioError, match="within the render"):
        sequence_review.sequence_time_to_clip(render, 60)


def test_a_comment_on_a_render_is_stored_on_the_clip_at_its_time(project, member, tasks, three):
    v2 = three[1]
    sequence = arranged(project, member, three)
    render = sequences.sequence_render(sequence=sequence, membership=member)
    reviewer = MembershipFactory(workspace=member.workspace, role=Membership.Role.REVIEWER)
    with pytest.raises(StudioError, match="not ready"):
        sequence_review.render_comment_create(
            render=render, membership=reviewer, body="Hold longer", seconds=1.9
        )
    tasks()
    render.refresh_from_db()
    comment = sequence_review.render_comment_create(
        render=render, membership=reviewer, body="Hold longer", seconds=1.9
    )
    assert comment.version_id == v2.pk and comment.start_seconds == pytest.approx(0.4)
    assert comment.body == "Hold longer (from sequence Launch cut r1 at 0:01.9)"
    assert comment.start_frame == review.frame_at(v2, 0.4)
    viewer = MembershipFactory(workspace=member.workspace, role=Membership.Role.VIEWER)
    with pytest.raises(PermissionDenied):
        sequence_review.render_comment_create(
            render=render, membership=viewer, body="Nice", seconds=1
        )
    assert Comment.objects.count() == 1


def test_reordering_then_rendering_again_makes_a_new_render_and_keeps_the_old(
    project, member, tasks, three
):
    v1, v2, v3 = three
    sequence = arranged(project, member, three)
    first = sequences.sequence_render(sequence=sequence, membership=member)
    tasks()
    # The crossfade moves with its clip: v1 is now second, fading into v3.
    sequences.sequence_move_clip(sequence=sequence, membership=member, position=0, to=1)
    assert [c.version_id for c in sequences.clips_of(sequence)] == [v2.pk, v1.pk, v3.pk]
    second = sequences.sequence_render(sequence=sequence, membership=member)
    tasks()
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.number, second.number) == (1, 2)
    assert first.status == second.status == SequenceRender.Status.READY
    assert first.video.name != second.video.name
    assert [c["version"] for c in first.clips] == [v1.pk, v2.pk, v3.pk]
    assert [c["version"] for c in second.clips] == [v2.pk, v1.pk, v3.pk]
    assert decoded(first.video)["frames"] == decoded(second.video)["frames"] == 156
    # The old render's times still map by its own snapshot.
    assert sequence_review.sequence_time_to_clip(first, 1.0)[0].pk == v1.pk
    assert sequence_review.sequence_time_to_clip(second, 1.0)[0].pk == v2.pk


def test_a_render_of_an_empty_sequence_is_refused(project, member):
    sequence = sequences.sequence_create(project=project, membership=member, title="Empty")
    with pytest.raises(StudioError, match="Add a clip"):
        sequences.sequence_render(sequence=sequence, membership=member)
    assert not SequenceRender.objects.exists()


def test_a_new_sequence_takes_each_branchs_pick_or_latest_ready_version(project, member):
    root = VersionFactory(project=project, number=1, video="v/1.mp4", video_duration=3.0)
    left = VersionFactory(project=project, number=2, parent=root, video="v/2.mp4")
    VersionFactory(project=project, number=3, parent=left, status=Version.Status.FAILED)
    right = VersionFactory(project=project, number=4, parent=root, video="v/4.mp4")
    VersionFactory(project=project, number=5, parent=right, video="v/5.mp4")
    project.picked_version = right
    project.save()
    sequence = sequences.sequence_create(
        project=project, membership=member, title="Picks", from_picks=True
    )
    clips = sequences.clips_of(sequence)
    # Left branch: v3 failed, so its latest ready v2; right branch: the pick.
    assert [c.version.number for c in clips] == [2, 4]
    assert (clips[0].in_seconds, clips[0].out_seconds) == (0, 3)


@pytest.fixture
def stored(project, member):
    """Ready versions with a (pretend) video: enough for arranging."""
    made = [
        VersionFactory(project=project, number=n, video=f"v/{n}.mp4", video_duration=3.0)
        for n in (1, 2)
    ]
    sequence = sequences.sequence_create(
        project=project,
        membership=member,
        title="Cut",
        clips=[ClipSpec(1, 0, 3, "crossfade", 1.0), ClipSpec(2, 0, 3)],
    )
    return sequence, made


REFUSED = [
    ([ClipSpec(1, 2.0, 2.0)], "must be after the in point"),
    ([ClipSpec(1, 2.5, 1.0)], "must be after the in point"),
    ([ClipSpec(1, -1, 1.0)], "before 0 s"),
    ([ClipSpec(1, 0, 3.5)], "past the end of v1"),
    ([ClipSpec(3)], "queued: only ready versions"),
    ([ClipSpec(99)], "There is no v99 in this project"),
    ([ClipSpec(1)] * 21, "at most 20 clips"),
    ([ClipSpec(1, 0, 3, "crossfade", 2.5), ClipSpec(2)], "0.1 to 2 s, not 2.5 s"),
    ([ClipSpec(1, 0, 3, "crossfade", 0.05), ClipSpec(2)], "0.1 to 2 s"),
    ([ClipSpec(1, 0, 3, "crossfade", 1.5), ClipSpec(2, 0, 1)], "longer than clip 2"),
    ([ClipSpec(1, 0, 1, "crossfade", 1.5), ClipSpec(2)], "longer than it"),
    (
        [ClipSpec(1, 0, 3, "crossfade", 1), ClipSpec(2, 0, 1.5, "crossfade", 1), ClipSpec(1)],
        "less than its crossfades",
    ),
    ([ClipSpec(1, 0, 3, "wipe", 1), ClipSpec(2)], "cut or a crossfade"),
]


@pytest.mark.parametrize(("clips", "message"), REFUSED)
def test_bad_clips_are_refused_and_change_nothing(project, member, stored, clips, message):
    sequence, _ = stored
    VersionFactory(project=project, number=3, status=Version.Status.QUEUED)
    before = sequences.specs_of(sequence)
    with pytest.raises(StudioError, match=message):
        sequences.sequence_set_clips(sequence=sequence, membership=member, clips=clips)
    assert sequences.specs_of(sequence) == before


def test_a_version_of_another_project_is_not_found_in_this_one(project, member, stored):
    sequence, _ = stored
    other = ProjectFactory(workspace=member.workspace)
    VersionFactory(project=other, number=7, video="v/7.mp4")
    with pytest.raises(StudioError, match="no v7 in this project"):
        sequences.sequence_add_version(sequence=sequence, membership=member, number=7)


def test_clips_are_moved_changed_and_removed(project, member, stored):
    sequence, (_, v2) = stored
    sequences.sequence_change_clip(
        sequence=sequence,
        membership=member,
        position=1,
        in_seconds=0.5,
        out_seconds=2.0,
        transition="crossfade",
        transition_seconds=0.5,
    )
    clip = sequences.clips_of(sequence)[1]
    assert (clip.in_seconds, clip.out_seconds, clip.transition_seconds) == (0.5, 2.0, 0.5)
    with pytest.raises(StudioError, match="cannot move further"):
        sequences.sequence_move_clip(sequence=sequence, membership=member, position=1, to=2)
    sequences.sequence_remove_clip(sequence=sequence, membership=member, position=0)
    assert [c.version_id for c in sequences.clips_of(sequence)] == [v2.pk]


def test_only_editors_and_owners_arrange_and_render_and_outsiders_find_nothing(
    project, member, stored, outsider
):
    sequence, _ = stored
    for role in (Membership.Role.VIEWER, Membership.Role.REVIEWER):
        someone = MembershipFactory(workspace=member.workspace, role=role)
        found, membership = sequences.sequence_for_user(
            user=someone.user, project_id=project.pk, sequence_id=sequence.pk
        )
        assert found == sequence  # everyone in the workspace watches
        with pytest.raises(PermissionDenied, match="owners and editors"):
            sequences.sequence_create(project=project, membership=membership, title="Mine")
        with pytest.raises(PermissionDenied):
            sequences.sequence_remove_clip(sequence=sequence, membership=membership, position=0)
        with pytest.raises(PermissionDenied):
            sequences.sequence_render(sequence=sequence, membership=membership)
    editor = MembershipFactory(workspace=member.workspace, role=Membership.Role.EDITOR)
    sequences.sequence_render(sequence=sequence, membership=editor)
    with pytest.raises(Http404):
        sequences.sequence_for_user(user=outsider, project_id=project.pk, sequence_id=sequence.pk)
    with pytest.raises(Http404):
        sequences.render_for_user(
            user=outsider, project_id=project.pk, sequence_id=sequence.pk, number=1
        )
    assert len(sequences.specs_of(sequence)) == 2


def test_a_render_whose_clip_cannot_be_read_fails_with_the_reason(project, member, stored, tasks):
    sequence, _ = stored  # the versions' videos are not really there
    render = sequences.sequence_render(sequence=sequence, membership=member)
    tasks()
    render.refresh_from_db()
    assert render.status == SequenceRender.Status.FAILED
    assert render.error_message.startswith("The sequence could not be rendered:")
    assert not render.video


def test_a_render_whose_worker_died_is_resumed_by_housekeeping(
    project, member, tasks, three, settings
):
    settings.STUDIO_LEASE_SECONDS = 60
    sequence = arranged(project, member, three)
    render = sequences.sequence_render(sequence=sequence, membership=member)
    claimed = sequence_rendering.render_claim(render_id=render.pk)
    assert claimed.status == SequenceRender.Status.RENDERING
    # A second worker finds it held, and so does housekeeping while the lease runs.
    assert sequence_rendering.render_run(render_id=render.pk) is None
    DBTaskResult.objects.all().delete()  # the first worker's task died with it
    past = timezone.now() - timedelta(minutes=5)
    SequenceRender.objects.filter(pk=render.pk).update(created_at=past)
    assert housekeeping.housekeeping_run(only=("sequences",))[0].count == 0
    SequenceRender.objects.filter(pk=render.pk).update(lease_until=past)
    assert housekeeping.housekeeping_run(only=("sequences",))[0].count == 1
    tasks()
    render.refresh_from_db()
    assert render.status == SequenceRender.Status.READY and render.fence == 2
    # The stale worker's late write is refused.
    with pytest.raises(LeaseLost):
        sequence_rendering._write(claimed, progress=0.5)
    assert housekeeping.housekeeping_run(only=("sequences",))[0].count == 0
    # Its file is referenced: the orphans job keeps it.
    assert render.video.name in housekeeping._referenced_names()


def test_a_render_stopped_with_the_studio_is_left_for_the_next_start(project, member, tasks, three):
    sequence = arranged(project, member, three)
    render = sequences.sequence_render(sequence=sequence, membership=member)
    shutdown_requested.set()
    try:
        tasks()
    finally:
        shutdown_requested.clear()
    render.refresh_from_db()
    assert (render.status, render.lease_until, render.video.name) == ("rendering", None, "")
    SequenceRender.objects.filter(pk=render.pk).update(
        created_at=timezone.now() - timedelta(hours=1)
    )
    housekeeping.housekeeping_run(only=("sequences",))
    tasks()
    render.refresh_from_db()
    assert render.status == SequenceRender.Status.READY


def test_a_clip_dragged_to_another_place_takes_its_points_and_the_rest_close_up(
    project, member, three
):
    v1, v2, v3 = three
    sequence = arranged(project, member, three)
    sequences.sequence_move_clip(sequence=sequence, membership=member, position=2, to=0)
    clips = sequences.clips_of(sequence)
    assert [c.version_id for c in clips] == [v3.pk, v1.pk, v2.pk]
    assert [(c.in_seconds, c.out_seconds) for c in clips] == [(0.5, 2.5), (0.5, 2.5), (0, 3)]
    assert clips[1].transition == "crossfade" and clips[1].transition_seconds == 0.5
    for position, to in ((3, 0), (0, 3), (-1, 0)):
        with pytest.raises(StudioError):
            sequences.sequence_move_clip(
                sequence=sequence, membership=member, position=position, to=to
            )
    assert [c.version_id for c in sequences.clips_of(sequence)] == [v3.pk, v1.pk, v2.pk]
