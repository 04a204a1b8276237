import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from projects.live.hub import get_hub
from studio.asgi import application


@pytest.fixture(autouse=True)
def _quick_live(settings):
    settings.STUDIO_LIVE_PRESENCE_SECONDS = 0.05
    settings.STUDIO_LIVE_HEARTBEAT_SECONDS = 0.5


@pytest.fixture(autouse=True)
async def _hub_closed():
    yield
    hub = get_hub()
    await hub.close()
    if hasattr(hub.layer, "close_pools"):  # Redis: its connections belong to this loop
        await hub.layer.close_pools()


@sync_to_async
def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def connect_as(
    user, project, *, origin="http://testserver", host="testserver", since=None
) -> WebsocketCommunicator:
    headers = [(b"origin", origin.encode()), (b"host", host.encode())]
    if user is not None:
        headers.append((b"cookie", await session_cookie(user)))
    query = "" if since is None else f"?since={since}"
    return WebsocketCommunicator(application, f"/ws/projects/{project.pk}/{query}", headers)


async def receive_containing(communicator, text: str, *, limit: int = 200, timeout=5) -> str:
    """The next message containing text, skipping others (heartbeats, and the
    presence announcements of the pages that connected after this one)."""
    for _ in range(limit):
        message = await communicator.receive_from(timeout=timeout)
        if text in message:
            return message
    raise AssertionError(f"No message containing {text!r}")


async def closes(communicator) -> int | None:
    """The code the server closes the socket with (after any messages in flight)."""
    for _ in range(20):
        output = await communicator.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            return output.get("code")
    return None
