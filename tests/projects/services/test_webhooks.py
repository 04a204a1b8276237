"""Webhooks against a real receiver on loopback: each event delivered once,
signed, after commit; retried through the queue with backoff; logged;
turned off when failing; never sent where it may not go."""

import json
import ssl
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from projects.models import Membership, Version, WebhookDelivery, WebhookEndpoint
from projects.services import (
    housekeeping,
    leases,
    review,
    versions,
    webhook_targets,
    webhooks,
)
from projects.services.errors import StudioError
from projects.services.queue import DELIVER_WEBHOOK, enqueue
from projects.services.tokens import api_token_create
from tests.factories import MembershipFactory, VersionFactory
from tests.projects.webhook_receiver import Receiver, Reply

Event = WebhookEndpoint.Event
ALL_EVENTS = list(Event.values)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a block as if its transaction committed: what waits for the
    commit (the deliveries' tasks) is enqueued at the end of the block."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def time_passes() -> None:
    """The clock moves on: every task and retry waiting for later is due."""
    now = timezone.now()
    DBTaskResult.objects.filter(status="READY").update(run_after=now)
    WebhookDelivery.objects.filter(next_attempt_at__isnull=False).update(next_attempt_at=now)


def register(member, url, events=ALL_EVENTS) -> tuple[WebhookEndpoint, str]:
    return webhooks.endpoint_create(membership=member, url=url, events=events)


def comment(member, version, body="Lovely light", committed=None):
    with committed():
        return review.comment_create(version=version, membership=member, body=body)


def test_each_event_is_delivered_once_signed_after_its_transaction_commits(
    member, project, receiver, tasks, committed
):
    _, secret = register(member, receiver.url())
    ready = VersionFactory(project=project, number=1, status=Version.Status.READY)
    pending = [VersionFactory(project=project, number=n, status="submitting") for n in (2, 3, 4)]

    with committed():
        review.comment_create(version=ready, membership=member, body="Warmer, please")
        review.review_decide(version=ready, membership=member, decision="approved")
        for version, status, kind in zip(
            pending,
            [Version.Status.FAILED, Version.Status.BLOCKED, Version.Status.RECONCILE],
            ["invalid_input", "safety_blocked", "uncertain"],
            strict=True,
        ):
            claimed = leases.version_claim(version_id=version.pk)
            leases.version_write(
                claimed, expect="submitting", status=status, error_kind=kind, error_message="x"
            )
        assert not DBTaskResult.objects.exists(), "enqueued before the transaction committed"
    tasks()
    tasks()  # nothing is sent twice

    events = [r.envelope["event"] for r in receiver.received]
    assert sorted(events) == sorted(
        [
            "comment.posted",
            "review.decided",
            "version.failed",
            "version.blocked",
            "version.needs_decision",
        ]
    )
    for received in receiver.received:
        envelope = received.envelope
        assert received.signed_with(secret)
        assert received.headers["Studio-Delivery-Id"] == envelope["id"]
        assert received.headers["Studio-Event"] == envelope["event"]
        assert set(envelope) == {"id", "event", "created_at", "workspace_id", "project_id", "data"}
        assert envelope["workspace_id"] == member.workspace_id
        assert envelope["project_id"] == project.pk
    by_event = {r.envelope["event"]: r.envelope["data"] for r in receiver.received}
    assert by_event["comment.posted"]["comment"]["body"] == "Warmer, please"
    assert by_event["review.decided"]["review"]["decision"] == "approved"
    assert by_event["version.blocked"]["number"] == 3
    assert by_event["version.needs_decision"]["status"] == "reconcile"
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}
    assert all(d.attempts == 1 and d.latency_ms is not None for d in WebhookDelivery.objects.all())


