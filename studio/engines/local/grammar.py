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
    phrase      := region | trim | mute | look | speed | reverse | crop-to-region
                 | reframe | obscure | position | span | text-word | QUOTED | word
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
from studio.engines.local import vocabulary as vocab
from studio.engines.local.operations import (
    MIN_EDIT_SECONDS,
    ChangeSpeed,
    ColorGrade,
    CropToRegion,
    EditOperation,
    Mute,
    Obscure,
    Reframe,
    Reverse,
    TextOverlay,
    Trim,
)
from studio.engines.local.tokens import Kind, Token, tokenize

_HOLDS_FOR_PART = (ColorGrade, TextOverlay, Obscure)
_OPERATION_NAMES = {
    Trim: "A trim",
    ChangeSpeed: "A speed change",
    Reverse: "Reversing",
    Reframe: "Reframing",
    Mute: "Muting",
    CropToRegion: "Cropping to the box",
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
    if factor not in vocab.SPEEDS:
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
        or vocab.TIME for seconds, which are returned."""
        start = self.position
        seconds: list[float] = []
        for part in parts:
            token = self.peek()
            if part == vocab.TIME:
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
            or token.key in vocab.JOINERS
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
                first.kind is Kind.RANGE or first.key in vocab.EDIT_VERBS
            )
            clause = self.clause()
            if clause.tokens:
                following = bool(clauses) and clauses[-1].keeps and joiners <= vocab.LIST_JOINERS
                clause.list_item = following and not starts_anew
                clause.keeps = clause.keeps or clause.list_item
                clauses.append(clause)
            joiners = set()
            while (token := self.peek()) is not None and (
                token.kind in (Kind.COMMA, Kind.SEMICOLON) or token.key in vocab.JOINERS
            ):
                joiners.add(token.key)
                self.position += 1
        self.position += 1  # past the STOP
        return clauses

    def skip_leads(self) -> None:
        while True:
            # "First, ..." and "Second, make ..." number steps.
            numbered = self.key() in {"first", "second"} and (
                self.key(1) == "," or self.key(1) in vocab.EDIT_VERBS
            )
            if not (numbered or self.key() in vocab.LEADS):
                return
            self.position += 1

    def clause(self) -> _Clause:
        start = self.position
        clause = _Clause()
        while not self.at_clause_end():
            if self.phrase(clause):
                continue
            at = self.position
            if self.match_any(vocab.NEGATIONS) or self.match_any(vocab.PRESERVATIONS):
                self.tail()
                clause.keeps = True
                clause.only_keeps = at == start
                break
            clause.loose.append(self.tokens[self.position])
            self.position += 1
        clause.tokens = self.taken(start)
        words = [token.key for token in clause.tokens if token.kind is not Kind.MARK]
        if not clause.operations and any(
            tuple(words[-len(ending) :]) == ending for ending in vocab.AS_IS_ENDINGS
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
        if token.kind in (Kind.QUOTED, Kind.RANGE) or token.key in vocab.ANY_TEXT_WORDS:
            self.position += 1
            if token.kind is Kind.QUOTED:
                clause.quoted.append((start, token))
            elif token.kind is Kind.RANGE:
                clause.spans.append(((token.value, token.until), [token]))
            else:
                clause.text_words.append(token)
            return True
        if self.region():
            return True
        operation = self.trim() or self.mute() or self.look() or self.speed()
        operation = operation or self.reverse() or self.crop_to_region() or self.reframe()
        operation = operation or self.obscure()
        if operation is not None:
            clause.operations.append((start, operation))
        elif (where := self.where()) is not None:
            clause.positions.append((*where, self.taken(start)))
        elif (span := self.span()) is not None:
            clause.spans.append((span, self.taken(start)))
        return self.position > start

    def trim(self) -> Trim | None:
        between = ("from|between", vocab.TIME, vocab.TO + "|and", vocab.TIME)
        if (
            times := self.match(vocab.TRIM_VERB + "|keep|use", *vocab.OBJECT, "?only", *between)
        ) is not None:
            return _trim(times[0], times[1])
        if (
            times := self.match(vocab.DROP_VERB, "?off|out|away", "?the", "first", vocab.TIME)
        ) is not None:
            return _trim(start=times[0])
        if (
            times := self.match(vocab.DROP_VERB, "?off|out|away", "?the", "last", vocab.TIME)
        ) is not None:
            return _trim(end=-times[0])
        for verb in (
            ("keep|use", "?only"),
            (vocab.TRIM_VERB, *vocab.OBJECT, "?down", "to"),
            ("only", "keep"),
        ):
            if (times := self.match(*verb, "?just", "the", "last|final", vocab.TIME)) is not None:
                return _trim(start=-times[0])
            if (
                times := self.match(*verb, "?just", "?the", "?first", vocab.TIME, "?only")
            ) is not None:
                return _trim(end=times[0])
        if (times := self.match(vocab.TIME, "long")) is not None:
            return _trim(end=times[0])
        return None

    def mute(self) -> Mute | None:
        return Mute() if self.match_any(vocab.MUTE) else None

    def look(self) -> ColorGrade | None:
        start = self.position
        # A multiplier before a look is its strength, which a look does not
        # have: "2x brighter" is brighter, not twice as fast.
        token = self.peek()
        if token is not None and token.kind is Kind.MULTIPLIER:
            self.position += 1
        else:
            self.match("twice|much|far", "?as")
        for look, rule in vocab.LOOKS:
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
        if self.match_any(vocab.SLOW):
            return ChangeSpeed(0.5)
        if self.match_any(vocab.FAST):
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
        for aspect_ratio, rule in vocab.REFRAMES:
            if self.match(*rule) is not None:
                return Reframe(aspect_ratio)
        return None

    def obscure(self) -> Obscure | None:
        for style, rule in vocab.OBSCURES:
            if self.match(*rule) is not None:
                return Obscure(style)
        return None

    def crop_to_region(self) -> CropToRegion | None:
        return CropToRegion() if self.match_any(vocab.CROPS_TO_REGION) else None

    def region(self) -> bool:
        """The words naming the edit's region, and where it is."""
        if self.match(*vocab.REGION_WORDS) is None:
            return False
        self.match("?at|in|on|near", "?the")
        while self.match(vocab.REGION_PLACES) is not None:
            pass
        self.match("?of", "?the", "?screen|frame|picture|video")
        return True

    def where(self) -> tuple[str, bool] | None:
        """Where text goes, and whether it was called a lower third."""
        start = self.position
        self.match("?at|on|in|to|across|along", "?the")
        where = self.key()
        if where not in {"top", "bottom", "center", *vocab.POSITIONS}:
            self.position = start
            return None
        self.position += 1
        lower_third = where == "lower" and self.match("third") is not None
        self.match("?third|part|edge|half")
        self.match("of", "?the", "screen|frame|video|image|picture")
        return vocab.POSITIONS.get(where, where), lower_third

    def span(self) -> Span | None:
        """A time on the edited video: start and end seconds."""
        if (times := self.match("from", vocab.TIME, vocab.TO, vocab.TIME)) is not None:
            return times[0], times[1]
        if (
            times := self.match("between", vocab.TIME, "and|-|\u2013|\u2014", vocab.TIME)
        ) is not None:
            return times[0], times[1]
        during = "?for|during|in|over"
        if (times := self.match(during, "?the", "first", vocab.TIME)) is not None:
            return 0.0, times[0]
        if (times := self.match(during, "?the", "last|final", vocab.TIME)) is not None:
            return -times[0], None
        onwards = "?on|onwards|onward"
        for rule in (
            ("from|after|at", vocab.TIME, onwards),
            ("starting|beginning", "?at|from", vocab.TIME, onwards),
        ):
            if (times := self.match(*rule)) is not None:
                return times[0], None
        for rule in (("until|till|for", vocab.TIME), ("up", "to", vocab.TIME)):
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
    subtitle = lower_third or any(word.key in vocab.SUBTITLE_WORDS for word in clause.text_words)
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
    named = [token for token in unplaced if token.key not in vocab.EDIT_VERBS] or unplaced
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
        f"could not place {names}{hint}. It understands: {vocab.UNDERSTOOD_EDITS}.",
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
    allowed = vocab.FILLER.union(*(vocab.CONTEXT[type(op)] for op in operations))
    if operations:
        allowed |= vocab.EDIT_VERBS | vocab.ANY_TEXT_WORDS
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
            f"The local engine found no edit to make. It understands: {vocab.UNDERSTOOD_EDITS}.",
        )
    if any(isinstance(op, CropToRegion) for op in operations) and any(
        isinstance(op, Reframe) for op in operations
    ):
        raise _invalid("The edit asks to crop to the box and to reframe: choose one.")
    for kind, label in ((ChangeSpeed, "speeds"), (Reframe, "aspect ratios")):
        if len({op for op in operations if isinstance(op, kind)}) > 1:
            raise _invalid(f"The edit asks for two different {label}.")
    return operations
