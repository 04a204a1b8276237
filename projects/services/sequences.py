"""Sequences: ready versions cut at in and out points and joined in order,
by cuts or crossfades, into one MP4 at the sequence's aspect ratio (every
clip scaled to fill it and centre-cropped).

Every change to the clips checks the whole new list and replaces the old
one in a transaction, so a refused change changes nothing. A render is a
new numbered row (r1, r2, ...) keeping a snapshot of the clips it is made
from; it is made by a task on the studio's own video code, and a comment at
a time of a render lands on the version that plays then, at its own time.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone

from projects.models import (
    Membership,
    Project,
    Sequence,
    SequenceClip,
    SequenceRender,
    Version,
)
from projects.models.sequences import CROSSFADE_MAX_SECONDS, CROSSFADE_MIN_SECONDS
from projects.services.access import project_for_user, require
from projects.services.broadcast import sequence_changed
from projects.services.errors import StudioError
from projects.services.queue import RENDER_SEQUENCE, enqueue
from projects.services.sequence_rendering import render_parts
from projects.services.tree import TreeIndex
from studio.engines.base import frame_size
from studio.engines.video.joins import sequence_frame_counts, sequence_overlaps, sequence_starts

MAX_CLIPS = 20
FRAME_RATES = (12, 24, 30)
# An out point may fall this far past a video's measured end (rounding).
END_TOLERANCE = 0.001
ARRANGE_REFUSAL = "Only owners and editors arrange and render sequences."


@dataclass(frozen=True)
class ClipSpec:
    """A clip as asked for: a version by number, its in and out points
    (from its start, to its end, when left out) and the transition into the
    next clip."""

    version: int
    in_seconds: float | None = None
    out_seconds: float | None = None
    transition: str = SequenceClip.Transition.CUT
    transition_seconds: float = 0.0


# Finding


def sequence_for_user(
    *, user: AbstractBaseUser, project_id: int, sequence_id: int
) -> tuple[Sequence, Membership]:
    """The sequence if the user is a member of its project's workspace, else 404."""
    project, membership = project_for_user(user=user, project_id=project_id)
    sequence = Sequence.objects.filter(project=project, pk=sequence_id).first()
    if sequence is None:
        raise Http404("No such sequence.")
    sequence.project = project
    return sequence, membership


def render_for_user(
    *, user: AbstractBaseUser, project_id: int, sequence_id: int, number: int
) -> tuple[SequenceRender, Membership]:
    sequence, membership = sequence_for_user(
        user=user, project_id=project_id, sequence_id=sequence_id
    )
    render = SequenceRender.objects.filter(sequence=sequence, number=number).first()
    if render is None:
        raise Http404("No such render.")
    render.sequence = sequence
    return render, membership


def sequences_of(project: Project) -> list[Sequence]:
    return list(Sequence.objects.filter(project=project))


def clips_of(sequence: Sequence) -> list[SequenceClip]:
    return list(sequence.clips.select_related("version").order_by("position"))


def renders_of(sequence: Sequence) -> list[SequenceRender]:
    return list(sequence.renders.select_related("author").order_by("-number"))


# Arranging


def default_clips(project: Project) -> list[ClipSpec]:
    """Each branch's pick (the project's pick, where it is on the branch) or
    else its latest ready version, whole, oldest branch first."""
    index = TreeIndex.for_project(project)
    ready = {pk for pk, bone in index.bones.items() if bone.status == Version.Status.READY}
    chosen: list[int] = []
    for leaf in sorted(index.leaves(), key=lambda pk: index.bones[pk].number):
        lineage = index.lineage_ids(leaf)
        if project.picked_version_id in lineage:
            pk = project.picked_version_id
        else:
            pk = next((pk for pk in reversed(lineage) if pk in ready), None)
        if pk is not None and pk not in chosen:
            chosen.append(pk)
    return [ClipSpec(version=index.bones[pk].number) for pk in chosen[:MAX_CLIPS]]


