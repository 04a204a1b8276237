"""The edit-instruction grammar, pinned by a table of phrasings."""

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
from studio.engines.local.vocabulary import UNDERSTOOD_EDITS


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


# --------------------------------------------------------------------------
# The table: what each phrasing reads as


def read(instruction: str, *operations: object, id: str):
    return pytest.param(instruction, list(operations), id=id)


READINGS = [
    # The two misreads of the keyword spotter this grammar replaced.
    read("Make it 2x brighter", ColorGrade("brighter"), id="2x-binds-to-the-adjective"),
    read("make it 2× faster", ChangeSpeed(2.0), id="2x-faster-is-speed"),
    read("make it twice as bright", ColorGrade("brighter"), id="twice-as-bright"),
    read("make it cooler", ColorGrade("cooler"), id="cooler"),
    read("cooler tones", ColorGrade("cooler"), id="cooler-tones"),
    read("cool it down", ColorGrade("cooler"), id="cool-it-down"),
    read("give it cool tones", ColorGrade("cooler"), id="cool-before-a-colour-noun"),
    read("colder", ColorGrade("cooler"), id="colder"),
    # Numbers with units, and number words.
    read("trim to 3 s", Trim(0.0, 3.0), id="seconds-spaced"),
    read("trim to three seconds", Trim(0.0, 3.0), id="number-word-seconds"),
    read("keep 1.5 sec", Trim(0.0, 1.5), id="decimal-sec"),
    read("trim from 0:01 to 0:02.5", Trim(1.0, 2.5), id="clock-times"),
    read("cut the first 0:01.5", Trim(1.5, None), id="clock-with-decimals"),
    read("cut the last two seconds", Trim(0.0, -2.0), id="cut-the-last-number-word"),
    read("remove the first second", Trim(1.0, None), id="the-first-second"),
    read("keep the last 2 seconds", Trim(-2.0, None), id="keep-the-last"),
    read("trim it down to 3-second", Trim(0.0, 3.0), id="hyphenated-unit"),
    read("make it 3 seconds long", Trim(0.0, 3.0), id="seconds-long"),
    read("cut from 1 to 3", Trim(1.0, 3.0), id="bare-numbers"),
    # Speeds.
    read("twice as fast", ChangeSpeed(2.0), id="twice-as-fast"),
    read("double speed", ChangeSpeed(2.0), id="double-speed"),
    read("play it at 2x", ChangeSpeed(2.0), id="bare-multiplier"),
    read("speed it up two times", ChangeSpeed(2.0), id="two-times"),
    read("half speed", ChangeSpeed(0.5), id="half-speed"),
    read("0.5x", ChangeSpeed(0.5), id="half-multiplier"),
    read("make it 2x slower", ChangeSpeed(0.5), id="2x-slower"),
    read("slow-mo", ChangeSpeed(0.5), id="slow-mo-hyphenated"),
    # Looks, reframes, reverse, mute.
    read("make it black & white", ColorGrade("grayscale"), id="black-ampersand-white"),
    read("b/w", ColorGrade("grayscale"), id="b-slash-w"),
    read("make it black-and-white", ColorGrade("grayscale"), id="black-and-white-hyphenated"),
    read("increase the brightness", ColorGrade("brighter"), id="increase-the-brightness"),
    read("day for night", ColorGrade("night"), id="day-for-night"),
    read("apply a cyberpunk grade", ColorGrade("neon"), id="cyberpunk"),
    read("change the aspect ratio to 16:9", Reframe("16:9"), id="aspect-ratio-words"),
    read("make it vertical", Reframe("9:16"), id="vertical"),
    read("square it", Reframe("1:1"), id="square-it"),
    read("rewind it", Reverse(), id="rewind"),
    read("Mute it", Mute(), id="mute-it"),
    read("no sound", Mute(), id="no-sound-is-mute"),
    read("without music", Mute(), id="without-music-is-mute"),
    read("make it silent", Mute(), id="silent-is-mute"),
    read("turn off the sound", Mute(), id="turn-off-the-sound"),
    # Time ranges as review comments write them, for looks and text.
    read(
        "[0-1.5s] make it black and white",
        ColorGrade("grayscale", 0.0, 1.5),
        id="range-holds-a-look",
    ),
    read("[1s] Make it darker", ColorGrade("darker", 1.0, None), id="timecode-holds-a-look"),
    read("[1\u20133s] make it neon", ColorGrade("neon", 1.0, 3.0), id="range-with-en-dash"),
    read("[0:01-0:02.5] make it night", ColorGrade("night", 1.0, 2.5), id="range-in-clock-time"),
    read("[1 - 3 s] warmer", ColorGrade("warmer", 1.0, 3.0), id="range-with-spaces"),
    read(
        '[2s] Add on-screen text "SALE"',
        TextOverlay("SALE", "center", 2.0, None),
        id="timecode-holds-text",
    ),
    read(
        "[0-1s] make it warmer and brighter",
        ColorGrade("warmer", 0.0, 1.0),
        ColorGrade("brighter", 0.0, 1.0),
        id="leading-range-holds-the-sentence",
    ),
    read(
        "make the first 2 seconds black and white",
        ColorGrade("grayscale", 0.0, 2.0),
        id="the-first-seconds-of-a-look",
    ),
    read(
        'add text "END" for the last 2 seconds',
        TextOverlay("END", "center", -2.0, None),
        id="text-for-the-last-seconds",
    ),
    read(
        '[0-1.5s] Make it warmer.\n[2s] Add on-screen text "SALE".',
        ColorGrade("warmer", 0.0, 1.5),
        TextOverlay("SALE", "center", 2.0, None),
        id="review-comments-one-a-line",
    ),
    # Quoted text: commas, "and", apostrophes and every kind of quote.
    read(
        "add text 'Don't stop, and go' at the top",
        TextOverlay("Don't stop, and go", "top"),
        id="apostrophe-inside-single-quotes",
    ),
    read(
        "add text \u201eHallo und tsch\u00fcss\u201c from 1s",
        TextOverlay("Hallo und tsch\u00fcss", "center", 1.0, None),
        id="low-9-quotes",
    ),
    read(
        "add text \u00abBonjour, et au revoir\u00bb at the bottom",
        TextOverlay("Bonjour, et au revoir", "bottom"),
        id="guillemets",
    ),
    read(
        'put "SALE" at the top until 2s',
        TextOverlay("SALE", "top", 0.0, 2.0),
        id="put-quoted-at-the-top",
    ),
    read(
        'Add a lower third "Jane Doe, CEO"',
        TextOverlay("Jane Doe, CEO", "bottom", subtitle=True),
        id="lower-third-is-a-subtitle",
    ),
    read(
        'add text "Hello" in the middle of the screen at 1.5s',
        TextOverlay("Hello", "center", 1.5, None),
        id="middle-of-the-screen-at-a-time",
    ),
    # Several edits in one sentence keep their written order.
    read(
        'speed it up and make it black and white and add text "Fast" at the top',
        ChangeSpeed(2.0),
        ColorGrade("grayscale"),
        TextOverlay("Fast", "top"),
        id="three-edits-in-order",
    ),
    read(
        "reverse, then mute, and then black and white",
        Reverse(),
        Mute(),
        ColorGrade("grayscale"),
        id="then-and-then",
    ),
    read("make it warmer; also slow it down", ColorGrade("warmer"), ChangeSpeed(0.5), id="also"),
    read(
        "1. make it warmer\n2. mute\n- reverse",
        ColorGrade("warmer"),
        Mute(),
        Reverse(),
        id="a-numbered-list",
    ),
    read(
        "First, make it warmer. Second, slow it down, please.",
        ColorGrade("warmer"),
        ChangeSpeed(0.5),
        id="numbered-steps-and-courtesy",
    ),
    read("make it warmer, and then warmer", ColorGrade("warmer"), id="each-once"),
    # Negation and preservation ask for nothing.
    read(
        "Make it warmer. Keep everything else the same.",
        ColorGrade("warmer"),
        id="keep-everything-else",
    ),
    read(
        "Make it night. Preserve the subject, framing and lighting.",
        ColorGrade("night"),
        id="a-preservation-list",
    ),
    read("Make it warmer and don't make it darker", ColorGrade("warmer"), id="negated-look"),
    read("no slow motion. make it neon", ColorGrade("neon"), id="no-slow-motion"),
    read(
        "Make it darker, don't change the logo, the music or the colours",
        ColorGrade("darker"),
        id="a-negation-list",
    ),
    read(
        "Mute it. Do not touch the colours. Never move the camera.",
        Mute(),
        id="do-not-and-never",
    ),
    read(
        "Reverse it without changing the colours. Exclude: blur, watermarks. Avoid flicker.",
        Reverse(),
        id="without-changing-exclude-avoid",
    ),
    read(
        "make it black and white; leave the text as it is",
        ColorGrade("grayscale"),
        id="leave-as-it-is",
    ),
    read(
        "make it warmer, everything else unchanged",
        ColorGrade("warmer"),
        id="everything-else-unchanged",
    ),
    read(
        "Don't make it darker, slower or warmer. Square.",
        Reframe("1:1"),
        id="list-items-of-a-negation-are-negated",
    ),
    read(
        "Keep the music, then slow it down",
        ChangeSpeed(0.5),
        id="then-ends-a-preservation-list",
    ),
]


