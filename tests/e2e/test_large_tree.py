"""A project of a few hundred versions in the browser: the tree shows a window
around the version on screen; any version is found from the jump box; a
subtree opens and closes by keyboard (and opens again after a failed
fetch); and a version found that way is branched from."""

import re

from playwright.sync_api import expect

from tests.e2e.helpers import (
    create_project,
    fill_composer,
    generate,
    grow_tree,
    make_edit,
    shown_version,
    sign_up,
    tree_node,
    wait_for_status,
    wait_live,
)


def test_find_expand_and_branch_in_a_large_tree(page, studio, screenshot):
    sign_up(page, "producer")
    project_id = create_project(page, "A month of edits")
    fill_composer(page, prompt="A paper lantern drifting over a lake")
    v1 = generate(page, project_id)
    wait_for_status(page, v1, "ready")
    grow_tree(studio, project_id=project_id, count=299)

    page.goto(f"/projects/{project_id}/")
    wait_live(page)
    expect(page.locator(".tree-pane h2").first).to_contain_text("300")
    # Not every version is drawn: a window around the newest one.
    drawn = page.locator("#version-tree li[data-number]").count()
    assert 0 < drawn < 80, drawn

    # Find v250 from the jump box and open it.
    page.get_by_label("Find a version").fill("v250")
    result = page.locator("#find-results").get_by_role("link", name="v250")
    expect(result).to_be_visible()
    result.click()
    expect(page).to_have_url(re.compile(rf"/projects/{project_id}/v/250/$"))
    expect(page.locator("#version-panel")).to_have_attribute("data-version-number", "250")
    wait_live(page)
    expect(tree_node(page, 250)).to_have_attribute("aria-selected", "true")

    # By keyboard: the tree is one Tab stop, on the version shown; walk to a
    # collapsed node that has versions below it, open it and close it.
    tree_node(page, 250).focus()
    first_collapsed = page.locator('#version-tree li[data-number][aria-expanded="false"]').first
    number = first_collapsed.get_attribute("data-number")
    pk = first_collapsed.get_attribute("id").removeprefix("node-")
    below = page.evaluate(
        """(number) => {
            const target = document.querySelector(`#version-tree li[data-number="${number}"]`);
            return !!(document.activeElement.compareDocumentPosition(target)
                      & Node.DOCUMENT_POSITION_FOLLOWING);
        }""",
        number,
    )
    for _ in range(60):
        if page.evaluate("document.activeElement.dataset.number") == number:
            break
        page.keyboard.press("ArrowDown" if below else "ArrowUp")
    expect(tree_node(page, int(number))).to_be_focused()
    # The first try never reaches the studio: the node closes again, to be
    # opened again.
    page.route(lambda url: "/tree/children/" in url, lambda route: route.abort(), times=1)
    with page.expect_event("requestfailed"):
        page.keyboard.press("ArrowRight")
    expect(tree_node(page, int(number))).to_have_attribute("aria-expanded", "false")
    with page.expect_response(lambda r: "/tree/children/" in r.url) as loaded:
        page.keyboard.press("ArrowRight")
    assert loaded.value.ok, loaded.value.status
    expect(tree_node(page, int(number))).to_have_attribute("aria-expanded", "true")
    children = page.locator(f"#children-{pk}")
    expect(children.locator(":scope > li[data-number]").first).to_be_visible()
    page.keyboard.press("ArrowLeft")
    expect(tree_node(page, int(number))).to_have_attribute("aria-expanded", "false")
    expect(children).to_be_hidden()

    # Branch from v250, found by the jump box.
    assert shown_version(page).number == 250
    branch = make_edit(page, project_id, "Make it black and white")
    assert branch.number == 301
    wait_for_status(page, branch, "ready")
    expect(tree_node(page, 301)).to_have_attribute("data-parent", "250")
    screenshot(page)
