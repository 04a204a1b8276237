"""The live hub: one render per event per role for any number of pages, one
small presence message however many come and go, and no silent page."""

import asyncio
import itertools
import json
import time

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from projects.live import fragments
from projects.live.hub import get_hub
from projects.models import Membership, Version
from projects.services import broadcast, leases
from tests.factories import MembershipFactory, ProjectFactory, VersionFactory
from tests.projects.live.conftest import closes, connect_as, receive_containing

pytestmark = pytest.mark.django_db(transaction=True)


@sync_to_async
def setup_watchers(roles: dict[str, int]):
    owner = MembershipFactory(role=Membership.Role.OWNER)
    project = ProjectFactory(workspace=owner.workspace)
    version = VersionFactory(
        project=project, number=1, status=Version.Status.GENERATING, progress=0.1, fence=1
    )
    project.last_version_number = 1
    project.save()
    members = [owner] + [
        MembershipFactory(workspace=owner.workspace, role=role)
        for role, count in roles.items()
        for _ in range(count)
    ]
    return project, version, members


async def connect_all(members, project):
    communicators = []
    for member in members:
        communicator = await connect_as(member.user, project)
        assert (await communicator.connect())[0]
        await receive_containing(communicator, "heartbeat")
        communicators.append(communicator)
    return communicators


@sync_to_async
def progress(version: Version, fraction: float) -> None:
    """A progress write, as a worker makes it."""
    version.refresh_from_db()
    leases.version_write(
        version, expect=Version.Status.GENERATING, event="progress", progress=fraction
    )


async def test_an_event_is_rendered_once_per_role_however_many_pages(db, monkeypatch):
    project, version, members = await setup_watchers({"viewer": 15, "reviewer": 14})
    communicators = await connect_all(members, project)
    renders: list[str] = []
    render = fragments._render

    def counting(context, role):
        renders.append(role)
        return render(context, role)

    monkeypatch.setattr(fragments, "_render", counting)
    await progress(version, 0.5)
    messages = [await receive_containing(c, f'id="badge-{version.pk}"') for c in communicators]
    assert sorted(renders) == ["owner", "reviewer", "viewer"]
    # Every page of a role got the same bytes; each holds the new percentage.
    assert (
        len({m for m, member in zip(messages, members, strict=True) if member.role == "viewer"})
        == 1
    )
    assert all("50%" in m for m in messages)
    # Only the owner's fragment holds the owner's control.
    owner_message = messages[0]
    assert f"Cancel {version.label}" in owner_message
    assert all(f"Cancel {version.label}" not in m for m in messages[1:])
    for communicator in communicators:
        await communicator.disconnect()


async def test_presence_is_one_small_message_for_a_burst_of_pages(db, settings):
    settings.STUDIO_LIVE_PRESENCE_SECONDS = 0.5
    project, _, members = await setup_watchers({"viewer": 20})
    first = await connect_as(members[0].user, project)
    assert (await first.connect())[0]
    await receive_containing(first, "heartbeat")
    await receive_containing(first, 'id="presence"')
    others = [await connect_as(member.user, project) for member in members[1:]]
    connected = await asyncio.gather(*(c.connect() for c in others))
    assert all(ok for ok, _ in connected)
    # The burst settles in one or two announcements, each only the list.
    seen = []
    while True:
        message = await receive_containing(first, 'id="presence"')
        seen.append(message)
        if f'data-count="{len(members)}"' in message:
            break
        assert len(seen) < 3
    assert all(m.startswith('<p id="presence"') and len(m) < 4000 for m in seen)
    # The first names, and how many more.
    assert f"and {len(members) - 12} more" in seen[-1]
    for communicator in [first, *others]:
        await communicator.disconnect()


async def test_a_hub_dropped_from_its_group_catches_up_a_heartbeat_later(db):
    project, version, members = await setup_watchers({})
    (communicator,) = await connect_all(members, project)
    hub = get_hub()
    # As a channel layer does with a membership it thinks stale.
    await get_channel_layer().group_discard(broadcast.project_group(project.pk), hub.channel)
    await progress(version, 0.7)
    message = await receive_containing(communicator, f'id="badge-{version.pk}"', timeout=3)
    assert "70%" in message
    heartbeat = await receive_containing(communicator, "heartbeat", timeout=3)
    assert json.loads(heartbeat)["heartbeat"] == 1
    await communicator.disconnect()


async def test_the_first_page_of_a_large_project_is_not_redrawn_at_the_next_heartbeats(db):
    """The hub's room starts at the number the first page read, not at
    nothing: else, two heartbeats later, it would "catch up" on every version
    ever made and redraw the tree of every page (closing what they opened)."""
    project, _version, members = await setup_watchers({})

    @sync_to_async
    def grow():
        VersionFactory.create_batch(
            fragments.CATCH_UP_LIMIT + 5, project=project, event_seq=5, created_seq=5
        )
        project.event_seq = 5
        project.save(update_fields=["event_seq"])

    await grow()
    communicator = await connect_as(members[0].user, project)
    assert (await communicator.connect())[0]
    heard = []
    while len([m for m in heard if "heartbeat" in m]) < 4:
        heard.append(await communicator.receive_from(timeout=3))
    assert not [m for m in heard if 'id="live-seq"' in m], heard
    assert json.loads(heard[-1]) == {"heartbeat": 5}
    await communicator.disconnect()