def test_a_ready_version_arrives_as_the_api_shows_it(member, project, receiver, tasks, committed):
    register(member, receiver.url(), events=[Event.VERSION_READY])
    with committed():
        version = versions.version_create(
            project=project,
            membership=member,
            author=member.user,
            kind=Version.Kind.TEXT_TO_VIDEO,
            prompt="A paper boat on a rain gutter.",
            aspect_ratio="16:9",
            resolution="480p",
            duration_seconds=3,
            engine="local",
        )
    with committed():
        tasks()  # the generation
    tasks()  # the delivery
    (received,) = receiver.received
    _, token = api_token_create(user=member.user, name="check")
    api = Client().get(
        f"/api/v1/projects/{project.pk}/versions/{version.number}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert received.envelope["event"] == "version.ready"
    assert received.envelope["data"] == api.json()
    assert received.envelope["data"]["video_url"].endswith("/video")


def test_a_receiver_failing_three_times_gets_the_fourth_attempt_after_growing_waits(
    member, project, receiver, tasks, committed
):
    register(member, receiver.url())
    receiver.answer(Reply(500, b"down"), Reply(500, b"down"), Reply(503, b"still down"))
    comment(member, VersionFactory(project=project), committed=committed)
    waits = []
    for _ in range(3):
        tasks()
        delivery = WebhookDelivery.objects.get()
        assert delivery.status == "pending"
        waits.append(round((delivery.next_attempt_at - delivery.last_attempt_at).total_seconds()))
        (waiting,) = DBTaskResult.objects.filter(status="READY")
        assert abs(waiting.run_after - delivery.next_attempt_at) < timedelta(seconds=1)
        tasks()
        assert WebhookDelivery.objects.get().attempts == len(waits), "retried before its time"
        time_passes()
    tasks()
    assert waits == [30, 60, 120]
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("succeeded", 4, 200)
    assert len(receiver.received) == 4
    assert len({r.headers["Studio-Delivery-Id"] for r in receiver.received}) == 1
    assert [r.headers["Studio-Attempt"] for r in receiver.received] == ["1", "2", "3", "4"]


def test_a_receiver_that_times_out_is_tried_again(member, project, receiver, tasks, committed):
    register(member, receiver.url())
    receiver.answer(Reply(200, delay=1.5))
    comment(member, VersionFactory(project=project), committed=committed)
    tasks()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending"
    assert "timed out" in delivery.error
    assert 400 <= delivery.latency_ms < 1400
    time_passes()
    tasks()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.error) == ("succeeded", 2, "")


def test_attempts_are_bounded(member, project, receiver, tasks, committed, settings):
    settings.STUDIO_WEBHOOKS_MAX_ATTEMPTS = 3
    register(member, receiver.url())
    receiver.answer(*[Reply(500)] * 10)
    comment(member, VersionFactory(project=project), committed=committed)
    for _ in range(5):
        tasks()
        time_passes()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 3, None)
    assert len(receiver.received) == 3
    assert delivery.endpoint.consecutive_failures == 1


def test_a_disabled_endpoint_gets_nothing(member, project, receiver, tasks, committed):
    endpoint, _ = register(member, receiver.url())
    version = VersionFactory(project=project)
    comment(member, version, committed=committed)
    # Turned off while its delivery waited in the queue, then another event.
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(disabled_at=timezone.now())
    comment(member, version, committed=committed)
    tasks()
    assert receiver.received == []
    (delivery,) = WebhookDelivery.objects.all()
    assert delivery.status == "failed" and "turned off" in delivery.error
    with pytest.raises(StudioError, match="turned off"):
        webhooks.delivery_redeliver(membership=member, delivery=delivery)


def test_failing_deliveries_turn_the_endpoint_off_and_its_owners_are_mailed(
    member, project, receiver, tasks, committed, settings
):
    settings.STUDIO_WEBHOOKS_MAX_ATTEMPTS = 1
    settings.STUDIO_WEBHOOKS_DISABLE_AFTER_FAILURES = 2
    member.user.email = "owner@example.com"
    member.user.save()
    MembershipFactory(workspace=member.workspace, role="editor", user__email="ed@example.com")
    endpoint, _ = register(member, receiver.url())
    receiver.answer(Reply(500), Reply(200), Reply(500), Reply(500))
    version = VersionFactory(project=project)
    for _ in range(4):
        comment(member, version, committed=committed)
        tasks()
    endpoint.refresh_from_db()
    # failed, delivered (the count starts again), failed, failed: off.
    assert not endpoint.is_enabled
    assert endpoint.consecutive_failures == 2
    (sent,) = mail.outbox
    assert sent.to == ["owner@example.com"]
    assert endpoint.url in sent.body and "turned off" in sent.subject
    comment(member, version, committed=committed)
    tasks()
    assert len(receiver.received) == 4
    webhooks.endpoint_enable(membership=member, endpoint=endpoint)
    comment(member, version, committed=committed)
    tasks()
    assert len(receiver.received) == 5


