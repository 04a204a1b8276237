"""The edit-instruction grammar: an instruction read into typed operations,
or refused with the words the engine could not place.

Hand-written recursive descent over ``tokens``, not a parser generator: the
language is small but forgiving (words in almost any order around a few fixed
phrases), refusals have to name the words left over, and a phrase such as
"black and white" or "between 1s and 3s" has to win over "and" as a joiner.
Those are easy to say in a few plain functions and awkward in a formal
grammar, which would also be one more dependency to learn.

    instruction := sentence (STOP sentence)*
    sentence    := clause (joiner clause)*
    joiner      := "," | ";" | "and" | "then" | "also" | "but"
    clause      := lead* phrase* tail?
    phrase      := trim | mute | look | speed | reverse | reframe | position
                 | span | text-word | QUOTED | word
    tail        := negation phrase* | preservation phrase*

A ``phrase`` is tried at each token in that order, so "2x brighter" is a look
(a multiplier binds to the adjective after it) and "no sound" is a mute before
"no" can start a negation. Spans (``[1-3s]``, "from 1s to 2s", "for the first
2 s") hold the clause's text, else its looks; a span leading a sentence, as a
review comment writes it, holds for the whole sentence. A ``word`` no phrase
takes is placed when it is filler or belongs with an operation in the clause
("the aspect ratio" with a reframe); anything else is refused by name.

A tail (don't, never, avoid, exclude, no, without changing; keep, preserve,
leave, everything else) asks for nothing, and nothing in it is applied. The
plain list items after it ("preserve the subject, framing and lighting") are
its too, until a clause starts with an edit verb or after then, also, but or
";".
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from studio.engines.base import ASPECT_RATIOS, EngineError, ErrorKind
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
from studio.engines.local.tokens import Kind, Token, tokenize

UNDERSTOOD_EDITS = (
    "reframe to 9:16, 16:9 or 1:1 (portrait, landscape, square); "
    'add text or subtitles in quotes (add text "LAUNCH DAY" at the top from 1s to 3s); '
    "trim (trim to 3s, cut the first 2 seconds); speed up or slow motion; reverse; "
    "black and white, warmer, cooler, brighter, darker, night or neon; mute"
)

SPEEDS = (2.0, 0.5)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_FILLER = _words(
    """a an the it its it's this that video clip footage shot scene whole entire please make
    made turn into to be is so more much bit little slightly somewhat very really lot give
    apply set change convert use with look looks feel tone color colors colour colours
    effect filter style version image picture frames everything all of in on at for then
    also now just overall mood lighting light throughout vibe can you could would like i
    want lets let's go get some kind sort should me us by over while thanks thank"""
)
_LEADS = _words("please now finally next lastly just ok okay then also and")
_JOINERS = _words("and then also but")
_LIST_JOINERS = frozenset({",", "and"})
# Verbs that start an edit: such a clause is never an item of a list.
_EDIT_VERBS = _words(
    """make add turn change put remove cut trim speed slow reverse crop reframe convert apply
    give set mute insert replace show animate move zoom pan increase decrease boost lower
    raise render play transform have let write draw shorten display use keep"""
)
# Words that go with an operation when it is in the clause.
_CONTEXT: dict[type, frozenset[str]] = {
    Trim: _words("trim trimmed cut shorten clip keep use only down seconds second long part"),
    Mute: _words("audio sound music track soundtrack off"),
    ChangeSpeed: _words("motion speed playback play down up half double twice fast times as"),
    Reverse: _words("play played playing playback run order time"),
    Reframe: _words("reframe re frame crop cropped aspect ratio format orientation mode reformat"),
    ColorGrade: _words("grade grading tone tones saturation up down exposure time glow palette"),
    TextOverlay: _words("add insert put write show display screen big large bold white that"),
}
_TEXT_WORDS = _words(
    """text title titles headline label words overlay banner onscreen card say saying says
    reads reading write put show display"""
)
_SUBTITLE_WORDS = _words("caption captions subtitle subtitles subs")
_ANY_TEXT_WORDS = _TEXT_WORDS | _SUBTITLE_WORDS
_AUDIO = "audio|sound|music|soundtrack"
_COLOUR_NOUNS = "tones|tone|colours|colors|colour|color|grade|grading|palette|temperature|hues"
_TIME = "<time>"
_LOOKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("grayscale", ("black", "and", "white")),
    ("grayscale", ("bw|grayscale|greyscale|monochrome|desaturate|desaturated",)),
    ("grayscale", ("gray|grey", "scale")),
    ("night", ("day", "for", "night")),
    ("night", ("night|nighttime", "?time")),
    ("warmer", ("warm|warmer|warmth",)),
    ("cooler", ("cooler|colder|cold",)),
    # "Cool" alone is a style ("make it look cool"): a temperature only as a
    # verb (cool it down) or before a colour noun (cool tones).
    ("cooler", ("cool", "it|this|the|down")),
    ("cooler", ("cool", _COLOUR_NOUNS)),
    ("neon", ("neon|cyberpunk",)),
    ("brighter", ("bright|brighter|brighten|lighter|lighten",)),
    ("brighter", ("increase|raise|boost|more", "?the", "brightness|exposure")),
    ("darker", ("dark|darker|darken|dimmer|dim",)),
    ("darker", ("decrease|lower|reduce|less", "?the", "brightness|exposure")),
)
_SLOW = (
    ("slow", "motion|mo"),
    ("slo", "mo"),
    ("slowmo|slomo",),
    ("?at", "half", "?the", "speed"),
    ("slow|slower|slowed", "?it|this|the", "?video|clip", "?down"),
)
_FAST = (
    ("speed|sped", "?it|this|the", "?video|clip", "up"),
    ("faster|quicker",),
    ("?at", "double", "?the", "speed"),
    ("twice", "as", "fast|quick"),
    ("twice", "the", "speed"),
    ("fast", "forward"),
)
_MUTE = (
    ("mute|silent|silence|soundless",),
    ("no", _AUDIO),
    ("without", "?the|any", _AUDIO),
    ("remove|drop|strip|cut|kill|delete|lose", "?out|off", "?the|all", _AUDIO),
    ("turn|switch|take", "off|out", "?the", _AUDIO),
)
_REFRAMES = (
    ("9:16", ("portrait|vertical",)),
    ("16:9", ("landscape|horizontal|widescreen",)),
    ("16:9", ("wide", "screen")),
    ("1:1", ("square",)),
)
_OBJECT = ("?it|this|the", "?video|clip")
_TRIM_VERB = "trim|cut|shorten|clip"
_DROP_VERB = "cut|remove|drop|trim|skip|delete|lose"
_TO = "to|until|till|-|\u2013|\u2014"
_POSITIONS = {"upper": "top", "lower": "bottom", "centre": "center", "middle": "center"}
_NEGATIONS = (
    ("don't|dont|never|avoid|avoiding|exclude|excluding|no|not",),
    ("do", "not"),
    ("without", "changing|touching|altering|affecting|moving|adding|any"),
)
_PRESERVATIONS = (
    ("keep|keeping|preserve|preserving|retain|retaining|maintain|maintaining|leave|leaving",),
    ("same",),
    ("everything|nothing", "else"),
)
# A clause ending so asks to keep something as it is ("the music unchanged").
_AS_IS_ENDINGS = (
    ("unchanged",),
    ("intact",),
    ("untouched",),
    ("alone",),
    ("same",),
    ("as", "is"),
    ("as", "it", "is"),
    ("as", "they", "are"),
)
_HOLDS_FOR_PART = (ColorGrade, TextOverlay)
_OPERATION_NAMES = {
    Trim: "A trim",
    ChangeSpeed: "A speed change",
    Reverse: "Reversing",
    Reframe: "Reframing",
    Mute: "Muting",
}

