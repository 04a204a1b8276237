"""The tree's index and its window: the shape of any tree from one query, and
a bounded drawing around the selected version whatever the shape."""

from decimal import Decimal

import pytest

from projects.models import Version
from projects.services import tree
from projects.services.tree import Bone, TreeIndex
from tests.factories import ProjectFactory


def index_of(parents: dict[int, int | None]) -> TreeIndex:
    """An index from {number: parent number}; pks are the numbers."""
    return TreeIndex(Bone(n, p, n, "ready") for n, p in parents.items())


def drawn(items) -> list[tuple]:
    """The drawing as (kind, number or count, level), depth first."""
    return [
        (item.kind, item.pk if item.kind == "node" else item.count, item.level)
        for top in items
        for item in top.walk()
    ]


def test_the_index_answers_shape_questions():
    index = index_of({1: None, 2: 1, 3: 1, 4: 2, 5: None})
    assert index.roots == [1, 5]
    assert index.child_ids(1) == [2, 3]
    assert index.lineage_ids(4) == [1, 2, 4]
    assert index.descendants == {1: 3, 2: 1, 3: 0, 4: 0, 5: 0}
    assert index.leaves() == [5, 4, 3]
    assert index.latest == 5
    assert index.depth(4) == 2


def test_the_index_is_read_in_one_query(django_assert_num_queries, db):
    project = ProjectFactory()
    root = Version.objects.create(
        project=project,
        number=1,
        kind="text_to_video",
        prompt="A",
        aspect_ratio="16:9",
        resolution="720p",
        duration_seconds=5,
        engine="local",
        cost="0.25",
    )
    Version.objects.create(
        project=project,
        parent=root,
        number=2,
        kind="edit",
        prompt="B",
        aspect_ratio="16:9",
        resolution="720p",
        duration_seconds=5,
        engine="local",
        cost="0.50",
    )
    with django_assert_num_queries(1):
        index = TreeIndex.for_project(project)
    assert index.lineage_ids(index.by_number[2]) == [root.pk, index.by_number[2]]
    assert index.cost == Decimal("0.75")


def test_a_long_chain_is_folded_between_the_root_and_the_nearest_ancestors():
    index = index_of({n: (n - 1 or None) for n in range(1, 5001)})
    rows = drawn(tree.window(index, 5000))
    # The root, one segment standing for the middle, the six nearest
    # ancestors and the selected version: nothing else.
    assert rows[0] == ("node", 1, 1)
    assert rows[1] == ("segment", 5000 - 2 - tree.TAIL_ANCESTORS, 2)
    assert [r[1] for r in rows[2:]] == list(range(5000 - tree.TAIL_ANCESTORS, 5001))
    # The drawn levels are the versions' true depths.
    assert rows[-1] == ("node", 5000, 5000)


def test_a_wide_tree_shows_the_newest_siblings_and_a_row_for_the_rest():
    index = index_of({1: None, **{n: 1 for n in range(2, 5001)}})
    rows = drawn(tree.window(index, 2500))
    # The root; a row for the older children; the selected one and the
    # newest others, as they were made.
    assert rows == [
        ("node", 1, 1),
        ("more", 4999 - 1 - tree.SIBLINGS_SHOWN, 2),
        ("node", 2500, 2),
        ("node", 4997, 2),
        ("node", 4998, 2),
        ("node", 4999, 2),
        ("node", 5000, 2),
    ]


@pytest.mark.parametrize("size", [10, 1000, 5000])
def test_the_window_is_bounded_whatever_the_size(size):
    # Bushy: every version edits one of the last few; a new root every 7th.
    parents: dict[int, int | None] = {}
    for n in range(1, size + 1):
        parents[n] = None if n % 7 == 0 or n == 1 else max(1, n - (n % 4 + 1))
    index = index_of(parents)
    for selected in (size, size // 2 or 1, 1):
        rows = drawn(tree.window(index, selected))
        assert (
            len(rows)
            <= 1
            + tree.ROOTS_SHOWN
            + 1
            + (tree.TAIL_ANCESTORS + 2) * (tree.SIBLINGS_SHOWN + 2)
            + tree.CHILDREN_SHOWN
            + 1
        )
        assert ("node", selected, index.depth(selected) + 1) in rows


def test_children_and_segments_load_a_page_at_a_time():
    index = index_of({1: None, **{n: 1 for n in range(2, 130)}})
    first = tree.children_page(index, 1)
    assert (first[0].kind, first[0].count, first[0].offset) == ("more", 78, tree.PAGE_SIZE)
    assert [i.pk for i in first[1:]] == list(range(80, 130))
    last = tree.children_page(index, 1, offset=100)
    assert [i.pk for i in last] == list(range(2, 30))

    chain = index_of({n: (n - 1 or None) for n in range(1, 200)})
    page = tree.segment_page(chain, 2, 150)
    assert [i.pk for i in page[:-1]] == list(range(2, 2 + tree.PAGE_SIZE))
    assert (page[-1].kind, page[-1].first_pk, page[-1].count) == ("segment", 52, 99)
    assert tree.segment_page(chain, 150, 2) == []


def test_compare_opens_at_the_first_time_range_the_edits_name():
    from projects.services.compare import first_time_range

    assert first_time_range(["Make it warmer", '[2-4s] Add text "SALE"', "[1s] darker"]) == 2.0
    assert first_time_range(["[0.5s] brighter"]) == 0.5
    assert first_time_range(["Make it warmer", ""]) is None
