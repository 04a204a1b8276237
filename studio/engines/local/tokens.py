"""The tokens of an edit instruction, for ``grammar``.

Words come lowercased (``key``), numbers with their units as seconds, review
comments' bracketed time ranges as one token, and quoted text as one token
whatever it holds: commas, "and", full stops and apostrophes inside quotes
never split a sentence.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass


class Kind(enum.Enum):
    WORD = "word"
    TIME = "time"  # seconds: 3s, 3 s, three seconds, 1.5 sec, 0:02, 0:01.5
    NUMBER = "number"  # a number without a unit
    MULTIPLIER = "multiplier"  # 2x, 2×, 0.5x, two times
    RATIO = "ratio"  # 16:9, 4:3
    RANGE = "range"  # [1-3s], [0:01-0:02.5], [2s]
    QUOTED = "quoted"
    COMMA = "comma"
    SEMICOLON = "semicolon"
    STOP = "stop"  # the end of a sentence: . ! ? or a new line
    MARK = "mark"  # any other punctuation


@dataclass(frozen=True)
class Token:
    kind: Kind
    # As written; for QUOTED the text between the quotes, stripped.
    text: str
    # Where the token is in the instruction, quotes included.
    start: int
    end: int
    # Seconds for TIME and RANGE (its start), the number or the factor.
    value: float = 0.0
    # RANGE: its end, None for a single timecode ("from then on").
    until: float | None = None

    @property
    def key(self) -> str:
        """What the grammar matches: the word lowercased, or the punctuation."""
        if self.kind is Kind.WORD:
            return self.text.lower().replace("\u2019", "'")
        if self.kind in (Kind.MARK, Kind.COMMA, Kind.SEMICOLON):
            return self.text
        return ""


NUMBER_WORDS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
_UNIT_WORDS = frozenset({"s", "sec", "secs", "second", "seconds"})

# Opening quotes and the closing quote each one expects: straight, curly,
# low-9 (closed by either curly quote) and guillemets.
_QUOTES = {
    '"': '"',
    "\u201c": "\u201d",
    "\u201e": "\u201c\u201d",
    "\u00ab": "\u00bb",
    "'": "'",
    "\u2018": "\u2019",
}
_SINGLE_QUOTES = "'\u2018\u2019"

_CLOCK = r"\d+:\d{2}(?:\.\d+)?"
_DECIMAL = r"(?:\d+(?:\.\d+)?|\.\d+)"
_UNIT = r"(?:\s*|-)(?:seconds?|secs?|s)\b"
_SECONDS = rf"({_CLOCK}|{_DECIMAL})(?:{_UNIT})?"
_RANGE_DASH = "-\u2013\u2014"
# Named patterns, tried in this order at each position.
_PATTERNS = {
    "range": rf"\[\s*{_SECONDS}\s*(?:(?:[{_RANGE_DASH}]|to)\s*{_SECONDS}\s*)?\]",
    "ratio": r"(?:16:9|9:16|1:1)(?![\d:])",
    "clock": rf"({_CLOCK})(?:{_UNIT})?",
    "other_ratio": r"\d+:\d+",
    "multiplier": rf"({_DECIMAL}) ?[x\u00d7](?!\w)",
    "time": rf"({_DECIMAL}){_UNIT}",
    "number": rf"({_DECIMAL})(?!\d)",
    # b&w and b/w, before "&" reads as "and".
    "bw": r"b ?[&/] ?w(?!\w)",
    "word": r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*",
    "ampersand": r"&",
    "comma": r",",
    "semicolon": r";",
    "stop": r"[.!?\u2026]+|\n",
}
_KINDS = {
    "range": Kind.RANGE,
    "ratio": Kind.RATIO,
    "clock": Kind.TIME,
    "other_ratio": Kind.RATIO,
    "multiplier": Kind.MULTIPLIER,
    "time": Kind.TIME,
    "number": Kind.NUMBER,
    "bw": Kind.WORD,
    "word": Kind.WORD,
    "ampersand": Kind.WORD,
    "comma": Kind.COMMA,
    "semicolon": Kind.SEMICOLON,
    "stop": Kind.STOP,
}
_SCANNER = re.compile("|".join(f"(?P<{name}>{p})" for name, p in _PATTERNS.items()), re.I)
# A list marker at the start of a line: "- ", "* ", "• ", "1. ", "2) ".
_LIST_MARKER = re.compile(r"[ \t]*(?:[-*\u2022]|\d+[.)])[ \t]+")
# A hyphen inside a word (on-screen, slow-mo) only separates its parts.
_HYPHEN = re.compile(r"(?<=[^\W\d_])-(?=[^\W\d_])")


def _seconds(text: str) -> float:
    if ":" in text:
        minutes, seconds = text.split(":", 1)
        return int(minutes) * 60 + float(seconds)
    return float(text)


def _scan_quote(text: str, index: int) -> Token | None:
    """The quoted text opening at index, or None when the mark there opens
    nothing (an apostrophe, as in don't)."""
    opening = text[index]
    before = text[index - 1] if index else ""
    after = text[index + 1 : index + 2]
    if opening in _SINGLE_QUOTES and (before.isalnum() or not after or after.isspace()):
        return None
    closing = _QUOTES[opening]
    position = index + 1
    while position < len(text):
        character = text[position]
        following = text[position + 1 : position + 2]
        # An apostrophe inside a word (don't) does not end a single quote.
        if character in closing and not (character in _SINGLE_QUOTES and following.isalnum()):
            inner = text[index + 1 : position]
            return Token(Kind.QUOTED, inner.strip(), index, position + 1)
        position += 1
    return Token(Kind.QUOTED, text[index + 1 :].strip(), index, len(text))


def _token(match: re.Match[str]) -> Token:
    name = match.lastgroup or ""
    kind = _KINDS[name]
    text, start, end = match[0], match.start(), match.end()
    # The first group found is the named one; the numbers follow it.
    groups = [group for group in match.groups() if group is not None][1:]
    numbers = [_seconds(group) for group in groups]
    if name == "range":
        return Token(kind, text, start, end, numbers[0], numbers[1] if len(numbers) > 1 else None)
    if name in {"clock", "multiplier", "time", "number"}:
        return Token(kind, text, start, end, numbers[0])
    if name == "ampersand":
        return Token(kind, "and", start, end)
    if name == "bw":
        return Token(kind, "bw", start, end)
    return Token(kind, text, start, end)


def _scan(text: str) -> list[Token]:
    tokens: list[Token] = []
    index = 0
    line_start = True
    while index < len(text):
        if line_start and (marker := _LIST_MARKER.match(text, index)):
            index = marker.end()
        line_start = False
        character = text[index]
        if character == "\n":
            line_start = True
        elif character.isspace() or _HYPHEN.match(text, index):
            index += 1
            continue
        if character in _QUOTES and (quoted := _scan_quote(text, index)) is not None:
            tokens.append(quoted)
            index = quoted.end
            continue
        match = _SCANNER.match(text, index)
        if match is None:
            tokens.append(Token(Kind.MARK, character, index, index + 1))
            index += 1
            continue
        tokens.append(_token(match))
        index = match.end()
    return tokens


def _merge_spelled_numbers(tokens: list[Token]) -> list[Token]:
    """ "three seconds" is a TIME, "two times" a MULTIPLIER, "3 seconds" too."""
    merged: list[Token] = []
    for token in tokens:
        previous = merged[-1] if merged else None
        number = None
        if previous is not None and previous.kind is Kind.NUMBER:
            number = previous.value
        elif previous is not None and previous.key in NUMBER_WORDS:
            number = float(NUMBER_WORDS[previous.key])
        if number is not None and previous is not None and token.kind is Kind.WORD:
            kind = Kind.TIME if token.key in _UNIT_WORDS else None
            kind = Kind.MULTIPLIER if token.key == "times" else kind
            if kind is not None:
                merged[-1] = Token(
                    kind, f"{previous.text} {token.text}", previous.start, token.end, number
                )
                continue
        merged.append(token)
    return merged


def tokenize(text: str) -> list[Token]:
    """The instruction's tokens, in order."""
    return _merge_spelled_numbers(_scan(text))
