"""The README's pipeline example, run as written: the Python block under
"A pipeline: generate, hear the webhook, download", against a real
`manage.py studio` process on a fresh var dir that may call a receiver on
this machine, parameterised only through the environment it reads."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.processes import ROOT, free_port, manage, wait_for

HEADING = "### A pipeline: generate, hear the webhook, download"
# Whatever scales the studio out is left out: it runs on its embedded default.
SCALE_OUT_VARIABLES = {
    "DATABASE_URL",
    "REDIS_URL",
    "REDIS_PREFIX",
    "GEMINI_API_KEY",
    "MEDIA_ROOT",
    "SECRET_KEY",
    "STORAGE_URL",
    "STUDIO_DEFAULT_ENGINE",
}


def pipeline_block() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index(HEADING) :]
    return re.search(r"^```python\n(.*?)^```$", section, re.DOTALL | re.MULTILINE).group(1)


@pytest.fixture
def studio(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in SCALE_OUT_VARIABLES}
    env.update(
        STUDIO_VAR_DIR=str(tmp_path / "var"),
        STUDIO_WEBHOOKS_ALLOW_HTTP="1",
        STUDIO_WEBHOOKS_ALLOW_PRIVATE="1",
        STUDIO_POLL_SECONDS="0.5",
        DJANGO_SETTINGS_MODULE="studio.settings",
        PYTHONUNBUFFERED="1",
    )
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "studio", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    try:
        wait_for(
            lambda: (
                any("Omni Studio is running at " in line for line in lines)
                or process.poll() is not None
            ),
            timeout=90,
            message="manage.py studio did not start",
        )
        assert process.poll() is None, "".join(lines)
        yield {"url": f"http://127.0.0.1:{port}", "env": env, "log": lines}
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(45)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(5)


def test_the_readme_pipeline_runs_as_written(studio, tmp_path):
    token = manage(studio["env"], "create_api_token", "ada", "--create-user").strip()
    script = tmp_path / "pipeline.py"
    script.write_text(pipeline_block())
    run = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env={
            "PATH": os.environ.get("PATH", ""),
            "STUDIO_URL": studio["url"],
            "STUDIO_TOKEN": token,
            "HOOK_PORT": str(free_port()),
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output + "".join(studio["log"][-40:])
    assert re.search(r"^version\.ready \(delivery [0-9a-f-]{36}\)$", output, re.MULTILINE), output
    assert "MP4: True" in output
    assert Path(tmp_path / "pipeline.mp4").read_bytes()[4:8] == b"ftyp"
