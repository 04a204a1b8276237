"""An editor in a browser follows a generation while 300 other sockets watch
the same project: the page shows each state as it comes, and Cancel stops
the render. Slow (it opens 300 sockets): `uv run pytest -m slow`."""

from __future__ import annotations

import asyncio
import json
import re
import threading

import pytest
from playwright.sync_api import expect
from websockets.asyncio.client import connect

from tests.e2e.helpers import (
    add_member,
    create_project,
    fill_composer,
    generate,
    sign_up,
    wait_for_status,
    wait_until,
)

pytestmark = pytest.mark.slow
WATCHERS = 300

SESSIONS = """
import json
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from projects.models import Membership, Project
User = get_user_model()
workspace = Project.objects.get(pk={project_id}).workspace
users = User.objects.bulk_create(
    User(username=f"watcher-{{n:03d}}", password="!") for n in range({count})
)
users = list(User.objects.filter(username__startswith="watcher-"))
Membership.objects.bulk_create(
    Membership(user=u, workspace=workspace, role="viewer") for u in users
)
keys = []
for user in users:
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    keys.append(store.session_key)
print(json.dumps(keys))
"""


class Crowd:
    """Sockets held open in a thread of their own, counting what they get."""

    def __init__(self, base_url: str, project_id: int, sessions: list[str]):
        self.host = base_url.removeprefix("http://")
        self.project_id = project_id
        self.sessions = sessions
        self.open = 0
        self.messages = 0
        self.loop = asyncio.new_event_loop()
        self.stopping: asyncio.Event | None = None
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self.run(),))

    async def one(self, session: str) -> None:
        async with connect(
            f"ws://{self.host}/ws/projects/{self.project_id}/",
            additional_headers={"Cookie": f"sessionid={session}", "Origin": f"http://{self.host}"},
            open_timeout=60,
            ping_interval=None,
        ) as socket:
            self.open += 1
            receiving = asyncio.ensure_future(self.count(socket))
            await self.stopping.wait()
            receiving.cancel()

    async def count(self, socket) -> None:
        async for _ in socket:
            self.messages += 1

    async def run(self) -> None:
        self.stopping = asyncio.Event()
        await asyncio.gather(*(self.one(s) for s in self.sessions), return_exceptions=True)

    def __enter__(self) -> Crowd:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self.stopping.set)
        self.thread.join(30)


def test_a_crowd_watches_and_cancel_still_stops_the_render(new_context, studio, base_url):
    owner = new_context().new_page()
    sign_up(owner, "owner")
    project_id = create_project(owner, "Watched by many")
    editor = new_context().new_page()
    editor_name = sign_up(editor, "editor")
    add_member(studio, username=editor_name, project_id=project_id, role="editor")
    sessions = json.loads(
        studio.manage("shell", "-c", SESSIONS.format(project_id=project_id, count=WATCHERS))
        .strip()
        .splitlines()[-1]
    )

    with Crowd(base_url, project_id, sessions) as crowd:
        wait_until(lambda: crowd.open == WATCHERS, timeout=60_000, message="300 sockets open")
        editor.goto(f"/projects/{project_id}/")
        expect(editor.locator("#presence")).to_have_attribute(
            "data-count",
            str(WATCHERS + 2),
            timeout=20_000,  # and the owner and the editor
        )
        fill_composer(editor, prompt="A kite over a hill", duration=10, resolution="1080p")
        version = generate(editor, project_id)
        badge = editor.locator(f"#status-{version.pk} [data-status]")
        # Each state as it comes, with the render's percentage.
        seen: list[str] = []

        def follow() -> bool:
            status = badge.get_attribute("data-status")
            if status and (not seen or seen[-1] != status):
                seen.append(status)
            return status == "generating" and bool(
                re.search(r"\d+%", editor.locator(f"#status-{version.pk}").inner_text())
            )

        wait_until(follow, timeout=60_000, message="the render's progress on the editor's page")
        before = crowd.messages
        editor.locator(f"#status-{version.pk}").get_by_role(
            "button", name=f"Cancel v{version.number}"
        ).click()
        wait_for_status(editor, version, "cancelled")
        assert seen[-1] == "generating", seen
        # The crowd heard the version's life, the cancellation included.
        wait_until(
            lambda: crowd.messages >= before + WATCHERS,
            timeout=20_000,
            message="the crowd to hear the cancellation",
        )
    # The render stopped: no more progress is written.
    cancelled = editor.locator(f"#status-{version.pk}").inner_text()
    editor.wait_for_timeout(2000)
    editor.reload()
    expect(editor.locator(f"#status-{version.pk}")).to_have_text(cancelled)
