"""A reviewer on a phone, and an editor without a mouse.

An invitee on a phone signs up from the invitation link and lands in the
workspace. On a 390×844 screen the project page has no horizontal scroll
and the player is in the first screen; comments and decisions work there;
compare stacks its players. From the top of the page, a skip link and a few keys reach
Generate, and the new version is then in view with the focus on it."""

from playwright.sync_api import Page, expect

from tests.e2e.helpers import (
    create_project,
    fill_composer,
    generate,
    invite,
    make_edit,
    sign_up,
    sign_up_from_invitation,
    wait_for_status,
    wait_live,
)

PHONE = {"width": 390, "height": 844}


def no_horizontal_scroll(page: Page) -> None:
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px screen"


def test_a_reviewer_on_a_phone(new_context, studio, screenshot):
    owner = new_context().new_page()
    sign_up(owner, "owner")
    project_id = create_project(owner, "Phone review")
    fill_composer(owner, prompt="A red kite over a green hill")
    v1 = generate(owner, project_id)
    wait_for_status(owner, v1, "ready")
    v2 = make_edit(owner, project_id, "Make it warmer")
    wait_for_status(owner, v2, "ready")

    link = invite(owner, "reviewer")
    phone = new_context().new_page()
    phone.set_viewport_size(PHONE)
    sign_up_from_invitation(phone, link, "reviewer")
    no_horizontal_scroll(phone)
    phone.goto(f"/projects/{project_id}/v/{v2.number}/")
    expect(phone.locator(".project-head")).to_contain_text("your role: reviewer")
    wait_live(phone)
    no_horizontal_scroll(phone)
    player = phone.locator(f"#player-{v2.pk}")
    expect(player).to_be_visible()
    box = player.bounding_box()
    assert box["y"] + box["height"] / 2 < PHONE["height"], f"the player starts at {box['y']} px"
    assert box["width"] > PHONE["width"] * 0.8
    # The tree is a drawer, closed until asked for.
    expect(phone.locator("#version-tree")).to_be_hidden()
    phone.get_by_role("button", name="Versions (2), branches and activity").click()
    expect(phone.locator("#version-tree")).to_be_visible()
    no_horizontal_scroll(phone)

    # Comment at a time and approve, on the phone.
    form = phone.locator(".comment-form")
    form.get_by_label("New comment").fill("The kite should fly higher here")
    form.get_by_label("At (seconds)").fill("1.5")
    form.get_by_role("button", name="Comment").click()
    expect(phone.locator(".comment-list")).to_contain_text("00:00:01:12")
    phone.locator(f"#reviews-{v2.pk}").get_by_role("button", name=f"Approve v{v2.number}").click()
    expect(phone.locator(f"#reviews-{v2.pk}")).to_contain_text("Approved")
    no_horizontal_scroll(phone)
    screenshot(phone, "test_a_reviewer_on_a_phone")

    # Compare stacks its players, each the width of the screen.
    phone.goto(f"/projects/{project_id}/compare/?a={v1.number}&b={v2.number}")
    no_horizontal_scroll(phone)
    left = phone.locator("#compare-player-a").bounding_box()
    right = phone.locator("#compare-player-b").bounding_box()
    assert right["y"] >= left["y"] + left["height"] - 1, "the players are stacked"
    assert left["width"] > PHONE["width"] * 0.8
    screenshot(phone, "test_a_reviewer_on_a_phone_compare")


def test_from_the_top_to_generate_in_ten_keys(page, screenshot):
    sign_up(page, "keys")
    project_id = create_project(page, "Few keys")
    page.goto(f"/projects/{project_id}/")
    wait_live(page)
    page.locator("body").focus()
    presses = 0

    def press(key: str) -> None:
        nonlocal presses
        presses += 1
        page.keyboard.press(key)

    while page.evaluate("document.activeElement.textContent.trim()") != "Skip to the composer":
        press("Tab")
        assert presses < 6, "no skip link to the composer"
    press("Enter")
    expect(page.locator("#id_prompt")).to_be_focused()
    page.keyboard.type("A lantern over a dark lake")  # typing, not moving
    while page.evaluate("document.activeElement.textContent.trim()") != "Generate":
        press("Tab")
        assert presses < 10, "Generate is too far"
    press("Enter")
    assert presses <= 10, presses
    # The new version is shown: in view, with the focus on it.
    panel = page.locator("#version-panel")
    expect(panel).to_have_attribute("data-version-number", "1")
    expect(panel).to_be_focused()
    assert panel.evaluate("p => p.getBoundingClientRect().top") < 400
    screenshot(page)
