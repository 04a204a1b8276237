"""Extend a ready version twice from its panel: each time the page goes to
the new version, shows its progress live, and plays the longer video."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import (
    create_project,
    fill_composer,
    generate,
    shown_version,
    sign_up,
    tree,
    wait_for_new_version,
    wait_for_status,
)

pytestmark = pytest.mark.e2e


def extend(page, project_id: int, seconds: int, instruction: str = ""):
    form = page.locator("#extend-form")
    expect(form, "the ready version offers Extend").to_be_visible()
    form.get_by_label("Extend by").select_option(str(seconds))
    if instruction:
        form.get_by_label("What happens next (optional)").fill(instruction)
    before = shown_version(page)
    form.get_by_role("button", name="Extend").click()
    return wait_for_new_version(page, before, project_id)


def test_extend_twice_from_the_panel(page, screenshot):
    sign_up(page, "extender")
    project_id = create_project(page, "Kite")
    fill_composer(page, prompt="A kite over the dunes, slow push in", duration=3)
    v1 = generate(page, project_id)
    wait_for_status(page, v1, "ready")

    v2 = extend(page, project_id, 3, "the kite drifts higher")
    assert v2.number == 2
    wait_for_status(page, v2, "ready")
    meta = page.locator("#version-panel .media-meta")
    expect(meta).to_contain_text(re.compile(r"· 6\.0 s ·"))
    params = page.locator("details.parameters")
    expect(params).to_contain_text("3 s added to v1")
    expect(params).to_contain_text("the kite drifts higher")

    v3 = extend(page, project_id, 3)
    wait_for_status(page, v3, "ready")
    expect(meta).to_contain_text(re.compile(r"· 9\.0 s ·"))
    expect(page.locator("#version-panel video.player")).to_be_visible()
    assert tree(page) == [(1, None), (2, 1), (3, 2)]
    screenshot(page)
