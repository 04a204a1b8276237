"""A sequence page's socket: told of its sequence's renders as they are
queued, move on and finish; never of another sequence's, never of the
project's version events; members only. Real communicators against the real
ASGI application and hub, and a real render by the local engine."""

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from projects.models import Membership
from projects.services import sequences, team
from projects.services.sequences import ClipSpec
from studio.asgi import application
from tests.factories import MembershipFactory
from tests.projects.live.conftest import closes, connect_as, receive_containing, session_cookie
from tests.projects.sequence_clips import ready_version

pytestmark = pytest.mark.django_db(transaction=True)


async def sequence_socket(user, sequence) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if user is not None:
        headers.append((b"cookie", await session_cookie(user)))
    path = f"/ws/projects/{sequence.project_id}/sequences/{sequence.pk}/"
    return WebsocketCommunicator(application, path, headers)


async def told(communicator, *, limit: int = 50) -> list[str]:
    """What the page was told until it heard nothing for a second."""
    heard = []
    for _ in range(limit):
        try:
            heard.append(await communicator.receive_from(timeout=1))
        except TimeoutError:
            break
    return heard


def changes(heard: list[str], sequence) -> int:
    return heard.count(json.dumps({"sequence_changed": sequence.pk}))


@pytest.fixture
def cut(project, member, tasks):
    clip = ready_version(project, member, tasks)
    make = sequences.sequence_create

    def one(title):
        return make(
            project=project,
            membership=member,
            title=title,
            resolution="480p",
            clips=[ClipSpec(clip.number, 0.0, 2.0)],
        )

    return one("Launch cut"), one("Teaser")


async def test_a_render_is_told_to_its_sequence_pages_as_it_is_queued_moves_on_and_is_ready(
    project, member, tasks, cut
):
    launch, teaser = cut
    reviewer = await sync_to_async(MembershipFactory)(
        workspace=project.workspace, role=Membership.Role.REVIEWER
    )
    watching = await sequence_socket(reviewer.user, launch)
    elsewhere = await sequence_socket(reviewer.user, teaser)
    project_page = await connect_as(reviewer.user, project)
    for communicator in (watching, elsewhere, project_page):
        assert (await communicator.connect())[0]
        await receive_containing(communicator, "heartbeat")

    render = await sync_to_async(sequences.sequence_render)(sequence=launch, membership=member)
    assert changes(await told(watching), launch) == 1
    await sync_to_async(tasks)()  # the render, made by the local engine
    await sync_to_async(render.refresh_from_db)()
    assert render.status == "ready", render.error_message
    # Claimed, its progress, ready: each told (and fetched by the page).
    assert changes(await told(watching), launch) >= 2

    assert not any("sequence_changed" in m for m in await told(elsewhere))
    assert not any("sequence_changed" in m for m in await told(project_page))
    for communicator in (watching, elsewhere, project_page):
        await communicator.disconnect()


async def test_only_members_open_a_sequence_page_socket(project, member, cut):
    launch, _ = cut
    stranger = await sync_to_async(MembershipFactory)()
    for user in (stranger.user, None):
        communicator = await sequence_socket(user, launch)
        assert not (await communicator.connect())[0]
    # A sequence of another project, through this project's path: no such sequence.
    other = await sync_to_async(MembershipFactory)(workspace=project.workspace)
    communicator = WebsocketCommunicator(
        application,
        f"/ws/projects/{project.pk + 1000}/sequences/{launch.pk}/",
        [
            (b"origin", b"http://testserver"),
            (b"host", b"testserver"),
            (b"cookie", await session_cookie(other.user)),
        ],
    )
    assert not (await communicator.connect())[0]


async def test_a_removed_member_s_sequence_page_closes(project, member, cut):
    launch, _ = cut
    reviewer = await sync_to_async(MembershipFactory)(
        workspace=project.workspace, role=Membership.Role.REVIEWER
    )
    communicator = await sequence_socket(reviewer.user, launch)
    assert (await communicator.connect())[0]
    await receive_containing(communicator, "heartbeat")
    await sync_to_async(team.membership_remove)(by=member, target=reviewer)
    assert await closes(communicator) == 4403
