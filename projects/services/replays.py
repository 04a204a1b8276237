"""Replaying an edit chain onto another base.

A chain is a run of edits, each the child of the one before (v3 → v4 → v6).
Replaying it onto another ready version (v5) makes the same edits again, one
after another, as a new branch under v5: each step is an edit of the step
before it, so it continues that step's stored interaction. A step is made
when the one before it is ready; a step that fails, is blocked or cancelled
stops the replay, which says which step and why, and nothing after it is
made.

The replay row is the truth: a step that finishes enqueues the replay's next
move in its own transaction, and the workers' housekeeping moves on any
replay whose step finished without it (a worker killed between the two).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from projects.models import Activity, Membership, Project, Replay, Version
from projects.services.access import require_role
from projects.services.activity import activity_record
from projects.services.broadcast import record_event
from projects.services.composer import edit_arguments
from projects.services.errors import StudioError
from projects.services.queue import ADVANCE_REPLAY, enqueue
from projects.services.versions import version_create

# Edits one replay makes again, at most.
MAX_REPLAY_STEPS = 20
# A step that ends so stops the replay. One that needs a decision waits for
# it: submitted again, it may yet be ready.
FINISHED = {Version.Status.FAILED, Version.Status.BLOCKED, Version.Status.CANCELLED}


def chain_checked(*, project: Project, numbers: list[int]) -> list[Version]:
    """The chain's versions in order: edits of this project, each the child
    of the one before it."""
    if not numbers:
        raise StudioError("Choose the edits to replay.", field="chain")
    if len(numbers) > MAX_REPLAY_STEPS:
        raise StudioError(
            f"A replay makes at most {MAX_REPLAY_STEPS} edits; this chain has {len(numbers)}.",
            field="chain",
        )
    if len(set(numbers)) != len(numbers):
        raise StudioError("Each version appears in the chain once.", field="chain")
    found = {v.number: v for v in Version.objects.filter(project=project, number__in=numbers)}
    chain = []
    for number in numbers:
        version = found.get(number)
        if version is None:
            raise StudioError(f"There is no v{number} in this project.", field="chain")
        if version.kind != Version.Kind.EDIT:
            raise StudioError(
                f"v{number} is not an edit: only edits can be replayed.", field="chain"
            )
        if chain and version.parent_id != chain[-1].pk:
            raise StudioError(
                f"v{number} is not an edit of v{chain[-1].number}: a chain runs from a "
                "version to its child.",
                field="chain",
            )
        chain.append(version)
    return chain


def chain_to(version: Version) -> list[Version]:
    """The edits leading to ``version``, oldest first, as far back as they
    go without a generation (at most a replay's worth)."""
    chain = []
    current = version
    while current is not None and current.kind == Version.Kind.EDIT:
        chain.append(current)
        if len(chain) == MAX_REPLAY_STEPS:
            break
        current = current.parent
    return list(reversed(chain))


def replay_start(
    *,
    project: Project,
    membership: Membership,
    chain: list[int],
    base: int,
    engine: str | None = None,
) -> Replay:
    """Start replaying the chain (version numbers, oldest first) onto the
    base: the first step is made at once (or the replay is refused, and
    nothing is made); the rest follow one by one."""
    require_role(membership, generate=True)
    sources = chain_checked(project=project, numbers=chain)
    base_version = Version.objects.filter(project=project, number=base).first()
    if base_version is None:
        raise StudioError(f"There is no v{base} in this project.", field="base")
    if base_version.status != Version.Status.READY:
        raise StudioError(f"{base_version.label} is not ready to edit.", field="base")
    if base_version.pk in {s.pk for s in sources}:
        raise StudioError("Replay the chain onto a version outside it.", field="base")
    steps = [
        {
            "source": source.pk,
            "number": source.number,
            "instruction": source.instruction or source.prompt,
            "preserve": source.prompt_fields.get("preserve", ""),
            "keep_rest_same": source.keep_rest_same,
            "engine": engine or source.engine,
            "region": source.region,
            "version": None,
        }
        for source in sources
    ]
    with transaction.atomic():
        replay = Replay.objects.create(
            project=project, base=base_version, steps=steps, author=membership.user
        )
        first = _make_step(replay, 0, parent=base_version, membership=membership)
        replay.current = first
        replay.steps[0]["version"] = first.pk
        replay.save(update_fields=["current", "steps"])
    return replay


def _make_step(replay: Replay, index: int, *, parent: Version, membership: Membership) -> Version:
    step = replay.steps[index]
    try:
        arguments = edit_arguments(
            parent=parent,
            instruction=step["instruction"],
            keep_rest_same=step["keep_rest_same"],
            preserve=step["preserve"],
            engine=step["engine"],
            region=step["region"],
        )
        return version_create(
            project=replay.project, membership=membership, author=membership.user, **arguments
        )
    except StudioError as error:
        raise StudioError(
            f"Step {index + 1} of {len(replay.steps)} ({_said(step)}) cannot be made on "
            f"{parent.label}: {error.message}",
            field="chain" if index else error.field,
        ) from error


def _said(step: dict) -> str:
    instruction = " ".join(step["instruction"].split())
    if len(instruction) > 80:
        instruction = instruction[:79] + "…"
    return f"v{step['number']}'s edit “{instruction}”"


def replay_step_finished(*, version: Version) -> None:
    """A version finished (called where its state is written, in that
    transaction): the replay it is a step of, if any, moves on."""
    if version.status not in FINISHED | {Version.Status.READY}:
        return
    running = Replay.objects.filter(current=version, status=Replay.Status.RUNNING)
    for replay_id in running.values_list("pk", flat=True):
        enqueue(ADVANCE_REPLAY, replay_id)


def replay_advance(*, replay_id: int) -> Replay | None:
    """Move the replay on from its current step: make the next step once it
    is ready, finish after the last, stop at a step that did not finish."""
    with transaction.atomic():
        replay = (
            Replay.objects.select_for_update(of=("self",))
            .select_related("project__workspace", "current", "base")
            .filter(pk=replay_id, status=Replay.Status.RUNNING)
            .first()
        )
        if replay is None or replay.current is None:
            return replay
        current = replay.current
        if current.status not in FINISHED | {Version.Status.READY}:
            return replay  # still being made: its end moves the replay on
        index = next(i for i, step in enumerate(replay.steps) if step.get("version") == current.pk)
        if current.status != Version.Status.READY:
            reason = current.error_message or current.get_status_display().lower()
            _stop(
                replay,
                f"Step {index + 1} of {len(replay.steps)} ({_said(replay.steps[index])}) "
                f"{current.get_status_display().lower()} as {current.label}: {reason}. "
                "The rest were not made.",
            )
            return replay
        if index + 1 == len(replay.steps):
            replay.status = Replay.Status.DONE
            replay.finished_at = timezone.now()
            replay.save(update_fields=["status", "finished_at"])
            return replay
        membership = _author_membership(replay)
        if membership is None:
            _stop(replay, "Whoever started the replay can no longer edit in this workspace.")
            return replay
        try:
            with transaction.atomic():
                made = _make_step(replay, index + 1, parent=current, membership=membership)
        except (StudioError, PermissionDenied) as error:
            _stop(replay, getattr(error, "message", str(error)) + " The rest were not made.")
            return replay
        replay.current = made
        replay.steps[index + 1]["version"] = made.pk
        replay.save(update_fields=["current", "steps"])
    return replay


def _author_membership(replay: Replay) -> Membership | None:
    membership = (
        Membership.objects.select_related("workspace", "user")
        .filter(workspace_id=replay.project.workspace_id, user_id=replay.author_id)
        .first()
    )
    if membership is None or not membership.can_generate:
        return None
    return membership


def _stop(replay: Replay, reason: str) -> None:
    replay.status = Replay.Status.STOPPED
    replay.stopped_reason = reason[:500]
    replay.finished_at = timezone.now()
    replay.save(update_fields=["status", "stopped_reason", "finished_at"])
    if replay.current is not None:
        activity_record(
            project=replay.project,
            actor=replay.author,
            verb=Activity.Verb.EDITED,
            version=replay.current,
            detail=f"Replay stopped: {reason}",
        )
        record_event(replay.current, kind="state")


def replays_stuck() -> list[int]:
    """Running replays whose current step has finished: each is moved on by
    the task its step's end enqueued, unless that worker died first."""
    return list(
        Replay.objects.filter(
            status=Replay.Status.RUNNING, current__status__in=[*FINISHED, Version.Status.READY]
        ).values_list("pk", flat=True)
    )


def replays_resume() -> list[int]:
    """Move on the stuck replays now."""
    stuck = replays_stuck()
    for replay_id in stuck:
        replay_advance(replay_id=replay_id)
    return stuck


def replay_for_user(*, project: Project, replay_id: int) -> Replay:
    replay = Replay.objects.filter(project=project, pk=replay_id).select_related("base").first()
    if replay is None:
        raise StudioError("There is no such replay in this project.")
    return replay


def replays_of(project: Project, *, limit: int = 10) -> list[Replay]:
    """The project's latest replays, newest first."""
    return list(Replay.objects.filter(project=project).select_related("base", "current")[:limit])
