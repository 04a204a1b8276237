"""What differs between two versions, as videos: the edits each lineage
applied from their nearest common ancestor (for a parent and its child, the
one edit), and the parameters that differ. Prompts are diffed word by word
only between versions that share no ancestor: between relatives a prompt
diff would show what an edit kept as removed."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from projects.models import Version
from projects.services.prompts import PROMPT_FIELDS
from projects.services.tree import TreeIndex

COMPARED_FIELDS = [
    ("kind", "Kind"),
    ("prompt", "Prompt"),
    ("instruction", "Edit"),
    ("aspect_ratio", "Aspect ratio"),
    ("resolution", "Resolution"),
    ("duration_seconds", "Duration (s)"),
    ("fps", "Frame rate"),
    ("engine", "Engine"),
    ("model", "Model"),
    ("keep_rest_same", "Keep everything else the same"),
]


@dataclass(frozen=True)
class FieldDifference:
    label: str
    a: str
    b: str
    changed: bool
    words: list[tuple[str, str]]


# Between relatives the edits along the lineages say what changed.
PROMPT_NAMES = {"prompt", "instruction", "keep_rest_same"}
_TIME_RANGE = re.compile(r"\[\s*(\d+(?:\.\d+)?)\s*s?\s*(?:[-\u2013]\s*\d+(?:\.\d+)?\s*s?\s*)?\]")


def first_time_range(texts: Iterable[str]) -> float | None:
    """Where the first edit that names a time range starts (`[2-4s]`)."""
    for text in texts:
        if match := _TIME_RANGE.search(text or ""):
            return float(match[1])
    return None


def compare_versions(a: Version, b: Version, *, related: bool = False) -> list[FieldDifference]:
    """What differs between two versions' parameters, word by word; for
    relatives, not their prompts (their lineages' edits say it)."""
    rows = []
    fields = [f for f in COMPARED_FIELDS if not (related and f[0] in PROMPT_NAMES)] + [
        (f"prompt_fields.{key}", key.capitalize())
        for key in PROMPT_FIELDS
        if key in a.prompt_fields or key in b.prompt_fields
    ]
    for name, label in fields:
        if name.startswith("prompt_fields."):
            key = name.split(".", 1)[1]
            value_a, value_b = a.prompt_fields.get(key, ""), b.prompt_fields.get(key, "")
        else:
            value_a, value_b = getattr(a, name), getattr(b, name)
        value_a, value_b = _shown(name, value_a), _shown(name, value_b)
        rows.append(
            FieldDifference(
                label=label,
                a=value_a,
                b=value_b,
                changed=value_a != value_b,
                # Words for text; a parameter is shown whole.
                words=(
                    _word_diff(value_a, value_b)
                    if value_a != value_b and (name in PROMPT_NAMES or "." in name)
                    else []
                ),
            )
        )
    return rows


@dataclass(frozen=True)
class Lineages:
    """Two versions' paths from their nearest common ancestor (None when
    they start from different roots), each ending at its version."""

    common_ancestor: int | None
    path_a: list[int]
    path_b: list[int]


def lineages(index: TreeIndex, a: int, b: int) -> Lineages:
    chain_a, chain_b = index.lineage_ids(a), index.lineage_ids(b)
    common = None
    for x, y in zip(chain_a, chain_b, strict=False):
        if x != y:
            break
        common = x
    cut = chain_a.index(common) + 1 if common is not None else 0
    return Lineages(common, chain_a[cut:], chain_b[cut:])


def _shown(name: str, value) -> str:
    if name == "kind":
        return Version.Kind(value).label
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _word_diff(a: str, b: str) -> list[tuple[str, str]]:
    """Words of a and b marked "same", "removed" or "added"."""
    words_a, words_b = a.split(), b.split()
    marked: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(a=words_a, b=words_b, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            marked.append(("same", " ".join(words_a[a1:a2])))
            continue
        if a1 != a2:
            marked.append(("removed", " ".join(words_a[a1:a2])))
        if b1 != b2:
            marked.append(("added", " ".join(words_b[b1:b2])))
    return marked