def test_redirects_are_not_followed(member, project, receiver, tasks, committed, settings):
    settings.STUDIO_WEBHOOKS_MAX_ATTEMPTS = 1
    register(member, receiver.url("/hooks"))
    receiver.answer(Reply(302, headers={"Location": receiver.url("/elsewhere")}))
    comment(member, VersionFactory(project=project), committed=committed)
    tasks()
    assert [r.path for r in receiver.received] == ["/hooks"]
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed" and delivery.response_status == 302
    assert "redirects are not followed" in delivery.error


def test_only_the_start_of_an_answer_is_kept(member, project, receiver, tasks, committed):
    register(member, receiver.url())
    receiver.answer(Reply(200, b"x" * 100_000))
    comment(member, VersionFactory(project=project), committed=committed)
    tasks()
    assert WebhookDelivery.objects.get().response_body == "x" * 1024


def test_redelivery_sends_the_same_event_id_and_body(member, project, receiver, tasks, committed):
    register(member, receiver.url())
    comment(member, VersionFactory(project=project), committed=committed)
    tasks()
    first = WebhookDelivery.objects.get()
    with committed():
        again = webhooks.delivery_redeliver(membership=member, delivery=first)
    tasks()
    assert again.redelivery_of == first
    one, two = receiver.received
    assert one.body == two.body
    assert one.headers["Studio-Delivery-Id"] == two.headers["Studio-Delivery-Id"]


def test_a_rotated_secret_signs_from_then_on(member, project, receiver, tasks, committed):
    endpoint, old = register(member, receiver.url())
    _, new = webhooks.endpoint_rotate_secret(membership=member, endpoint=endpoint)
    assert new != old and new.startswith("whsec_")
    comment(member, VersionFactory(project=project), committed=committed)
    tasks()
    (received,) = receiver.received
    assert received.signed_with(new) and not received.signed_with(old)


def test_only_owners_manage_webhooks(member, receiver):
    endpoint, _ = register(member, receiver.url())
    for role in ("editor", "reviewer", "viewer"):
        other = MembershipFactory(workspace=member.workspace, role=role)
        with pytest.raises(PermissionDenied):
            register(other, receiver.url())
        with pytest.raises(PermissionDenied):
            webhooks.endpoint_for(membership=other, endpoint_id=endpoint.pk)
    stranger = MembershipFactory(role=Membership.Role.OWNER)
    with pytest.raises(Exception, match="No such webhook"):
        webhooks.endpoint_for(membership=stranger, endpoint_id=endpoint.pk)
    assert WebhookEndpoint.objects.count() == 1


