"""A producer's takes: three variations of one prompt from one Generate, and
one of them re-run in two clicks; the composer keeps its last settings; a
template chosen after a still keeps the still and the prompt typed."""

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import (
    composer,
    create_project,
    fill_composer,
    generate,
    open_version,
    shown_version,
    sign_up,
    still_png,
    tree,
    tree_node,
    wait_for_new_version,
    wait_for_status,
)

pytestmark = pytest.mark.e2e

PROMPT = "A paper boat on a rainy street"


def poster(page, project_id: int, number: int) -> bytes:
    response = page.request.get(f"/projects/{project_id}/v/{number}/poster.jpg")
    assert response.ok, response.status
    return response.body()


def test_three_variations_then_a_rerun_of_one(page, screenshot):
    sign_up(page, "producer")
    project_id = create_project(page, "Rainy street")
    form = fill_composer(page, prompt=PROMPT, aspect_ratio="9:16", duration=3)
    form.get_by_label("Versions").select_option("3")
    v1 = generate(page, project_id)
    assert v1.number == 1
    assert tree(page) == [(1, None), (2, None), (3, None)]
    for number in (1, 2, 3):
        badge = tree_node(page, number).locator(":scope > .node-row .badge[data-status]")
        expect(badge).to_have_attribute("data-status", "ready", timeout=60_000)
    # Three takes of one prompt, each its own picture.
    assert len({poster(page, project_id, n) for n in (1, 2, 3)}) == 3

    # The composer is as it was left.
    form = composer(page)
    expect(form.locator("#id_prompt")).to_have_value(PROMPT)
    expect(form.locator("#id_aspect_ratio")).to_have_value("9:16")
    expect(form.locator("#id_duration_seconds")).to_have_value("3")

    # Re-run v2: select it, press Re-run.
    v2 = open_version(page, project_id, 2)
    page.get_by_role("button", name="Re-run v2").click()
    v4 = wait_for_new_version(page, v2, project_id)
    assert v4.number == 4
    wait_for_status(page, v4, "ready")
    params = page.locator("details.parameters")
    expect(params).to_contain_text(PROMPT)
    expect(params).to_contain_text("9:16")
    expect(params).to_contain_text("Seed")
    assert tree(page) == [(1, None), (2, None), (3, None), (4, None)]
    screenshot(page)


def test_a_template_chosen_after_a_still_keeps_it_and_the_prompt(page):
    sign_up(page, "producer")
    project_id = create_project(page, "Product shots")
    form = composer(page)
    form.get_by_label("From a still").check()
    form.locator("#id_image").set_input_files(
        {"name": "bottle.png", "mimeType": "image/png", "buffer": still_png(640, 360)}
    )
    form.locator("#id_prompt").fill("The bottle turns slowly")

    # A prompt template, then the still's own: the composer is drawn again each time.
    for template, subject in (
        ("Short ad", "A sleek product on a pedestal"),
        ("Animate a product still", "The product in the photo"),
    ):
        composer(page).get_by_label("Template").select_option(label=template)
        expect(composer(page).locator("#id_subject")).to_have_value(subject)
        expect(composer(page).locator("#id_prompt")).to_have_value("The bottle turns slowly")
        expect(composer(page).get_by_label("From a still")).to_be_checked()
        expect(composer(page).locator("#id_image")).to_be_visible()
        assert page.evaluate("document.getElementById('id_image').files[0].name") == "bottle.png"

    before = shown_version(page)
    composer(page).get_by_role("button", name="Generate").click()
    v1 = wait_for_new_version(page, before, project_id)
    wait_for_status(page, v1, "ready")
    expect(page.locator(".panel-head")).to_contain_text("Image to video")
    expect(page.locator("details.parameters")).to_contain_text("bottle.png")
