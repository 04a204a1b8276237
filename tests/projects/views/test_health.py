"""/healthz answers without a login: each part's state, 503 when one fails."""

from django.urls import reverse


def test_healthy_studio(client, db):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {
        "healthy": True,
        "database": "ok",
        "channel_layer": "ok",
        "storage": "ok",
    }


def test_healthy_with_media_in_a_bucket(client, db, s3_storage):
    assert client.get(reverse("healthz")).json()["storage"] == "ok"


def test_a_failing_part_makes_it_unhealthy(client, db, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                # Nothing listens there.
                "bucket_name": "missing",
                "endpoint_url": "http://127.0.0.1:9",
                "region_name": "us-east-1",
            },
        },
    }
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    body = response.json()
    assert body["healthy"] is False and body["storage"].startswith("failing")
    assert body["database"] == "ok"
