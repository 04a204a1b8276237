"""Reading a project as a tree: the versions assembled from their adjacency
list in Python (one query, any size), each version's lineage, what differs
between two versions, and a version's provenance."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone

from projects.models import Asset, Version
from projects.services.prompts import PROMPT_FIELDS


@dataclass
class TreeNode:
    version: Version
    children: list[TreeNode]
    depth: int


def version_tree(versions: Iterable[Version]) -> list[TreeNode]:
    """Assemble the adjacency list into a tree in Python: one query, any size."""
    by_parent: dict[int | None, list[Version]] = {}
    for version in versions:
        by_parent.setdefault(version.parent_id, []).append(version)

    roots: list[TreeNode] = []
    stack: list[tuple[Version, int, list[TreeNode]]] = [
        (version, 0, roots) for version in reversed(by_parent.get(None, []))
    ]
    # Iterative, so a chain of a thousand edits cannot exhaust the stack.
    while stack:
        version, depth, siblings = stack.pop()
        node = TreeNode(version=version, children=[], depth=depth)
        siblings.append(node)
        for child in reversed(by_parent.get(version.pk, [])):
            stack.append((child, depth + 1, node.children))
    return roots


def flatten_tree(roots: list[TreeNode]) -> list[TreeNode]:
    ordered: list[TreeNode] = []
    stack = list(reversed(roots))
    while stack:
        node = stack.pop()
        ordered.append(node)
        stack.extend(reversed(node.children))
    return ordered


def lineage(version: Version, versions_by_id: dict[int, Version]) -> list[Version]:
    """Root to version, from versions already loaded."""
    chain = [version]
    seen = {version.pk}
    while chain[-1].parent_id and chain[-1].parent_id in versions_by_id:
        parent = versions_by_id[chain[-1].parent_id]
        if parent.pk in seen:
            break
        seen.add(parent.pk)
        chain.append(parent)
    return list(reversed(chain))


# Provenance and comparison.


def provenance(version: Version) -> dict:
    """The version's lineage, root first, with enough to reproduce the chain."""
    versions = {v.pk: v for v in version.project.versions.select_related("author")}
    chain = lineage(versions[version.pk], versions)
    inputs: dict[int, list[Asset]] = {}
    for asset_link in Version.input_assets.through.objects.filter(
        version_id__in=[v.pk for v in chain]
    ).select_related("asset"):
        inputs.setdefault(asset_link.version_id, []).append(asset_link.asset)
    return {
        "project": {"id": version.project_id, "title": version.project.title},
        "version": version.number,
        "exported_at": timezone.now().isoformat(),
        "lineage": [
            {
                "version": v.number,
                "parent": versions[v.parent_id].number if v.parent_id else None,
                "kind": v.kind,
                "prompt": v.prompt,
                "instruction": v.instruction,
                "prompt_fields": v.prompt_fields,
                "keep_everything_else_the_same": v.keep_rest_same,
                "aspect_ratio": v.aspect_ratio,
                "resolution": v.resolution,
                "duration_seconds": v.duration_seconds,
                "engine": v.engine,
                "model": v.model,
                "interaction_id": v.interaction_id,
                "previous_interaction_id": v.previous_interaction_id,
                "route": v.route,
                "status": v.status,
                "author": v.author.get_username() if v.author else None,
                "created_at": v.created_at.isoformat(),
                "finished_at": v.finished_at.isoformat() if v.finished_at else None,
                "cost_estimate": str(v.cost_estimate),
                "cost": str(v.cost) if v.cost is not None else None,
                "usage": v.usage,
                "inputs": [
                    {
                        "kind": a.kind,
                        "name": a.original_name,
                        "sha256": a.sha256,
                        "mime_type": a.mime_type,
                    }
                    for a in inputs.get(v.pk, [])
                ],
            }
            for v in chain
        ],
    }


COMPARED_FIELDS = [
    ("kind", "Kind"),
    ("prompt", "Prompt"),
    ("instruction", "Edit"),
    ("aspect_ratio", "Aspect ratio"),
    ("resolution", "Resolution"),
    ("duration_seconds", "Duration (s)"),
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


def compare_versions(a: Version, b: Version, versions_by_id: dict[int, Version]) -> dict:
    """What differs between two versions, and their lineages from the
    nearest common ancestor."""
    rows = []
    fields = [*COMPARED_FIELDS] + [
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
                words=_word_diff(value_a, value_b) if value_a != value_b else [],
            )
        )
    chain_a = lineage(a, versions_by_id)
    chain_b = lineage(b, versions_by_id)
    common = None
    for x, y in zip(chain_a, chain_b, strict=False):
        if x.pk != y.pk:
            break
        common = x
    cut = chain_a.index(common) if common else -1
    return {
        "differences": rows,
        "common_ancestor": common,
        "path_a": chain_a[cut + 1 :] if common else chain_a,
        "path_b": chain_b[cut + 1 :] if common else chain_b,
    }


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
