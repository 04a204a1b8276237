"""Reviewing a sequence's renders: a time in a render maps back to the
version playing then and the time in it (from the render's snapshot, so a
later change to the sequence does not move it); a comment there, and a
drawing on the render's frame, are stored on that version (the drawing
moved into the version's own picture, undoing the render's crop); and a
render's provenance is every clip's lineage."""

from __future__ import annotations

from django.utils import timezone

from projects.models import Comment, Membership, SequenceRender, Version
from projects.services.access import require
from projects.services.annotations import annotation_checked, annotation_uncropped
from projects.services.errors import StudioError
from projects.services.provenance import provenance
from projects.services.review import comment_create
from studio.engines.base import aspect_size


def sequence_time_to_clip(render: SequenceRender, seconds: float) -> tuple[Version, float]:
    """The version that plays at ``seconds`` of the render, and the time in
    it, from the render's snapshot."""
    clip, into = _clip_at(render, seconds)
    return _version_of(clip), into


def _clip_at(render: SequenceRender, seconds: float) -> tuple[dict, float]:
    """The snapshot's clip playing at ``seconds`` of the render, and the time
    in its version. Within a crossfade the time belongs to the clip fading
    out until the crossfade's middle, then to the one fading in."""
    if not render.clips:
        raise StudioError("The render has no clips.")
    length = render.duration_seconds or _snapshot_length(render)
    if seconds < 0 or seconds > length + 0.05:
        raise StudioError(
            f"The time must be within the render (0 to {length:.1f} s).", field="seconds"
        )
    chosen = render.clips[0]
    for index, clip in enumerate(render.clips[1:], start=1):
        before = render.clips[index - 1]
        if seconds >= clip["starts_at"] + before["transition_seconds"] / 2:
            chosen = clip
    into = chosen["in"] + (seconds - chosen["starts_at"])
    return chosen, round(min(max(into, chosen["in"]), chosen["out"]), 3)


def _version_of(clip: dict) -> Version:
    return Version.objects.select_related("project__workspace").get(pk=clip["version"])


def _snapshot_length(render: SequenceRender) -> float:
    last = render.clips[-1]
    return last["starts_at"] + last["frames"] / render.fps


def render_comment_create(
    *,
    render: SequenceRender,
    membership: Membership,
    body: str,
    seconds: float,
    annotation: object = None,
) -> Comment:
    """A comment at a time of the render, stored on the version playing then,
    at its own time, saying where it came from; a drawing on the render's
    frame (``annotations``' shapes) goes with it, moved into the version's
    own picture."""
    require(membership.can_comment, "Viewers can watch but not comment.")
    if not body.strip():
        raise StudioError("Write a comment.", field="body")
    if "\x00" in body or len(body) > 2000:
        raise StudioError("A comment is plain text of at most 2,000 characters.", field="body")
    if not render.is_ready:
        raise StudioError(f"{render.label} is not ready to review.")
    shapes = annotation_checked(annotation)
    clip, at = _clip_at(render, seconds)
    version = _version_of(clip)
    if shapes:
        shapes = annotation_uncropped(
            shapes, shown=(render.width, render.height), source=_clip_picture_size(clip, version)
        )
    noted = (
        f"{body.strip()} (from sequence {render.sequence.title} {render.label} at {clock(seconds)})"
    )
    return comment_create(
        version=version, membership=membership, body=noted, start_seconds=at, annotation=shapes
    )


def _clip_picture_size(clip: dict, version: Version) -> tuple[int, int]:
    """The size of the clip's picture as the render scaled and cropped it:
    from the snapshot; for a render made before the snapshot kept it, its
    version's (the same file: a ready version's video never changes), else
    the version's aspect ratio (all the crop depends on)."""
    if clip.get("width") and clip.get("height"):
        return clip["width"], clip["height"]
    if version.width and version.height:
        return version.width, version.height
    try:
        return aspect_size(version.aspect_ratio, 480)
    except ValueError:
        raise StudioError(
            f"The size of {version.label}'s picture is not known, so the drawing cannot be "
            "placed on it: comment without one.",
            field="annotation",
        ) from None


def clock(seconds: float) -> str:
    """0:03.5, as the comments write times."""
    whole, tenths = divmod(round(seconds * 10), 10)
    text = f"{whole // 60}:{whole % 60:02d}"
    return f"{text}.{tenths}" if tenths else text


def render_provenance(render: SequenceRender) -> dict:
    """The render and every clip in it (in order, with its in and out
    points and transition), each with its version's provenance: its lineage
    from the root, enough to reproduce it."""
    sequence = render.sequence
    versions = Version.objects.select_related("project").in_bulk(
        [clip["version"] for clip in render.clips]
    )
    lineages: dict[int, list] = {}
    clips = []
    for position, clip in enumerate(render.clips):
        version = versions.get(clip["version"])
        if version is not None and version.pk not in lineages:
            lineages[version.pk] = provenance(version)["lineage"]
        clips.append(
            {
                "position": position + 1,
                "version": clip["number"],
                "in_seconds": clip["in"],
                "out_seconds": clip["out"],
                "starts_at": round(clip["starts_at"], 3),
                "transition": clip["transition"],
                "transition_seconds": clip["transition_seconds"],
                "lineage": lineages.get(clip["version"], []),
            }
        )
    return {
        "project": {"id": sequence.project_id, "title": sequence.project.title},
        "sequence": {"id": sequence.pk, "title": sequence.title},
        "render": render.number,
        "aspect_ratio": render.aspect_ratio,
        "width": render.width,
        "height": render.height,
        "fps": render.fps,
        "duration_seconds": render.duration_seconds,
        "status": render.status,
        "author": render.author.get_username() if render.author else None,
        "created_at": render.created_at.isoformat(),
        "exported_at": timezone.now().isoformat(),
        "clips": clips,
    }
