"""Scenario 3 (this round's part): two members watch the same project live; a
viewer can watch but not generate."""

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import (
    RENDER_TIMEOUT,
    add_member,
    assert_not_reloaded,
    create_project,
    csrf_token,
    fill_composer,
    generate,
    mark_no_reload,
    sign_up,
    tree,
    tree_node,
    wait_for_status,
    wait_live,
)

pytestmark = pytest.mark.e2e


def test_two_members_see_each_others_generations_live(new_context, studio, screenshot):
    owner = new_context().new_page()
    sign_up(owner, "owner")
    project_id = create_project(owner, "Shared spot")

    editor = new_context().new_page()
    editor_name = sign_up(editor, "teammate")
    add_member(studio, username=editor_name, project_id=project_id, role="editor")
    editor.goto(f"/projects/{project_id}/")
    expect(editor.locator(".project-head")).to_contain_text("your role: editor")
    wait_live(editor)
    mark_no_reload(editor)

    # The owner generates; the teammate's page shows it arrive and finish.
    fill_composer(owner, prompt="A lighthouse beam sweeping over night waves")
    v1 = generate(owner, project_id)
    expect(tree_node(editor, 1)).to_be_visible()
    expect(tree_node(editor, 1)).to_contain_text("A lighthouse beam")
    expect(tree_node(editor, 1).locator(".badge")).to_have_attribute(
        "data-status", "ready", timeout=RENDER_TIMEOUT
    )
    wait_for_status(owner, v1, "ready")
    assert_not_reloaded(editor)

    # And the other way round.
    mark_no_reload(owner)
    fill_composer(editor, prompt="Morning fog lifting off the harbour")
    v2 = generate(editor, project_id)
    expect(tree_node(owner, 2)).to_be_visible()
    expect(tree_node(owner, 2)).to_contain_text(editor_name)
    expect(tree_node(owner, 2).locator(".badge")).to_have_attribute(
        "data-status", "ready", timeout=RENDER_TIMEOUT
    )
    wait_for_status(editor, v2, "ready")
    assert_not_reloaded(owner)
    assert tree(owner) == tree(editor) == [(1, None), (2, None)]
    screenshot(owner, "test_two_members_owner_view")
    screenshot(editor, "test_two_members_editor_view")


def test_viewer_cannot_generate(new_context, studio, screenshot, base_url):
    owner = new_context().new_page()
    sign_up(owner, "owner")
    project_id = create_project(owner, "Review only")
    fill_composer(owner, prompt="A red kite over a green hill")
    v1 = generate(owner, project_id)
    wait_for_status(owner, v1, "ready")

    viewer = new_context().new_page()
    viewer_name = sign_up(viewer, "viewer")
    add_member(studio, username=viewer_name, project_id=project_id, role="viewer")
    viewer.goto(f"/projects/{project_id}/")
    expect(viewer.locator(".project-head")).to_contain_text("your role: viewer")
    wait_live(viewer)
    expect(viewer.locator("#version-panel video.player")).to_be_visible()
    expect(viewer.locator("#composer")).to_have_count(0)
    expect(viewer.locator("#upload-form")).to_have_count(0)
    expect(viewer.locator("#edit-form")).to_have_count(0)
    assert tree(viewer) == [(1, None)]

    # The request a composer would send, from the viewer's own page.
    response = viewer.request.post(
        f"{base_url}/projects/{project_id}/generate/",
        headers={"X-CSRFToken": csrf_token(viewer), "HX-Request": "true"},
        multipart={
            "mode": "text",
            "engine": "local",
            "prompt": "Sneaking in a version",
            "aspect_ratio": "16:9",
            "duration_seconds": "3",
            "resolution": "480p",
        },
    )
    assert response.status == 403, response.status
    assert "hx-location" not in response.headers, response.headers
    body = response.text()
    assert "only owners and editors can generate" in body, body
    assert "viewer" in body, body

    viewer.reload()
    assert tree(viewer) == [(1, None)]
    owner.reload()
    assert tree(owner) == [(1, None)]
    screenshot(viewer)