async def test_events_arriving_during_a_render_are_coalesced_in_order(db):
    project, version, members = await setup_watchers({})
    (communicator,) = await connect_all(members, project)

    def slow(batch, roles):
        time.sleep(0.3)
        return fragments.render_batch(batch, roles)

    hub = get_hub()
    for subscriber in hub.subscribers(project.pk):
        subscriber.renderer = slow
    # From another thread, as the worker writes: not the one renders run on.
    for fraction in (0.2, 0.3, 0.4, 0.5):
        await asyncio.to_thread(progress.func, version, fraction)
    covered = []
    while not covered or covered[-1][1] < 4:
        message = await receive_containing(communicator, 'id="live-seq"')
        first = int(message.split('data-first="')[1].split('"')[0])
        last = int(message.split('data-seq="')[1].split('"')[0])
        covered.append((first, last))
    # Fewer renders than events, and no number skipped or repeated.
    assert len(covered) < 4
    assert covered[0][0] == 1
    assert all(b[0] == a[1] + 1 for a, b in itertools.pairwise(covered))
    await communicator.disconnect()


@sync_to_async
def advance(version: Version, status: str) -> None:
    """A state change, as a worker writes it."""
    version.refresh_from_db()
    leases.version_write(version, expect=version.status, status=status)


async def test_every_state_is_shown_in_order_however_fast_it_changes(db):
    project, version, members = await setup_watchers({})
    (communicator,) = await connect_all(members, project)

    def slow(batch, roles):
        time.sleep(0.3)
        return fragments.render_batch(batch, roles)

    for subscriber in get_hub().subscribers(project.pk):
        subscriber.renderer = slow
    # Progress, then three states in a row, faster than one render.
    await asyncio.to_thread(progress.func, version, 0.5)
    for status in ("saving", "generating", "saving"):
        await asyncio.to_thread(advance.func, version, status)
    shown = []
    while len(shown) < 4:
        message = await receive_containing(communicator, f'id="badge-{version.pk}"')
        shown.append(message.split(f'id="badge-{version.pk}"')[1].split('data-status="')[1][:10])
    assert [s.split('"')[0] for s in shown] == ["generating", "saving", "generating", "saving"]
    await communicator.disconnect()


async def test_a_burst_of_members_connecting_at_once_all_join(db):
    # More distinct users than a Redis layer's pool has connections: each
    # joins its user's group at the same moment.
    project, version, members = await setup_watchers({"viewer": 149})
    communicators = [await connect_as(m.user, project) for m in members]
    connected = await asyncio.gather(*(c.connect(timeout=30) for c in communicators))
    assert all(ok for ok, _ in connected)
    await asyncio.gather(*(receive_containing(c, "heartbeat", timeout=30) for c in communicators))
    await progress(version, 0.6)
    messages = await asyncio.gather(
        *(receive_containing(c, f'id="badge-{version.pk}"', timeout=30) for c in communicators)
    )
    assert all("60%" in m for m in messages)
    for communicator in communicators:
        await communicator.disconnect()


async def test_a_page_the_layer_cannot_take_is_closed_to_try_again(db, monkeypatch):
    project, _, members = await setup_watchers({})
    hub = get_hub()

    async def refused(group, channel):
        raise ConnectionError("Too many connections")

    monkeypatch.setattr(hub.layer, "group_add", refused)
    communicator = await connect_as(members[0].user, project)
    assert (await communicator.connect())[0]
    assert await closes(communicator) == 1013
    assert hub.subscribers(project.pk) == set()


async def test_a_page_that_cannot_take_an_event_in_time_is_dropped_and_the_rest_get_it(
    db, settings
):
    settings.STUDIO_LIVE_SEND_TIMEOUT_SECONDS = 0.2
    project, version, members = await setup_watchers({"viewer": 2})
    first, second, stuck = await connect_all(members, project)
    hub = get_hub()
    (stuck_subscriber,) = [
        s for s in hub.subscribers(project.pk) if s.user_id == members[2].user_id
    ]

    async def never_taken(payload):
        await asyncio.sleep(60)

    stuck_subscriber.deliver = never_taken
    await progress(version, 0.6)
    for communicator in (first, second):
        assert "60%" in await receive_containing(communicator, f'id="badge-{version.pk}"')
    assert await closes(stuck) == 4408
    assert stuck_subscriber not in hub.subscribers(project.pk)
    for communicator in (first, second):
        await communicator.disconnect()
