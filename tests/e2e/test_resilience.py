"""Scenario 6: the websocket drops mid-generation; the page falls back to
polling, the version still reaches ready, and the socket comes back."""

import pytest
from playwright.sync_api import WebSocketRoute, expect

from tests.e2e.helpers import (
    POLLING_TEXT,
    UNFINISHED,
    assert_not_reloaded,
    create_project,
    fill_composer,
    generate,
    mark_no_reload,
    sign_up,
    status_badge,
    tree_node,
    wait_for_status,
    wait_live,
)

pytestmark = pytest.mark.e2e

# htmx's ws extension retries after 1006 with full-jitter backoff capped at
# 64 s: that bounds how long reconnecting can take.
RECONNECT_TIMEOUT = 70_000


class Network:
    """Every websocket the page opens goes through here: passed to the studio,
    or, while the network is cut, dropped as an abnormal closure (1006)."""

    def __init__(self):
        self.cut = False
        self.open: list[WebSocketRoute] = []
        self.refused = 0

    def route(self, ws: WebSocketRoute) -> None:
        if self.cut:
            self.refused += 1
            ws.close(code=1006, reason="network down")
            return
        self.open.append(ws)
        ws.connect_to_server()

    def cut_now(self) -> None:
        self.cut = True
        for ws in self.open:
            ws.close(code=1006, reason="network down")
        self.open.clear()


def test_generation_survives_a_dropped_websocket(page, screenshot):
    network = Network()
    page.route_web_socket("**/ws/projects/**", network.route)
    sign_up(page, "offline")
    project_id = create_project(page, "Bumpy connection")

    # Ten seconds of video: long enough to still be rendering when the
    # socket is cut; checked below rather than assumed.
    fill_composer(page, prompt="Rain on a tin roof, slow and steady", duration=10)
    mark_no_reload(page)
    v1 = generate(page, project_id)
    wait_live(page)

    network.cut_now()
    expect(page.locator("#live-status")).to_have_text(POLLING_TEXT)
    at_cut = status_badge(page, v1).get_attribute("data-status")
    assert at_cut in UNFINISHED, f"v1 was already {at_cut} when the socket dropped"

    # Only polling can bring the rest of the story now.
    wait_for_status(page, v1, "ready")
    expect(page.locator("#live-status")).to_have_text(POLLING_TEXT)
    expect(page.locator(f"#media-{v1.pk} video.player")).to_be_visible()
    expect(tree_node(page, 1).locator(".badge")).to_have_attribute("data-status", "ready")
    assert network.refused >= 1, "the page never tried to reconnect"
    assert not network.open
    screenshot(page, "test_generation_survives_a_dropped_websocket_polling")

    network.cut = False
    wait_live(page, timeout=RECONNECT_TIMEOUT)
    assert len(network.open) == 1
    assert_not_reloaded(page)
    screenshot(page)


class Silence:
    """Every websocket reaches the studio, but while silent nothing the
    studio sends reaches the page: a socket that is open and says nothing."""

    def __init__(self):
        self.silent = False
        self.connections = 0

    def route(self, ws: WebSocketRoute) -> None:
        self.connections += 1
        server = ws.connect_to_server()
        server.on_message(lambda message: None if self.silent else ws.send(message))


def test_a_silent_socket_is_noticed_and_polling_takes_over(page, screenshot):
    silence = Silence()
    page.route_web_socket("**/ws/projects/**", silence.route)
    sign_up(page, "quiet")
    project_id = create_project(page, "Quiet connection")
    fill_composer(page, prompt="Snow falling past a streetlight", duration=10)
    mark_no_reload(page)
    v1 = generate(page, project_id)
    wait_live(page)

    silence.silent = True
    # Open but silent past its bound (6 s here): the page says so and polls.
    expect(page.locator("#live-status")).to_have_text(
        "Live updates paused (checking every 2 s)", timeout=15_000
    )
    wait_for_status(page, v1, "ready")
    expect(page.locator(f"#media-{v1.pk} video.player")).to_be_visible()
    screenshot(page, "test_a_silent_socket_polling")

    # The page tried a new socket meanwhile; once the studio is heard again
    # it is live.
    silence.silent = False
    wait_live(page, timeout=RECONNECT_TIMEOUT)
    assert silence.connections >= 2
    assert_not_reloaded(page)
