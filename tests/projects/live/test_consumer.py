"""The project page's websocket: who may connect, what a page hears, and how
it closes. Real communicators against the real ASGI application and hub."""

import json

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import transaction

from projects.live.hub import get_hub
from projects.models import Membership, Version
from projects.services import broadcast, review, team, versions
from tests.factories import MembershipFactory, ProjectFactory, VersionFactory
from tests.projects.live.conftest import closes, connect_as, receive_containing

pytestmark = pytest.mark.django_db(transaction=True)


@sync_to_async
def setup_project():
    member = MembershipFactory(role=Membership.Role.OWNER)
    project = ProjectFactory(workspace=member.workspace)
    return member, project


@sync_to_async
def setup_team():
    owner = MembershipFactory(role=Membership.Role.OWNER)
    reviewer = MembershipFactory(workspace=owner.workspace, role=Membership.Role.REVIEWER)
    project = ProjectFactory(workspace=owner.workspace)
    version = VersionFactory(project=project, number=1, video_duration=5.0)
    project.last_version_number = 1
    project.save()
    return owner, reviewer, project, version


def create_text_version(project, member, **fields) -> Version:
    return versions.version_create(
        project=project,
        membership=member,
        author=member.user,
        kind=fields.pop("kind", Version.Kind.TEXT_TO_VIDEO),
        prompt=fields.pop("prompt", "A lighthouse at dusk"),
        aspect_ratio="16:9",
        resolution="480p",
        duration_seconds=3,
        engine="local",
        **fields,
    )


async def test_a_page_hears_the_latest_event_number_at_once(db):
    member, project = await setup_project()
    communicator = await connect_as(member.user, project)
    assert (await communicator.connect())[0]
    assert json.loads(await communicator.receive_from(timeout=5)) == {"heartbeat": 0}
    await communicator.disconnect()


async def test_a_page_behind_gets_what_changed_since_its_number(db):
    member, project = await setup_project()
    running = await sync_to_async(VersionFactory)(
        project=project,
        number=1,
        status=Version.Status.GENERATING,
        progress=0.4,
        event_seq=3,
        created_seq=3,
    )
    await sync_to_async(VersionFactory)(
        project=project, number=2, status=Version.Status.READY, event_seq=1
    )
    project.event_seq = 3
    await sync_to_async(project.save)()
    communicator = await connect_as(member.user, project, since=2)
    assert (await communicator.connect())[0]
    catch_up = await communicator.receive_from(timeout=5)
    assert f'id="status-{running.pk}"' in catch_up
    assert 'value="40"' in catch_up
    assert 'data-seq="3"' in catch_up
    # Made since the page's number: a new row of the tree.
    assert f'id="node-{running.pk}"' in catch_up and "beforeend:#version-tree" in catch_up
    assert json.loads(await communicator.receive_from(timeout=5)) == {"heartbeat": 3}
    # Asking again since an older number resends what changed since then.
    await communicator.send_json_to({"since": 0})
    again = await receive_containing(communicator, 'id="live-seq"')
    assert 'id="status-' in again
    await communicator.disconnect()


async def test_outsiders_and_anonymous_users_are_refused(db):
    _, project = await setup_project()
    outsider = await sync_to_async(MembershipFactory)()
    for user in (outsider.user, None):
        communicator = await connect_as(user, project)
        connected, _ = await communicator.connect()
        assert not connected
        await communicator.disconnect()


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        ("http://evil.example", "testserver"),
        ("https://testserver", "testserver"),  # another scheme
        ("http://testserver:8001", "testserver:8000"),  # another port
        ("http://testserver", "evil.example"),  # a host not allowed
        ("", "testserver"),
    ],
)
async def test_foreign_origins_are_refused(db, origin, host):
    member, project = await setup_project()
    communicator = await connect_as(member.user, project, origin=origin, host=host)
    connected, _ = await communicator.connect()
    assert not connected
    await communicator.disconnect()


async def test_the_same_origin_with_its_port_is_accepted(db, settings):
    settings.ALLOWED_HOSTS = ["studio.example"]
    member, project = await setup_project()
    for origin, host in [
        ("http://studio.example:8000", "studio.example:8000"),
        ("http://studio.example", "studio.example:80"),
    ]:
        communicator = await connect_as(member.user, project, origin=origin, host=host)
        assert (await communicator.connect())[0], origin
        await communicator.disconnect()


async def test_events_go_out_after_the_transaction_commits(db):
    member, project = await setup_project()
    communicator = await connect_as(member.user, project)
    assert (await communicator.connect())[0]
    # What a page hears on connecting: the number, then the inbox's count.
    await receive_containing(communicator, 'id="inbox-link"')

    def create_in_a_transaction():
        with transaction.atomic():
            version = create_text_version(project, member)
            assert async_to_sync(communicator.receive_nothing)(timeout=0.3)
        return version

    version = await sync_to_async(create_in_a_transaction)()
    message = await receive_containing(communicator, f'id="node-{version.pk}"')
    assert 'data-seq="1"' in message
    assert f'id="badge-{version.pk}"' in message
    await communicator.disconnect()


