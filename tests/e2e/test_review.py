"""Two members review together in two browsers: one generates and edits, the
other comments at 0:02; the first turns that comment into an edit, the second
compares the two versions side by side and approves the new one, and each
sees the other's actions arrive without reloading."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import (
    assert_not_reloaded,
    create_project,
    fill_composer,
    generate,
    invite,
    mark_no_reload,
    shown_version,
    sign_up,
    tree_node,
    wait_for_new_version,
    wait_for_status,
    wait_live,
    wait_until,
)

pytestmark = pytest.mark.e2e


def test_two_members_review_a_version_together(new_context, studio, screenshot):
    maker = new_context().new_page()
    maker_name = sign_up(maker, "maker")
    project_id = create_project(maker, "Spring campaign")
    fill_composer(maker, prompt="A kite over green hills")
    v1 = generate(maker, project_id)
    wait_for_status(maker, v1, "ready")

    link = invite(maker, "reviewer")
    reviewer = new_context().new_page()
    reviewer_name = sign_up(reviewer, "reviewer")
    reviewer.goto(link)
    reviewer.get_by_role("button", name="Join the workspace").click()
    expect(reviewer.locator(".messages")).to_contain_text("You joined")
    reviewer.goto(f"/projects/{project_id}/v/1/")
    expect(reviewer.locator(".project-head")).to_contain_text("your role: reviewer")
    wait_live(reviewer)
    maker.goto(f"/projects/{project_id}/v/1/")
    wait_live(maker)
    mark_no_reload(maker)
    mark_no_reload(reviewer)
    # Each sees the other on the project now.
    expect(maker.locator("#presence")).to_contain_text(reviewer_name)
    expect(reviewer.locator("#presence")).to_contain_text(maker_name)

    # The reviewer pauses at 0:02 and comments there.
    player = reviewer.locator(f"#player-{v1.pk}")
    player.evaluate(
        """(video) => new Promise((done) => {
             video.addEventListener('seeked', done, {once: true});
             video.currentTime = 2;
           })"""
    )
    player.evaluate("(video) => video.pause()")
    comment_form = reviewer.locator(".comment-form")
    comment_form.get_by_role("button", name="Use the player's time").click()
    expect(comment_form.get_by_label("At (seconds)")).to_have_value("2")
    comment_form.get_by_label("New comment").fill('Add on-screen text "SALE"')
    comment_form.get_by_role("button", name="Comment").click()
    expect(reviewer.locator(".comment-list")).to_contain_text("00:00:02:00")

    # The maker sees it arrive, with its marker and in the activity feed.
    comment = maker.locator(".comment-list li.comment", has_text='Add on-screen text "SALE"')
    expect(comment).to_contain_text("00:00:02:00")
    expect(maker.locator(f"#scrub-{v1.pk} .scrub .marker")).to_have_count(1)
    expect(maker.locator("#activity-feed")).to_contain_text("commented on")

    # Clicking the comment's time seeks the maker's player.
    maker.locator(f"#player-{v1.pk}").evaluate("(video) => video.pause()")
    comment.get_by_role("button", name=re.compile(r"Play from 00:00:02:00")).click()
    wait_until(
        lambda: abs(maker.locator(f"#player-{v1.pk}").evaluate("v => v.currentTime") - 2) < 0.1,
        timeout=5_000,
        message="the comment to seek the player to 0:02",
    )

    # The maker turns the comment into the next edit.
    comment.get_by_label("Use this comment in the next edit").check()
    maker.get_by_role("button", name="Turn the checked comments into an edit").click()
    instruction = maker.locator("#edit-form").get_by_label("What to change")
    expect(instruction).to_have_value('[2s] Add on-screen text "SALE".')
    expect(
        maker.locator("#edit-form").get_by_label("Keep everything else the same")
    ).to_be_checked()
    before = shown_version(maker)
    maker.locator("#edit-form").get_by_role("button", name="Make the edit").click()
    v2 = wait_for_new_version(maker, before, project_id)
    wait_for_status(maker, v2, "ready")

    # The reviewer sees v2 appear under v1 and finish, without reloading.
    expect(tree_node(reviewer, 2)).to_have_attribute("data-parent", "1")
    expect(tree_node(reviewer, 2).locator("[data-status]")).to_have_attribute(
        "data-status", "ready", timeout=60_000
    )
    assert_not_reloaded(reviewer)

    # Side by side: the players move together.
    reviewer.goto(f"/projects/{project_id}/compare/?a=1&b=2")
    left, right = reviewer.locator("#compare-player-a"), reviewer.locator("#compare-player-b")
    for video in (left, right):
        video.evaluate(
            "(v) => v.readyState >= 2"
            " || new Promise((r) => v.addEventListener('loadeddata', r, {once: true}))"
        )
    # What changed is the edit v2 applied to v1, and the players open where
    # it begins ([2s]).
    changed = reviewer.locator(".what-changed")
    expect(changed).to_contain_text("v2 is v1 with one edit")
    expect(changed).to_contain_text('[2s] Add on-screen text "SALE".')
    wait_until(
        lambda: abs(left.evaluate("v => v.currentTime") - 2) < 0.05,
        timeout=5_000,
        message="the players to open at 0:02",
    )
    reviewer.get_by_role("button", name="Play both").click()
    wait_until(
        lambda: right.evaluate("v => !v.paused && v.currentTime > 0.3"),
        timeout=10_000,
        message="the right player to play along",
    )
    reviewer.get_by_role("button", name="Pause both").click()
    wait_until(lambda: right.evaluate("v => v.paused"), timeout=5_000, message="both to pause")
    reviewer.locator("#sync-scrub").fill("500")
    wait_until(
        lambda: (
            abs(left.evaluate("v => v.currentTime") - right.evaluate("v => v.currentTime")) < 0.05
            and left.evaluate("v => v.currentTime") > 1
        ),
        timeout=5_000,
        message="scrubbing to move both players to the same time",
    )
    screenshot(reviewer, "review-compare")

    # The reviewer approves v2; the maker sees the decision and the comment
    # it addressed resolve, live.
    reviewer.goto(f"/projects/{project_id}/v/2/")
    reviewer.get_by_label("Note").fill("Text lands on time")
    reviewer.get_by_role("button", name="Approve v2").click()
    expect(reviewer.locator(f"#reviews-{v2.pk}")).to_contain_text("Approved")
    expect(tree_node(maker, 2).locator("[data-decision]")).to_have_attribute(
        "data-decision", "approved"
    )
    expect(maker.locator(f"#reviews-{v2.pk}")).to_contain_text("Text lands on time")
    expect(maker.locator("#activity-feed")).to_contain_text("reviewed")
    assert_not_reloaded(maker)
    maker.goto(f"/projects/{project_id}/v/1/")
    expect(maker.locator(".comment-list li.comment").first).to_contain_text("Resolved")
    screenshot(maker, "review-maker")
