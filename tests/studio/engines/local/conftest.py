"""Requests for the local engine, and rendering them to a file."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from studio.engines.base import GenerationRequest, InputMedia, PollState, Task
from studio.engines.local.engine import LocalEngine


def render(engine: LocalEngine, request: GenerationRequest, destination: Path) -> Path:
    submission = engine.submit(request)
    result = engine.poll(submission.interaction_id, request, progress=lambda fraction: None)
    assert result.state is PollState.COMPLETED
    assert result.fraction == 1.0
    assert result.output is not None
    engine.fetch_output(result.output, destination)
    return destination


def text_request(prompt: str, aspect_ratio: str = "16:9") -> GenerationRequest:
    return GenerationRequest(Task.TEXT_TO_VIDEO, prompt, aspect_ratio, "480p", 3)


def image_request(prompt: str, still: Path, aspect_ratio: str = "16:9") -> GenerationRequest:
    media = InputMedia("still", "image", still, "image/png")
    return GenerationRequest(Task.IMAGE_TO_VIDEO, prompt, aspect_ratio, "480p", 3, images=(media,))


def edit_request(prompt: str, parent: Path) -> GenerationRequest:
    media = InputMedia("parent", "video", parent, "video/mp4")
    return GenerationRequest(Task.EDIT, prompt, "16:9", "480p", 3, parent_video=media)


@pytest.fixture
def engine() -> LocalEngine:
    return LocalEngine()


def extension_request(
    prompt: str, parent: Path, last_frame: Path, seconds: int = 5, **changes
) -> GenerationRequest:
    """Carry ``parent`` on for ``seconds`` from ``last_frame`` (a PNG of its end)."""
    request = GenerationRequest(
        Task.EXTEND,
        prompt,
        "16:9",
        "480p",
        seconds,
        images=(InputMedia("last-frame", "image", last_frame, "image/png"),),
        parent_video=InputMedia("parent", "video", parent, "video/mp4"),
    )
    return replace(request, **changes)