async def test_a_socket_closes_when_its_user_signs_out(db):
    member, project = await setup_project()
    communicator = await connect_as(member.user, project)
    assert (await communicator.connect())[0]
    await communicator.receive_from(timeout=5)
    await sync_to_async(broadcast.session_ended)(user_id=member.user.pk)
    assert await closes(communicator) == 4401


async def test_signing_out_through_the_page_closes_the_users_sockets(db, client):
    member, project = await setup_project()
    communicator = await connect_as(member.user, project)
    assert (await communicator.connect())[0]
    await communicator.receive_from(timeout=5)
    await sync_to_async(client.force_login)(member.user)
    response = await sync_to_async(client.post)("/accounts/logout/")
    assert response.status_code == 302
    assert await closes(communicator) == 4401


async def test_each_activity_reaches_a_second_member_live(db):
    owner, reviewer, project, version = await setup_team()
    communicator = await connect_as(reviewer.user, project)
    assert (await communicator.connect())[0]
    await communicator.receive_from(timeout=5)

    await sync_to_async(review.comment_create)(
        version=version, membership=owner, body="Logo too small", start_seconds=2.0
    )
    message = await receive_containing(communicator, "Logo too small")
    assert f'id="comments-{version.pk}"' in message
    assert 'data-verb="commented"' in message
    # The reviewer's fragment has no owner's controls, and nobody's own.
    assert "Turn the checked comments into an edit" not in message

    await sync_to_async(review.review_decide)(
        version=version, membership=owner, decision="approved", note="Ship it"
    )
    message = await receive_containing(communicator, 'data-verb="decided"')
    assert 'data-decision="approved"' in message and "Ship it" in message

    await sync_to_async(review.project_pick)(project=project, membership=owner, version=version)
    message = await receive_containing(communicator, 'data-verb="picked"')
    assert 'data-pick="true"' in message

    created = await sync_to_async(create_text_version)(
        project, owner, kind=Version.Kind.EDIT, parent=version, prompt="Make it warmer."
    )
    message = await receive_containing(communicator, 'data-verb="edited"')
    assert f'id="node-{created.pk}"' in message
    assert f'hx-swap-oob="beforeend:#children-{version.pk}"' in message
    assert f'id="count-{version.pk}"' in message and 'data-descendants="1"' in message
    await communicator.disconnect()


async def test_presence_shows_who_is_viewing(db):
    owner, reviewer, project, _ = await setup_team()
    first = await connect_as(reviewer.user, project)
    assert (await first.connect())[0]
    await receive_containing(first, f'data-user="{reviewer.user.username}"')
    second = await connect_as(owner.user, project)
    assert (await second.connect())[0]
    message = await receive_containing(first, f'data-user="{owner.user.username}"')
    assert message.startswith('<p id="presence"')
    await second.disconnect()
    message = await receive_containing(first, 'id="presence"')
    assert owner.user.username not in message
    await first.disconnect()


async def test_removal_closes_the_members_sockets(db):
    owner, reviewer, project, _ = await setup_team()
    communicator = await connect_as(reviewer.user, project)
    assert (await communicator.connect())[0]
    await receive_containing(communicator, "heartbeat")
    await sync_to_async(team.membership_remove)(by=owner, target=reviewer)
    assert await closes(communicator) == 4403
    again = await connect_as(reviewer.user, project)
    assert not (await again.connect())[0]


async def test_a_new_role_reloads_the_members_pages(db):
    owner, reviewer, project, _ = await setup_team()
    communicator = await connect_as(reviewer.user, project)
    assert (await communicator.connect())[0]
    await receive_containing(communicator, "heartbeat")  # the hub has joined
    await sync_to_async(team.membership_change_role)(by=owner, target=reviewer, role="editor")
    assert await closes(communicator) == 4000


@pytest.mark.parametrize("change", ["role", "removal"])
async def test_a_change_committed_while_the_page_joins_still_reaches_it(db, monkeypatch, change):
    # The change is told to the user's group before the hub has joined it.
    owner, reviewer, project, _ = await setup_team()
    hub = get_hub()
    joining = hub.join

    async def join_after_the_change(subscriber, *, seq):
        if change == "role":
            await sync_to_async(team.membership_change_role)(
                by=owner, target=reviewer, role="editor"
            )
        else:
            await sync_to_async(team.membership_remove)(by=owner, target=reviewer)
        await joining(subscriber, seq=seq)

    monkeypatch.setattr(hub, "join", join_after_the_change)
    communicator = await connect_as(reviewer.user, project)
    assert (await communicator.connect())[0]
    assert await closes(communicator) == (4000 if change == "role" else 4403)
    assert hub.subscribers(project.pk) == set()
