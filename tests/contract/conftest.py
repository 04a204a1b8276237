"""Fixtures for the Gemini engine contract tests: a started HTTP double, a
sleep recorder and an engine wired to both. No database, no Django settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from studio.engines.base import GenerationRequest, InputMedia, Task
from studio.engines.gemini.engine import GeminiEngine

from .interactions_double import API_KEY, GeminiDouble

# Small stand-ins for media: the double never decodes them.
FAKE_MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(64))
FAKE_PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24


class SleepRecorder:
    """Stands in for time.sleep: records the waits instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def double() -> Iterator[GeminiDouble]:
    server = GeminiDouble().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def make_engine(double: GeminiDouble, sleeps: SleepRecorder):
    def make(**kwargs) -> GeminiEngine:
        options = {"api_key": API_KEY, "base_url": double.url, "sleep": sleeps, "timeout": 5.0}
        options.update(kwargs)
        return GeminiEngine(**options)

    return make


@pytest.fixture
def engine(make_engine) -> GeminiEngine:
    return make_engine()


@pytest.fixture
def media(tmp_path: Path):
    """Write a small input file and describe it as InputMedia."""

    def make(key: str, kind: str = "video", data: bytes | None = None, **kwargs) -> InputMedia:
        suffix, mime = (".mp4", "video/mp4") if kind == "video" else (".png", "image/png")
        path = tmp_path / f"{key}{suffix}"
        path.write_bytes(data if data is not None else (FAKE_MP4 if kind == "video" else FAKE_PNG))
        return InputMedia(key=key, kind=kind, path=path, mime_type=mime, **kwargs)

    return make


def make_request(**overrides) -> GenerationRequest:
    values = {
        "task": Task.TEXT_TO_VIDEO,
        "prompt": "A marble rolling fast on a chain-reaction track, one continuous shot.",
        "aspect_ratio": "16:9",
        "resolution": "720p",
        "duration_seconds": 8,
    }
    values.update(overrides)
    return GenerationRequest(**values)
