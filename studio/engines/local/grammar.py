"""The edit-instruction parser: an instruction read into typed operations."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from studio.engines.base import EngineError, ErrorKind
from studio.engines.local.operations import (
    MIN_EDIT_SECONDS,
    ChangeSpeed,
    ColorGrade,
    EditOperation,
    Mute,
    Reframe,
    Reverse,
    TextOverlay,
    Trim,
)

UNDERSTOOD_EDITS = (
    "reframe to 9:16, 16:9 or 1:1 (portrait, landscape, square); "
    'add text or subtitles in quotes (add text "LAUNCH DAY" at the top from 1s to 3s); '
    "trim (trim to 3s, cut the first 2 seconds); speed up or slow motion; reverse; "
    "black and white, warmer, cooler, brighter, darker, night or neon; mute"
)


def _not_understood(clause: str) -> EngineError:
    return EngineError(
        ErrorKind.NOT_UNDERSTOOD,
        f'The local engine did not understand "{clause}". It understands: {UNDERSTOOD_EDITS}.',
    )


# Splitting -----------------------------------------------------------------

# Straight, curly (\u201c \u201d, \u2018 \u2019), low-9 and guillemet quotes.
_OPENING_QUOTES = {
    '"': '"',
    "\u201c": "\u201d",
    "\u201e": "\u201c",
    "\u00ab": "\u00bb",
    "'": "'",
    "\u2018": "\u2019",
}
_SINGLE_QUOTES = "'\u2018\u2019"
_CLAUSE_JOINERS = re.compile(r"\s+(?:and|then)\s+", re.IGNORECASE)


def _is_word_char(character: str) -> bool:
    return character.isalnum()


def _split_sentences(prompt: str) -> list[list[str]]:
    """Sentences, each a list of clauses. Splits on sentence ends, newlines,
    ';', ',', ' and ' and ' then ', except inside quotes and in "black and
    white" and "between 1s and 3s"."""
    sentences: list[list[str]] = []
    clauses: list[str] = []
    buffer: list[str] = []

    def end_clause() -> None:
        clause = "".join(buffer).strip()
        buffer.clear()
        if clause:
            clauses.append(clause)

    def end_sentence() -> None:
        end_clause()
        if clauses:
            sentences.append(list(clauses))
            clauses.clear()

    closing = ""
    index = 0
    length = len(prompt)
    while index < length:
        character = prompt[index]
        before = prompt[index - 1] if index else ""
        after = prompt[index + 1] if index + 1 < length else ""
        if closing:
            buffer.append(character)
            # An apostrophe inside a word (don't) does not end a single quote.
            if character == closing and not (closing in _SINGLE_QUOTES and _is_word_char(after)):
                closing = ""
            index += 1
            continue
        if character in _OPENING_QUOTES:
            single = character in _SINGLE_QUOTES
            if not single or (not _is_word_char(before) and after and not after.isspace()):
                closing = _OPENING_QUOTES[character]
            buffer.append(character)
            index += 1
            continue
        if character == "\n" or (character in ".!?" and (not after or after.isspace())):
            end_sentence()
            index += 1
            continue
        if character == ";" or (character == "," and not (before.isdigit() and after.isdigit())):
            end_clause()
            index += 1
            continue
        joiner = _CLAUSE_JOINERS.match(prompt, index) if character.isspace() else None
        if joiner and not _joins_a_phrase("".join(buffer), prompt[joiner.end() :]):
            end_clause()
            index = joiner.end()
            continue
        buffer.append(character)
        index += 1
    end_sentence()
    return sentences


def _joins_a_phrase(before: str, after: str) -> bool:
    """Whether an ' and ' belongs to a phrase rather than joining clauses."""
    before, after = before.lower(), after.lower()
    if re.search(r"\bblack\s*$", before) and re.match(r"white\b", after):
        return True
    return bool(re.search(r"\bbetween\s+[\d:.]+\s*(?:s|secs?|seconds?)?\s*$", before))


# Clause parsing --------------------------------------------------------------

