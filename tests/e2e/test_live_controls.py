"""Every control that posts works after any number of live updates. A live
fragment is rendered without a request, so it carries no CSRF token of its
own: each form here is pressed after it arrived over the websocket (checked:
it holds no token), and each does its job."""

import re

from playwright.sync_api import Page, expect

from tests.e2e.helpers import (
    add_member,
    create_project,
    fill_composer,
    generate,
    sign_up,
    wait_for_status,
    wait_live,
    wait_until,
)

COUNT_LIVE = """
window.__live = 0;
document.addEventListener('htmx:wsAfterMessage', () => { window.__live += 1; });
"""


def live_messages(page: Page) -> int:
    return page.evaluate("window.__live || 0")


def change_outside(studio, *, project_id: int, number: int, **fields) -> None:
    """Change a version as another process would (a worker on another
    machine): in the database, with its event number, and no message to this
    server; its hub finds out at its next heartbeat."""
    assignments = ", ".join(f"{name}={value!r}" for name, value in fields.items())
    studio.manage(
        "shell",
        "-c",
        "from django.db.models import F\n"
        "from projects.models import Project, Version\n"
        f"Project.objects.filter(pk={project_id}).update(event_seq=F('event_seq') + 1)\n"
        f"seq = Project.objects.get(pk={project_id}).event_seq\n"
        f"Version.objects.filter(project_id={project_id}, number={number})"
        f".update(event_seq=seq, lease_until=None, {assignments})\n",
    )


def add_text_version(studio, *, project_id: int, number: int, status: str, **fields) -> None:
    extra = "".join(f", {name}={value!r}" for name, value in fields.items())
    studio.manage(
        "shell",
        "-c",
        "from django.db.models import F\n"
        "from projects.models import Project, Version\n"
        f"project = Project.objects.get(pk={project_id})\n"
        "author = project.versions.get(number=1).author\n"
        f"Project.objects.filter(pk={project_id}).update(last_version_number={number},"
        " event_seq=F('event_seq') + 1)\n"
        f"seq = Project.objects.get(pk={project_id}).event_seq\n"
        f"Version.objects.create(project=project, number={number}, kind='text_to_video',"
        f" prompt='A kite over a hill, take {number}', aspect_ratio='16:9', resolution='480p',"
        f" duration_seconds=3, engine='local', status={status!r}, author=author,"
        f" event_seq=seq, created_seq=seq{extra})\n",
    )


def press(page: Page, form, button_name: str) -> None:
    """Press a posting form's button once it came in a live update."""
    expect(form).to_have_count(1, timeout=20_000)
    # Rendered without a request: no token of its own.
    expect(form.locator("input[name=csrfmiddlewaretoken]")).to_have_count(0, timeout=20_000)
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        form.get_by_role("button", name=button_name).click()
    assert answer.value.status in (200, 302), (button_name, answer.value.status)


def open_fresh(page: Page, project_id: int, number: int) -> str:
    """Load a version's page; its panel's id."""
    page.goto(f"/projects/{project_id}/v/{number}/")
    wait_live(page)
    return page.evaluate("document.querySelector('#version-panel').dataset.versionId")


