import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STUDIO_PROGRESS_INTERVAL_SECONDS = 0.0


@pytest.fixture(autouse=True)
def _quick_passwords(settings):
    # The default hasher spends most of a second per user by design; tests
    # make thousands. Servers the end-to-end tests start keep the default.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Estimates are cached for a minute: each test learns its own.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _own_channel_layer():
    # Each async test runs on its own event loop, and a channel layer's locks
    # and buffers belong to the loop that first used them: one layer a test.
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """moto's standalone S3 server on a free port: the real boto3 HTTP path,
    multipart uploads and ranged reads, not in-process patching."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1)
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError("moto_server did not start") from None
            time.sleep(0.1)
    yield url
    server.terminate()
    server.wait(10)


@pytest.fixture
def s3_storage(settings, s3_server, monkeypatch):
    """Media in a fresh private bucket of the S3 server, as STORAGE_URL
    configures it; MEDIA_ROOT left empty, to show nothing lands there."""
    import uuid

    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "studio-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "studio-test-secret")
    bucket = f"studio-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    client.create_bucket(Bucket=bucket)
    monkeypatch.setenv("STORAGE_URL", f"s3://{bucket}?endpoint_url={s3_server}&region=us-east-1")
    from studio.settings import media_storage_from_environment

    settings.STORAGES = {**settings.STORAGES, "default": media_storage_from_environment()}
    return client, bucket