type Span = tuple[float, float | None]


def _invalid(message: str) -> EngineError:
    return EngineError(ErrorKind.INVALID_INPUT, message)


def _spoken_list(items: list[str]) -> str:
    """a, b and c."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _trim(start: float = 0.0, end: float | None = None) -> Trim:
    kept = None
    if start >= 0 and end is not None and end >= 0:
        kept = end - start
    elif start < 0 and end is None:
        kept = -start
    if kept is not None and kept < MIN_EDIT_SECONDS:
        raise _invalid(
            f"A trim must keep at least {MIN_EDIT_SECONDS:g} s; this keeps {max(kept, 0):g} s."
        )
    return Trim(start, end)


def _speed(factor: float) -> ChangeSpeed:
    if factor not in SPEEDS:
        raise _invalid(f"The local engine plays at double or half speed, not {factor:g}x.")
    return ChangeSpeed(factor)


@dataclass
class _Clause:
    """What one clause says, as the parser found it; each phrase with the
    tokens it took."""

    tokens: list[Token] = field(default_factory=list)
    operations: list[tuple[int, EditOperation]] = field(default_factory=list)
    spans: list[tuple[Span, list[Token]]] = field(default_factory=list)
    positions: list[tuple[str, bool, list[Token]]] = field(default_factory=list)
    quoted: list[tuple[int, Token]] = field(default_factory=list)
    text_words: list[Token] = field(default_factory=list)
    loose: list[Token] = field(default_factory=list)
    # From the first token, it asks to keep something or not to do something.
    only_keeps: bool = False
    # Part of it does: the plain clauses after it are items of its list.
    keeps: bool = False
    # An item of such a list: not read.
    list_item: bool = False


class _Parser:
    def __init__(self, instruction: str):
        self.tokens = tokenize(instruction)
        self.position = 0

    # The token stream -----------------------------------------------------------

    def peek(self, ahead: int = 0) -> Token | None:
        index = self.position + ahead
        return self.tokens[index] if index < len(self.tokens) else None

    def key(self, ahead: int = 0) -> str:
        token = self.peek(ahead)
        return token.key if token is not None else ""

    def match(self, *parts: str) -> list[float] | None:
        """Take the tokens matching parts, in order, or none. A part is words
        (or punctuation) separated by "|", optional when it starts with "?",
        or _TIME for seconds, which are returned."""
        start = self.position
        seconds: list[float] = []
        for part in parts:
            token = self.peek()
            if part == _TIME:
                if token is not None and token.kind in (Kind.TIME, Kind.NUMBER):
                    seconds.append(token.value)
                elif token is not None and token.key == "second":  # the first second
                    seconds.append(1.0)
                else:
                    self.position = start
                    return None
            elif token is None or token.key not in part.removeprefix("?").split("|"):
                if part.startswith("?"):
                    continue
                self.position = start
                return None
            self.position += 1
        return seconds

    def match_any(self, rules: tuple[tuple[str, ...], ...]) -> bool:
        return any(self.match(*rule) is not None for rule in rules)

    def at_clause_end(self) -> bool:
        token = self.peek()
        return (
            token is None
            or token.kind in (Kind.STOP, Kind.COMMA, Kind.SEMICOLON)
            or token.key in _JOINERS
        )

    def taken(self, start: int) -> list[Token]:
        return self.tokens[start : self.position]

    # Sentences and clauses ------------------------------------------------------

    def sentence(self) -> list[_Clause]:
        """The clauses up to the end of a sentence, list items marked."""
        clauses: list[_Clause] = []
        joiners: set[str] = set()
        while (token := self.peek()) is not None and token.kind is not Kind.STOP:
            self.skip_leads()
            first = self.peek()
            starts_anew = first is not None and (
                first.kind is Kind.RANGE or first.key in _EDIT_VERBS
            )
            clause = self.clause()
            if clause.tokens:
                following = bool(clauses) and clauses[-1].keeps and joiners <= _LIST_JOINERS
                clause.list_item = following and not starts_anew
                clause.keeps = clause.keeps or clause.list_item
                clauses.append(clause)
            joiners = set()
            while (token := self.peek()) is not None and (
                token.kind in (Kind.COMMA, Kind.SEMICOLON) or token.key in _JOINERS
            ):
                joiners.add(token.key)
                self.position += 1
        self.position += 1  # past the STOP
        return clauses

    def skip_leads(self) -> None:
        while True:
            # "First, ..." and "Second, make ..." number steps.
            numbered = self.key() in {"first", "second"} and (
                self.key(1) == "," or self.key(1) in _EDIT_VERBS
            )
            if not (numbered or self.key() in _LEADS):
                return
            self.position += 1

    def clause(self) -> _Clause:
        start = self.position
        clause = _Clause()
        while not self.at_clause_end():
            if self.phrase(clause):
                continue
            at = self.position
            if self.match_any(_NEGATIONS) or self.match_any(_PRESERVATIONS):
                self.tail()
                clause.keeps = True
                clause.only_keeps = at == start
                break
            clause.loose.append(self.tokens[self.position])
            self.position += 1
        clause.tokens = self.taken(start)
        words = [token.key for token in clause.tokens if token.kind is not Kind.MARK]
        if not clause.operations and any(
            tuple(words[-len(ending) :]) == ending for ending in _AS_IS_ENDINGS
        ):
            clause.keeps = clause.only_keeps = True
        return clause

    def tail(self) -> None:
        """The rest of a clause that asks for nothing: its phrases are read
        whole (so the "and" of "black and white" does not end it), and
        dropped."""
        while not self.at_clause_end():
            if not self.phrase(_Clause()):
                self.position += 1

    # Phrases ----------------------------------------------------------------------

    def phrase(self, clause: _Clause) -> bool:
        """Read the phrase starting here into clause; False when none does."""
        start = self.position
        token = self.tokens[start]
        if token.kind in (Kind.QUOTED, Kind.RANGE) or token.key in _ANY_TEXT_WORDS:
            self.position += 1
            if token.kind is Kind.QUOTED:
                clause.quoted.append((start, token))
            elif token.kind is Kind.RANGE:
                clause.spans.append(((token.value, token.until), [token]))
            else:
                clause.text_words.append(token)
            return True
        operation = self.trim() or self.mute() or self.look() or self.speed()
        operation = operation or self.reverse() or self.reframe()
        if operation is not None:
            clause.operations.append((start, operation))
        elif (where := self.where()) is not None:
            clause.positions.append((*where, self.taken(start)))
        elif (span := self.span()) is not None:
            clause.spans.append((span, self.taken(start)))
        return self.position > start

    def trim(self) -> Trim | None:
        between = ("from|between", _TIME, _TO + "|and", _TIME)
        if (times := self.match(_TRIM_VERB + "|keep|use", *_OBJECT, "?only", *between)) is not None:
            return _trim(times[0], times[1])
        if (times := self.match(_DROP_VERB, "?off|out|away", "?the", "first", _TIME)) is not None:
            return _trim(start=times[0])
        if (times := self.match(_DROP_VERB, "?off|out|away", "?the", "last", _TIME)) is not None:
            return _trim(end=-times[0])
        for verb in (
            ("keep|use", "?only"),
            (_TRIM_VERB, *_OBJECT, "?down", "to"),
            ("only", "keep"),
        ):
            if (times := self.match(*verb, "?just", "the", "last|final", _TIME)) is not None:
                return _trim(start=-times[0])
            if (times := self.match(*verb, "?just", "?the", "?first", _TIME, "?only")) is not None:
                return _trim(end=times[0])
        if (times := self.match(_TIME, "long")) is not None:
            return _trim(end=times[0])
        return None

    def mute(self) -> Mute | None:
        return Mute() if self.match_any(_MUTE) else None

    def look(self) -> ColorGrade | None:
        start = self.position
        # A multiplier before a look is its strength, which a look does not
        # have: "2x brighter" is brighter, not twice as fast.
        token = self.peek()
        if token is not None and token.kind is Kind.MULTIPLIER:
            self.position += 1
        else:
            self.match("twice|much|far", "?as")
        for look, rule in _LOOKS:
            if self.match(*rule) is not None:
                return ColorGrade(look)
        self.position = start
        return None

    def speed(self) -> ChangeSpeed | None:
        token = self.peek()
        if token is not None and token.kind is Kind.MULTIPLIER:
            self.position += 1
            if self.match("slower") is not None:
                return _speed(1 / token.value)
            self.match("?faster|quicker|speed")
            return _speed(token.value)
        if self.match_any(_SLOW):
            return ChangeSpeed(0.5)
        if self.match_any(_FAST):
            return ChangeSpeed(2.0)
        return None

    def reverse(self) -> Reverse | None:
        found = self.match("reverse|reversed|backwards|backward|rewind")
        return Reverse() if found is not None else None

    def reframe(self) -> Reframe | None:
        token = self.peek()
        if token is not None and token.kind is Kind.RATIO and token.text in ASPECT_RATIOS:
            self.position += 1
            return Reframe(token.text)
        for aspect_ratio, rule in _REFRAMES:
            if self.match(*rule) is not None:
                return Reframe(aspect_ratio)
        return None

    def where(self) -> tuple[str, bool] | None:
        """Where text goes, and whether it was called a lower third."""
        start = self.position
        self.match("?at|on|in|to|across|along", "?the")
        where = self.key()
        if where not in {"top", "bottom", "center", *_POSITIONS}:
            self.position = start
            return None
        self.position += 1
        lower_third = where == "lower" and self.match("third") is not None
        self.match("?third|part|edge|half")
        self.match("of", "?the", "screen|frame|video|image|picture")
        return _POSITIONS.get(where, where), lower_third

    def span(self) -> Span | None:
        """A time on the edited video: start and end seconds."""
        if (times := self.match("from", _TIME, _TO, _TIME)) is not None:
            return times[0], times[1]
        if (times := self.match("between", _TIME, "and|-|\u2013|\u2014", _TIME)) is not None:
            return times[0], times[1]
        during = "?for|during|in|over"
        if (times := self.match(during, "?the", "first", _TIME)) is not None:
            return 0.0, times[0]
        if (times := self.match(during, "?the", "last|final", _TIME)) is not None:
            return -times[0], None
        onwards = "?on|onwards|onward"
        for rule in (
            ("from|after|at", _TIME, onwards),
            ("starting|beginning", "?at|from", _TIME, onwards),
        ):
            if (times := self.match(*rule)) is not None:
                return times[0], None
        for rule in (("until|till|for", _TIME), ("up", "to", _TIME)):
            if (times := self.match(*rule)) is not None:
                return 0.0, times[0]
        return None


# Reading clauses -------------------------------------------------------------------


def _bind_text(clause: _Clause, unplaced: list[Token]) -> list[tuple[int, EditOperation]]:
    """The clause's text overlay, when it has quoted text and says it is text."""
    lower_third = any(lower_third for _, lower_third, _ in clause.positions)
    if not (clause.quoted and (clause.text_words or lower_third)):
        unplaced.extend(token for _, token in clause.quoted)
        unplaced.extend(clause.text_words)
        unplaced.extend(token for *_, tokens in clause.positions for token in tokens)
        return []
    (index, quoted), *extra = clause.quoted
    unplaced.extend(token for _, token in extra)
    if not quoted.text:
        unplaced.append(quoted)
    subtitle = lower_third or any(word.key in _SUBTITLE_WORDS for word in clause.text_words)
    where = clause.positions[0][0] if clause.positions else ("bottom" if subtitle else "center")
    unplaced.extend(token for *_, tokens in clause.positions[1:] for token in tokens)
    return [(index, TextOverlay(quoted.text, where, subtitle=subtitle))]


