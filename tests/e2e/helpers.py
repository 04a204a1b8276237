"""What a person does in the studio, as Playwright steps.

Every wait here is on the page (a URL, an attribute, a text), with a timeout;
nothing sleeps and hopes.
"""

from __future__ import annotations

import io
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageDraw
from playwright.sync_api import Locator, Page, expect

PASSWORD = "e2e-Correct-Horse-4217"
UNFINISHED = ("queued", "submitting", "generating", "saving")
FINISHED = ("ready", "failed", "blocked", "cancelled", "reconcile")
# A 3–10 s 480p render on the local engine takes a few seconds; leave room
# for a slow CI machine.
RENDER_TIMEOUT = 60_000
POLLING_TEXT = "Reconnecting… (checking every 2 s)"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_until(condition: Callable[[], object], *, timeout: float, message: str):
    """Poll a condition (a cheap read of the page) until it is truthy."""
    deadline = time.monotonic() + timeout / 1000
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout / 1000:.0f} s: {message}")
        time.sleep(0.05)


# Accounts and projects.


def sign_up(page: Page, prefix: str = "user") -> str:
    username = unique(prefix)
    page.goto("/accounts/signup/")
    page.locator("#id_username").fill(username)
    page.locator("#id_email").fill(f"{username}@example.com")
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Projects", exact=True)).to_be_visible()
    expect(page.get_by_role("navigation", name="Account")).to_contain_text(username)
    return username


def invite(page: Page, role: str) -> str:
    """As an owner: an invitation link from the workspace settings."""
    page.goto("/")
    page.get_by_role("link", name=re.compile(r"'s studio$")).first.click()
    page.get_by_role("link", name=re.compile(r"members, invitations and region")).click()
    page.get_by_label("Role", exact=True).select_option(role)
    page.get_by_role("button", name="Create an invitation link").click()
    return page.get_by_label("Invitation link").input_value()


def sign_up_from_invitation(page: Page, link: str, prefix: str = "invitee") -> str:
    """Signed out, open an invitation link, create an account from it, and
    join: the link is carried through sign-in and sign-up to the join page."""
    username = unique(prefix)
    page.goto(link)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.locator(".invited")).to_contain_text("You have been invited to")
    page.get_by_role("link", name="Create an account").click()
    expect(page.locator(".invited")).to_contain_text("Create your account, then join.")
    page.locator("#id_username").fill(username)
    page.locator("#id_email").fill(f"{username}@example.com")
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Join "))).to_be_visible()
    page.get_by_role("button", name="Join the workspace").click()
    expect(page.locator(".messages")).to_contain_text("You joined")
    return username


def create_project(page: Page, title: str) -> int:
    page.goto("/")
    page.get_by_label("Title").fill(title)
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page).to_have_url(re.compile(r"/projects/\d+/$"))
    expect(page.locator("#project-title")).to_have_text(title)
    wait_live(page)
    return int(re.search(r"/projects/(\d+)/$", page.url).group(1))


def add_member(studio, *, username: str, project_id: int, role: str) -> None:
    """There is no invite screen yet: add the membership as an admin would."""
    studio.manage(
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model\n"
        "from projects.models import Membership, Project\n"
        f"user = get_user_model().objects.get(username={username!r})\n"
        f"workspace = Project.objects.get(pk={project_id}).workspace\n"
        f"Membership.objects.create(user=user, workspace=workspace, role={role!r})\n",
    )


def csrf_token(page: Page) -> str:
    return json.loads(page.locator("body").get_attribute("hx-headers"))["X-CSRFToken"]


# The live connection.


def wait_live(page: Page, timeout: float = 15_000) -> None:
    expect(page.locator("#live-status")).to_have_text("Live", timeout=timeout)


def mark_no_reload(page: Page) -> None:
    """Tag the window: the tag survives htmx swaps, not a page load."""
    page.evaluate("() => { window.__e2eSameDocument = true; }")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("() => window.__e2eSameDocument === true"), "the page was reloaded"


# Generating.


def still_png(width: int = 720, height: int = 1280) -> bytes:
    """A portrait still with things you can see move: a sun, a horizon, a bar."""
    image = Image.new("RGB", (width, height), (24, 48, 120))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, height * 0.62, width, height), fill=(30, 120, 60))
    r = width * 0.22
    cx, cy = width * 0.5, height * 0.38
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(250, 200, 40))
    draw.rectangle((width * 0.1, height * 0.08, width * 0.9, height * 0.14), fill=(220, 30, 60))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def composer(page: Page) -> Locator:
    form = page.locator("#composer")
    # Its fields, not just its box: the form has to still hold its fields
    # once the cost estimate has loaded into it.
    expect(form.locator("#id_prompt"), "the composer shows its prompt field").to_be_visible()
    expect(form.get_by_role("button", name="Generate")).to_be_visible()
    return form


