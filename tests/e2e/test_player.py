"""The frame-accurate player: a reviewer steps to frame 48 (0:02 at 24 fps)
with the keyboard, draws a box there and comments; the maker, in a second
browser, sees the marker arrive live on the scrub bar itself, previews the
note by hovering it and, after that live update, clicks it to land on the
same frame; then shuttles with J / K / L, loops a range marked with I / O
and changes the speed; then turns the comment into an edit that carries
the box, and the new version is brighter inside it and the same outside."""

import io

import av
import numpy as np
import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import (
    drag_box,
    maker_and_reviewer,
    shown_version,
    wait_for_new_version,
    wait_for_status,
    wait_until,
)

pytestmark = pytest.mark.e2e


def test_frame_48_from_the_keyboard_to_a_marker_on_the_scrub_bar(new_context, screenshot):
    maker, reviewer, project_id, v1 = maker_and_reviewer(
        new_context, title="Frame check", prompt="A bottle of lemonade on a sunny table"
    )

    bar = reviewer.locator(f"#scrub-{v1.pk}")
    readout = bar.locator(".timecode-now")
    player = reviewer.locator(f"#player-{v1.pk}")
    expect(readout).to_have_text("00:00:00:00")
    reviewer.locator("body").focus()
    for _ in range(48):
        reviewer.keyboard.press(".")
    expect(readout).to_have_text("00:00:02:00")
    expect(bar.locator(".frame-now")).to_have_text("frame 48")
    assert player.evaluate("v => v.currentTime") == pytest.approx(48.5 / 24, abs=1e-3)
    # Arrows on the timeline step a frame too.
    bar.locator(".scrub").focus()
    reviewer.keyboard.press("ArrowRight")
    expect(bar.locator(".frame-now")).to_have_text("frame 49")
    reviewer.keyboard.press("ArrowLeft")
    expect(bar.locator(".frame-now")).to_have_text("frame 48")

    form = reviewer.locator(".comment-form")
    form.get_by_role("button", name="Box").click()
    expect(form.get_by_label("At (seconds)")).to_have_value("2")
    drag_box(reviewer, v1.pk, (0.5, 0.1), (0.8, 0.4))
    form.get_by_label("New comment").fill("Make this brighter")
    form.get_by_role("button", name="Comment").click()
    mine = reviewer.locator(".comment-list .comment", has_text="Make this brighter")
    expect(mine.locator("button.timecode")).to_have_text("00:00:02:00")

    # The maker sees the marker arrive live on the scrub bar, where 0:02 is.
    marker = maker.locator(f"#scrub-{v1.pk} .scrub rect.marker.drawn")
    expect(marker).to_have_count(1)
    assert int(marker.get_attribute("x")) == round(2 / 4 * 1000)
    marker.hover()
    preview = maker.locator(f"#scrub-{v1.pk} .marker-preview")
    expect(preview).to_be_visible()
    expect(preview).to_contain_text("00:00:02:00")
    expect(preview).to_contain_text("Make this brighter")
    # After that live update, the marker still works: it lands on frame 48.
    marker.click()
    maker_bar = maker.locator(f"#scrub-{v1.pk}")
    expect(maker_bar.locator(".timecode-now")).to_have_text("00:00:02:00")
    expect(maker_bar.locator(".frame-now")).to_have_text("frame 48")
    shown = maker.locator(f'svg.drawing-layer[data-for="player-{v1.pk}"] rect.shape.shown')
    expect(shown).to_have_count(1)
    screenshot(maker)

    # J / K / L: forward, faster, stop; back; stop.
    video = maker.locator(f"#player-{v1.pk}")
    maker.locator("body").focus()
    maker.keyboard.press("l")
    expect(video).to_have_js_property("paused", False)
    maker.keyboard.press("l")
    expect(video).to_have_js_property("playbackRate", 2)
    expect(maker_bar.locator(".shuttle-now")).to_have_text("▶ 2×")
    maker.keyboard.press("k")
    expect(video).to_have_js_property("paused", True)
    stopped = video.evaluate("v => v.currentTime")
    maker.keyboard.press("j")
    wait_until(
        lambda: video.evaluate("v => v.currentTime") < stopped - 0.3,
        timeout=10_000,
        message="J to play the video back",
    )
    maker.keyboard.press("k")
    expect(maker_bar.locator(".shuttle-now")).to_have_text("")
    held = video.evaluate("v => v.currentTime")
    maker.wait_for_timeout(300)
    assert video.evaluate("v => v.currentTime") == held

    # I at frame 12, O at frame 24: Loop plays 0:00:12 to 0:01:00 over and over.
    video.evaluate("v => { v.currentTime = 12.5 / 24; }")
    expect(maker_bar.locator(".frame-now")).to_have_text("frame 12")
    maker.keyboard.press("i")
    for _ in range(12):
        maker.keyboard.press(".")
    expect(maker_bar.locator(".frame-now")).to_have_text("frame 24")
    maker.keyboard.press("o")
    expect(maker_bar.locator(".loop-toggle")).to_have_attribute("aria-pressed", "true")
    expect(maker_bar.locator(".loop-range")).not_to_have_class("loop-range off")
    video.evaluate("v => v.play()")
    seen = []
    for _ in range(15):
        maker.wait_for_timeout(100)
        seen.append(video.evaluate("v => v.currentTime"))
    assert all(12 / 24 - 0.05 <= t <= 25 / 24 + 0.1 for t in seen), seen
    assert max(seen) > min(seen)

    # Speed: half.
    maker_bar.get_by_label("Speed").select_option("0.5")
    expect(video).to_have_js_property("playbackRate", 0.5)
    maker.keyboard.press("k")
    expect(video).to_have_js_property("paused", True)

    # The maker turns the drawn-on comment into an edit: it carries the box,
    # and the new version is brighter inside it and the same outside.
    theirs = maker.locator(".comment-list .comment", has_text="Make this brighter")
    theirs.get_by_label("Use this comment in the next edit").check()
    maker.get_by_role("button", name="Turn the checked comments into an edit").click()
    edit_form = maker.locator("#edit-form")
    expect(edit_form.get_by_label("What to change")).to_have_value(
        "[2s] Make this brighter, inside the marked box at the top."
    )
    expect(edit_form.locator(".region-note")).to_contain_text("inside the marked box")
    before = shown_version(maker)
    edit_form.get_by_role("button", name="Make the edit").click()
    v2 = wait_for_new_version(maker, before, project_id)
    wait_for_status(maker, v2, "ready")
    expect(maker.locator("details.parameters")).to_contain_text("Region")

    def frame_at_two(number: int) -> np.ndarray:
        body = maker.request.get(f"/projects/{project_id}/v/{number}/video.mp4").body()
        with av.open(io.BytesIO(body)) as container:
            for frame in container.decode(video=0):
                if frame.time >= 2.2:
                    return frame.to_ndarray(format="rgb24").astype(int)
        raise AssertionError("no frame at 2.2 s")

    old, new = frame_at_two(1), frame_at_two(2)
    height, width = old.shape[:2]
    inside = (
        slice(round(0.1 * height) + 8, round(0.4 * height) - 8),
        slice(round(0.5 * width) + 8, round(0.8 * width) - 8),
    )
    assert new[inside].mean() > old[inside].mean() + 10
    left = (slice(None), slice(0, round(0.5 * width) - 16))
    assert np.abs(new[left] - old[left]).mean() < 3
