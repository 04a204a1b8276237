"""Scenario 2: edit turn by turn keeping everything else the same, then branch
from the first version."""

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import (
    create_project,
    fill_composer,
    generate,
    make_edit,
    open_version,
    sign_up,
    tree,
    tree_node,
    wait_for_status,
)

pytestmark = pytest.mark.e2e


def lineage(page) -> list[str]:
    return page.locator("nav.lineage li a").all_inner_texts()


def test_edit_edit_again_and_branch(page, screenshot):
    sign_up(page, "editor")
    project_id = create_project(page, "Paper boat")
    fill_composer(page, prompt="A paper boat drifting on a pond at dawn", duration=3)
    v1 = generate(page, project_id)
    wait_for_status(page, v1, "ready")

    v2 = make_edit(page, project_id, "Make it black and white")
    assert v2.number == 2
    wait_for_status(page, v2, "ready")
    params = page.locator("details.parameters")
    expect(params).to_contain_text("Make it black and white")
    expect(params).to_contain_text("(keep everything else the same)")

    v3 = make_edit(page, project_id, 'Add on-screen text "LAUNCH DAY" at the top')
    assert v3.number == 3
    wait_for_status(page, v3, "ready")
    expect(page.locator("nav.lineage")).to_be_visible()
    assert lineage(page) == ["v1", "v2", "v3"]
    expect(page.locator("nav.lineage a[aria-current='page']")).to_have_text("v3")

    # Back to v1: editing a version that has children starts a branch.
    open_version(page, project_id, 1)
    expect(page.locator("#edit-form h3")).to_contain_text("starts a new branch")
    v4 = make_edit(page, project_id, "Make it warmer")
    assert v4.number == 4
    wait_for_status(page, v4, "ready")
    assert lineage(page) == ["v1", "v4"]

    assert tree(page) == [(1, None), (2, 1), (3, 2), (4, 1)]
    for number, parent in ((1, ""), (2, "1"), (3, "2"), (4, "1")):
        expect(tree_node(page, number)).to_have_attribute("data-parent", parent)
    expect(page.locator('#version-tree li[data-number="3"][data-parent="2"]')).to_have_count(1)
    for number in (1, 2, 3, 4):
        badge = tree_node(page, number).locator(":scope > .node-row .badge[data-status]")
        expect(badge).to_have_attribute("data-status", "ready")
    # Deeper versions are drawn deeper.
    expect(tree_node(page, 3)).to_have_attribute("aria-level", "3")
    expect(tree_node(page, 4)).to_have_attribute("aria-level", "2")

    # The last edit of the first branch, as a person would look it up.
    open_version(page, project_id, 3)
    assert lineage(page) == ["v1", "v2", "v3"]
    expect(page.locator("details.parameters")).to_contain_text("LAUNCH DAY")
    expect(page.locator("#version-panel video.player")).to_be_visible()
    screenshot(page)
