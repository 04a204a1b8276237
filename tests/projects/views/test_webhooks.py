"""The Webhooks section of the workspace settings and an endpoint's page:
owners only, the secret shown once, deliveries logged with Redeliver."""

import pytest
from django.urls import reverse

from projects.models import Membership, WebhookDelivery, WebhookEndpoint
from projects.services import review
from tests.factories import MembershipFactory, ProjectFactory, VersionFactory

pytestmark = pytest.mark.django_db

EVENTS = ["version.ready", "comment.posted"]


def settings_url(workspace_id: int) -> str:
    return reverse("workspace_settings", args=[workspace_id])


def create_url(workspace_id: int) -> str:
    return reverse("webhook_create", args=[workspace_id])


def endpoint_url(endpoint: WebhookEndpoint) -> str:
    return reverse("webhook_endpoint", args=[endpoint.workspace_id, endpoint.pk])


def test_an_owner_adds_a_webhook_and_sees_its_secret_once(client, member, receiver):
    client.force_login(member.user)
    page = client.post(
        create_url(member.workspace_id),
        {"url": receiver.url(), "events": EVENTS, "description": "CI"},
    )
    assert page.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == EVENTS and endpoint.description == "CI"
    assert endpoint.secret in page.text
    assert "will not be shown again" in page.text
    assert endpoint.secret not in client.get(settings_url(member.workspace_id)).text
    shown = client.get(endpoint_url(endpoint)).text
    assert endpoint.url in shown and endpoint.secret not in shown


def test_rotating_shows_the_new_secret_once(client, member, receiver):
    client.force_login(member.user)
    client.post(create_url(member.workspace_id), {"url": receiver.url(), "events": EVENTS})
    endpoint = WebhookEndpoint.objects.get()
    old = endpoint.secret
    page = client.post(endpoint_url(endpoint), {"action": "rotate"})
    endpoint.refresh_from_db()
    assert endpoint.secret != old
    assert endpoint.secret in page.text and old not in page.text
    assert endpoint.secret not in client.get(endpoint_url(endpoint)).text


def test_a_refused_url_is_said_and_nothing_is_made(client, member, settings):
    settings.STUDIO_WEBHOOKS_ALLOW_HTTP = True
    settings.STUDIO_WEBHOOKS_ALLOW_PRIVATE = False
    client.force_login(member.user)
    page = client.post(
        create_url(member.workspace_id), {"url": "http://10.0.0.7/hooks", "events": EVENTS}
    )
    assert page.status_code == 422
    assert "10.0.0.7 is a private address" in page.text
    page = client.post(create_url(member.workspace_id), {"url": "https://x.example", "events": []})
    assert page.status_code == 422
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("role", ["editor", "reviewer", "viewer"])
def test_only_owners_see_and_manage_webhooks(client, member, receiver, role):
    other = MembershipFactory(workspace=member.workspace, role=role)
    client.force_login(member.user)
    client.post(create_url(member.workspace_id), {"url": receiver.url(), "events": EVENTS})
    endpoint = WebhookEndpoint.objects.get()

    client.force_login(other.user)
    page = client.get(settings_url(member.workspace_id)).text
    assert 'id="webhooks"' not in page and endpoint.url not in page
    refused = client.post(
        create_url(member.workspace_id), {"url": receiver.url("/mine"), "events": EVENTS}
    )
    assert refused.status_code == 403
    assert client.get(endpoint_url(endpoint)).status_code == 403
    assert client.post(endpoint_url(endpoint), {"action": "delete"}).status_code == 403
    assert list(WebhookEndpoint.objects.values_list("url", flat=True)) == [receiver.url()]