def sequence_create(
    *,
    project: Project,
    membership: Membership,
    title: str,
    aspect_ratio: str = Sequence.AspectRatio.LANDSCAPE,
    resolution: str = Sequence.Resolution.HD,
    fps: int = 24,
    clips: list[ClipSpec] | None = None,
    from_picks: bool = False,
) -> Sequence:
    """A new sequence: of the clips given, of each branch's pick or latest
    ready version (``from_picks``), or empty."""
    require(membership.can_generate, ARRANGE_REFUSAL)
    title = _checked_title(title)
    _check_format(aspect_ratio=aspect_ratio, resolution=resolution, fps=fps)
    if from_picks:
        if clips:
            raise StudioError("Give the clips or start from the picks, not both.", field="clips")
        clips = default_clips(project)
        if not clips:
            raise StudioError("The project has no ready versions to put in a sequence yet.")
    rows = _checked_clips(project, clips or [])
    with transaction.atomic():
        sequence = Sequence.objects.create(
            project=project,
            title=title,
            aspect_ratio=aspect_ratio,
            resolution=resolution,
            fps=fps,
            created_by=membership.user,
        )
        _replace_clips(sequence, rows)
    return sequence


def _checked_title(title: str) -> str:
    title = title.strip()
    if not title:
        raise StudioError("Give the sequence a title.", field="title")
    if len(title) > 200:
        raise StudioError("A title is at most 200 characters.", field="title")
    if "\x00" in title:
        raise StudioError("A title cannot hold NUL characters.", field="title")
    return title


def _check_format(*, aspect_ratio: str, resolution: str, fps: int) -> None:
    if aspect_ratio not in Sequence.AspectRatio.values:
        raise StudioError("Choose 16:9, 9:16 or 1:1.", field="aspect_ratio")
    if resolution not in Sequence.Resolution.values:
        raise StudioError("Choose 480p, 720p or 1080p.", field="resolution")
    if fps not in FRAME_RATES:
        raise StudioError("Choose 12, 24 or 30 frames a second.", field="fps")


def sequence_update(
    *,
    sequence: Sequence,
    membership: Membership,
    title: str,
    aspect_ratio: str,
    resolution: str,
    fps: int,
) -> Sequence:
    require(membership.can_generate, ARRANGE_REFUSAL)
    title = _checked_title(title)
    _check_format(aspect_ratio=aspect_ratio, resolution=resolution, fps=fps)
    sequence.title, sequence.aspect_ratio = title, aspect_ratio
    sequence.resolution, sequence.fps = resolution, fps
    sequence.save(update_fields=["title", "aspect_ratio", "resolution", "fps", "updated_at"])
    return sequence


def sequence_set_clips(
    *, sequence: Sequence, membership: Membership, clips: list[ClipSpec]
) -> list[SequenceClip]:
    """Replace the sequence's clips with these, in this order: all are
    checked first, and a refusal changes nothing."""
    require(membership.can_generate, ARRANGE_REFUSAL)
    rows = _checked_clips(sequence.project, clips)
    with transaction.atomic():
        _replace_clips(sequence, rows)
        sequence.save(update_fields=["updated_at"])
    return clips_of(sequence)


def specs_of(sequence: Sequence) -> list[ClipSpec]:
    """The sequence's clips as specs, to change and set again."""
    return [
        ClipSpec(
            version=clip.version.number,
            in_seconds=clip.in_seconds,
            out_seconds=clip.out_seconds,
            transition=clip.transition,
            transition_seconds=clip.transition_seconds,
        )
        for clip in clips_of(sequence)
    ]


def sequence_add_version(
    *, sequence: Sequence, membership: Membership, number: int
) -> list[SequenceClip]:
    """The version, whole, at the end of the sequence."""
    clips = [*specs_of(sequence), ClipSpec(version=number)]
    return sequence_set_clips(sequence=sequence, membership=membership, clips=clips)


