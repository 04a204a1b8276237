"""The words the edit-instruction grammar knows: the phrases of each
operation, the words that may stand around them, and what makes a clause a
negation or a request to keep something as it is. Each phrase is a tuple of
alternatives, one per word ("a|b"); a leading "?" makes the word optional."""

from __future__ import annotations

from studio.engines.local.operations import (
    ChangeSpeed,
    ColorGrade,
    CropToRegion,
    Mute,
    Obscure,
    Reframe,
    Reverse,
    TextOverlay,
    Trim,
)

UNDERSTOOD_EDITS = (
    "reframe to 9:16, 16:9 or 1:1 (portrait, landscape, square); "
    'add text or subtitles in quotes (add text "LAUNCH DAY" at the top from 1s to 3s); '
    "trim (trim to 3s, cut the first 2 seconds); speed up or slow motion; reverse; "
    "black and white, warmer, cooler, brighter, darker, night or neon; blur or pixelate; "
    "crop to the marked box; mute. With a box drawn on the frame, looks, blur and text "
    "apply inside it"
)

SPEEDS = (2.0, 0.5)


def words(text: str) -> frozenset[str]:
    return frozenset(text.split())


FILLER = words(
    """a an the it its it's this that video clip footage shot scene whole entire please make
    made turn into to be is so more much bit little slightly somewhat very really lot give
    apply set change convert use with look looks feel tone color colors colour colours
    effect filter style version image picture frames everything all of in on at for then
    also now just overall mood lighting light throughout vibe can you could would like i
    want lets let's go get some kind sort should me us by over while thanks thank"""
)
LEADS = words("please now finally next lastly just ok okay then also and")
JOINERS = words("and then also but")
LIST_JOINERS = frozenset({",", "and"})
# Verbs that start an edit: such a clause is never an item of a list.
EDIT_VERBS = words(
    """make add turn change put remove cut trim speed slow reverse crop reframe convert apply
    give set mute insert replace show animate move zoom pan increase decrease boost lower
    raise render play transform have let write draw shorten display use keep"""
)
# Words that go with an operation when it is in the clause.
CONTEXT: dict[type, frozenset[str]] = {
    Trim: words("trim trimmed cut shorten clip keep use only down seconds second long part"),
    Mute: words("audio sound music track soundtrack off"),
    ChangeSpeed: words("motion speed playback play down up half double twice fast times as"),
    Reverse: words("play played playing playback run order time"),
    Reframe: words("reframe re frame crop cropped aspect ratio format orientation mode reformat"),
    ColorGrade: words("grade grading tone tones saturation up down exposure time glow palette"),
    TextOverlay: words("add insert put write show display screen big large bold white that"),
    Obscure: words("out face faces logo logos plate plates number name names brand sign"),
    CropToRegion: words("in on into onto to marked drawn box region area selection"),
}
TEXT_WORDS = words(
    """text title titles headline label words overlay banner onscreen card say saying says
    reads reading write put show display"""
)
SUBTITLE_WORDS = words("caption captions subtitle subtitles subs")
ANY_TEXT_WORDS = TEXT_WORDS | SUBTITLE_WORDS
AUDIO = "audio|sound|music|soundtrack"
COLOUR_NOUNS = "tones|tone|colours|colors|colour|color|grade|grading|palette|temperature|hues"
TIME = "<time>"
LOOKS: tuple[tuple[str, tuple[str, ...]], ...] = (
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
    ("cooler", ("cool", COLOUR_NOUNS)),
    ("neon", ("neon|cyberpunk",)),
    ("brighter", ("bright|brighter|brighten|lighter|lighten",)),
    ("brighter", ("increase|raise|boost|more", "?the", "brightness|exposure")),
    ("darker", ("dark|darker|darken|dimmer|dim",)),
    ("darker", ("decrease|lower|reduce|less", "?the", "brightness|exposure")),
)
OBSCURES = (
    ("blur", ("blur|blurred|blurry|soften",)),
    ("pixelate", ("pixelate|pixelated|pixelise|pixelize|pixelize|mosaic|censor|censored",)),
)
CROPS_TO_REGION = (
    (
        "crop|zoom|reframe|punch",
        "?in",
        "?on|into|onto|to",
        "?the|this|that",
        "?marked|drawn",
        "box|region|area|selection",
    ),
)
# Where the edit's region is, as the studio writes it after a comment drawn
# on the frame ("inside the marked box at the top left"): it names the
# region the engine is given, and asks for nothing itself.
REGION_WORDS = ("inside|in|within", "?the|this|that", "marked|drawn|selected", "box|region|area")
REGION_PLACES = "top|bottom|upper|lower|middle|centre|center|left|right"
SLOW = (
    ("slow", "motion|mo"),
    ("slo", "mo"),
    ("slowmo|slomo",),
    ("?at", "half", "?the", "speed"),
    ("slow|slower|slowed", "?it|this|the", "?video|clip", "?down"),
)
FAST = (
    ("speed|sped", "?it|this|the", "?video|clip", "up"),
    ("faster|quicker",),
    ("?at", "double", "?the", "speed"),
    ("twice", "as", "fast|quick"),
    ("twice", "the", "speed"),
    ("fast", "forward"),
)
MUTE = (
    ("mute|silent|silence|soundless",),
    ("no", AUDIO),
    ("without", "?the|any", AUDIO),
    ("remove|drop|strip|cut|kill|delete|lose", "?out|off", "?the|all", AUDIO),
    ("turn|switch|take", "off|out", "?the", AUDIO),
)
REFRAMES = (
    ("9:16", ("portrait|vertical",)),
    ("16:9", ("landscape|horizontal|widescreen",)),
    ("16:9", ("wide", "screen")),
    ("1:1", ("square",)),
)
OBJECT = ("?it|this|the", "?video|clip")
TRIM_VERB = "trim|cut|shorten|clip"
DROP_VERB = "cut|remove|drop|trim|skip|delete|lose"
TO = "to|until|till|-|\u2013|\u2014"
POSITIONS = {"upper": "top", "lower": "bottom", "centre": "center", "middle": "center"}
NEGATIONS = (
    ("don't|dont|never|avoid|avoiding|exclude|excluding|no|not",),
    ("do", "not"),
    ("without", "changing|touching|altering|affecting|moving|adding|any"),
)
PRESERVATIONS = (
    ("keep|keeping|preserve|preserving|retain|retaining|maintain|maintaining|leave|leaving",),
    ("same",),
    ("everything|nothing", "else"),
)
# A clause ending so asks to keep something as it is ("the music unchanged").
AS_IS_ENDINGS = (
    ("unchanged",),
    ("intact",),
    ("untouched",),
    ("alone",),
    ("same",),
    ("as", "is"),
    ("as", "it", "is"),
    ("as", "they", "are"),
)
