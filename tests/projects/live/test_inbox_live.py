"""The header's unread count on open pages: redrawn for the member told,
on every page of theirs, and for nobody else."""

import asyncio

import pytest
from asgiref.sync import sync_to_async

from projects.models import Membership, Version
from projects.services import notifications, review
from tests.factories import MembershipFactory, ProjectFactory, VersionFactory
from tests.projects.live.conftest import connect_as, receive_containing

pytestmark = pytest.mark.django_db(transaction=True)


@sync_to_async
def setup_team():
    editor = MembershipFactory(role=Membership.Role.EDITOR, user__username="ada")
    reviewer = MembershipFactory(
        workspace=editor.workspace, role=Membership.Role.REVIEWER, user__username="grace"
    )
    one = ProjectFactory(workspace=editor.workspace)
    other = ProjectFactory(workspace=editor.workspace)
    version = VersionFactory(
        project=one, number=1, author=editor.user, status=Version.Status.READY, video_duration=5.0
    )
    one.last_version_number = 1
    one.save()
    return editor, reviewer, one, other, version


async def test_a_mention_redraws_the_count_on_every_page_of_the_mentioned(db):
    editor, reviewer, one, other, version = await setup_team()
    pages = [await connect_as(editor.user, one), await connect_as(editor.user, other)]
    reviewers_page = await connect_as(reviewer.user, one)
    for page in [*pages, reviewers_page]:
        assert (await page.connect())[0]
        await receive_containing(page, "heartbeat")
        # The page was drawn without the count: the socket brings it.
        opened = await receive_containing(page, 'id="inbox-link"')
        assert 'data-unread="0"' in opened and 'hx-swap-oob="true"' in opened
    await sync_to_async(review.comment_create)(
        version=version, membership=reviewer, body="@ada the horizon tilts"
    )
    for page in pages:
        link = await receive_containing(page, 'id="inbox-link"')
        assert 'hx-swap-oob="true"' in link and 'aria-label="Inbox, 1 unread"' in link
    # Reading it there redraws it again, at 0.
    await sync_to_async(notifications.inbox_mark_read)(user=editor.user)
    for page in pages:
        assert 'data-unread="0"' in await receive_containing(page, 'id="inbox-link"')
    # The reviewer's page heard the comment, and no inbox of anyone's in
    # the second after it (heartbeats come every half second).
    heard = [await receive_containing(reviewers_page, "the horizon tilts")]
    deadline = asyncio.get_running_loop().time() + 1.0
    while asyncio.get_running_loop().time() < deadline:
        heard.append(await reviewers_page.receive_from(timeout=2))
    assert not any('id="inbox-link"' in message for message in heard)
    for page in [*pages, reviewers_page]:
        await page.disconnect()