def sequence_move_clip(
    *, sequence: Sequence, membership: Membership, position: int, to: int
) -> list[SequenceClip]:
    """Move the clip at ``position`` to ``to`` (both from 0), the clips
    between closing up: a step earlier or later, or a drag along the
    timeline. Each clip keeps its in and out points and the transition into
    the clip after it."""
    clips = specs_of(sequence)
    if not 0 <= position < len(clips):
        raise StudioError("There is no such clip in the sequence.")
    if not 0 <= to < len(clips):
        raise StudioError("That clip cannot move further that way.")
    clips.insert(to, clips.pop(position))
    return sequence_set_clips(sequence=sequence, membership=membership, clips=clips)


def sequence_remove_clip(
    *, sequence: Sequence, membership: Membership, position: int
) -> list[SequenceClip]:
    clips = specs_of(sequence)
    if not 0 <= position < len(clips):
        raise StudioError("There is no such clip in the sequence.")
    del clips[position]
    return sequence_set_clips(sequence=sequence, membership=membership, clips=clips)


def sequence_change_clip(
    *,
    sequence: Sequence,
    membership: Membership,
    position: int,
    in_seconds: float,
    out_seconds: float,
    transition: str,
    transition_seconds: float,
) -> list[SequenceClip]:
    """Set a clip's in and out points and its transition into the next."""
    clips = specs_of(sequence)
    if not 0 <= position < len(clips):
        raise StudioError("There is no such clip in the sequence.")
    clips[position] = ClipSpec(
        version=clips[position].version,
        in_seconds=in_seconds,
        out_seconds=out_seconds,
        transition=transition,
        transition_seconds=transition_seconds,
    )
    return sequence_set_clips(sequence=sequence, membership=membership, clips=clips)


def _checked_clips(project: Project, clips: list[ClipSpec]) -> list[SequenceClip]:
    """Unsaved rows for the clips, or a refusal saying which clip and why."""
    if len(clips) > MAX_CLIPS:
        raise StudioError(
            f"A sequence holds at most {MAX_CLIPS} clips; this one would have {len(clips)}.",
            field="clips",
        )
    numbers = {spec.version for spec in clips}
    found = {v.number: v for v in Version.objects.filter(project=project, number__in=numbers)}
    rows = []
    for position, spec in enumerate(clips):
        which = f"Clip {position + 1} (v{spec.version})"
        version = found.get(spec.version)
        if version is None:
            raise StudioError(f"There is no v{spec.version} in this project.", field="clips")
        if version.status != Version.Status.READY or not version.video:
            raise StudioError(
                f"{which} is {version.get_status_display().lower()}: only ready versions "
                "go into a sequence.",
                field="clips",
            )
        length = version.video_duration or float(version.duration_seconds)
        start = 0.0 if spec.in_seconds is None else float(spec.in_seconds)
        end = length if spec.out_seconds is None else float(spec.out_seconds)
        if start < 0:
            raise StudioError(f"{which}: the in point cannot be before 0 s.", field="clips")
        if end <= start:
            raise StudioError(
                f"{which}: the out point ({end:g} s) must be after the in point ({start:g} s).",
                field="clips",
            )
        if end > length + END_TOLERANCE:
            raise StudioError(
                f"{which}: the out point ({end:g} s) is past the end of {version.label} "
                f"({length:.2f} s).",
                field="clips",
            )
        rows.append(
            SequenceClip(
                position=position,
                version=version,
                in_seconds=round(start, 3),
                out_seconds=round(min(end, length), 3),
                **_transition(which, spec),
            )
        )
    _check_crossfades(rows)
    return rows


def _transition(which: str, spec: ClipSpec) -> dict:
    if spec.transition == SequenceClip.Transition.CUT:
        return {"transition": SequenceClip.Transition.CUT, "transition_seconds": 0.0}
    if spec.transition != SequenceClip.Transition.CROSSFADE:
        raise StudioError(f"{which}: choose a cut or a crossfade.", field="clips")
    seconds = float(spec.transition_seconds)
    if not CROSSFADE_MIN_SECONDS <= seconds <= CROSSFADE_MAX_SECONDS:
        raise StudioError(
            f"{which}: a crossfade lasts {CROSSFADE_MIN_SECONDS:g} to "
            f"{CROSSFADE_MAX_SECONDS:g} s, not {seconds:g} s.",
            field="clips",
        )
    return {"transition": SequenceClip.Transition.CROSSFADE, "transition_seconds": seconds}


