"""Scenario 5: bad input in the browser gets a clear message beside its field
and creates nothing."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import composer, create_project, fill_composer, sign_up, tree

pytestmark = pytest.mark.e2e

HTML_PAGE = b"<!doctype html><html><body><h1>Not a picture</h1></body></html>\n"


def choose_still(form, name: str, content: bytes) -> None:
    form.get_by_label("From a still").check()
    form.locator("#id_image").set_input_files(
        {"name": name, "mimeType": "image/jpeg", "buffer": content}
    )


def html_renamed_jpg(page, form):
    choose_still(form, "holiday.jpg", HTML_PAGE)


def empty_still(page, form):
    choose_still(form, "empty.jpg", b"")


def huge_prompt(page, form):
    # The textarea's maxlength stops typing, not a page that sets the value.
    form.locator("#id_prompt").evaluate("(el) => { el.value = 'A slow pan. '.repeat(1667); }")
    assert len(form.locator("#id_prompt").input_value()) > 20_000 - 12


def thirty_seconds(page, form):
    # The select offers 3–10 s; a tampered page can offer more.
    form.locator("#id_duration_seconds").evaluate(
        "(el) => { el.add(new Option('30 s', '30')); el.value = '30'; }"
    )
    expect(form.locator("#id_duration_seconds")).to_have_value("30")


CASES = {
    "html_renamed_jpg": (html_renamed_jpg, "id_image", r"JPEG, PNG or WebP"),
    "empty_still": (empty_still, "id_image", r"empty"),
    "prompt_of_20000_characters": (huge_prompt, "id_prompt", r"4,?000"),
    "duration_of_30_seconds": (thirty_seconds, "id_duration_seconds", r"3 to 10 seconds"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_refused_beside_its_field(page, screenshot, case):
    tamper, field_id, message = CASES[case]
    sign_up(page, "careless")
    project_id = create_project(page, f"Bad input: {case}")
    assert tree(page) == []
    form = fill_composer(page, prompt="A kite over the dunes", duration=3)
    tamper(page, form)
    form.get_by_role("button", name="Generate").click()

    # The composer comes back with the field marked and the message beside it.
    field = page.locator(f"#composer #{field_id}")
    expect(field).to_have_attribute("aria-invalid", "true")
    error_id = field.get_attribute("aria-describedby")
    assert error_id, f"#{field_id} points to no message"
    error = page.locator(f"#composer .field:has(#{field_id}) #{error_id}")
    expect(error).to_be_visible()
    expect(error).to_have_text(re.compile(message))
    # Only that field complains.
    expect(page.locator("#composer [aria-invalid='true']")).to_have_count(1)
    composer(page)

    # Nothing was created: not on this page, not after a reload.
    expect(page).to_have_url(re.compile(rf"/projects/{project_id}/$"))
    assert tree(page) == []
    expect(page.locator("#version-tree li.empty")).to_be_visible()
    screenshot(page)
    page.reload()
    assert tree(page) == []
