"""Issue #18's whole scenario in the browser, on the local engine: a 5 s
shot extended twice into 15 s, cut with two other versions into a sequence
with one crossfade, rendered and downloaded; then the first branch's edits
replayed onto another root."""

import av
import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import (
    create_project,
    fill_composer,
    generate,
    make_edit,
    sign_up,
    tree_node,
    wait_for_status,
    wait_live,
)
from tests.e2e.test_extend import extend

pytestmark = pytest.mark.e2e


def test_extend_cut_render_and_replay(new_context, studio, screenshot, base_url):
    page = new_context().new_page()
    sign_up(page, "producer")
    project_id = create_project(page, "Coast film")

    # The first branch: a still shot and two edits.
    fill_composer(page, prompt="A lighthouse on a cliff at dusk")
    v1 = generate(page, project_id)
    wait_for_status(page, v1, "ready")
    v2 = make_edit(page, project_id, "Make it warmer")
    wait_for_status(page, v2, "ready")
    v3 = make_edit(page, project_id, "Black and white")
    wait_for_status(page, v3, "ready")

    # Another root, 5 s, extended twice into a 15 s shot.
    fill_composer(page, prompt="Waves rolling onto a beach, slow pan right", duration=5)
    v4 = generate(page, project_id)
    wait_for_status(page, v4, "ready")
    v5 = extend(page, project_id, 5, "the pan carries on along the shore")
    wait_for_status(page, v5, "ready")
    v6 = extend(page, project_id, 5)
    wait_for_status(page, v6, "ready")
    expect(page.locator("#version-panel .media-meta")).to_contain_text("15.0 s")

    # A sequence: the 15 s shot, then v3 and v2, a 0.5 s crossfade after the first.
    page.goto(f"/projects/{project_id}/sequences/")
    page.get_by_label("Title").fill("Coast cut")
    page.get_by_label("Nothing: I'll add versions by number").check()
    page.get_by_role("button", name="Create the sequence").click()
    expect(page.get_by_role("heading", name="Coast cut")).to_be_visible()
    for number in (6, 3, 2):
        page.get_by_label("Add version (number)").fill(str(number))
        page.get_by_role("button", name="Add version").click()
        expect(page.locator(".timeline-clip")).to_have_count([6, 3, 2].index(number) + 1)
    first = page.locator("#clip-0")
    first.get_by_label("Into the next").select_option("crossfade")
    first.get_by_label("Crossfade (s", exact=False).fill("0.5")
    first.get_by_role("button", name="Save clip 1").click()
    expect(page.locator("#clip-0").get_by_label("Into the next")).to_have_value("crossfade")

    page.get_by_role("button", name="Render").click()
    render = page.locator("#render-1")
    expect(render).to_have_attribute("data-status", "ready", timeout=180_000)
    expect(render.locator("video.player")).to_be_visible()
    screenshot(page, "test_beyond_one_clip_sequence")
    with page.expect_download() as download_info:
        render.get_by_role("link", name="Download MP4").click()
    with av.open(str(download_info.value.path())) as container:
        video = container.streams.video[0]
        seconds = video.frames / float(video.average_rate)
        assert container.streams.audio, "the cut has sound"
        size = (video.codec_context.width, video.codec_context.height)
    # 15 + 3 + 3 seconds, less the 0.5 s both clips play during the crossfade.
    assert abs(seconds - 20.5) <= 1 / 24 + 1e-6, seconds
    assert size == (1280, 720)  # the sequence's default, 720p

    # The first branch's edits (v2, v3) replayed onto the 15 s shot's root.
    page.goto(f"/projects/{project_id}/v/3/")
    wait_live(page)
    page.get_by_text("Replay these edits onto another version").click()
    page.get_by_label("From the edit that made v").fill("2")
    page.get_by_label("Base version number").fill("4")
    page.get_by_role("button", name="Replay", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("Replaying v2 → v3 onto v4")
    wait_live(page)
    expect(tree_node(page, 8)).to_have_attribute("data-parent", "7", timeout=120_000)
    expect(tree_node(page, 7)).to_have_attribute("data-parent", "4")
    expect(tree_node(page, 8).locator(".badge[data-status]")).to_have_attribute(
        "data-status", "ready", timeout=120_000
    )
    screenshot(page, "test_beyond_one_clip_replay")
