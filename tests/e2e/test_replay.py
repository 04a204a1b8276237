"""An editor replays a branch's two edits onto another root from the
browser: the new branch appears under that root, each step starting when the
one before is ready, and its last version carries both edits."""

import io

import av
import numpy as np
import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import (
    create_project,
    fill_composer,
    generate,
    make_edit,
    sign_up,
    tree,
    tree_node,
    wait_for_status,
    wait_live,
)

pytestmark = pytest.mark.e2e


def test_a_branchs_edits_replayed_onto_another_root(new_context, studio, screenshot, base_url):
    page = new_context().new_page()
    sign_up(page, "editor")
    project_id = create_project(page, "Replay spot")
    fill_composer(page, prompt="A red kite over green hills")
    v1 = generate(page, project_id)
    wait_for_status(page, v1, "ready")
    v2 = make_edit(page, project_id, "Make it warmer")
    wait_for_status(page, v2, "ready")
    v3 = make_edit(page, project_id, "Black and white")
    wait_for_status(page, v3, "ready")
    fill_composer(page, prompt="A yellow taxi on a wet street at dusk")
    v4 = generate(page, project_id)
    wait_for_status(page, v4, "ready")

    # On v3's page: replay the edits from v2 onto v4.
    page.goto(f"/projects/{project_id}/v/3/")
    wait_live(page)
    page.get_by_text("Replay these edits onto another version").click()
    page.get_by_label("From the edit that made v").fill("2")
    page.get_by_label("Base version number").fill("4")
    page.get_by_role("button", name="Replay", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("Replaying v2 → v3 onto v4")
    expect(page.locator("#version-panel")).to_have_attribute("data-version-number", "5")
    wait_live(page)

    # The second step appears live once the first is ready, and finishes.
    expect(tree_node(page, 6)).to_have_attribute("data-parent", "5", timeout=90_000)
    expect(tree_node(page, 6).locator(".badge[data-status]")).to_have_attribute(
        "data-status", "ready", timeout=90_000
    )
    assert tree(page)[-2:] == [(5, 4), (6, 5)]
    screenshot(page, "test_replay_tree")

    # v6 is the taxi, warmer then black and white: grey.
    response = page.request.get(f"{base_url}/projects/{project_id}/v/6/video.mp4")
    assert response.ok
    with av.open(io.BytesIO(response.body())) as container:
        frames = list(container.decode(video=0))
    pixels = np.asarray(frames[len(frames) // 2].to_image(), dtype=float)
    assert (pixels.max(axis=2) - pixels.min(axis=2)).mean() < 3
