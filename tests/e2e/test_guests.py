"""A guest review link, as it is used: the editor makes one on the version's
page; a guest opens it in a private window (no account), gives a name,
comments at a time with a box drawn on the frame and approves; the editor
sees both, marked as a guest's, live; then withdraws the link and the
guest's open page says so within seconds, its form gone."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import (
    create_project,
    drag_box,
    fill_composer,
    generate,
    sign_up,
    wait_for_status,
)

pytestmark = pytest.mark.e2e


def test_a_guest_reviews_from_a_private_window(new_context, screenshot):
    editor = new_context().new_page()
    sign_up(editor, "producer")
    project_id = create_project(editor, "Client cut")
    fill_composer(editor, prompt="A bottle of lemonade on a sunny table", duration=4)
    v1 = generate(editor, project_id)
    wait_for_status(editor, v1, "ready")

    editor.get_by_text("Share with guests (no account needed)").click()
    share = editor.locator(f"#guest-links-{v1.pk}")
    share.get_by_label("For (optional)").fill("Lemonade client")
    share.get_by_role("button", name="Make a guest link to v1").click()
    link = share.get_by_label("Guest review link")
    expect(link).to_have_value(re.compile(r"^http://.+/review/[\w-]+/$"))
    url = link.input_value()

    guest = new_context().new_page()  # a private window: no session at all
    guest.goto(url)
    guest.get_by_label("Your name").fill("Ana Lima")
    guest.get_by_role("button", name="Open the review").click()
    expect(guest.locator("h1")).to_contain_text("Client cut: v1")
    player = guest.locator(f"#player-{v1.pk}")
    expect(player).to_have_js_property("readyState", 4, timeout=20_000)
    guest.locator("body").focus()
    for _ in range(48):
        guest.keyboard.press(".")
    expect(guest.locator(f"#scrub-{v1.pk} .timecode-now")).to_have_text("00:00:02:00")
    form = guest.locator(".comment-form")
    form.get_by_role("button", name="Box").click()
    drag_box(guest, v1.pk, (0.2, 0.2), (0.5, 0.5))
    form.get_by_label("New comment").fill("Can the bottle be bigger?")
    form.get_by_role("button", name="Comment").click()
    mine = guest.locator(".comment-list .comment", has_text="Can the bottle be bigger?")
    expect(mine).to_contain_text("Ana Lima (guest)")
    expect(mine.locator("svg.drawing-thumb rect.shape")).to_have_count(1)
    guest.get_by_role("button", name="Approve v1").click()
    expect(guest.locator(".decision-list")).to_contain_text("Approved by Ana Lima (guest)")
    screenshot(guest)

    # The editor's open page shows both, live, marked as a guest's.
    theirs = editor.locator(".comment-list .comment", has_text="Can the bottle be bigger?")
    expect(theirs).to_contain_text("Ana Lima (guest)")
    expect(theirs.locator(".badge.guest")).to_have_text("Guest")
    expect(editor.locator(f"#reviews-{v1.pk}")).to_contain_text("Approved by Ana Lima (guest)")

    # Withdrawn: the guest's open page is refused within seconds.
    share.get_by_role("button", name="Withdraw").click()
    expect(share).to_contain_text("withdrawn")
    expect(guest.get_by_text("This review link was withdrawn by the team.")).to_be_visible(
        timeout=15_000
    )
    expect(guest.locator(".comment-form")).to_have_count(0)
    assert guest.request.get(url.rstrip("/") + "/v/1/video.mp4").status == 410