_NUMBER_WORDS = {
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
}
_TIME = r"(\d+:\d{1,2}(?:\.\d+)?|\d+(?:\.\d+)?)\s*(?:s|secs?|seconds?)?\b"
_QUOTED = re.compile(
    r"\"[^\"]*\"?|\u201c[^\u201d]*\u201d?|\u201e[^\u201c]*\u201c?|\u00ab[^\u00bb]*\u00bb?|"
    r"(?<!\w)'.*?'(?!\w)|\u2018.*?\u2019(?!\w)"
)
_QUOTE_MARK = "\x00"

_PRESERVATION = re.compile(
    r"^(?:keep|keeping|preserve|preserving|retain|maintain|leave|do not|don't|don\u2019t|dont|"
    r"never|without changing|no other|nothing else|exclude|excluding|avoid|same)\b"
)
_PRESERVATION_ANYWHERE = re.compile(r"\b(?:everything else|unchanged|as it is|as is)\b")
_ACTION_START = re.compile(
    r"^(?:add|make|turn|change|put|remove|cut|trim|speed|slow|reverse|crop|reframe|convert|"
    r"apply|give|set|mute|insert|replace|show|animate|move|zoom|pan|increase|decrease|boost|"
    r"lower|raise|render|play|transform|have|let|write|draw)\b"
)


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_FILLER = _word_set(
    """a an the it its it's this that video clip footage shot scene whole entire please make
    made turn into to be is so more much bit little slightly somewhat very really lot give
    apply set change convert use with look looks feel tone color colors colour colours
    effect filter style version image picture frames everything all of in on at for then
    also now just overall mood lighting light throughout vibe can you could would like i
    want lets let's go get some kind sort should me us by over"""
)


@dataclass(frozen=True)
class _Matcher:
    pattern: re.Pattern[str]
    build: Callable[[re.Match[str]], EditOperation]
    # Words that may stand around a match without making the clause unclear.
    context: frozenset[str] = frozenset()


def _seconds(text: str) -> float:
    if ":" in text:
        minutes, seconds = text.split(":", 1)
        return int(minutes) * 60 + float(seconds)
    return float(text)


def _trim(start: float = 0.0, end: float | None = None) -> Trim:
    trim = Trim(start, end)
    kept = None
    if start >= 0 and end is not None and end >= 0:
        kept = end - start
    elif start < 0 and end is None:
        kept = -start
    if kept is not None and kept < MIN_EDIT_SECONDS:
        raise EngineError(
            ErrorKind.INVALID_INPUT,
            f"A trim must keep at least {MIN_EDIT_SECONDS:g} s; this keeps {max(kept, 0):g} s.",
        )
    return trim


def _matcher(
    pattern: str, build: Callable[[re.Match[str]], EditOperation], context: str = ""
) -> _Matcher:
    return _Matcher(re.compile(pattern), build, _word_set(context))


_TRIM_VERB = r"(?:trim|cut|shorten|clip)(?: it| this| the (?:video|clip))?(?: down)?"
_KEEP_VERB = rf"(?:{_TRIM_VERB} to|keep(?: only)?|use(?: only)?|only keep|only use)"
_TRIM_CONTEXT = "trim trimmed cut shorten clip keep use only down seconds second s long"

