"""Scenario 7: the main flow with the keyboard alone, and a name for every
control a screen reader announces."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import (
    composer,
    create_project,
    shown_version,
    sign_up,
    tree_node,
    wait_for_new_version,
    wait_for_status,
    wait_until,
)

pytestmark = pytest.mark.e2e

# A whole page's worth of stops: the player's own controls, its frame
# tools, the review and edit forms and the composer come before the tree.
MAX_TABS = 120
# Roles of the things a person operates; each needs a name.
CONTROL_ROLES = {
    "button",
    # What Chromium calls a <summary>.
    "DisclosureTriangle",
    "checkbox",
    "combobox",
    "link",
    "listbox",
    "menuitem",
    "radio",
    "searchbox",
    "slider",
    "spinbutton",
    "switch",
    "tab",
    "textbox",
}

FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  return {
    tag: el.tagName.toLowerCase(), id: el.id, type: el.type || '',
    inComposer: !!el.closest('#composer'),
    treeNumber: el.closest('#version-tree li[data-number]')?.dataset.number || null,
  };
}"""


def focused(page: Page) -> dict | None:
    return page.evaluate(FOCUSED)


def tab_to(page: Page, matches, what: str, *, key: str = "Tab") -> list[dict]:
    """Press Tab until the focused element matches; returns the path taken."""
    path = []
    for _ in range(MAX_TABS):
        page.keyboard.press(key)
        now = focused(page)
        path.append(now)
        if now and matches(now):
            return path
    seen = " ".join(
        "(nothing)" if f is None else f"{f['tag']}#{f['id']}" if f["id"] else f["tag"] for f in path
    )
    raise AssertionError(f"{what} never got the focus after {MAX_TABS} presses; saw: {seen}")


def generate_by_keyboard(page: Page, project_id: int, prompt: str):
    composer(page)
    page.locator("body").focus()
    path = tab_to(page, lambda f: f["id"] == "id_prompt", "the prompt")
    first_in_composer = next(f for f in path if f and f["inComposer"])
    assert first_in_composer["id"] != "id_prompt", "Tab skipped the start of the composer"
    # The composer keeps the last prompt: write over it.
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type(prompt)
    expect(page.locator("#id_prompt")).to_have_value(prompt)

    # Selects answer to typing, as they do for anyone on a keyboard.
    tab_to(page, lambda f: f["id"] == "id_duration_seconds", "the duration")
    page.keyboard.type("5")
    expect(page.locator("#id_duration_seconds")).to_have_value("5")
    tab_to(page, lambda f: f["id"] == "id_resolution", "the resolution")
    page.keyboard.type("4")
    expect(page.locator("#id_resolution")).to_have_value("480p")

    tab_to(page, lambda f: f["tag"] == "button" and f["inComposer"], "Generate")
    expect(page.locator("#composer button:focus")).to_have_text("Generate")
    before = shown_version(page)
    page.keyboard.press("Enter")
    return wait_for_new_version(page, before, project_id)


UNNAMED_CONTROLS = """() => {
  // Cross-check with the DOM: the visible controls, and how each is named.
  const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length)
    && getComputedStyle(el).visibility !== 'hidden';
  const text = (el) => (el.innerText || el.textContent || '').trim();
  const nameOf = (el) => {
    const by = el.getAttribute('aria-labelledby');
    if (by) return by.split(/\\s+/).map((id) => text(document.getElementById(id) || {})).join(' ');
    if (el.getAttribute('aria-label')) return el.getAttribute('aria-label');
    if (el.labels && el.labels.length) return [...el.labels].map(text).join(' ');
    if (el.title) return el.title;
    if (['button', 'a', 'summary'].includes(el.tagName.toLowerCase())) {
      return text(el) || [...el.querySelectorAll('img[alt]')].map((i) => i.alt).join(' ');
    }
    if (el.type === 'submit' || el.type === 'button') return el.value;
    return '';
  };
  const controls = [...document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea, summary, video[controls]')]
    .filter(visible);
  return {
    count: controls.length,
    unnamed: controls.filter((el) => !nameOf(el).trim()).map((el) => el.outerHTML.slice(0, 160)),
  };
}"""


