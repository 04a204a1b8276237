"""Extending a version: "Extend by N s" makes a child whose video is the
parent followed by N seconds that carry it on from its last frame.

The engine makes only the N seconds (an image-to-video request from the last
frame, ``Task.EXTEND``), and they are what is estimated, held against the
budgets and billed; generation stitches them onto the parent
(``video.stitch_continuation``). The child's ``extend_seconds`` is N and its
``duration_seconds`` the stitched whole, at most MAX_VERSION_SECONDS, so an
extension can itself be extended, edited or extended again like any version.
The pages and the API both translate a request with ``extend_arguments``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from projects.models import Membership, Version
from projects.services.access import require_role
from projects.services.composer import VersionArguments, cost_estimate, edit_plan
from projects.services.engines import capabilities_of, engine_names
from projects.services.errors import StudioError
from projects.services.prompts import extend_prompt
from projects.services.versions import MAX_VERSION_SECONDS, version_create
from studio.engines.base import Capabilities, Task


def extend_engine_default(parent: Version) -> str:
    """An extension is made by its parent's engine when that one can extend."""
    if parent.engine in engine_names() and Task.EXTEND in capabilities_of(parent.engine).tasks:
        return parent.engine
    return settings.STUDIO_DEFAULT_ENGINE


def extend_engine_names() -> list[str]:
    return [name for name in engine_names() if Task.EXTEND in capabilities_of(name).tasks]


def parent_seconds(parent: Version) -> float:
    """How long the parent's video lasts: as measured once it is made."""
    return parent.video_duration or float(parent.duration_seconds)


@dataclass(frozen=True)
class ExtendPlan:
    """What extending a parent on an engine can be: the seconds it may add
    and the size and rate the continuation is made at."""

    capabilities: Capabilities
    resolution: str
    fps: int
    parent_seconds: float

    @property
    def seconds_choices(self) -> list[int]:
        """The engine's durations that keep the whole within the limit."""
        room = MAX_VERSION_SECONDS - self.parent_seconds
        return [n for n in self.capabilities.durations if n <= room + _FRAME]

    def estimate(self, seconds: int) -> Decimal:
        return cost_estimate(
            engine=self.capabilities.name,
            resolution=self.resolution,
            duration_seconds=seconds,
            fps=self.fps,
        )


# A stitched length within a frame of the limit is within it.
_FRAME = 1 / 24


def extend_plan(*, parent: Version, engine: str | None = None) -> ExtendPlan:
    capabilities = capabilities_of(engine or extend_engine_default(parent))
    # The continuation is made at the parent's size and rate, as far as the
    # engine makes them (as an edit is), and stitched at the parent's.
    fitted = edit_plan(parent=parent, capabilities=capabilities)
    return ExtendPlan(
        capabilities=capabilities,
        resolution=fitted.resolution,
        fps=fitted.fps,
        parent_seconds=parent_seconds(parent),
    )


def shot_prompt(parent: Version) -> str:
    """What the parent's shot is: its prompt; for an extension, the shot it
    carried on (its prompt_fields keep it), so chains do not nest."""
    return (parent.prompt_fields or {}).get("shot") or parent.prompt


def extend_arguments(
    *, parent: Version, seconds: int, instruction: str = "", engine: str | None = None
) -> VersionArguments:
    """An extension's arguments, for the pages and the API alike; refuses,
    changing nothing, what cannot be made."""
    if engine is not None and engine not in extend_engine_names():
        raise StudioError(f"There is no engine called {engine!r} that extends.", field="engine")
    if parent.status != Version.Status.READY:
        status = parent.get_status_display().lower()
        raise StudioError(f"Only a ready version is extended; {parent.label} is {status}.")
    plan = extend_plan(parent=parent, engine=engine)
    durations = plan.capabilities.durations
    if seconds not in durations:
        raise StudioError(
            f"Extend by {durations.start} to {durations.stop - 1} seconds "
            f"({plan.capabilities.label} makes that much at a time), not {seconds}.",
            field="seconds",
        )
    whole = plan.parent_seconds + seconds
    if whole > MAX_VERSION_SECONDS + _FRAME:
        room = math.floor(MAX_VERSION_SECONDS - plan.parent_seconds + _FRAME)
        could = (
            f"extend it by at most {room} s"
            if room >= durations.start
            else "it cannot be extended further"
        )
        raise StudioError(
            f"{parent.label} lasts {plan.parent_seconds:.1f} s; {seconds} s more would make "
            f"{whole:.1f} s, and a version lasts at most {MAX_VERSION_SECONDS} s: {could}.",
            field="seconds",
        )
    instruction = instruction.strip()
    shot = shot_prompt(parent)
    return VersionArguments(
        kind=Version.Kind.EXTEND,
        parent=parent,
        instruction=instruction,
        prompt=extend_prompt(shot=shot, instruction=instruction),
        prompt_fields={"shot": shot},
        aspect_ratio=parent.aspect_ratio,
        resolution=plan.resolution,
        duration_seconds=min(max(1, round(whole)), MAX_VERSION_SECONDS),
        extend_seconds=seconds,
        fps=plan.fps,
        engine=plan.capabilities.name,
    )


def version_extend(
    *,
    version: Version,
    membership: Membership,
    seconds: int,
    instruction: str = "",
    engine: str | None = None,
) -> Version:
    """Queue an extension of ``version`` by ``seconds`` (owners and editors):
    a child version whose video is it carried on; refusals change nothing."""
    require_role(membership, generate=True)
    arguments = extend_arguments(
        parent=version, seconds=seconds, instruction=instruction, engine=engine
    )
    return version_create(
        project=version.project, membership=membership, author=membership.user, **arguments
    )