_TRIM_MATCHERS: tuple[_Matcher, ...] = (
    _matcher(
        rf"\b(?:trim|cut|clip|keep|use|shorten)(?: it| this| the (?:video|clip))?(?: only)?"
        rf"(?: the part)? (?:from|between) {_TIME}\s*(?:to|until|till|and|-|\u2013)\s*{_TIME}",
        lambda match: _trim(_seconds(match[1]), _seconds(match[2])),
        _TRIM_CONTEXT,
    ),
    _matcher(
        rf"\b(?:cut|remove|drop|trim|skip|delete|lose)(?: off| out| away)? (?:the )?first {_TIME}",
        lambda match: _trim(start=_seconds(match[1])),
        _TRIM_CONTEXT,
    ),
    _matcher(
        rf"\b(?:cut|remove|drop|trim|delete|lose)(?: off| out| away)? (?:the )?last {_TIME}",
        lambda match: _trim(end=-_seconds(match[1])),
        _TRIM_CONTEXT,
    ),
    _matcher(
        rf"\b{_KEEP_VERB} (?:just )?the last {_TIME}",
        lambda match: _trim(start=-_seconds(match[1])),
        _TRIM_CONTEXT,
    ),
    _matcher(
        rf"\b{_KEEP_VERB} (?:just )?(?:the )?(?:first )?{_TIME}(?: only)?",
        lambda match: _trim(end=_seconds(match[1])),
        _TRIM_CONTEXT,
    ),
)
_MATCHERS: tuple[_Matcher, ...] = (
    *_TRIM_MATCHERS,
    _matcher(
        r"\bmute\b|"
        r"\b(?:remove|drop|strip|cut|kill|delete|lose)(?: out)? (?:the |all )?"
        r"(?:audio|sound|music|soundtrack)\b|\bno (?:audio|sound|music)\b|"
        r"\bwithout (?:the )?(?:audio|sound|music)\b|\bsilent\b|\bsilence\b",
        lambda match: Mute(),
        "audio sound music track soundtrack",
    ),
    _matcher(
        r"\bslow[- ]?mo(?:tion)?\b|\bslow(?:er|ed)?(?: it| this| the (?:video|clip))?(?: down)?\b|"
        r"\bhalf[- ]speed\b|\b0?\.5 ?x\b",
        lambda match: ChangeSpeed(0.5),
        "motion speed playback down half",
    ),
    _matcher(
        r"\bspeed(?: it| this| the (?:video|clip))? up\b|\bsped up\b|\bfaster\b|\b2 ?x\b|"
        r"\bdouble[- ]speed\b|\btwice as fast\b|\bfast[- ]forward\b",
        lambda match: ChangeSpeed(2.0),
        "speed playback up double twice fast times as",
    ),
    _matcher(
        r"\breversed?\b|\bplay(?:ing|ed)?(?: it| this| the (?:video|clip))? backwards?\b|"
        r"\bbackwards?\b|\brewind\b",
        lambda match: Reverse(),
        "play playback run order time",
    ),
    _matcher(
        r"\b(16:9|9:16|1:1)\b",
        lambda match: Reframe(match[1]),
        "reframe re-frame crop cropped aspect ratio format orientation reformat frame",
    ),
    _matcher(
        r"\b(?:portrait|vertical)\b",
        lambda match: Reframe("9:16"),
        "reframe re-frame crop aspect ratio format orientation mode reformat frame",
    ),
    _matcher(
        r"\b(?:landscape|horizontal|widescreen)\b",
        lambda match: Reframe("16:9"),
        "reframe re-frame crop aspect ratio format orientation mode reformat frame",
    ),
    _matcher(
        r"\bsquare\b",
        lambda match: Reframe("1:1"),
        "reframe re-frame crop aspect ratio format orientation mode reformat frame",
    ),
    _matcher(
        r"\bblack ?(?:and|&) ?white\b|\bb ?& ?w\b|\bb/w\b|\bgr[ae]y ?scale\b|\bmonochrome\b|"
        r"\bdesaturated?\b",
        lambda match: ColorGrade("grayscale"),
        "grade grading tone tones saturation",
    ),
    _matcher(r"\bwarm(?:er|th)?\b", lambda match: ColorGrade("warmer"), "grade tone tones up"),
    _matcher(r"\b(?:cool|cold)(?:er)?\b", lambda match: ColorGrade("cooler"), "grade tone tones"),
    _matcher(
        r"\bbright(?:er|en)?\b|\blighter\b|\blighten\b",
        lambda match: ColorGrade("brighter"),
        "up exposure",
    ),
    _matcher(
        r"\bdark(?:er|en)?\b|\bdimmer\b|\bdim\b",
        lambda match: ColorGrade("darker"),
        "down exposure",
    ),
    _matcher(
        r"\bnight(?:[- ]?time)?\b|\bday for night\b",
        lambda match: ColorGrade("night"),
        "grade tone time",
    ),
    _matcher(
        r"\bneon\b|\bcyberpunk\b",
        lambda match: ColorGrade("neon"),
        "grade grading tone tones glow",
    ),
)