def fill_composer(
    page: Page,
    *,
    prompt: str,
    aspect_ratio: str = "16:9",
    duration: int = 3,
    resolution: str = "480p",
    fps: int | None = None,
    still: bytes | None = None,
) -> Locator:
    form = composer(page)
    expect(form.locator("#id_engine")).to_have_value("local")
    if still is not None:
        form.get_by_label("From a still").check()
        form.locator("#id_image").set_input_files(
            {"name": "poster.png", "mimeType": "image/png", "buffer": still}
        )
    form.locator("#id_prompt").fill(prompt)
    form.locator("#id_aspect_ratio").select_option(aspect_ratio)
    form.locator("#id_duration_seconds").select_option(str(duration))
    form.locator("#id_resolution").select_option(resolution)
    if fps is not None:
        form.locator("#id_fps").select_option(str(fps))
    return form


@dataclass(frozen=True)
class Shown:
    """The version the panel shows."""

    number: int
    pk: int


def shown_version(page: Page) -> Shown | None:
    return Shown(**data) if (data := page.evaluate(_SHOWN_JS)) else None


_SHOWN_JS = """() => {
  const panel = document.querySelector('#version-panel[data-version-number]');
  const media = panel && panel.querySelector('.media[id^="media-"]');
  return media ? {number: +panel.dataset.versionNumber, pk: +media.id.slice(6)} : null;
}"""


def wait_for_new_version(page: Page, before: Shown | None, project_id: int) -> Shown:
    """After a submit: the studio takes the page to the new version."""
    shown = wait_until(
        lambda: (s := shown_version(page)) and s != before and s,
        timeout=20_000,
        message="the page to show the new version",
    )
    expect(page).to_have_url(re.compile(rf"/projects/{project_id}/v/{shown.number}/$"))
    return shown


def generate(page: Page, project_id: int) -> Shown:
    """Press Generate on a filled-in composer; the new version is shown."""
    before = shown_version(page)
    page.locator("#composer").get_by_role("button", name="Generate").click()
    return wait_for_new_version(page, before, project_id)


def status_badge(page: Page, version: Shown) -> Locator:
    return page.locator(f"#status-{version.pk} .badge[data-status]")


# Installed in every page (see conftest.py): the studio's script fetches the
# version panel again when the version on screen finishes, and changes the
# panel's data-status just before. A panel whose data-status was changed in
# place is therefore about to be replaced; one that came from the server is
# not marked.
WATCH_PANEL = """(() => {
  new MutationObserver((records) => {
    for (const record of records) {
      if (record.target.id === 'version-panel') record.target.__e2eReplacing = true;
    }
  }).observe(document,
    {subtree: true, attributes: true, attributeFilter: ['data-status']});
})();"""

_PANEL_SETTLED = """([pk, status]) => {
  const panel = document.getElementById('version-panel');
  return !panel || panel.dataset.versionId !== String(pk)
    || (panel.dataset.status === status && !panel.__e2eReplacing);
}"""


def wait_for_status(
    page: Page, version: Shown, status: str = "ready", timeout: float = RENDER_TIMEOUT
) -> None:
    """Wait until the version's status badge settles; fail early and with the
    studio's message if it settles on another status. If the panel shows the
    version, wait for the panel the studio then fetches again (its player,
    edit box and review tools), so nothing is swapped out under the test."""
    badge = status_badge(page, version)
    settled = "|".join(FINISHED if status in FINISHED else (status, *FINISHED))
    expect(badge).to_have_attribute("data-status", re.compile(rf"^({settled})$"), timeout=timeout)
    actual = badge.get_attribute("data-status")
    if actual != status:
        raise AssertionError(
            f"v{version.number} is {actual}, not {status}: "
            f"{page.locator(f'#status-{version.pk}').inner_text()}"
        )
    if status in FINISHED:
        wait_until(
            lambda: page.evaluate(_PANEL_SETTLED, [version.pk, status]),
            timeout=20_000,
            message=f"the panel of v{version.number} to be fetched again once {status}",
        )


def make_edit(page: Page, project_id: int, instruction: str) -> Shown:
    """Edit the shown version, keeping everything else the same."""
    form = page.locator("#edit-form")
    expect(form, "the ready version offers its edit box").to_be_visible()
    form.get_by_label("What to change").fill(instruction)
    expect(form.get_by_label("Keep everything else the same")).to_be_checked()
    before = shown_version(page)
    form.get_by_role("button", name="Make the edit").click()
    return wait_for_new_version(page, before, project_id)


# The tree.


def tree(page: Page) -> list[tuple[int, int | None]]:
    """(number, parent number) of every node, in the tree's order."""
    return [
        (int(n), int(p) if p else None)
        for n, p in page.evaluate(
            """() => [...document.querySelectorAll('#version-tree li[data-number]')]
                 .map(li => [li.dataset.number, li.dataset.parent])"""
        )
    ]


def tree_node(page: Page, number: int) -> Locator:
    return page.locator(f'#version-tree li[data-number="{number}"]')