def assert_every_control_named(page: Page) -> int:
    dom = page.evaluate(UNNAMED_CONTROLS)
    assert not dom["unnamed"], f"controls without an accessible name: {dom['unnamed']}"
    # And as the browser's accessibility tree computes it.
    cdp = page.context.new_cdp_session(page)
    try:
        nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    finally:
        cdp.detach()
    controls = [
        n for n in nodes if not n.get("ignored") and n.get("role", {}).get("value") in CONTROL_ROLES
    ]
    unnamed = [
        (n["role"]["value"], n.get("backendDOMNodeId"))
        for n in controls
        if not (n.get("name", {}).get("value") or "").strip()
    ]
    assert not unnamed, f"accessibility tree has unnamed controls: {unnamed}"
    assert len(controls) >= dom["count"] >= 20, (len(controls), dom["count"])
    return len(controls)


def test_keyboard_only(page, screenshot):
    sign_up(page, "keys")
    project_id = create_project(page, "No mouse")

    v1 = generate_by_keyboard(page, project_id, "A lantern swaying in the wind")
    assert v1.number == 1
    wait_for_status(page, v1, "ready")
    # The composer is as it was left, for the next take.
    expect(page.locator("#id_prompt")).to_have_value("A lantern swaying in the wind")

    # Play and pause the video from the keyboard.
    video = page.locator(f"#media-{v1.pk} video.player")
    expect(video).to_be_visible()
    expect(video).to_have_js_property("readyState", 4, timeout=20_000)
    page.locator("body").focus()
    tab_to(page, lambda f: f["tag"] == "video", "the video")
    expect(video).to_have_js_property("paused", True)
    page.keyboard.press("k")
    expect(video, "k on the focused player plays it").to_have_js_property("paused", False)
    wait_until(
        lambda: video.evaluate("v => v.currentTime") > 0.2,
        timeout=10_000,
        message="the video to play",
    )
    page.keyboard.press("k")
    expect(video, "k again pauses it").to_have_js_property("paused", True)
    page.keyboard.press("Space")
    expect(video, "Space on the focused player plays it").to_have_js_property("paused", False)
    page.keyboard.press("Space")
    expect(video, "Space again pauses it").to_have_js_property("paused", True)
    # Paused by the keys, not by reaching the end of the clip.
    expect(video).to_have_js_property("ended", False)

    v2 = generate_by_keyboard(page, project_id, "The lantern goes out")
    assert v2.number == 2
    wait_for_status(page, v2, "ready")

    # The tree is one stop of the Tab order, on the version shown; arrows
    # move in it as in a file browser. Previous version: up, Enter.
    page.locator("body").focus()
    tab_to(page, lambda f: f["treeNumber"] == "2", "v2 in the tree")
    expect(tree_node(page, 2)).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(tree_node(page, 1)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#version-panel")).to_have_attribute("data-version-number", "1")
    expect(page).to_have_url(re.compile(rf"/projects/{project_id}/v/1/$"))
    current = tree_node(page, 1).locator(":scope > .node-row a.node-link")
    expect(current).to_have_attribute("aria-current", "true")
    expect(tree_node(page, 1)).to_be_focused()
    # Next version: down, Enter.
    page.keyboard.press("ArrowDown")
    expect(tree_node(page, 2)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#version-panel")).to_have_attribute("data-version-number", "2")
    expect(page).to_have_url(re.compile(rf"/projects/{project_id}/v/2/$"))
    expect(current).not_to_have_attribute("aria-current", "true")
    # And back up.
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    expect(page.locator("#version-panel")).to_have_attribute("data-version-number", "1")

    # Comment at a time, without the mouse.
    v1_pk = shown_version(page).pk
    page.locator("body").focus()
    tab_to(page, lambda f: f["id"] == f"comment-body-{v1_pk}", "the comment box")
    page.keyboard.type("The lantern flickers too early")
    tab_to(page, lambda f: f["id"] == f"comment-start-{v1_pk}", "the comment's time")
    page.keyboard.type("1.5")
    # Past "Until", "Use the player's time" and the drawing tools.
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Comment":
            break
    expect(page.locator(".comment-form").get_by_role("button", name="Comment")).to_be_focused()
    page.keyboard.press("Enter")
    comment = page.locator(".comment-list li.comment", has_text="The lantern flickers too early")
    expect(comment).to_contain_text("00:00:01:12")

    # Everything on the page with the ready version, its player and edit box.
    expect(page.locator("#edit-form")).to_be_visible()
    assert_every_control_named(page)
    screenshot(page)