def test_every_posting_control_works_after_live_updates(new_context, studio, screenshot):
    owner = new_context().new_page()
    owner_name = sign_up(owner, "owner")
    project_id = create_project(owner, "Live controls")
    editor = new_context().new_page()
    editor_name = sign_up(editor, "editor")
    add_member(studio, username=editor_name, project_id=project_id, role="editor")
    reviewer = new_context().new_page()
    reviewer_name = sign_up(reviewer, "reviewer")
    add_member(studio, username=reviewer_name, project_id=project_id, role="reviewer")
    owner.add_init_script(script=COUNT_LIVE)

    # The editor starts a long render; the owner watches it live.
    editor.goto(f"/projects/{project_id}/")
    wait_live(editor)
    fill_composer(editor, prompt="A red kite over a green hill", duration=10, resolution="1080p")
    v1 = generate(editor, project_id)
    open_fresh(owner, project_id, v1.number)
    before = live_messages(owner)
    wait_until(
        lambda: live_messages(owner) >= before + 3,
        timeout=30_000,
        message="three live updates on the owner's page",
    )

    # Cancel: the running render stops.
    press(owner, owner.locator(f"#status-{v1.pk} form", has_text="Cancel"), f"Cancel v{v1.number}")
    wait_for_status(owner, v1, "cancelled")

    # Retry: a version another process marked failed; its status comes live.
    add_text_version(studio, project_id=project_id, number=2, status="failed")
    v2 = open_fresh(owner, project_id, 2)
    change_outside(
        studio,
        project_id=project_id,
        number=2,
        error_kind="unavailable",
        error_message="The engine was down.",
    )
    expect(owner.locator(f"#status-{v2}")).to_contain_text("The engine was down.", timeout=20_000)
    press(owner, owner.locator(f"#status-{v2} form", has_text="Retry"), "Retry v2")
    expect(owner.locator(f"#status-{v2} [data-status]")).to_have_attribute(
        "data-status", "ready", timeout=60_000
    )

    # Submit again, and Cancel, on versions that need a decision.
    for number, choice, result in (
        (3, "Submit again (may be charged twice)", "ready"),
        (4, "Cancel", "cancelled"),
    ):
        add_text_version(studio, project_id=project_id, number=number, status="failed")
        pk = open_fresh(owner, project_id, number)
        change_outside(
            studio,
            project_id=project_id,
            number=number,
            status="reconcile",
            error_kind="uncertain",
            error_message="It may have been charged.",
        )
        # The panel is fetched again once the version needs a decision; the
        # next change comes live.
        expect(owner.locator(f"#status-{pk}")).to_contain_text("It may have been charged.")
        change_outside(
            studio,
            project_id=project_id,
            number=number,
            error_message="It may have been charged: choose below.",
        )
        expect(owner.locator(f"#status-{pk}")).to_contain_text("choose below", timeout=20_000)
        press(owner, owner.locator(f"#status-{pk} form", has_text="Submit again"), choice)
        expect(owner.locator(f"#status-{pk} [data-status]")).to_have_attribute(
            "data-status", result, timeout=60_000
        )

    # Pick: the reviewer approves v2; the owner's review tools come live.
    open_fresh(owner, project_id, 2)
    reviewer.goto(f"/projects/{project_id}/v/2/")
    wait_live(reviewer)
    reviewer.locator(f"#reviews-{v2}").get_by_role("button", name="Approve v2").click()
    expect(owner.locator(f"#reviews-{v2}")).to_contain_text("Approved", timeout=20_000)
    press(owner, owner.locator(f"#reviews-{v2} form", has_text="Pick v2"), "Pick v2 as the winner")
    expect(owner.locator(f"#marks-{v2} [data-pick]")).to_have_count(1, timeout=20_000)

    # The workspace's page: change a role, withdraw an invitation, remove.
    owner.goto("/")
    owner.get_by_role("navigation", name="Workspaces").get_by_role(
        "link", name=f"{owner_name}'s studio"
    ).click()
    owner.get_by_role("link", name=re.compile("members, invitations and region")).click()
    row = owner.locator("tr", has_text=editor_name)
    row.get_by_label(f"Role of {editor_name}").select_option("viewer")
    row.get_by_role("button", name="Change role").click()
    expect(owner.locator(".messages")).to_contain_text(f"{editor_name} is now viewer")
    owner.get_by_role("button", name="Create an invitation link").click()
    expect(owner.locator("#invite-link")).to_be_visible()
    owner.get_by_role("button", name="Withdraw").click()
    expect(owner.get_by_role("button", name="Withdraw")).to_have_count(0)
    owner.locator("tr", has_text=reviewer_name).get_by_role(
        "button", name=f"Remove {reviewer_name}"
    ).click()
    expect(owner.locator(".messages")).to_contain_text(f"{reviewer_name} was removed")
    expect(owner.locator("tr", has_text=reviewer_name)).to_have_count(0)
    screenshot(owner)
