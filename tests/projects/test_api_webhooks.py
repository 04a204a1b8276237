"""The API's webhooks: owners register, list, rotate, turn on, delete, read
the log and redeliver; the secret is in one answer only; others are refused
(403 for a role, 404 outside, 422 for a URL the studio will not send to)."""

from projects.models import Membership, WebhookDelivery, WebhookEndpoint
from projects.services import review
from tests.factories import MembershipFactory, ProjectFactory, VersionFactory
from tests.projects.test_api import Api, error, token_for

EVENTS = ["version.ready", "comment.posted"]


def api_for(member: Membership) -> Api:
    return Api(token_for(member.user))


def test_an_owner_registers_a_webhook_and_sees_the_secret_once(db, receiver):
    owner = MembershipFactory(role="owner")
    api = api_for(owner)
    base = f"/workspaces/{owner.workspace_id}/webhooks"
    created = api.post(base, {"url": receiver.url(), "events": EVENTS, "description": "CI"})
    assert created.status_code == 201
    body = created.json()
    secret = body["secret"]
    assert secret.startswith("whsec_") and body["events"] == EVENTS and body["enabled"]
    assert WebhookEndpoint.objects.get().secret == secret

    (listed,) = api.get(base).json()
    assert listed["id"] == body["id"] and listed["secret"] is None
    assert secret not in api.get(base).text

    rotated = api.post(f"{base}/{body['id']}/rotate")
    assert rotated.status_code == 200
    assert rotated.json()["secret"] not in {None, secret}
    assert rotated.json()["secret_rotated_at"] is not None

    assert api.delete(f"{base}/{body['id']}").status_code == 204
    assert api.get(base).json() == []
    assert api.delete(f"{base}/{body['id']}").status_code == 404


def test_others_are_refused(db, receiver):
    owner = MembershipFactory(role="owner")
    base = f"/workspaces/{owner.workspace_id}/webhooks"
    made = api_for(owner).post(base, {"url": receiver.url(), "events": EVENTS}).json()
    editor = api_for(MembershipFactory(workspace=owner.workspace, role="editor"))
    refused = editor.post(base, {"url": receiver.url("/mine"), "events": EVENTS})
    assert refused.status_code == 403
    assert error(refused)["code"] == "permission_denied"
    assert editor.get(base).status_code == 403
    assert editor.post(f"{base}/{made['id']}/rotate").status_code == 403
    assert editor.get(f"{base}/{made['id']}/deliveries").status_code == 403
    outsider = api_for(MembershipFactory(role="owner"))
    assert outsider.get(base).status_code == 404
    assert outsider.delete(f"{base}/{made['id']}").status_code == 404
    assert Api(None).get(base).status_code == 401
    assert WebhookEndpoint.objects.count() == 1


def test_a_url_the_studio_will_not_send_to_is_a_422_naming_it(db, settings):
    settings.STUDIO_WEBHOOKS_ALLOW_HTTP = False
    settings.STUDIO_WEBHOOKS_ALLOW_PRIVATE = False
    owner = MembershipFactory(role="owner")
    api = api_for(owner)
    base = f"/workspaces/{owner.workspace_id}/webhooks"
    for url, said in [
        ("https://169.254.169.254/latest", "link-local"),
        ("http://example.com/hooks", "https://"),
        ("https://[fd00::1]/hooks", "private"),
    ]:
        refused = api.post(base, {"url": url, "events": EVENTS})
        assert refused.status_code == 422, url
        assert error(refused)["field"] == "url" and said in error(refused)["message"]
    unknown = api.post(base, {"url": "https://example.com", "events": ["version.exploded"]})
    assert unknown.status_code == 422 and error(unknown)["field"] == "events"
    assert api.post(base, {"url": "https://example.com", "events": []}).status_code == 422
    assert not WebhookEndpoint.objects.exists()


def test_deliveries_are_logged_and_redelivered(
    db, receiver, tasks, django_capture_on_commit_callbacks
):
    owner = MembershipFactory(role="owner")
    api = api_for(owner)
    base = f"/workspaces/{owner.workspace_id}/webhooks"
    made = api.post(base, {"url": receiver.url(), "events": EVENTS}).json()
    version = VersionFactory(project=ProjectFactory(workspace=owner.workspace))
    with django_capture_on_commit_callbacks(execute=True):
        review.comment_create(version=version, membership=owner, body="Nice")
    tasks()
    page = api.get(f"{base}/{made['id']}/deliveries").json()
    assert page["count"] == 1
    (logged,) = page["items"]
    assert logged["status"] == "succeeded" and logged["attempts"] == 1
    assert logged["response_status"] == 200 and logged["response_body"] == "ok"
    assert logged["event_id"] == receiver.received[0].envelope["id"]

    with django_capture_on_commit_callbacks(execute=True):
        again = api.post(f"{base}/{made['id']}/deliveries/{logged['id']}/redeliver")
    assert again.status_code == 202
    assert again.json()["redelivery_of"] == logged["id"]
    tasks()
    assert len(receiver.received) == 2
    assert WebhookDelivery.objects.filter(status="succeeded").count() == 2
    assert api.post(f"{base}/{made['id']}/deliveries/999999/redeliver").status_code == 404


def test_a_turned_off_webhook_is_turned_on_again(db, receiver):
    owner = MembershipFactory(role="owner")
    api = api_for(owner)
    base = f"/workspaces/{owner.workspace_id}/webhooks"
    made = api.post(base, {"url": receiver.url(), "events": EVENTS}).json()
    WebhookEndpoint.objects.filter(pk=made["id"]).update(
        disabled_at="2026-01-01T00:00Z", disabled_reason="failing", consecutive_failures=10
    )
    assert api.get(base).json()[0]["enabled"] is False
    enabled = api.post(f"{base}/{made['id']}/enable").json()
    assert enabled["enabled"] and enabled["consecutive_failures"] == 0