_TEXT_KEYWORDS = re.compile(
    r"\b(?:on[- ]?screen|text|title|titles|caption|captions|subtitle|subtitles|subs|"
    r"lower third|headline|label|words|overlay|banner|write|put|show|display|say|saying|says|"
    r"reads|reading)\b"
)
_SUBTITLE_KEYWORDS = re.compile(r"\b(?:caption|captions|subtitle|subtitles|subs|lower third)\b")
_TEXT_CONTEXT = _word_set(
    """add insert put write show display on-screen onscreen on screen text overlay title titles
    card caption captions subtitle subtitles subs lower third headline label words banner
    saying says say reads reading that with big large bold white"""
)
_POSITION = re.compile(
    r"\b(?:(?:at|on|in|to|across|along)\s+)?(?:the\s+)?(top|bottom|center|centre|middle|upper|"
    r"lower)\b(?:\s+(?:third|part|edge|half))?(?:\s+of\s+(?:the\s+)?(?:screen|frame|video|image))?"
)
_TimeReader = Callable[[re.Match[str]], tuple[float, float | None]]
_TEXT_TIMES: tuple[tuple[re.Pattern[str], _TimeReader], ...] = (
    (
        re.compile(rf"\[\s*{_TIME}\s*(?:-|\u2013|to)\s*{_TIME}\s*\]"),
        lambda match: (_seconds(match[1]), _seconds(match[2])),
    ),
    # A review comment's single timecode: from then on.
    (
        re.compile(rf"\[\s*{_TIME}\s*\]"),
        lambda match: (_seconds(match[1]), None),
    ),
    (
        re.compile(rf"\bfrom {_TIME}\s*(?:to|until|till|-|\u2013)\s*{_TIME}"),
        lambda match: (_seconds(match[1]), _seconds(match[2])),
    ),
    (
        re.compile(rf"\bbetween {_TIME}\s*(?:and|-|\u2013)\s*{_TIME}"),
        lambda match: (_seconds(match[1]), _seconds(match[2])),
    ),
    (
        re.compile(rf"\b(?:for|during|in|over) the first {_TIME}"),
        lambda match: (0.0, _seconds(match[1])),
    ),
    (
        re.compile(rf"\b(?:for|during|in|over) the last {_TIME}"),
        lambda match: (-_seconds(match[1]), None),
    ),
    (
        re.compile(rf"\b(?:from|after|starting(?: at| from)?) {_TIME}(?:\s*on(?:wards?)?)?"),
        lambda match: (_seconds(match[1]), None),
    ),
    (
        re.compile(rf"\b(?:until|till|up to|for) {_TIME}"),
        lambda match: (0.0, _seconds(match[1])),
    ),
)


class _Preserve:
    """A clause asking to keep something as it is: understood, nothing to do."""


_PRESERVE = _Preserve()


def _normalise(clause: str) -> str:
    lower = clause.lower()
    lower = re.sub(
        r"\b(" + "|".join(_NUMBER_WORDS) + r")\b(?=\s*(?:s|secs?|seconds?)\b)",
        lambda match: _NUMBER_WORDS[match[1]],
        lower,
    )
    return lower


def _blank(text: str, match: re.Match[str]) -> str:
    return text[: match.start()] + " " * (match.end() - match.start()) + text[match.end() :]


def _unquote(quoted: str) -> str:
    if quoted[:1] in _OPENING_QUOTES:
        quoted = quoted[1:]
    if quoted[-1:] in set(_OPENING_QUOTES.values()):
        quoted = quoted[:-1]
    return quoted.strip()


def _leftover_is_filler(text: str, allowed: frozenset[str]) -> bool:
    words = re.findall(r"[\w'\u2019:-]+", text.replace(_QUOTE_MARK, " "))
    return all(word in allowed or word.strip(_SINGLE_QUOTES + "-") in allowed for word in words)


def _parse_text(quoted: str, remaining: str) -> tuple[TextOverlay, str]:
    subtitle = bool(_SUBTITLE_KEYWORDS.search(remaining))
    position = "bottom" if subtitle else "center"
    start: float = 0.0
    end: float | None = None
    for pattern, read in _TEXT_TIMES:
        if match := pattern.search(remaining):
            start, end = read(match)
            remaining = _blank(remaining, match)
            break
    if match := _POSITION.search(remaining):
        position = {"upper": "top", "lower": "bottom", "centre": "center", "middle": "center"}.get(
            match[1], match[1]
        )
        remaining = _blank(remaining, match)
    if end is not None and end >= 0 and start >= 0 and end <= start:
        raise EngineError(
            ErrorKind.INVALID_INPUT, f'The text "{quoted}" would end before it starts.'
        )
    return TextOverlay(quoted, position, start, end, subtitle), remaining