def _bind_spans(
    operations: list[EditOperation], spans: list[Span], clause_text: str
) -> list[EditOperation]:
    """Text takes the first span; looks take the next, or the same one."""
    fixed = [op for op in operations if not isinstance(op, _HOLDS_FOR_PART)]
    if fixed:
        raise _invalid(
            f"{_OPERATION_NAMES[type(fixed[0])]} applies to the whole video; only looks and "
            f'text can hold for part of it ("{clause_text}").'
        )
    has_text = any(isinstance(op, TextOverlay) for op in operations)
    look_span = spans[1] if has_text and len(spans) > 1 else spans[0]
    bound: list[EditOperation] = []
    for operation in operations:
        start, end = spans[0] if isinstance(operation, TextOverlay) else look_span
        if end is not None and end >= 0 and start >= 0 and end <= start:
            what = f'text "{operation.text}"' if isinstance(operation, TextOverlay) else "look"
            raise _invalid(f"The {what} would end before it starts.")
        bound.append(replace(operation, start=start, end=end))
    return bound


def _written(instruction: str, tokens: list[Token]) -> str:
    return instruction[tokens[0].start : tokens[-1].end] if tokens else ""


def _not_understood(instruction: str, clause: _Clause, unplaced: list[Token]) -> EngineError:
    # Name what is not an edit verb: in "make the cat dance" that is the cat
    # dancing, not the making.
    named = [token for token in unplaced if token.key not in _EDIT_VERBS] or unplaced
    names = _spoken_list(
        [
            _written(instruction, [token]) if token.kind is Kind.QUOTED else f'"{token.text}"'
            for token in named
        ]
    )
    hint = ""
    if clause.text_words and not clause.quoted:
        hint = " (the text to show goes in quotes)"
    return EngineError(
        ErrorKind.NOT_UNDERSTOOD,
        f'The local engine did not understand "{_written(instruction, clause.tokens)}": it '
        f"could not place {names}{hint}. It understands: {UNDERSTOOD_EDITS}.",
    )


