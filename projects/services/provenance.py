"""A version's provenance: its lineage, root first, with enough to reproduce
the chain (every ancestor's prompt, parameters, engine, model, interaction
ids, author, time, cost and inputs, and the review comments an edit set out
to address, with their drawings on the frame).

The JSON is written as it is read, a batch of ancestors at a time, so a chain
of any depth is exported in bounded memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from projects.models import Asset, Version
from projects.services.tree import TreeIndex

BATCH = 500


def provenance_json(version: Version) -> Iterator[str]:
    """The provenance document, in pieces that join into one JSON object."""
    index = TreeIndex.for_project(version.project_id)
    chain = index.lineage_ids(version.pk)
    head = {
        "project": {"id": version.project_id, "title": version.project.title},
        "version": version.number,
        "exported_at": timezone.now().isoformat(),
    }
    yield json.dumps(head, indent=2)[:-2] + ',\n  "lineage": ['
    first = True
    for start in range(0, len(chain), BATCH):
        batch = chain[start : start + BATCH]
        rows = Version.objects.filter(pk__in=batch).select_related("author")
        loaded = {v.pk: v for v in rows}
        inputs = _inputs(batch)
        addressed = _addressed(batch)
        for pk in batch:
            entry = _entry(loaded[pk], index, inputs.get(pk, []))
            entry["addresses"] = addressed.get(pk, [])
            text = json.dumps(entry, indent=2, cls=DjangoJSONEncoder).replace("\n", "\n    ")
            yield ("\n    " if first else ",\n    ") + text
            first = False
    yield "\n  ]\n}\n"


def provenance(version: Version) -> dict:
    """The same document as a dict."""
    return json.loads("".join(provenance_json(version)))


def _inputs(version_ids: list[int]) -> dict[int, list[Asset]]:
    inputs: dict[int, list[Asset]] = {}
    links = Version.input_assets.through.objects.filter(version_id__in=version_ids)
    for link in links.select_related("asset").order_by("pk"):
        inputs.setdefault(link.version_id, []).append(link.asset)
    return inputs


def _addressed(version_ids: list[int]) -> dict[int, list[dict]]:
    addressed: dict[int, list[dict]] = {}
    links = Version.addressed_comments.through.objects.filter(version_id__in=version_ids)
    for link in links.select_related("comment").order_by("pk"):
        comment = link.comment
        addressed.setdefault(link.version_id, []).append(
            {
                "timecode": comment.timecode,
                "body": comment.body,
                "annotation": comment.annotation,
            }
        )
    return addressed


def _entry(v: Version, index: TreeIndex, inputs: list[Asset]) -> dict:
    parent = index.bones[v.parent_id].number if v.parent_id in index else None
    return {
        "version": v.number,
        "parent": parent,
        "kind": v.kind,
        "prompt": v.prompt,
        "instruction": v.instruction,
        "prompt_fields": v.prompt_fields,
        "keep_everything_else_the_same": v.keep_rest_same,
        "aspect_ratio": v.aspect_ratio,
        "resolution": v.resolution,
        "duration_seconds": v.duration_seconds,
        "fps": v.fps,
        "region": v.region,
        "seed": v.seed,
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
            {"kind": a.kind, "name": a.original_name, "sha256": a.sha256, "mime_type": a.mime_type}
            for a in inputs
        ],
    }