@pytest.mark.parametrize(("instruction", "expected"), READINGS)
def test_reads(instruction: str, expected: list[object]) -> None:
    assert parse_instruction(instruction) == expected


def refusal(instruction: str, clause: str, words: str, *, id: str):
    return pytest.param(instruction, clause, words, id=id)


REFUSALS = [
    refusal("Make it look cool", "Make it look cool", '"cool"', id="cool-is-a-style"),
    refusal(
        "Make it warmer, and make the cat dance",
        "make the cat dance",
        '"cat" and "dance"',
        id="names-each-unplaced-word",
    ),
    refusal("reframe to 4:3", "reframe to 4:3", '"4:3"', id="an-aspect-ratio-it-cannot-make"),
    refusal("make the colours muted", "make the colours muted", '"muted"', id="muted-colours"),
    refusal("Make it sing", "Make it sing", '"sing"', id="sing"),
    refusal("it's too dark", "it's too dark", '"too"', id="a-complaint-is-no-edit"),
    refusal(
        "make it black and white except the logo",
        "make it black and white except the logo",
        '"except" and "logo"',
        id="except-is-not-ignored",
    ),
    refusal("make it warmer or cooler", "make it warmer or cooler", '"or"', id="or"),
    refusal("make it warmer at the top", "make it warmer at the top", '"top"', id="top-no-text"),
    refusal(
        "add text LAUNCH",
        "add text LAUNCH",
        '"text" and "LAUNCH" (the text to show goes in quotes)',
        id="text-without-quotes",
    ),
    refusal('make it "pop"', 'make it "pop"', '"pop"', id="quotes-without-text"),
    refusal("zoom in. Keep everything else the same.", "zoom in", '"zoom"', id="only-verbs-left"),
    refusal(
        '[1-3s] add text "A" from 0s to 1s',
        '[1-3s] add text "A" from 0s to 1s',
        '"from", "0s" and "1s"',
        id="two-times-for-one-text",
    ),
]