def test_outsiders_find_nothing(client, member, receiver):
    client.force_login(member.user)
    client.post(create_url(member.workspace_id), {"url": receiver.url(), "events": EVENTS})
    endpoint = WebhookEndpoint.objects.get()
    stranger = MembershipFactory(role=Membership.Role.OWNER)
    client.force_login(stranger.user)
    assert client.get(endpoint_url(endpoint)).status_code == 404
    # Their own workspace in the address, the endpoint of another.
    mixed = reverse("webhook_endpoint", args=[stranger.workspace_id, endpoint.pk])
    assert client.get(mixed).status_code == 404
    assert client.post(mixed, {"action": "delete"}).status_code == 404
    assert WebhookEndpoint.objects.exists()


def test_deliveries_are_listed_and_redelivered(
    client, member, receiver, tasks, django_capture_on_commit_callbacks
):
    client.force_login(member.user)
    client.post(create_url(member.workspace_id), {"url": receiver.url(), "events": EVENTS})
    endpoint = WebhookEndpoint.objects.get()
    version = VersionFactory(project=ProjectFactory(workspace=member.workspace))
    with django_capture_on_commit_callbacks(execute=True):
        review.comment_create(version=version, membership=member, body="Nice")
    tasks()
    delivery = WebhookDelivery.objects.get()
    page = client.get(endpoint_url(endpoint)).text
    assert f'id="delivery-{delivery.pk}"' in page
    assert "comment.posted" in page and "Delivered" in page and "ms" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            endpoint_url(endpoint), {"action": "redeliver", "delivery": delivery.pk}
        )
    assert response.status_code == 302
    tasks()
    assert len(receiver.received) == 2
    assert "(sent again)" in client.get(endpoint_url(endpoint)).text
    missing = client.post(endpoint_url(endpoint), {"action": "redeliver", "delivery": "x"})
    assert missing.status_code == 404


def test_a_turned_off_webhook_is_turned_on_again_and_deleted(client, member, receiver):
    client.force_login(member.user)
    client.post(create_url(member.workspace_id), {"url": receiver.url(), "events": EVENTS})
    endpoint = WebhookEndpoint.objects.get()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        disabled_at="2026-01-01T00:00Z", disabled_reason="its last 10 deliveries failed."
    )
    assert "Turn it on again" in client.get(endpoint_url(endpoint)).text
    client.post(endpoint_url(endpoint), {"action": "enable"})
    endpoint.refresh_from_db()
    assert endpoint.is_enabled
    response = client.post(endpoint_url(endpoint), {"action": "delete"})
    assert response.url == settings_url(member.workspace_id)
    assert not WebhookEndpoint.objects.exists()


HOSTILE = ["", "abc", "-1", "9" * 25, "1e309", "nan", "１２", "1\x00", "<b>1</b>", "x" * 600]


@pytest.mark.parametrize("role", ["owner", "editor"])
def test_hostile_values_answer_in_words_and_change_nothing(client, member, receiver, role):
    client.force_login(member.user)
    client.post(create_url(member.workspace_id), {"url": receiver.url(), "events": EVENTS})
    endpoint = WebhookEndpoint.objects.get()
    secret = endpoint.secret
    poster = MembershipFactory(workspace=member.workspace, role=role)
    client.force_login(poster.user)
    valid = {"url": receiver.url("/b"), "events": EVENTS, "description": ""}
    spoiled = [("url", v) for v in HOSTILE] + [("events", v) for v in HOSTILE]
    spoiled += [("description", "1\x00"), ("description", "x" * 600)]
    for field, value in spoiled:
        response = client.post(create_url(member.workspace_id), {**valid, field: value})
        assert response.status_code in {403, 422}, (field, value)
    for field in ("action", "delivery"):
        for value in HOSTILE:
            body = {"action": "redeliver", "delivery": "1", field: value}
            response = client.post(endpoint_url(endpoint), body)
            assert response.status_code in {403, 404, 422}, (field, value)
    assert WebhookEndpoint.objects.count() == 1 and not WebhookDelivery.objects.exists()
    endpoint.refresh_from_db()
    assert endpoint.secret == secret and endpoint.is_enabled
