"""A request to generate or edit, translated once for the pages and the API.

The web forms and the JSON API both call these: the defaults a generation
gets when a choice is left out, the arguments of an edit made from its parent,
and the check of each choice against what the engine can make. What comes
out is handed to ``versions.version_create`` as it is.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TypedDict

from django.conf import settings

from projects.models import Asset, Comment, Project, Version
from projects.services.annotations import region_checked
from projects.services.budgets import rate_per_second
from projects.services.engines import capabilities_of, engine_names
from projects.services.errors import StudioError
from projects.services.prompts import PROMPT_FIELDS, edit_prompt, prompt_from_fields
from studio.engines.base import FPS, RESOLUTION_HEIGHTS, Capabilities, Task

DEFAULT_RESOLUTION = "720p"
DEFAULT_DURATION_SECONDS = 5
# Versions one request may make side by side.
MAX_VARIATIONS = 4


class VersionArguments(TypedDict, total=False):
    """The keyword arguments of ``versions.version_create`` a request decides."""

    kind: str
    prompt: str
    prompt_fields: dict[str, str]
    instruction: str
    keep_rest_same: bool
    template: str
    aspect_ratio: str
    resolution: str
    duration_seconds: int
    fps: int
    engine: str
    parent: Version
    assets: list[Asset]
    addressed_comments: list[Comment]
    section_start: float | None
    seed: int | None
    region: dict | None
    extend_seconds: int | None


@dataclass(frozen=True)
class EditPlan:
    """How an engine edits a parent it cannot take as it is: a clip under
    the engine's smallest size is raised to it, and a clip longer than the
    engine makes is edited a section at a time, the rest kept as it is."""

    resolution: str
    duration_seconds: int
    clip_seconds: float
    fps: int = FPS
    upscaled_from: str = ""
    # The parent's rate when the engine makes the edit at another (fps).
    refitted_from_fps: float | None = None
    section: bool = False

    @property
    def latest_start(self) -> float:
        return max(0.0, int((self.clip_seconds - self.duration_seconds) * 10) / 10)


def edit_plan(*, parent: Version, capabilities: Capabilities) -> EditPlan:
    resolution, upscaled_from = parent.resolution, ""
    if resolution not in capabilities.resolutions:
        lines = RESOLUTION_HEIGHTS.__getitem__
        made = sorted(capabilities.resolutions, key=lines)
        higher = [r for r in made if lines(r) >= lines(resolution)]
        resolution = higher[0] if higher else made[-1]
        if lines(resolution) > lines(parent.resolution):
            upscaled_from = parent.resolution
    clip_seconds = parent.video_duration or float(parent.duration_seconds)
    section = parent.duration_seconds > capabilities.max_duration
    fps, refitted_from_fps = round(parent.fps), None
    if fps not in capabilities.frame_rates and not capabilities.edits_keep_any_frame_rate:
        fps = min(capabilities.frame_rates, key=lambda rate: abs(rate - parent.fps))
        refitted_from_fps = parent.fps
    return EditPlan(
        resolution=resolution,
        duration_seconds=capabilities.max_duration if section else parent.duration_seconds,
        clip_seconds=clip_seconds,
        fps=fps,
        upscaled_from=upscaled_from,
        refitted_from_fps=refitted_from_fps,
        section=section,
    )


@dataclass(frozen=True)
class GenerationDefaults:
    """What a new generation in a project gets when a choice is left out."""

    capabilities: Capabilities
    aspect_ratio: str
    resolution: str
    duration_seconds: int
    fps: int

    @property
    def engine(self) -> str:
        return self.capabilities.name


def generation_defaults(*, project: Project, engine: str | None = None) -> GenerationDefaults:
    """The defaults for ``engine`` (an unknown or missing one: the project's,
    else the studio's)."""
    names = engine_names()
    if engine not in names:
        engine = project.default_engine if project.default_engine in names else None
    capabilities = capabilities_of(engine or settings.STUDIO_DEFAULT_ENGINE)
    return GenerationDefaults(
        capabilities=capabilities,
        aspect_ratio=(
            project.default_aspect_ratio
            if project.default_aspect_ratio in capabilities.aspect_ratios
            else capabilities.aspect_ratios[0]
        ),
        resolution=(
            DEFAULT_RESOLUTION
            if DEFAULT_RESOLUTION in capabilities.resolutions
            else capabilities.resolutions[0]
        ),
        duration_seconds=(
            DEFAULT_DURATION_SECONDS
            if DEFAULT_DURATION_SECONDS in capabilities.durations
            else capabilities.min_duration
        ),
        fps=FPS if FPS in capabilities.frame_rates else capabilities.frame_rates[0],
    )


def edit_engine_default(parent: Version) -> str:
    """An edit is made by its parent's engine when that one can edit."""
    if parent.engine in engine_names() and Task.EDIT in capabilities_of(parent.engine).tasks:
        return parent.engine
    return settings.STUDIO_DEFAULT_ENGINE


def edit_engine_names() -> list[str]:
    return [name for name in engine_names() if Task.EDIT in capabilities_of(name).tasks]


def kind_for_assets(assets: Iterable[Asset]) -> str:
    """Text to video with nothing, image to video from one still, references
    otherwise."""
    assets = list(assets)
    if not assets:
        return Version.Kind.TEXT_TO_VIDEO
    if len(assets) == 1 and assets[0].kind == Asset.Kind.IMAGE:
        return Version.Kind.IMAGE_TO_VIDEO
    return Version.Kind.REFERENCE_TO_VIDEO


def generation_arguments(
    *,
    project: Project,
    engine: str | None = None,
    kind: str | None = None,
    prompt: str = "",
    prompt_fields: dict[str, str] | None = None,
    template: str = "",
    aspect_ratio: str | None = None,
    resolution: str | None = None,
    duration_seconds: int | None = None,
    fps: int | None = None,
    assets: Iterable[Asset] = (),
) -> VersionArguments:
    """A generation's arguments, with what was left out defaulted: the prompt
    written from the structured fields when there is none."""
    if engine is not None and engine not in engine_names():
        raise StudioError(f"There is no engine called {engine!r}.", field="engine")
    defaults = generation_defaults(project=project, engine=engine)
    assets = list(assets)
    fields = dict(prompt_fields or {})
    prompt = prompt.strip() or prompt_from_fields(fields)
    return VersionArguments(
        kind=kind or kind_for_assets(assets),
        prompt=prompt,
        prompt_fields=fields,
        template=template,
        aspect_ratio=aspect_ratio or defaults.aspect_ratio,
        resolution=resolution or defaults.resolution,
        duration_seconds=duration_seconds or defaults.duration_seconds,
        fps=fps or defaults.fps,
        engine=defaults.engine,
        assets=assets,
    )


def edit_arguments(
    *,
    parent: Version,
    instruction: str,
    keep_rest_same: bool = True,
    preserve: str = "",
    engine: str | None = None,
    addresses: Iterable[int] = (),
    section_start: float | None = None,
    fps: int | None = None,
    region: object = None,
) -> VersionArguments:
    """An edit's arguments: it keeps its parent's shape as far as the engine
    can make it (see ``edit_plan``), its frame rate too unless ``fps`` asks
    for another, and its prompt is the instruction with "keep everything else
    the same" and the preserve list."""
    engine = engine or edit_engine_default(parent)
    plan = edit_plan(parent=parent, capabilities=capabilities_of(engine))
    if plan.section:
        section_start = section_start or 0.0
        if not 0 <= section_start <= plan.latest_start:
            raise StudioError(
                f"{capabilities_of(engine).label} edits {plan.duration_seconds} s at a time "
                f"of this {plan.clip_seconds:.1f} s clip: start the section between 0 and "
                f"{plan.latest_start:.1f} s.",
                field="section_start",
            )
    elif section_start:
        raise StudioError(
            "The whole clip is edited at once: there is no section to choose.",
            field="section_start",
        )
    else:
        section_start = None
    instruction = instruction.strip()
    if not instruction:
        raise StudioError("Say what to change.", field="instruction")
    wanted = list(dict.fromkeys(addresses))
    addressed = list(parent.comments.filter(pk__in=wanted, parent=None))
    missing = set(wanted) - {c.pk for c in addressed}
    if missing:
        raise StudioError(
            f"There is no comment {min(missing)} on {parent.label}.", field="addresses"
        )
    return VersionArguments(
        kind=Version.Kind.EDIT,
        parent=parent,
        instruction=instruction,
        keep_rest_same=keep_rest_same,
        prompt=edit_prompt(
            instruction=instruction, keep_rest_same=keep_rest_same, preserve=preserve
        ),
        prompt_fields={"preserve": preserve},
        addressed_comments=addressed,
        aspect_ratio=parent.aspect_ratio,
        resolution=plan.resolution,
        duration_seconds=plan.duration_seconds,
        fps=fps or plan.fps,
        engine=engine,
        section_start=section_start,
        region=region_checked(region),
    )


def rerun_arguments(source: Version) -> VersionArguments:
    """What made a version, to make it again: its parent, prompt, settings,
    engine and inputs (the seed is the caller's)."""
    arguments = VersionArguments(
        kind=source.kind,
        prompt=source.prompt,
        prompt_fields=dict(source.prompt_fields),
        instruction=source.instruction,
        keep_rest_same=source.keep_rest_same,
        template=source.template,
        aspect_ratio=source.aspect_ratio,
        resolution=source.resolution,
        duration_seconds=source.duration_seconds,
        fps=round(source.fps),
        engine=source.engine,
        assets=list(source.input_assets.all()),
        addressed_comments=list(source.addressed_comments.all()),
        section_start=source.section_start,
        region=source.region,
    )
    if source.extend_seconds is not None:
        arguments["extend_seconds"] = source.extend_seconds
    if source.parent_id:
        arguments["parent"] = source.parent
    return arguments


def remembered_choices(*, project: Project, user) -> dict[str, object]:
    """The composer as the user last left it in this project: the settings
    and prompt of their latest generation here (not an edit or upload)."""
    last = (
        Version.objects.filter(
            project=project,
            author=user,
            kind__in=[Version.Kind.TEXT_TO_VIDEO, Version.Kind.IMAGE_TO_VIDEO],
        )
        .order_by("-number")
        .only(
            "engine",
            "aspect_ratio",
            "resolution",
            "duration_seconds",
            "fps",
            "prompt",
            "prompt_fields",
            "template",
            "kind",
        )
        .first()
    )
    if last is None or last.engine not in engine_names():
        return {}
    return {
        "engine": last.engine,
        "aspect_ratio": last.aspect_ratio,
        "resolution": last.resolution,
        "duration_seconds": last.duration_seconds,
        "fps": round(last.fps),
        "prompt": last.prompt,
        "template": last.template,
        **{name: value for name, value in last.prompt_fields.items() if name in PROMPT_FIELDS},
    }


def new_seed() -> int:
    return secrets.randbelow(2**31 - 1) + 1


def validate_generation_choices(
    *,
    capabilities: Capabilities,
    aspect_ratio: str,
    resolution: str,
    duration_seconds: int,
    fps: int = FPS,
    kept_fps: int | None = None,
) -> None:
    """Refuse a choice the engine cannot make; ``kept_fps`` is a parent's
    rate an edit may keep although new videos are not made at it."""
    if aspect_ratio not in capabilities.aspect_ratios:
        raise StudioError(
            f"{capabilities.label} makes {', '.join(capabilities.aspect_ratios)}.",
            field="aspect_ratio",
        )
    if resolution not in capabilities.resolutions:
        raise StudioError(
            f"{capabilities.label} makes {', '.join(capabilities.resolutions)}.",
            field="resolution",
        )
    if duration_seconds not in capabilities.durations:
        raise StudioError(
            f"Duration must be {capabilities.min_duration} to {capabilities.max_duration} seconds.",
            field="duration_seconds",
        )
    if fps not in capabilities.frame_rates and not (
        fps == kept_fps and capabilities.edits_keep_any_frame_rate
    ):
        raise StudioError(
            f"{capabilities.label} makes {', '.join(map(str, capabilities.frame_rates))} fps.",
            field="fps",
        )


def cost_estimate(
    *, engine: str, resolution: str, duration_seconds: int, fps: int = FPS
) -> Decimal:
    return rate_per_second(engine=engine, resolution=resolution, fps=fps) * duration_seconds
