"""The sequence pages: a project's sequences, and a sequence's timeline (its
clips in order, with in and out points and transitions), its renders with a
player each, comments at a render's time and the provenance export."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from projects.forms import CommentForm, posted_id
from projects.media import render_file_response
from projects.models import Sequence, SequenceClip
from projects.models.sequences import CROSSFADE_MAX_SECONDS, CROSSFADE_MIN_SECONDS
from projects.services import sequence_review, sequences
from projects.services.annotations import annotation_from_json
from projects.services.errors import StudioError
from projects.views.common import project_of, redirect_to, refusal


def _sequence_of(request: HttpRequest, project_id: int, sequence_id: int):
    return sequences.sequence_for_user(
        user=request.user, project_id=project_id, sequence_id=sequence_id
    )


def _render_of(request: HttpRequest, project_id: int, sequence_id: int, number: int):
    return sequences.render_for_user(
        user=request.user, project_id=project_id, sequence_id=sequence_id, number=number
    )


def _seconds(value: str | None, field: str) -> float:
    """Seconds typed in a form (``2``, ``2.5``), or a refusal naming the field."""
    try:
        seconds = float((value or "").strip().replace(",", "."))
    except ValueError:
        raise StudioError(f"Give the {field} in seconds, like 2.5.", field=field) from None
    if seconds != seconds or abs(seconds) > 10**6:  # NaN, or absurd
        raise StudioError(f"Give the {field} in seconds, like 2.5.", field=field)
    return seconds


def _done(request: HttpRequest, url: str, action: Callable[[], object]) -> HttpResponse:
    """Run a service action, then go to ``url``; a refusal for the role is a
    403 in words, one for the input is said on the page."""
    try:
        action()
    except PermissionDenied as refused:
        return refusal(str(refused), status=403)
    except StudioError as error:
        if request.htmx:
            return refusal(error.message, status=422)
        messages.error(request, error.message)
    return redirect_to(request, url)


@require_GET
def sequence_list(request: HttpRequest, project_id: int) -> HttpResponse:
    project, membership = project_of(request, project_id)
    context = {
        "project": project,
        "membership": membership,
        "sequences": sequences.sequences_of(project),
        "aspect_ratios": Sequence.AspectRatio.choices,
        "resolutions": Sequence.Resolution.choices,
    }
    return TemplateResponse(request, "projects/sequence_list.html", context)


@require_POST
def sequence_create(request: HttpRequest, project_id: int) -> HttpResponse:
    project, membership = project_of(request, project_id)
    made: list[Sequence] = []

    def create() -> None:
        made.append(
            sequences.sequence_create(
                project=project,
                membership=membership,
                title=request.POST.get("title", ""),
                aspect_ratio=request.POST.get("aspect_ratio", Sequence.AspectRatio.LANDSCAPE),
                resolution=request.POST.get("resolution", Sequence.Resolution.HD),
                from_picks=request.POST.get("start") == "picks",
            )
        )

    response = _done(request, reverse("sequence_list", args=[project_id]), create)
    return redirect_to(request, made[0].get_absolute_url()) if made else response


@require_GET
def sequence_detail(request: HttpRequest, project_id: int, sequence_id: int) -> HttpResponse:
    sequence, membership = _sequence_of(request, project_id, sequence_id)
    renders = sequences.renders_of(sequence)
    context = {
        "project": sequence.project,
        "sequence": sequence,
        "membership": membership,
        "renders": renders,
        "rendering": any(r.is_unfinished for r in renders),
        # The drawing tools of a version's comment form, on each render's.
        "comment_form": CommentForm(),
    }
    if request.htmx and request.htmx.target == "renders":
        return TemplateResponse(request, "projects/sequence_detail.html#renders", context)
    clips = sequences.clips_of(sequence)
    context.update(
        clips=clips,
        preview=_preview_of(clips),
        last_position=len(clips) - 1,
        max_clips=sequences.MAX_CLIPS,
        transitions=SequenceClip.Transition.choices,
        crossfade_min=CROSSFADE_MIN_SECONDS,
        crossfade_max=CROSSFADE_MAX_SECONDS,
        aspect_ratios=Sequence.AspectRatio.choices,
        resolutions=Sequence.Resolution.choices,
        frame_rates=sequences.FRAME_RATES,
    )
    return TemplateResponse(request, "projects/sequence_detail.html", context)


def _preview_of(clips: list[SequenceClip]) -> list[dict]:
    """What the page's preview plays: each clip's video from its in to its
    out point, and how it goes into the next."""
    return [
        {
            "label": clip.version.label,
            "src": reverse("version_video", args=[clip.version.project_id, clip.version.number]),
            "in": clip.in_seconds,
            "out": clip.out_seconds,
            "crossfade": clip.transition_seconds
            if clip.transition == SequenceClip.Transition.CROSSFADE and index < len(clips) - 1
            else 0,
        }
        for index, clip in enumerate(clips)
    ]


def _sequence_action(
    request: HttpRequest, project_id: int, sequence_id: int, action: Callable[..., object]
) -> HttpResponse:
    """Do something to the sequence with the posted form; then show it."""
    sequence, membership = _sequence_of(request, project_id, sequence_id)
    return _done(
        request,
        sequence.get_absolute_url(),
        lambda: action(sequence=sequence, membership=membership, data=request.POST),
    )


def _position(data, name: str = "position") -> int:
    """A place in the sequence (from 0), as the form posts it."""
    value = (data.get(name) or "").strip()
    if not (value.isascii() and value.isdigit() and len(value) < 4):
        raise StudioError("There is no such clip in the sequence.")
    return int(value)


@require_POST
def sequence_settings(request: HttpRequest, project_id: int, sequence_id: int) -> HttpResponse:
    def change(*, sequence, membership, data) -> None:
        fps = posted_id(data.get("fps")) or 0
        sequences.sequence_update(
            sequence=sequence,
            membership=membership,
            title=data.get("title", ""),
            aspect_ratio=data.get("aspect_ratio", ""),
            resolution=data.get("resolution", ""),
            fps=fps,
        )

    return _sequence_action(request, project_id, sequence_id, change)


@require_POST
def clip_add(request: HttpRequest, project_id: int, sequence_id: int) -> HttpResponse:
    def add(*, sequence, membership, data) -> None:
        number = posted_id((data.get("number") or "").strip().lstrip("vV"))
        if number is None:
            raise StudioError("Give a version's number, like 3 or v3.", field="number")
        sequences.sequence_add_version(sequence=sequence, membership=membership, number=number)

    return _sequence_action(request, project_id, sequence_id, add)


@require_POST
def clip_move(request: HttpRequest, project_id: int, sequence_id: int) -> HttpResponse:
    def move(*, sequence, membership, data) -> None:
        position = _position(data)
        # A step from the Earlier and Later buttons, or a place dropped on.
        by = {"earlier": -1, "later": 1}.get(data.get("direction", ""))
        if by is not None:
            to = position + by
        elif data.get("to") is not None:
            to = _position(data, "to")
        else:
            raise StudioError("Move a clip earlier or later.")
        sequences.sequence_move_clip(
            sequence=sequence, membership=membership, position=position, to=to
        )

    return _sequence_action(request, project_id, sequence_id, move)


@require_POST
def clip_remove(request: HttpRequest, project_id: int, sequence_id: int) -> HttpResponse:
    def remove(*, sequence, membership, data) -> None:
        sequences.sequence_remove_clip(
            sequence=sequence, membership=membership, position=_position(data)
        )

    return _sequence_action(request, project_id, sequence_id, remove)


@require_POST
def clip_change(request: HttpRequest, project_id: int, sequence_id: int) -> HttpResponse:
    def change(*, sequence, membership, data) -> None:
        transition = data.get("transition", SequenceClip.Transition.CUT)
        fade = data.get("transition_seconds") or "0"
        sequences.sequence_change_clip(
            sequence=sequence,
            membership=membership,
            position=_position(data),
            in_seconds=_seconds(data.get("in_seconds"), "in point"),
            out_seconds=_seconds(data.get("out_seconds"), "out point"),
            transition=transition,
            transition_seconds=(
                _seconds(fade, "crossfade") if transition != SequenceClip.Transition.CUT else 0.0
            ),
        )

    return _sequence_action(request, project_id, sequence_id, change)


@require_POST
def sequence_render(request: HttpRequest, project_id: int, sequence_id: int) -> HttpResponse:
    def render(*, sequence, membership, data) -> None:
        made = sequences.sequence_render(sequence=sequence, membership=membership)
        messages.success(request, f"{made.label} is queued; it appears below when it is ready.")

    return _sequence_action(request, project_id, sequence_id, render)


@require_GET
def render_video(
    request: HttpRequest, project_id: int, sequence_id: int, number: int
) -> HttpResponse:
    render, _ = _render_of(request, project_id, sequence_id, number)
    if not render.is_ready or not render.video:
        raise Http404(f"{render.label} has no video yet.")
    return render_file_response(request, render, as_attachment="download" in request.GET)


@require_POST
def render_comment(
    request: HttpRequest, project_id: int, sequence_id: int, number: int
) -> HttpResponse:
    render, membership = _render_of(request, project_id, sequence_id, number)

    def comment() -> None:
        made = sequence_review.render_comment_create(
            render=render,
            membership=membership,
            body=request.POST.get("body", ""),
            seconds=_seconds(request.POST.get("seconds"), "time"),
            annotation=annotation_from_json(request.POST.get("annotation", "")),
        )
        drawn = " with its drawing" if made.annotation else ""
        messages.success(
            request, f"Comment added to v{made.version.number} at {made.timecode_display}{drawn}."
        )

    return _done(request, render.sequence.get_absolute_url(), comment)


@require_GET
def render_provenance(
    request: HttpRequest, project_id: int, sequence_id: int, number: int
) -> HttpResponse:
    render, _ = _render_of(request, project_id, sequence_id, number)
    document = sequence_review.render_provenance(render)
    response = HttpResponse(
        json.dumps(document, indent=2), content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="sequence-{render.sequence_id}-{render.label}-provenance.json"'
    )
    return response