def _parse_clause(clause: str) -> list[EditOperation] | _Preserve | None:
    """The operations a clause asks for, _PRESERVE for a clause that asks to
    keep something, None when it is not understood."""
    quotes = [match[0] for match in _QUOTED.finditer(clause)]
    remaining = _normalise(_QUOTED.sub(f" {_QUOTE_MARK} ", clause))
    preserving = bool(_PRESERVATION.match(remaining))
    allowed = _FILLER
    # Operations with where they were written, to keep the clause's order;
    # matched text is blanked with as many spaces, so positions hold.
    found: list[tuple[int, EditOperation]] = []
    if quotes and not preserving and _TEXT_KEYWORDS.search(remaining):
        position = remaining.index(_QUOTE_MARK)
        overlay, remaining = _parse_text(_unquote(quotes[0]), remaining)
        if len(quotes) > 1 or not overlay.text:
            return None
        found.append((position, overlay))
        allowed = allowed | _TEXT_CONTEXT
    elif quotes:
        return _PRESERVE if preserving else None

    for matcher in _TRIM_MATCHERS if preserving else _MATCHERS:
        matches = list(matcher.pattern.finditer(remaining))
        for match in matches:
            found.append((match.start(), matcher.build(match)))
            remaining = _blank(remaining, match)
        if matches:
            allowed = allowed | matcher.context

    operations = [operation for _, operation in sorted(found, key=lambda item: item[0])]
    if any(isinstance(op, ColorGrade) for op in operations):
        # "[0-2s] make it warmer": a look can hold for part of the video.
        for pattern, read in _TEXT_TIMES:
            if match := pattern.search(remaining):
                start, end = read(match)
                remaining = _blank(remaining, match)
                operations = [
                    replace(op, start=start, end=end) if isinstance(op, ColorGrade) else op
                    for op in operations
                ]
                break
    if operations:
        if _leftover_is_filler(remaining, allowed):
            return operations
        return _PRESERVE if preserving else None
    if preserving or _PRESERVATION_ANYWHERE.search(remaining):
        return _PRESERVE
    return None


def _strip_clause(clause: str) -> str:
    clause = clause.strip().strip(",;:").strip()
    clause = re.sub(r"^(?:[-*•]\s*|\d+[.)]\s+)", "", clause)
    clause = re.sub(
        r"^(?:(?:please|then|also|and|now|finally|next|lastly|first|second|just)\b[\s,]*)+",
        "",
        clause,
        flags=re.IGNORECASE,
    )
    return clause.strip()


def parse_instruction(prompt: str) -> list[EditOperation]:
    """The operations an edit prompt asks for, in the order written.

    Raises EngineError NOT_UNDERSTOOD naming the first clause it cannot read,
    or when there is no operation at all, and INVALID_INPUT for operations it
    reads but cannot do (a trim keeping less than a second, text that ends
    before it starts, two different speeds or aspect ratios).

    Clauses asking to keep things as they are ("keep everything else the
    same", "preserve ...", "do not change ...", "exclude: ...", "avoid ...")
    are understood and do nothing; so are the list items that follow such a
    clause in its sentence ("preserve the subject, framing and lighting").
    """
    operations: list[EditOperation] = []
    for sentence in _split_sentences(prompt):
        preserving = False
        for raw in sentence:
            clause = _strip_clause(raw)
            if not re.search(r"\w", clause):
                continue
            outcome = _parse_clause(clause)
            if isinstance(outcome, _Preserve):
                preserving = True
                continue
            if outcome is None:
                if preserving and not _ACTION_START.match(clause.lower()):
                    continue
                raise _not_understood(clause)
            preserving = False
            for operation in outcome:
                if operation not in operations:
                    operations.append(operation)
    if not operations:
        raise EngineError(
            ErrorKind.NOT_UNDERSTOOD,
            f"The local engine found no edit to make. It understands: {UNDERSTOOD_EDITS}.",
        )
    for kind, label in ((ChangeSpeed, "speeds"), (Reframe, "aspect ratios")):
        if len({op for op in operations if isinstance(op, kind)}) > 1:
            raise EngineError(ErrorKind.INVALID_INPUT, f"The edit asks for two different {label}.")
    return operations
