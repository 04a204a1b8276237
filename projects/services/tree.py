"""A project's versions as a tree that scales like a file browser.

The whole tree's shape is read in one query of a few small columns (an
adjacency list: id, parent, number, status, cost) and held in a ``TreeIndex``; any
question about shape (lineage, children, how many versions hang below a node)
is then answered in Python without another query, whatever the tree looks
like. Only the versions a page actually shows are loaded whole.

A page shows a *window* of the tree around the selected version (``window``):
its branch path from the root (the middle of a long path folded into one
segment that opens on demand), the recent siblings at each shown level, its
children, and the other recent roots; everything else is a collapsed node
that shows how many versions hang below it, or a "more" row that loads the
rest a page at a time. Siblings are drawn oldest first, as they were made.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from projects.models import Project, Version

# How much of the tree a page shows around the selected version.
TAIL_ANCESTORS = 6  # the selected version's nearest ancestors, kept unfolded
SIBLINGS_SHOWN = 4  # other children shown at each unfolded level (the newest)
CHILDREN_SHOWN = 8  # the selected version's children shown (the newest)
ROOTS_SHOWN = 8  # other roots shown (the newest)
PAGE_SIZE = 50  # what "more" and "expand" load at a time
# A project this small is drawn whole, every node open.
WHOLE_TREE_LIMIT = 40


class Bone(NamedTuple):
    """A version as the tree's shape needs it."""

    pk: int
    parent_id: int | None
    number: int
    status: str
    cost: Decimal | None = None


class TreeIndex:
    """The shape of a project's tree, from one query."""

    def __init__(self, bones: Iterable[Bone]):
        ordered = sorted(bones, key=lambda b: b.number)
        self.bones: dict[int, Bone] = {bone.pk: bone for bone in ordered}
        self.by_number: dict[int, int] = {bone.number: bone.pk for bone in ordered}
        self.children: dict[int | None, list[int]] = {}
        for bone in ordered:
            self.children.setdefault(bone.parent_id, []).append(bone.pk)
        # Children before parents: numbers only grow down the tree (a child
        # is always made after its parent), so newest first will do;
        # iterative, so a chain of thousands cannot exhaust the stack.
        counts = dict.fromkeys(self.bones, 0)
        for bone in reversed(ordered):
            if bone.parent_id in counts:
                counts[bone.parent_id] += counts[bone.pk] + 1
        self.descendants = counts

    @classmethod
    def for_project(cls, project: Project | int) -> TreeIndex:
        project_id = project if isinstance(project, int) else project.pk
        rows = (
            Version.objects.filter(project_id=project_id)
            .order_by("number")
            .values_list("pk", "parent_id", "number", "status", "cost")
        )
        return cls(Bone._make(row) for row in rows)

    @property
    def cost(self) -> Decimal:
        """What the project's versions have cost."""
        return sum((b.cost for b in self.bones.values() if b.cost is not None), Decimal(0))

    def __len__(self) -> int:
        return len(self.bones)

    def __contains__(self, pk: int) -> bool:
        return pk in self.bones

    @property
    def roots(self) -> list[int]:
        return self.children.get(None, [])

    @property
    def latest(self) -> int | None:
        """The newest version."""
        return self.by_number[max(self.by_number)] if self.by_number else None

    def child_ids(self, pk: int | None) -> list[int]:
        """Children in the order they were made."""
        return self.children.get(pk, [])

    def lineage_ids(self, pk: int) -> list[int]:
        """Root first, down to pk."""
        chain = [pk]
        seen = {pk}
        while (parent := self.bones[chain[-1]].parent_id) is not None:
            if parent in seen or parent not in self.bones:
                break
            seen.add(parent)
            chain.append(parent)
        return list(reversed(chain))

    def depth(self, pk: int) -> int:
        return len(self.lineage_ids(pk)) - 1

    def leaves(self) -> list[int]:
        """Versions nothing was made from: the tips of the branches, newest first."""
        tips = [pk for pk in self.bones if not self.children.get(pk)]
        return sorted(tips, key=lambda p: -self.bones[p].number)


@dataclass
class TreeItem:
    """One row of the drawn tree: a version, a folded segment of a branch
    path, or a row that loads more of a node's children."""

    kind: str  # "node", "segment" or "more"
    level: int  # the true depth, from 1 (aria-level)
    pk: int | None = None
    parent_pk: int | None = None
    child_count: int = 0
    descendant_count: int = 0
    expanded: bool = False
    on_path: bool = False
    selected: bool = False
    items: list[TreeItem] = field(default_factory=list)
    # A segment: the first and last version it folds, and how many; a "more"
    # row: how many it stands for and where the next page starts.
    first_pk: int | None = None
    last_pk: int | None = None
    count: int = 0
    offset: int = 0
    version: Version | None = None

    def walk(self) -> Iterable[TreeItem]:
        yield self
        for item in self.items:
            yield from item.walk()


def _node(index: TreeIndex, pk: int, level: int) -> TreeItem:
    return TreeItem(
        kind="node",
        level=level,
        pk=pk,
        parent_pk=index.bones[pk].parent_id,
        child_count=len(index.child_ids(pk)),
        descendant_count=index.descendants[pk],
    )


def _more(parent: int | None, *, count: int, offset: int, level: int) -> list[TreeItem]:
    if not count:
        return []
    return [TreeItem(kind="more", level=level, parent_pk=parent, count=count, offset=offset)]