@pytest.mark.parametrize(
    ("url", "refusal"),
    [
        ("http://127.0.0.1:9/hooks", "loopback"),
        ("https://127.0.0.1/hooks", "loopback"),
        ("https://[::1]/hooks", "loopback"),
        ("https://[::ffff:10.0.0.5]/hooks", "private"),
        ("https://10.1.2.3/hooks", "private"),
        ("https://192.168.0.10/hooks", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://224.0.0.1/hooks", "multicast"),
        ("https://0.0.0.0/hooks", "unspecified"),
        ("https://240.0.0.1/hooks", "reserved"),
        ("https://100.64.0.1/hooks", "reserved"),
        ("https://localhost/hooks", "loopback"),
        ("ftp://example.com/hooks", "https://"),
        ("https://user:pw@example.com/hooks", "user name"),
        ("not a url", "https://"),
        ("https:///nohost", "host name"),
    ],
)
def test_where_webhooks_may_not_go_is_refused_at_registration(member, settings, url, refusal):
    settings.STUDIO_WEBHOOKS_ALLOW_PRIVATE = False
    settings.STUDIO_WEBHOOKS_ALLOW_HTTP = True
    with pytest.raises(StudioError, match=refusal) as refused:
        register(member, url)
    assert refused.value.field == "url"
    assert not WebhookEndpoint.objects.exists()


def test_plain_http_needs_the_setting(member, settings, monkeypatch):
    settings.STUDIO_WEBHOOKS_ALLOW_HTTP = False
    monkeypatch.setattr(webhook_targets, "resolve_host", lambda host, port: ["93.184.216.34"])
    with pytest.raises(StudioError, match="https://"):
        register(member, "http://hooks.example.com/in")
    endpoint, _ = register(member, "https://hooks.example.com/in")
    assert endpoint.url == "https://hooks.example.com/in"


def test_a_name_answering_a_private_address_at_delivery_is_refused(
    member, project, receiver, tasks, committed, settings, monkeypatch
):
    answers = {"hooks.example.com": ["93.184.216.34"]}
    monkeypatch.setattr(webhook_targets, "resolve_host", lambda host, port: answers[host])
    settings.STUDIO_WEBHOOKS_ALLOW_PRIVATE = False
    register(member, f"http://hooks.example.com:{receiver.port}/hooks")
    # The name now answers this machine's address (DNS rebinding).
    answers["hooks.example.com"] = ["93.184.216.34", "127.0.0.1"]
    comment(member, VersionFactory(project=project), committed=committed)
    tasks()
    time_passes()
    tasks()
    assert receiver.received == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed" and delivery.attempts == 1
    assert "127.0.0.1, a loopback address" in delivery.error


def test_the_connection_goes_to_the_checked_address_with_the_name_as_host(
    member, project, receiver, tasks, committed, monkeypatch
):
    looked_up = []

    def resolver(host, port):
        looked_up.append(host)
        return ["127.0.0.1"]

    monkeypatch.setattr(webhook_targets, "resolve_host", resolver)
    register(member, f"http://hooks.example.com:{receiver.port}/hooks")
    comment(member, VersionFactory(project=project), committed=committed)
    tasks()
    (received,) = receiver.received
    assert received.headers["Host"] == f"hooks.example.com:{receiver.port}"
    assert looked_up == ["hooks.example.com", "hooks.example.com"]  # registration, delivery


def test_the_real_resolver_is_the_default():
    assert webhook_targets.resolve_host is webhook_targets.system_resolver
    assert webhook_targets.system_resolver("127.0.0.1", 80) == ["127.0.0.1"]


def test_bad_events_are_refused(member, receiver):
    with pytest.raises(StudioError, match="at least one"):
        register(member, receiver.url(), events=[])
    with pytest.raises(StudioError, match=r"Unknown events: version\.exploded"):
        register(member, receiver.url(), events=["version.exploded"])
    endpoint, _ = register(member, receiver.url(), events=["review.decided", "version.ready"])
    assert endpoint.events == ["version.ready", "review.decided"]


def test_only_the_workspaces_endpoints_that_want_the_event_get_it(
    member, project, receiver, tasks, committed
):
    register(member, receiver.url("/wants"), events=[Event.COMMENT_POSTED])
    register(member, receiver.url("/other"), events=[Event.VERSION_READY])
    register(MembershipFactory(role="owner"), receiver.url("/elsewhere"))
    comment(member, VersionFactory(project=project), committed=committed)
    tasks()
    assert [r.path for r in receiver.received] == ["/wants"]


def test_housekeeping_forgets_settled_deliveries_past_the_log_retention(
    member, project, receiver, tasks, committed, settings
):
    settings.STUDIO_WEBHOOKS_LOG_DAYS = 30
    register(member, receiver.url())
    receiver.answer(Reply(200), Reply(500))
    version = VersionFactory(project=project)
    for _ in range(3):
        comment(member, version, committed=committed)
    tasks()  # one delivered, one waiting to be retried, one delivered
    long_ago = timezone.now() - timedelta(days=31)
    WebhookDelivery.objects.update(created_at=long_ago)
    report = housekeeping.records_prune(dry_run=False)
    assert "2 webhook deliveries older than" in "\n".join(report.lines)
    assert list(WebhookDelivery.objects.values_list("status", flat=True)) == ["pending"]


def certificates(folder, name: str) -> tuple[str, str, str]:
    """A CA of the test's own and a certificate it signed for ``name``: the
    CA's file, the certificate's and its key's."""

    def subject(common_name):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])

    now = timezone.now()
    ca_key, leaf_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca = (
        x509.CertificateBuilder()
        .subject_name(subject("Test CA"))
        .issuer_name(subject("Test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(subject(name))
        .issuer_name(ca.subject)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = [folder / "ca.pem", folder / "leaf.pem", folder / "leaf.key"]
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return tuple(str(path) for path in paths)


@pytest.fixture
def tls_receiver(hooks_allowed, tmp_path, monkeypatch):
    """An https receiver on loopback with a certificate for hooks.example.test
    from a CA the studio is made to trust (OpenSSL reads SSL_CERT_FILE), and
    the name resolving to loopback."""
    ca, cert, key = certificates(tmp_path, "hooks.example.test")
    monkeypatch.setenv("SSL_CERT_FILE", ca)
    monkeypatch.setattr(webhook_targets, "resolve_host", lambda host, port: ["127.0.0.1"])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = Receiver(tls=context).start()
    yield server
    server.stop()


def test_over_https_the_name_goes_in_sni_and_its_certificate_is_checked(
    member, project, tls_receiver, tasks, committed, settings
):
    settings.STUDIO_WEBHOOKS_MAX_ATTEMPTS = 1
    register(member, tls_receiver.url(host="hooks.example.test"))
    # Another name for the same address: its certificate does not match.
    register(member, tls_receiver.url("/other", host="other.example.test"))
    comment(member, VersionFactory(project=project), committed=committed)
    tasks()
    (received,) = tls_receiver.received
    assert received.path == "/hooks"
    assert received.headers["Host"] == f"hooks.example.test:{tls_receiver.port}"
    assert sorted(tls_receiver.server_names) == ["hooks.example.test", "other.example.test"]
    delivered, refused = sorted(WebhookDelivery.objects.all(), key=lambda d: d.endpoint.url)
    assert delivered.status == "succeeded"
    assert refused.status == "failed" and "certificate" in refused.error.lower()


def test_a_delivery_whose_task_was_lost_is_enqueued_again_by_housekeeping(
    member, project, receiver, tasks
):
    endpoint, _ = register(member, receiver.url())
    long_ago = timezone.now() - timedelta(minutes=10)
    body = json.dumps({"id": "a", "event": "comment.posted"})
    never_enqueued = WebhookDelivery.objects.create(
        endpoint=endpoint, event="comment.posted", body=body
    )
    killed_mid_attempt = WebhookDelivery.objects.create(
        endpoint=endpoint, event="comment.posted", body=body, attempts=1, last_attempt_at=long_ago
    )
    in_flight = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event="comment.posted",
        body=body,
        attempts=1,
        last_attempt_at=timezone.now(),
    )
    WebhookDelivery.objects.filter(pk__in=[never_enqueued.pk, killed_mid_attempt.pk]).update(
        created_at=long_ago
    )
    (report,) = housekeeping.housekeeping_run(only=("webhooks",))
    assert report.count == 2
    tasks()
    assert len(receiver.received) == 2
    delivered = WebhookDelivery.objects.filter(status="succeeded")
    assert set(delivered.values_list("pk", "attempts")) == {
        (never_enqueued.pk, 1),
        (killed_mid_attempt.pk, 2),
    }
    # An attempt under way is left to the worker making it, even by a task.
    enqueue(DELIVER_WEBHOOK, in_flight.pk)
    tasks()
    in_flight.refresh_from_db()
    assert (in_flight.status, in_flight.attempts) == ("pending", 1)


def test_a_duplicate_task_does_not_hurry_a_retry(member, project, receiver, tasks, committed):
    register(member, receiver.url())
    receiver.answer(Reply(500))
    comment(member, VersionFactory(project=project), committed=committed)
    tasks()
    delivery = WebhookDelivery.objects.get()
    enqueue(DELIVER_WEBHOOK, delivery.pk)
    tasks()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, len(receiver.received)) == ("pending", 1, 1)
    assert housekeeping.housekeeping_run(only=("webhooks",))[0].count == 0