def open_version(page: Page, project_id: int, number: int) -> Shown:
    """Select a version in the tree (htmx swaps the panel in)."""
    tree_node(page, number).locator(":scope > .node-row a.node-link").click()
    expect(page.locator("#version-panel")).to_have_attribute("data-version-number", str(number))
    expect(page).to_have_url(re.compile(rf"/projects/{project_id}/v/{number}/$"))
    return shown_version(page)


def grow_tree(studio, *, project_id: int, count: int) -> None:
    """Add count ready versions to a project, as a month of edits leaves it:
    a bushy tree on its v1, each reusing v1's video (so any can be edited).
    They carry the project's latest event number, as if every open page had
    heard of them: no page is told to catch up on events never sent."""
    studio.manage(
        "shell",
        "-c",
        "from projects.models import Project, Version\n"
        "from tests.projects.trees import parent_number\n"
        f"project = Project.objects.get(pk={project_id})\n"
        "first = project.versions.get(number=1)\n"
        "seen = project.event_seq\n"
        "made = {1: first.pk}\n"
        f"for number in range(2, {count} + 2):\n"
        "    parent = parent_number('bushy', number) or 1\n"
        "    made[number] = Version.objects.create(\n"
        "        project=project, parent_id=made[parent], number=number, kind='edit',\n"
        "        prompt=f'Version {number}: a little warmer. Keep everything else the same.',\n"
        "        instruction=f'Take {number}: a little warmer',\n"
        "        aspect_ratio=first.aspect_ratio, resolution=first.resolution,\n"
        "        duration_seconds=first.duration_seconds, engine='local', model='local-1',\n"
        "        status='ready', video=first.video.name, poster=first.poster.name,\n"
        "        width=first.width, height=first.height, video_duration=first.video_duration,\n"
        "        has_audio=first.has_audio, interaction_id=f'local-grown-{number}',\n"
        "        author=first.author, event_seq=seen, created_seq=seen,\n"
        "    ).pk\n"
        f"Project.objects.filter(pk={project_id}).update(last_version_number={count} + 1)\n",
        timeout=180,
    )


def maker_and_reviewer(new_context, *, title: str, prompt: str) -> tuple[Page, Page, int, Shown]:
    """An editor who generated a ready 4 s v1 and a reviewer they invited,
    both on v1's page, live, with its video loaded."""
    maker = new_context().new_page()
    sign_up(maker, "maker")
    project_id = create_project(maker, title)
    fill_composer(maker, prompt=prompt, duration=4)
    v1 = generate(maker, project_id)
    wait_for_status(maker, v1, "ready")
    link = invite(maker, "reviewer")

    reviewer = new_context().new_page()
    sign_up(reviewer, "reviewer")
    reviewer.goto(link)
    reviewer.get_by_role("button", name="Join the workspace").click()
    for page in (reviewer, maker):
        page.goto(f"/projects/{project_id}/v/1/")
        wait_live(page)
        expect(page.locator(f"#player-{v1.pk}")).to_have_js_property(
            "readyState", 4, timeout=20_000
        )
    return maker, reviewer, project_id, v1


def drag_box(
    page: Page,
    player_pk: int,
    start: tuple[float, float],
    end: tuple[float, float],
    *,
    player: str = "player-",
):
    """Draw a box on the player's drawing layer with the mouse, from and to
    points given as fractions of the picture (a render's player is
    ``render-player-``)."""
    layer = page.locator(f'svg.drawing-layer[data-for="{player}{player_pk}"]')
    area = layer.bounding_box()
    page.mouse.move(area["x"] + area["width"] * start[0], area["y"] + area["height"] * start[1])
    page.mouse.down()
    page.mouse.move(
        area["x"] + area["width"] * end[0], area["y"] + area["height"] * end[1], steps=6
    )
    page.mouse.up()


def new_sequence(
    page: Page,
    project_id: int,
    title: str,
    *,
    numbers: tuple[int, ...],
    aspect_ratio: str = "16:9",
    resolution: str = "480p",
) -> None:
    """A sequence of these versions, whole and joined by cuts; the page
    ends on its timeline."""
    page.goto(f"/projects/{project_id}/sequences/")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Aspect ratio").select_option(aspect_ratio)
    page.get_by_label("Resolution").select_option(resolution)
    page.get_by_label("Nothing: I'll add versions by number").check()
    page.get_by_role("button", name="Create the sequence").click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    for count, number in enumerate(numbers, start=1):
        page.get_by_label("Add version (number)").fill(str(number))
        page.get_by_role("button", name="Add version").click()
        expect(page.locator(".timeline-clip")).to_have_count(count)


def editor_with_a_ready_version(new_context, *, title: str, prompt: str) -> tuple[Page, int]:
    """A new editor's page on a new project whose 3 s v1 is ready."""
    page = new_context().new_page()
    sign_up(page, "editor")
    project_id = create_project(page, title)
    fill_composer(page, prompt=prompt)
    v1 = generate(page, project_id)
    wait_for_status(page, v1, "ready")
    return page, project_id