def _siblings(
    index: TreeIndex, parent: int | None, *, shown: int, level: int, keep: int | None = None
) -> tuple[list[int], list[TreeItem]]:
    """The newest children of parent (roots for None), plus keep, oldest
    first; and a "more" row for the older ones not shown, to go first."""
    children = index.child_ids(parent)
    others = [pk for pk in children if pk != keep]
    newest = others[-shown:] if shown else []
    chosen = sorted({*newest, *([keep] if keep is not None else [])}, key=children.index)
    hidden = len(others) - len(newest)
    return chosen, _more(parent, count=hidden, offset=len(newest), level=level)


def window(index: TreeIndex, selected: int | None) -> list[TreeItem]:
    """The rows a page draws around the selected version (see the module's
    docstring). Bounded whatever the tree's size or shape."""
    if len(index) <= WHOLE_TREE_LIMIT:
        return _whole(index, None, level=1, selected=selected)
    if selected is None or selected not in index:
        chosen, more = _siblings(index, None, shown=ROOTS_SHOWN, level=1)
        return more + [_node(index, pk, 1) for pk in chosen]
    path = index.lineage_ids(selected)
    # Folded: the ancestors between the root and the nearest TAIL_ANCESTORS.
    fold_end = len(path) - 1 - TAIL_ANCESTORS
    folded = path[1:fold_end] if fold_end > 2 else []

    def unfold(position: int) -> list[TreeItem]:
        """The path's node at position, open, with what it shows below; a
        folded stretch of path is a segment row, then the path goes on."""
        pk = path[position]
        level = position + 1
        if folded and pk == folded[0]:
            segment = TreeItem(
                kind="segment",
                level=level,
                first_pk=folded[0],
                last_pk=folded[-1],
                count=len(folded),
            )
            return [segment, *unfold(position + len(folded))]
        item = _node(index, pk, level)
        item.on_path = item.expanded = True
        if pk == selected:
            item.selected = True
            chosen, more = _siblings(index, pk, shown=CHILDREN_SHOWN, level=level + 1)
            item.items = more + [_node(index, child, level + 1) for child in chosen]
            return [item]
        following = path[position + 1]
        chosen, more = _siblings(index, pk, shown=SIBLINGS_SHOWN, level=level + 1, keep=following)
        item.items = more
        for child in chosen:
            if child == following:
                item.items.extend(unfold(position + 1))
            else:
                item.items.append(_node(index, child, level + 1))
        return [item]

    chosen, more = _siblings(index, None, shown=ROOTS_SHOWN, level=1, keep=path[0])
    rows = list(more)
    for root in chosen:
        rows.extend(unfold(0) if root == path[0] else [_node(index, root, 1)])
    return rows


def _whole(index: TreeIndex, parent: int | None, *, level: int, selected: int | None):
    """Every node below parent, open, oldest first (for small trees)."""
    items = []
    for pk in index.child_ids(parent):
        item = _node(index, pk, level)
        item.expanded = True
        item.selected = pk == selected
        item.items = _whole(index, pk, level=level + 1, selected=selected)
        items.append(item)
    return items


def children_page(index: TreeIndex, parent: int | None, *, offset: int = 0) -> list[TreeItem]:
    """A page of a node's children (roots for None): the newest first past
    offset, drawn oldest first, after a "more" row for the older ones."""
    level = 1 if parent is None else index.depth(parent) + 2
    newest_first = list(reversed(index.child_ids(parent)))
    page = newest_first[offset : offset + PAGE_SIZE]
    remaining = len(newest_first) - offset - len(page)
    more = _more(parent, count=remaining, offset=offset + len(page), level=level)
    return more + [_node(index, pk, level) for pk in reversed(page)]


def segment_page(index: TreeIndex, first: int, last: int, *, offset: int = 0) -> list[TreeItem]:
    """A page of the versions a folded segment stands for (the ancestors from
    first down to last), each a collapsed node."""
    path = index.lineage_ids(last)
    if first not in path:
        return []
    members = path[path.index(first) :]
    page = members[offset : offset + PAGE_SIZE]
    items = []
    for pk in page:
        item = _node(index, pk, index.depth(pk) + 1)
        items.append(item)
    remaining = len(members) - offset - len(page)
    if remaining > 0:
        items.append(
            TreeItem(
                kind="segment",
                level=items[-1].level if items else 1,
                first_pk=members[offset + len(page)],
                last_pk=last,
                count=remaining,
            )
        )
    return items


def load_versions(project: Project, items: Iterable[TreeItem]) -> list[Version]:
    """The shown versions, loaded whole in one query and set on their rows."""
    rows = [item for top in items for item in top.walk() if item.kind == "node"]
    versions = {
        v.pk: v
        for v in Version.objects.filter(project=project, pk__in={r.pk for r in rows})
        .select_related("author")
        # The selected version's panel lists its prompt fields: loaded with
        # the rest (a few short strings), not by a query of their own.
        .defer("usage", "abandoned_interaction_ids")
    }
    for row in rows:
        row.version = versions.get(row.pk)
    return list(versions.values())


@dataclass(frozen=True)
class Folded:
    """Where a long path is folded: how many versions stand there."""

    folded: int


def fold(ids: list[int], *, head: int = 1, tail: int = TAIL_ANCESTORS) -> list[int | Folded]:
    """A long path as a page lists it: its first and last few, and a count of
    what lies between."""
    if len(ids) <= head + tail + 1:
        return list(ids)
    return [*ids[:head], Folded(len(ids) - head - tail), *ids[-tail:]]
