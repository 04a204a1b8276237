"""A reviewer draws a box on the frame at 0:02 and comments (keeping what
they wrote and drew while another comment arrives live); the maker, in a
second browser, sees the comment arrive live with its drawing, and the box
over the player while it is at that time (and not elsewhere)."""

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import drag_box, maker_and_reviewer

pytestmark = pytest.mark.e2e

SEEK = """(video, at) => new Promise((done) => {
  video.addEventListener('seeked', done, {once: true});
  video.currentTime = at;
})"""


def test_a_box_drawn_at_two_seconds_reaches_the_maker_live(new_context, screenshot):
    maker, reviewer, _, v1 = maker_and_reviewer(
        new_context, title="Logo check", prompt="A bottle of lemonade on a sunny table"
    )

    # The reviewer pauses at 0:02 and draws a box with the mouse.
    player = reviewer.locator(f"#player-{v1.pk}")
    player.evaluate(SEEK, 2)
    form = reviewer.locator(".comment-form")
    form.get_by_role("button", name="Box").click()
    expect(form.get_by_role("button", name="Box")).to_have_attribute("aria-pressed", "true")
    expect(player).to_have_js_property("paused", True)
    expect(form.get_by_label("At (seconds)")).to_have_value("2")
    drag_box(reviewer, v1.pk, (0.1, 0.2), (0.4, 0.5))
    expect(form.locator(".draw-count")).to_have_text("1 shape drawn")
    form.get_by_label("New comment").fill("The logo should be bigger here")

    # Meanwhile the maker comments: the reviewer's comments are drawn again
    # live, and what they were writing and drawing stays.
    maker.locator(".comment-form").get_by_label("New comment").fill("Music is great")
    maker.locator(".comment-form").get_by_role("button", name="Comment").click()
    expect(reviewer.locator(".comment-list")).to_contain_text("Music is great")
    form = reviewer.locator(".comment-form")
    expect(form.get_by_label("New comment")).to_have_value("The logo should be bigger here")
    expect(form.locator(".draw-count")).to_have_text("1 shape drawn")
    form.get_by_role("button", name="Comment").click()
    mine = reviewer.locator(".comment-list .comment", has_text="The logo should be bigger here")
    expect(mine.locator("svg.drawing-thumb rect.shape")).to_have_count(1)

    # The maker sees it arrive, drawing and all, and the box over the player at 0:02.
    theirs = maker.locator(".comment-list .comment", has_text="The logo should be bigger here")
    expect(theirs.locator("svg.drawing-thumb")).to_have_attribute(
        "aria-label", "Drawing at 0:02: a box"
    )
    shown = maker.locator(f'svg.drawing-layer[data-for="player-{v1.pk}"] rect.shape.shown')
    maker.locator(f"#player-{v1.pk}").evaluate(SEEK, 2.1)
    expect(shown).to_have_count(1)
    x, y, w, h = (float(shown.get_attribute(name)) for name in ("x", "y", "width", "height"))
    assert abs(x - 0.1) < 0.03 and abs(y - 0.2) < 0.03, (x, y)
    assert abs(w - 0.3) < 0.03 and abs(h - 0.3) < 0.03, (w, h)
    screenshot(maker)
    maker.locator(f"#player-{v1.pk}").evaluate(SEEK, 0.5)
    expect(shown).to_have_count(0)
