"""A sequence's timeline in the browser: the editor previews the cut before
rendering it (each clip from its in to its out point, in order, through a
crossfade), drags clips into another order, and renders each order; every
render is kept with the order it was made from."""

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import editor_with_a_ready_version, grow_tree, new_sequence

pytestmark = pytest.mark.e2e


def order(page: Page) -> list[int]:
    return [
        int(n)
        for n in page.locator(".timeline-clip").evaluate_all(
            "clips => clips.map(clip => clip.dataset.version)"
        )
    ]


def drag(page: Page, number: int, *, onto: int, half: str) -> None:
    """Drag version ``number``'s clip by its picture onto the top or bottom
    half of version ``onto``'s, and wait for the page the move leads to."""
    source = page.locator(f".timeline-clip[data-version='{number}'] .thumb")
    target = page.locator(f".timeline-clip[data-version='{onto}']")
    box = target.bounding_box()
    y = 4 if half == "top" else box["height"] - 4
    with page.expect_navigation():
        source.drag_to(target, target_position={"x": box["width"] / 2, "y": y})


def playing_src(page: Page) -> str:
    """The preview layer in front: the clip being seen."""
    return page.locator(".preview-layer").evaluate_all(
        "layers => layers.reduce((a, b) => (+b.style.opacity > +a.style.opacity ? b : a)).src"
    )


def test_preview_the_cut_drag_clips_and_render_each_order(new_context, studio, screenshot):
    page, project_id = editor_with_a_ready_version(
        new_context, title="Timeline", prompt="A kite over a green hill"
    )
    grow_tree(studio, project_id=project_id, count=2)
    new_sequence(page, project_id, "Kite cut", numbers=(1, 2, 3))
    first = page.locator("#clip-0")
    first.get_by_label("In (s)").fill("0.5")
    first.get_by_label("Out (s)").fill("1.5")
    first.get_by_label("Into the next").select_option("crossfade")
    first.get_by_label("Crossfade (s", exact=False).fill("0.5")
    first.get_by_role("button", name="Save clip 1").click()
    expect(page.locator("#clip-0").get_by_label("Out (s)")).to_have_value("1.5")

    # The preview plays the three clips in order, then stops at the end.
    preview = page.locator(".sequence-preview")
    expect(preview.locator(".preview-time")).to_contain_text("0:00.0 / 0:06.5")
    preview.get_by_role("button", name="Play the cut").click()
    expect(preview).to_have_attribute("data-state", "playing")
    expect(preview.locator(".preview-clip")).to_have_text("Clip 1 of 3 · v1")
    assert playing_src(page).endswith(f"/projects/{project_id}/v/1/video.mp4")
    # v1 starts at its in point, not at the start of its video.
    at = page.locator(".preview-layer").first.evaluate("layer => layer.currentTime")
    assert at >= 0.5, at
    expect(preview.locator(".preview-clip")).to_have_text("Clip 2 of 3 · v2", timeout=10_000)
    assert playing_src(page).endswith(f"/projects/{project_id}/v/2/video.mp4")
    screenshot(page, "test_sequence_timeline_preview")
    # Pause holds the cut where it is; Play goes on from there.
    preview.get_by_role("button", name="Pause").click()
    expect(preview).to_have_attribute("data-state", "paused")
    held = preview.locator(".preview-time").text_content()
    page.wait_for_timeout(400)
    assert preview.locator(".preview-time").text_content() == held
    preview.get_by_role("button", name="Play the cut").click()
    expect(preview.locator(".preview-clip")).to_have_text("Clip 3 of 3 · v3", timeout=10_000)
    assert playing_src(page).endswith(f"/projects/{project_id}/v/3/video.mp4")
    expect(preview).to_have_attribute("data-state", "ended", timeout=10_000)
    expect(preview.locator(".preview-time")).to_have_text("0:06.5 / 0:06.5")

    page.get_by_role("button", name="Render").click()
    expect(page.locator("#render-1")).to_have_attribute("data-status", "ready", timeout=120_000)

    # v3 dragged onto the top half of v1 goes first; v1 keeps its points
    # and its crossfade into what now follows it.
    drag(page, 3, onto=1, half="top")
    assert order(page) == [3, 1, 2]
    moved = page.locator(".timeline-clip[data-version='1']")
    expect(moved.get_by_label("In (s)")).to_have_value("0.5")
    expect(moved.get_by_label("Into the next")).to_have_value("crossfade")
    # And v3 dropped on the bottom half of the last clip goes last again.
    drag(page, 3, onto=2, half="bottom")
    assert order(page) == [1, 2, 3]
    drag(page, 1, onto=2, half="bottom")
    assert order(page) == [2, 1, 3]
    screenshot(page, "test_sequence_timeline_dragged")

    page.get_by_role("button", name="Render").click()
    second = page.locator("#render-2")
    expect(second).to_have_attribute("data-status", "ready", timeout=120_000)
    expect(second).to_contain_text("v2 → v1 → v3")
    expect(page.locator("#render-1")).to_contain_text("v1 → v2 → v3")