def _check_crossfades(rows: list[SequenceClip]) -> None:
    """A crossfade cannot outlast either clip it joins, nor a clip its
    crossfades in and out together."""
    for index, row in enumerate(rows[:-1]):
        following = rows[index + 1]
        fade = _fade(rows, index)
        if fade > min(row.seconds, following.seconds):
            raise StudioError(
                f"Clip {index + 1}'s crossfade ({fade:g} s) is longer than "
                f"{'it' if row.seconds < following.seconds else f'clip {index + 2}'} "
                f"({min(row.seconds, following.seconds):g} s).",
                field="clips",
            )
    for index, row in enumerate(rows):
        faded = (_fade(rows, index - 1) if index else 0) + _fade(rows, index)
        if faded > row.seconds:
            raise StudioError(
                f"Clip {index + 1} lasts {row.seconds:g} s, less than its crossfades in and "
                f"out ({faded:g} s).",
                field="clips",
            )


def _fade(rows: list[SequenceClip], index: int) -> float:
    """The crossfade out of clip ``index`` (none out of the last)."""
    if index >= len(rows) - 1:
        return 0.0
    return rows[index].transition_seconds


def _replace_clips(sequence: Sequence, rows: list[SequenceClip]) -> None:
    sequence.clips.all().delete()
    for row in rows:
        row.sequence = sequence
    SequenceClip.objects.bulk_create(rows)


# Rendering


def sequence_render(*, sequence: Sequence, membership: Membership) -> SequenceRender:
    """A new render of the clips as they are now (r1, r2, ...), queued: the
    earlier renders stay as they were."""
    require(membership.can_generate, ARRANGE_REFUSAL)
    clips = clips_of(sequence)
    if not clips:
        raise StudioError("Add a clip to the sequence before rendering it.")
    width, height = frame_size(sequence.aspect_ratio, sequence.resolution)
    with transaction.atomic():
        Sequence.objects.filter(pk=sequence.pk).update(
            last_render_number=F("last_render_number") + 1, updated_at=timezone.now()
        )
        number = Sequence.objects.values_list("last_render_number", flat=True).get(pk=sequence.pk)
        render = SequenceRender.objects.create(
            sequence=sequence,
            number=number,
            clips=_snapshot(clips, fps=sequence.fps),
            aspect_ratio=sequence.aspect_ratio,
            width=width,
            height=height,
            fps=sequence.fps,
            author=membership.user,
        )
        enqueue(RENDER_SEQUENCE, render.pk)
        sequence_changed(project_id=sequence.project_id, sequence_id=sequence.pk)
    render.sequence = sequence
    return render


def _snapshot(clips: list[SequenceClip], *, fps: int) -> list[dict]:
    """The clips as the render is made of them, with where each starts in it
    and how many frames it lasts (as the compositing counts them)."""
    last = len(clips) - 1
    snapshot = [
        {
            "version": clip.version_id,
            "number": clip.version.number,
            "in": clip.in_seconds,
            "out": clip.out_seconds,
            "transition": clip.transition if index < last else SequenceClip.Transition.CUT,
            "transition_seconds": clip.transition_seconds if index < last else 0.0,
            # Its picture's size, which the render scales and crops from:
            # a drawing on the render is moved back into it.
            "width": clip.version.width,
            "height": clip.version.height,
        }
        for index, clip in enumerate(clips)
    ]
    parts = render_parts(snapshot, paths=[""] * len(snapshot))
    rate = Fraction(fps)
    counts = sequence_frame_counts(parts, rate)
    starts = sequence_starts(counts, sequence_overlaps(parts, rate))
    for clip, start, count in zip(snapshot, starts, counts, strict=False):
        clip["starts_at"] = start / fps
        clip["frames"] = count
    return snapshot
