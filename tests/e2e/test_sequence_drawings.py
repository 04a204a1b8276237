"""A box drawn on a portrait render of two landscape clips, at a time in the
second clip, lands on that version's page: the comment at the clip's own
time, its box moved into the clip's own picture (the render showed only the
middle strip of it), drawn there over the player."""

import json

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import (
    create_project,
    drag_box,
    fill_composer,
    generate,
    new_sequence,
    sign_up,
    wait_for_status,
)
from tests.e2e.test_drawings import SEEK

pytestmark = pytest.mark.e2e

# The clips are 852 × 480; the 9:16 480p render is 480 × 852. Filling its
# height scales a clip by 852 / 480, so the render shows a strip of it
# 480 × 480 / 852 = 270.42 px wide, centred: x in the clip is
# (852 - 270.42) / 2 / 852 + x on the render × 270.42 / 852.
STRIP = 480 * 480 / 852
STRIP_LEFT = (852 - STRIP) / 2 / 852
STRIP_SCALE = STRIP / 852


def in_the_clip(box: dict) -> dict:
    return {
        **box,
        "x": STRIP_LEFT + box["x"] * STRIP_SCALE,
        "w": box["w"] * STRIP_SCALE,
    }


def near(found: dict, expected: dict) -> bool:
    return all(abs(found[k] - expected[k]) <= 0.0002 for k in ("x", "y", "w", "h"))


def test_a_box_drawn_on_a_render_is_on_the_clips_version_where_it_was(
    new_context, studio, screenshot
):
    page = new_context().new_page()
    sign_up(page, "editor")
    project_id = create_project(page, "Portrait cut")
    fill_composer(page, prompt="A red kite over a beach")
    v1 = generate(page, project_id)
    wait_for_status(page, v1, "ready")
    fill_composer(page, prompt="A lemonade stand on a sunny street")
    v2 = generate(page, project_id)
    wait_for_status(page, v2, "ready")

    # A portrait sequence of the two landscape clips (3 s each, a cut).
    new_sequence(
        page, project_id, "Portrait cut", numbers=(v1.number, v2.number), aspect_ratio="9:16"
    )
    page.get_by_role("button", name="Render").click()
    render = page.locator("#render-1")
    expect(render).to_have_attribute("data-status", "ready", timeout=120_000)

    # At 4 s of the render (1 s into v2) a box with the mouse, over the
    # middle of the portrait frame.
    player = render.locator("video.player")
    render_pk = int(player.get_attribute("id").removeprefix("render-player-"))
    player.evaluate(SEEK, 4)
    form = render.locator(".comment-form")
    form.get_by_role("button", name="Box").click()
    expect(player).to_have_js_property("paused", True)
    expect(form.get_by_label("At (seconds)")).to_have_value("4")
    drag_box(page, render_pk, (0.2, 0.3), (0.8, 0.6), player="render-player-")
    expect(form.locator(".draw-count")).to_have_text("1 shape drawn")
    (drawn,) = json.loads(form.locator(".annotation-input").input_value())
    assert drawn["kind"] == "box" and abs(drawn["x"] - 0.2) < 0.02 and abs(drawn["w"] - 0.6) < 0.02
    form.get_by_label("Comment", exact=True).fill("Keep the stand in frame")
    screenshot(page, "test_sequence_drawings_render")
    form.get_by_role("button", name="Comment on the clip playing then").click()
    expect(page.locator(".messages")).to_contain_text(
        f"Comment added to v{v2.number} at 0:01 with its drawing."
    )

    # On v2's page: the comment at 0:01, the box in v2's own picture.
    page.goto(f"/projects/{project_id}/v/{v2.number}/")
    comment = page.locator(".comment-list .comment", has_text="Keep the stand in frame")
    expect(comment).to_contain_text("(from sequence Portrait cut r1 at 0:04)")
    assert float(comment.get_attribute("data-start")) == 1.0
    (stored,) = json.loads(comment.get_attribute("data-annotation"))
    expected = in_the_clip(drawn)
    assert near(stored, expected), (stored, expected)
    assert stored["y"] == drawn["y"] and stored["h"] == drawn["h"]
    expect(comment.locator("svg.drawing-thumb")).to_have_attribute(
        "aria-label", "Drawing at 0:01: a box"
    )

    # Over the player at 0:01, where it was: in the middle strip of the picture.
    version_player = page.locator(f"#player-{v2.pk}")
    version_player.evaluate(SEEK, 1.1)
    shown = page.locator(f'svg.drawing-layer[data-for="player-{v2.pk}"] rect.shape.shown')
    expect(shown).to_have_count(1)
    attributes = {
        key: float(shown.get_attribute(name))
        for key, name in (("x", "x"), ("y", "y"), ("w", "width"), ("h", "height"))
    }
    assert near(attributes, expected), (attributes, expected)
    layer = page.locator(f'svg.drawing-layer[data-for="player-{v2.pk}"]').bounding_box()
    box = shown.bounding_box()
    on_screen = (box["x"] + box["width"] / 2 - layer["x"]) / layer["width"]
    assert abs(on_screen - (expected["x"] + expected["w"] / 2)) < 0.01, on_screen
    screenshot(page, "test_sequence_drawings_version")
    version_player.evaluate(SEEK, 2.5)
    expect(shown).to_have_count(0)