def _read(instruction: str, clause: _Clause, sentence_span: Span | None) -> list[EditOperation]:
    """The operations a clause asks for, in the order written, with their
    text, positions and times bound."""
    if clause.only_keeps or clause.list_item:
        return []
    unplaced: list[Token] = []
    found = sorted(clause.operations + _bind_text(clause, unplaced), key=lambda item: item[0])
    operations = [operation for _, operation in found]
    spans = [span for span, _ in clause.spans] or ([sentence_span] if sentence_span else [])
    if spans and operations:
        # One span for text or looks, two for text and looks; no more.
        kinds = {type(op) for op in operations} & {TextOverlay, ColorGrade}
        for _, tokens in clause.spans[max(len(kinds), 1) :]:
            unplaced.extend(tokens)
        operations = _bind_spans(operations, spans, _written(instruction, clause.tokens))
    elif spans:
        unplaced.extend(token for _, tokens in clause.spans for token in tokens)
    allowed = _FILLER.union(*(_CONTEXT[type(op)] for op in operations))
    if operations:
        allowed |= _EDIT_VERBS | _ANY_TEXT_WORDS
    unplaced.extend(clause.loose)
    unplaced = [token for token in unplaced if token.kind is not Kind.MARK]
    unplaced = [token for token in unplaced if token.key not in allowed or not token.key]
    if unplaced:
        raise _not_understood(instruction, clause, unplaced)
    return operations