@pytest.mark.parametrize(("instruction", "clause", "words"), REFUSALS)
def test_refuses_naming_the_words_it_could_not_place(
    instruction: str, clause: str, words: str
) -> None:
    with pytest.raises(EngineError) as caught:
        parse_instruction(instruction)
    assert caught.value.kind is ErrorKind.NOT_UNDERSTOOD
    assert caught.value.message == (
        f'The local engine did not understand "{clause}": it could not place {words}. '
        f"It understands: {UNDERSTOOD_EDITS}."
    )


@pytest.mark.parametrize(
    "instruction",
    [
        pytest.param("keep everything else the same", id="keep-everything-else"),
        pytest.param("Preserve the subject, framing and lighting.", id="preserve-a-list"),
        pytest.param("don't make it darker", id="dont-make-it-darker"),
        pytest.param("no slow motion", id="no-slow-motion"),
        pytest.param("leave the text as it is", id="leave-the-text"),
        pytest.param("the music unchanged", id="unchanged"),
        pytest.param("Please.", id="courtesy"),
        pytest.param("", id="empty"),
    ],
)
def test_asking_for_nothing_is_refused_as_no_edit(instruction: str) -> None:
    with pytest.raises(EngineError) as caught:
        parse_instruction(instruction)
    assert caught.value.kind is ErrorKind.NOT_UNDERSTOOD
    assert caught.value.message == (
        f"The local engine found no edit to make. It understands: {UNDERSTOOD_EDITS}."
    )


@pytest.mark.parametrize(
    ("instruction", "message"),
    [
        pytest.param("trim to 0.5s", "A trim must keep at least 1 s", id="trim-too-short"),
        pytest.param("trim from 2s to 2.5s", "this keeps 0.5 s", id="trim-range-too-short"),
        pytest.param(
            'add text "X" from 3s to 1s', 'The text "X" would end before', id="text-backwards"
        ),
        pytest.param("[2-1s] make it darker", "The look would end before", id="look-backwards"),
        pytest.param("speed up and slow motion", "two different speeds", id="two-speeds"),
        pytest.param("2x, and half speed", "two different speeds", id="two-multipliers"),
        pytest.param(
            "make it portrait and 16:9", "two different aspect ratios", id="two-aspect-ratios"
        ),
        pytest.param("3x faster", "double or half speed, not 3x", id="a-speed-it-cannot"),
        pytest.param(
            "[1-3s] slow motion",
            "A speed change applies to the whole video",
            id="speed-for-part-of-the-video",
        ),
        pytest.param(
            "[0-1s] make it warmer and mute", "Muting applies to the whole video", id="mute-part"
        ),
    ],
)
def test_refuses_what_it_reads_but_cannot_do(instruction: str, message: str) -> None:
    with pytest.raises(EngineError) as caught:
        parse_instruction(instruction)
    assert caught.value.kind is ErrorKind.INVALID_INPUT
    assert message in caught.value.message
