"""A sequence's renders, live in a second browser: a reviewer on the
sequence page sees the editor's renders appear, move on and become ready
with no reload, keeps the comment they were writing on an earlier render
while a later one arrives, then downloads and plays the render that came
live and posts the comment they had been writing."""

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import (
    assert_not_reloaded,
    maker_and_reviewer,
    mark_no_reload,
    new_sequence,
)

pytestmark = pytest.mark.e2e


def test_a_second_browser_sees_renders_arrive_and_uses_them(new_context, screenshot):
    maker, reviewer, project_id, _ = maker_and_reviewer(
        new_context, title="Live cut", prompt="A paper boat on a rain puddle"
    )
    new_sequence(maker, project_id, "Live cut", numbers=(1,))
    sequence_url = maker.url.split("#")[0]

    reviewer.goto(sequence_url)
    expect(reviewer.locator("[data-sequence-socket]")).to_have_attribute("data-live", "open")
    expect(reviewer.locator("#renders")).to_contain_text("Not rendered yet")
    mark_no_reload(reviewer)

    maker.get_by_role("button", name="Render").click()
    first = reviewer.locator("#render-1")
    expect(first).to_be_visible(timeout=20_000)
    expect(first).to_have_attribute("data-status", "ready", timeout=120_000)
    assert_not_reloaded(reviewer)

    # The reviewer starts a comment on r1; meanwhile the editor renders again.
    form = first.locator(".comment-form")
    form.get_by_label("At (seconds)").fill("1")
    form.get_by_label("Comment", exact=True).fill("The boat drifts out of frame here")
    maker.get_by_role("button", name="Render").click()
    second = reviewer.locator("#render-2")
    expect(second).to_have_attribute("data-status", "ready", timeout=120_000)
    # Newest first, and what was being written on r1 is still there.
    expect(reviewer.locator("article.render")).to_have_count(2)
    assert reviewer.locator("article.render").first.get_attribute("id") == "render-2"
    expect(form.get_by_label("Comment", exact=True)).to_have_value(
        "The boat drifts out of frame here"
    )
    assert_not_reloaded(reviewer)
    screenshot(reviewer, "test_sequence_live_two_renders")

    # The render that came live works: it downloads and plays.
    with reviewer.expect_download() as download_info:
        second.get_by_role("link", name="Download MP4").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".mp4")
    assert download.path().stat().st_size > 10_000
    player = second.locator("video.player")
    expect(player).to_have_js_property("readyState", 4, timeout=20_000)
    player.evaluate("video => video.play()")
    reviewer.wait_for_function(
        "video => video.currentTime > 0.2", arg=player.element_handle(), timeout=10_000
    )

    # And the comment written before the live updates posts.
    form.get_by_role("button", name="Comment on the clip playing then").click()
    expect(reviewer.locator(".messages")).to_contain_text("Comment added to v1 at 0:01")
