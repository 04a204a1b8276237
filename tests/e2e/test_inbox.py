"""A reviewer mentions the maker in a comment; the maker's header counts it
live, the inbox lists it, and opening it goes to the comment; the maker's
reply reaches the reviewer's header the same way."""

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import assert_not_reloaded, maker_and_reviewer, mark_no_reload

pytestmark = pytest.mark.e2e


def inbox_link(page):
    return page.get_by_role("navigation", name="Account").locator("#inbox-link")


def test_a_mention_and_a_reply_reach_the_inbox_live(new_context, studio, screenshot):
    maker, reviewer, project_id, _ = maker_and_reviewer(
        new_context, title="Harbour spot", prompt="Fishing boats leaving a harbour at dawn"
    )
    maker_name = maker.get_by_role("navigation", name="Account").locator(".muted").inner_text()
    # v1 finishing was the maker's first entry.
    expect(inbox_link(maker)).to_have_attribute("data-unread", "1")
    expect(inbox_link(reviewer)).to_have_attribute("data-unread", "0")
    mark_no_reload(maker)

    # "@" and the start of the name offer the maker; Enter puts it in.
    form = reviewer.locator(".comment-form")
    box = form.get_by_label("New comment")
    box.press_sequentially("@" + maker_name[:4])
    offered = form.get_by_role("listbox", name="Members to mention")
    expect(offered.get_by_role("option")).to_have_text([f"@{maker_name}"])
    box.press("Enter")
    expect(offered).to_have_count(0)
    box.press_sequentially("the gulls are too loud at the end")
    expect(box).to_have_value(f"@{maker_name} the gulls are too loud at the end")
    form.get_by_role("button", name="Comment").click()
    comment = reviewer.locator(".comment-list li.comment", has_text="the gulls are too loud")
    expect(comment.locator(".mention")).to_have_text(f"@{maker_name}")

    # The maker's header says so without a reload; the comment arrived too.
    expect(inbox_link(maker)).to_have_attribute("data-unread", "2")
    expect(inbox_link(maker)).to_have_accessible_name("Inbox, 2 unread")
    assert_not_reloaded(maker)

    # The maker replies from the comment that arrived live; the reviewer hears it.
    arrived = maker.locator(".comment-list li.comment", has_text="the gulls are too loud")
    arrived.locator("summary", has_text="Reply").click()
    arrived.get_by_label("Reply", exact=True).fill("Turned them down in v2")
    arrived.get_by_role("button", name="Reply", exact=True).click()
    expect(inbox_link(reviewer)).to_have_attribute("data-unread", "1")

    # The inbox lists the mention first; opening it goes to the comment and
    # reads it.
    inbox_link(maker).click()
    expect(maker.get_by_role("heading", name="Inbox")).to_be_visible()
    entries = maker.locator("#inbox-entries li.notification")
    expect(entries).to_have_count(2)
    expect(entries.first).to_contain_text("mentioned you on v1")
    expect(entries.first).to_contain_text("the gulls are too loud")
    expect(entries.nth(1)).to_contain_text("Your v1 is ready")
    screenshot(maker, "test_inbox_maker")
    entries.first.get_by_role("link").click()
    maker.wait_for_url(f"**/projects/{project_id}/v/1/#comment-*")
    expect(maker.locator(".comment-list li.comment:target")).to_contain_text("the gulls")
    expect(inbox_link(maker)).to_have_attribute("data-unread", "1")

    # Mark all read from the inbox: the count goes with it.
    inbox_link(maker).click()
    maker.get_by_role("button", name="Mark all read").click()
    expect(inbox_link(maker)).to_have_attribute("data-unread", "0")
    expect(maker.locator("#inbox-entries li.notification.unread")).to_have_count(0)

    reviewer.reload()
    inbox_link(reviewer).click()
    expect(reviewer.locator("#inbox-entries li.notification").first).to_contain_text(
        f"{maker_name} replied on v1"
    )
    screenshot(reviewer, "test_inbox_reviewer")
