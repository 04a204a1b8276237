"""The frame-accurate player: a reviewer steps to frame 48 (0:02 at 24 fps)
with the keyboard, draws a box there and comments; the maker, in a second
browser, sees the marker arrive live on the scrub bar itself, previews the
note by hovering it and, after that live update, clicks it to land on the
same frame; then shuttles with J / K / L, loops a range marked with I / O
and changes the speed."""

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import maker_and_reviewer, wait_until

pytestmark = pytest.mark.e2e


def test_frame_48_from_the_keyboard_to_a_marker_on_the_scrub_bar(new_context, screenshot):
    maker, reviewer, _, v1 = maker_and_reviewer(
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
    layer = reviewer.locator(f'svg.drawing-layer[data-for="player-{v1.pk}"]')
    area = layer.bounding_box()
    reviewer.mouse.move(area["x"] + area["width"] * 0.5, area["y"] + area["height"] * 0.1)
    reviewer.mouse.down()
    reviewer.mouse.move(area["x"] + area["width"] * 0.8, area["y"] + area["height"] * 0.4, steps=6)
    reviewer.mouse.up()
    form.get_by_label("New comment").fill("Brighten the label in this box")
    form.get_by_role("button", name="Comment").click()
    mine = reviewer.locator(".comment-list .comment", has_text="Brighten the label")
    expect(mine.locator("button.timecode")).to_have_text("00:00:02:00")

    # The maker sees the marker arrive live on the scrub bar, where 0:02 is.
    marker = maker.locator(f"#scrub-{v1.pk} .scrub rect.marker.drawn")
    expect(marker).to_have_count(1)
    assert int(marker.get_attribute("x")) == round(2 / 4 * 1000)
    marker.hover()
    preview = maker.locator(f"#scrub-{v1.pk} .marker-preview")
    expect(preview).to_be_visible()
    expect(preview).to_contain_text("00:00:02:00")
    expect(preview).to_contain_text("Brighten the label in this box")
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
