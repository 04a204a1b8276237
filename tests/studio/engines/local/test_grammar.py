"""The edit-instruction parser."""

from __future__ import annotations

import pytest

from studio.engines.base import EngineError, ErrorKind
from studio.engines.local.grammar import parse_instruction
from studio.engines.local.operations import (
    ChangeSpeed,
    ColorGrade,
    Mute,
    Reframe,
    Reverse,
    TextOverlay,
    Trim,
)


def test_a_single_timecode_starts_text_then() -> None:
    assert parse_instruction('[2s] Add on-screen text "SALE"') == [
        TextOverlay("SALE", position="center", start=2.0, end=None)
    ]


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("make it black and white", [ColorGrade("grayscale")]),
        ("Make it portrait", [Reframe("9:16")]),
        ("landscape", [Reframe("16:9")]),
        ("crop to a square", [Reframe("1:1")]),
        ("reframe to 1:1", [Reframe("1:1")]),
        ("trim to 3s", [Trim(0.0, 3.0)]),
        ("trim to the first 3 seconds", [Trim(0.0, 3.0)]),
        ("keep only the first three seconds", [Trim(0.0, 3.0)]),
        ("cut the first 2 seconds", [Trim(2.0, None)]),
        ("cut the last 2 seconds", [Trim(0.0, -2.0)]),
        ("trim from 1s to 4s", [Trim(1.0, 4.0)]),
        ("slow it down", [ChangeSpeed(0.5)]),
        ("make it 2x faster", [ChangeSpeed(2.0)]),
        ("play it backwards", [Reverse()]),
        ("no sound", [Mute()]),
        ("make it night", [ColorGrade("night")]),
        ("give it a neon look", [ColorGrade("neon")]),
        ("make it darker in slow motion", [ColorGrade("darker"), ChangeSpeed(0.5)]),
        ("warmer and brighter", [ColorGrade("warmer"), ColorGrade("brighter")]),
    ],
)
def test_parse_edit_reads_each_operation(prompt: str, expected: list[object]) -> None:
    assert parse_instruction(prompt) == expected


def test_parse_edit_keeps_quoted_text_whole() -> None:
    prompt = (
        'Add on-screen text "Hello, world and friends; ok. Bye" at the top from 1s to 2s, '
        "and make it black and white; keep everything else the same"
    )
    assert parse_instruction(prompt) == [
        TextOverlay("Hello, world and friends; ok. Bye", "top", 1.0, 2.0),
        ColorGrade("grayscale"),
    ]
    assert parse_instruction("[1-3s] add text 'Don't stop, ever' at the bottom") == [
        TextOverlay("Don't stop, ever", "bottom", 1.0, 3.0)
    ]
    assert parse_instruction("add title \u201cRise, and shine\u201d [0:01-0:02.5]") == [
        TextOverlay("Rise, and shine", "center", 1.0, 2.5)
    ]
    assert parse_instruction('add subtitles "Slow motion, reverse" between 1s and 2s') == [
        TextOverlay("Slow motion, reverse", "bottom", 1.0, 2.0, subtitle=True)
    ]


def test_parse_edit_ignores_preservation_clauses() -> None:
    prompt = (
        "Make it warmer. Preserve the subject, framing and lighting. "
        "Do not change the music. Exclude: blur, watermarks. Avoid flicker."
    )
    assert parse_instruction(prompt) == [ColorGrade("warmer")]


def test_parse_edit_refuses_conflicts() -> None:
    for prompt in ["speed up and slow motion", "make it portrait, then square"]:
        with pytest.raises(EngineError):
            parse_instruction(prompt)
    with pytest.raises(EngineError) as caught:
        parse_instruction("make the colours muted")
    assert caught.value.kind is ErrorKind.NOT_UNDERSTOOD
