"""The README's production environment passes Django's deployment checks,
and the embedded default needs none of it."""

import asyncio
import os
import secrets
import subprocess
from concurrent.futures import ThreadPoolExecutor

from channels.layers import get_channel_layer

from tests.processes import PYTHON, ROOT

PRODUCTION = {
    "DEBUG": "0",
    "ALLOWED_HOSTS": "studio.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://studio.example.com",
    "SECURE_SSL_REDIRECT": "1",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
    "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
    "EMAIL_HOST": "smtp.example.com",
}


def check_deploy(tmp_path, **environment: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "STUDIO_VAR_DIR": str(tmp_path / "var"),
        **environment,
    }
    return subprocess.run(
        [str(PYTHON), "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


def test_the_production_environment_passes_check_deploy(tmp_path):
    done = check_deploy(tmp_path, SECRET_KEY=secrets.token_urlsafe(60), **PRODUCTION)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_without_it_check_deploy_names_what_is_missing(tmp_path):
    done = check_deploy(tmp_path, SECRET_KEY=secrets.token_urlsafe(60))
    assert done.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "mail.E001"):
        assert warning in done.stderr + done.stdout


def test_the_channel_layer_waits_out_an_idle_channel():
    """A channel that hears nothing for longer than a socket read may take
    (redis-py's default is 5 s) still receives what comes next, with no
    error: the live hub's channel is idle between events."""

    async def wait_out_a_quiet_spell():
        layer = get_channel_layer()
        channel = await layer.new_channel()

        async def send_later():
            await asyncio.sleep(7)
            await layer.send(channel, {"type": "version.changed", "n": 1})

        sending = asyncio.create_task(send_later())
        try:
            return await asyncio.wait_for(layer.receive(channel), timeout=20)
        finally:
            await sending
            if hasattr(layer, "close_pools"):  # Redis: its connections belong to this loop
                await layer.close_pools()

    # On a loop of its own, in a thread of its own: the browser tests leave
    # Playwright's loop running in this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        message = pool.submit(asyncio.run, wait_out_a_quiet_spell()).result()
    assert message == {"type": "version.changed", "n": 1}
