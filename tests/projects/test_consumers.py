import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import Client

from projects.models import Membership, Version
from projects.services import live, review, team, versions
from studio.asgi import application
from tests.factories import MembershipFactory, ProjectFactory, VersionFactory

pytestmark = pytest.mark.django_db(transaction=True)


@sync_to_async
def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def connect_as(user, project, *, origin="http://testserver", since=0):
    headers = [(b"origin", origin.encode())]
    if user is not None:
        headers.append((b"cookie", await session_cookie(user)))
    return WebsocketCommunicator(application, f"/ws/projects/{project.pk}/?since={since}", headers)


async def receive_containing(communicator, text: str, *, limit: int = 10) -> str:
    """The next message containing text, skipping others (presence, say)."""
    for _ in range(limit):
        message = await communicator.receive_from(timeout=5)
        if text in message:
            return message
    raise AssertionError(f"No message containing {text!r}")


@sync_to_async
def setup_project():
    member = MembershipFactory(role=Membership.Role.OWNER)
    project = ProjectFactory(workspace=member.workspace)
    return member, project


async def test_connect_sends_a_snapshot_of_unfinished_versions(db):
    member, project = await setup_project()
    running = await sync_to_async(VersionFactory)(
        project=project, number=1, status=Version.Status.GENERATING, progress=0.4
    )
    await sync_to_async(VersionFactory)(project=project, number=2, status=Version.Status.READY)
    communicator = await connect_as(member.user, project)
    connected, _ = await communicator.connect()
    assert connected
    snapshot = await communicator.receive_from(timeout=5)
    assert f'id="status-{running.pk}"' in snapshot
    assert 'value="40"' in snapshot
    assert 'id="version-tree"' in snapshot
    await communicator.disconnect()


async def test_outsiders_and_anonymous_users_are_refused(db):
    _, project = await setup_project()
    outsider = await sync_to_async(MembershipFactory)()
    for user in (outsider.user, None):
        communicator = await connect_as(user, project)
        connected, _ = await communicator.connect()
        assert not connected
        await communicator.disconnect()


async def test_foreign_origins_are_refused(db):
    member, project = await setup_project()
    communicator = await connect_as(member.user, project, origin="http://evil.example")
    connected, _ = await communicator.connect()
    assert not connected
    await communicator.disconnect()


async def test_events_go_out_after_the_transaction_commits(db):
    member, project = await setup_project()
    communicator = await connect_as(member.user, project)
    assert (await communicator.connect())[0]
    await communicator.receive_from(timeout=5)

    def create_in_a_transaction():
        with transaction.atomic():
            version = versions.version_create(
                project=project,
                membership=member,
                author=member.user,
                kind=Version.Kind.TEXT_TO_VIDEO,
                prompt="A lighthouse at dusk",
                aspect_ratio="16:9",
                resolution="480p",
                duration_seconds=3,
                engine="local",
            )
            assert async_to_sync(communicator.receive_nothing)(timeout=0.3)
        return version

    version = await sync_to_async(create_in_a_transaction)()
    message = await receive_containing(communicator, f'id="node-{version.pk}"')
    assert 'data-seq="1"' in message
    await communicator.disconnect()


async def test_a_socket_closes_when_its_user_logs_out(db):
    member, project = await setup_project()
    communicator = await connect_as(member.user, project)
    assert (await communicator.connect())[0]
    await communicator.receive_from(timeout=5)
    await sync_to_async(live.session_ended)(user_id=member.user.pk)
    assert await closes(communicator)


async def closes(communicator) -> bool:
    """Whether the server closes the socket (after any messages in flight)."""
    for _ in range(10):
        output = await communicator.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            return True
    return False


async def test_asking_since_a_number_resends_what_changed(db):
    member, project = await setup_project()
    finished = await sync_to_async(VersionFactory)(
        project=project,
        number=1,
        status=Version.Status.FAILED,
        event_seq=4,
        error_message="Rate limited",
    )
    communicator = await connect_as(member.user, project, since=10)
    assert (await communicator.connect())[0]
    snapshot = await communicator.receive_from(timeout=5)
    assert f'id="status-{finished.pk}"' not in snapshot
    await communicator.send_json_to({"since": 3})
    catch_up = await receive_containing(communicator, f'id="status-{finished.pk}"')
    assert f'id="status-{finished.pk}"' in catch_up
    assert "Rate limited" in catch_up
    await communicator.disconnect()


@sync_to_async
def setup_team():
    owner = MembershipFactory(role=Membership.Role.OWNER)
    reviewer = MembershipFactory(workspace=owner.workspace, role=Membership.Role.REVIEWER)
    project = ProjectFactory(workspace=owner.workspace)
    version = VersionFactory(project=project, number=1, video_duration=5.0)
    project.last_version_number = 1
    project.save()
    return owner, reviewer, project, version


async def test_each_activity_reaches_a_second_member_live(db):
    owner, reviewer, project, version = await setup_team()
    communicator = await connect_as(reviewer.user, project)
    assert (await communicator.connect())[0]
    await receive_containing(communicator, 'id="live-seq"')

    await sync_to_async(review.comment_create)(
        version=version, membership=owner, body="Logo too small", start_seconds=2.0
    )
    message = await receive_containing(communicator, "Logo too small")
    assert f'id="comments-{version.pk}"' in message
    assert 'data-verb="commented"' in message

    await sync_to_async(review.review_decide)(
        version=version, membership=owner, decision="approved", note="Ship it"
    )
    message = await receive_containing(communicator, 'data-verb="decided"')
    assert 'data-decision="approved"' in message and "Ship it" in message

    await sync_to_async(review.project_pick)(project=project, membership=owner, version=version)
    message = await receive_containing(communicator, 'data-verb="picked"')
    assert 'data-pick="true"' in message

    created = await sync_to_async(versions.version_create)(
        project=project,
        membership=owner,
        author=owner.user,
        kind=Version.Kind.EDIT,
        parent=version,
        prompt="Make it warmer.",
        aspect_ratio="16:9",
        resolution="480p",
        duration_seconds=3,
        engine="local",
    )
    message = await receive_containing(communicator, 'data-verb="edited"')
    assert f'id="node-{created.pk}"' in message
    await communicator.disconnect()


async def test_presence_shows_who_is_viewing(db):
    owner, reviewer, project, _ = await setup_team()
    first = await connect_as(reviewer.user, project)
    assert (await first.connect())[0]
    await receive_containing(first, reviewer.user.username)
    second = await connect_as(owner.user, project)
    assert (await second.connect())[0]
    message = await receive_containing(first, f'data-user="{owner.user.username}"')
    assert 'id="presence"' in message
    await second.disconnect()
    message = await receive_containing(first, 'id="presence"')
    assert owner.user.username not in message
    await first.disconnect()


async def test_removal_closes_the_members_sockets(db):
    owner, reviewer, project, _ = await setup_team()
    communicator = await connect_as(reviewer.user, project)
    assert (await communicator.connect())[0]
    await sync_to_async(team.membership_remove)(by=owner, target=reviewer)
    assert await closes(communicator)
    again = await connect_as(reviewer.user, project)
    assert not (await again.connect())[0]