def parse_instruction(instruction: str) -> list[EditOperation]:
    """The operations an edit instruction asks for, in the order written
    (each once).

    Raises EngineError NOT_UNDERSTOOD naming the first clause it cannot read
    and the words in it it could not place, or when there is no operation at
    all; INVALID_INPUT for what it reads but cannot do (a trim keeping less
    than a second, text that ends before it starts, two different speeds or
    aspect ratios, a speed change for part of the video).
    """
    parser = _Parser(instruction)
    operations: list[EditOperation] = []
    while parser.peek() is not None:
        clauses = parser.sentence()
        sentence_span = None
        if clauses and clauses[0].tokens[0].kind is Kind.RANGE:
            sentence_span = clauses[0].spans[0][0]
        for index, clause in enumerate(clauses):
            inherited = sentence_span if index else None
            for operation in _read(instruction, clause, inherited):
                if operation not in operations:
                    operations.append(operation)
    if not operations:
        raise EngineError(
            ErrorKind.NOT_UNDERSTOOD,
            f"The local engine found no edit to make. It understands: {UNDERSTOOD_EDITS}.",
        )
    for kind, label in ((ChangeSpeed, "speeds"), (Reframe, "aspect ratios")):
        if len({op for op in operations if isinstance(op, kind)}) > 1:
            raise _invalid(f"The edit asks for two different {label}.")
    return operations
