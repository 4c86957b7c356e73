"""The Dockerfile read as text (no Docker engine here; .ci/dockerfile-steps runs its install): pinned, not root,
health-checked, and every file it copies exists. Its health check command is run against a real endpoint."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from bot.checker import Checker
from bot.commands import Core
from bot.config import Config, MetricsConfig
from bot.exporter import serving

ROOT = Path(__file__).resolve().parent.parent


def instructions(path: Path = ROOT / "Dockerfile") -> list[tuple[str, str]]:
    """Return the Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined, comments left out."""
    text = re.sub(r"\\\n\s*", "", path.read_text(encoding="utf-8"))
    found = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, args = line.strip().partition(" ")
            found.append((keyword.upper(), args.strip()))
    return found


def only(keyword: str) -> list[str]:
    return [args for key, args in instructions() if key == keyword]


def healthcheck_command() -> list[str]:
    """Return the HEALTHCHECK's command, as the exec form's JSON array."""
    [check] = only("HEALTHCHECK")
    return json.loads(check.split(" CMD ", 1)[1])


def test_the_base_image_is_pinned_to_a_patch_release():
    [image] = only("FROM")
    assert re.fullmatch(r"python:3\.11\.\d+-slim(@sha256:[0-9a-f]{64})?", image), image


def test_the_bot_runs_as_a_user_other_than_root():
    users = only("USER")
    assert users, "no USER: the container would run as root"
    assert users[-1].split(":")[0] not in ("root", "0")


def test_every_copy_source_exists():
    sources = [word for args in only("COPY") for word in args.split()[:-1]]
    assert "setup.py" in sources  # it compiles the translation catalogs at install
    assert [source for source in sources if source.startswith("--") or not (ROOT / source).exists()] == []


def test_pip_keeps_no_cache_in_the_image():
    installs = [args for args in only("RUN") if "pip install" in args]
    assert installs and all("--no-cache-dir" in args for args in installs)


def test_the_health_check_asks_the_health_endpoint_and_compose_asks_the_same():
    command = healthcheck_command()
    assert command[:2] == ["python", "-c"] and "/health" in command[2]
    assert "RECALLBOT_METRICS__PORT=" in " ".join(only("ENV"))
    compose = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")  # its flow sequences are written as JSON
    assert f"test: {json.dumps(['CMD', *command])}" in compose
    assert 'RECALLBOT_METRICS__PORT: "9100"' in compose


@pytest.mark.parametrize("checked", [True, False], ids=["healthy", "not-yet-checked"])
async def test_the_health_check_command_passes_on_200_and_fails_on_503(sqlite_engine, checked):
    core = Core(sqlite_engine)
    if checked:
        await Checker(core, [], interval=timedelta(minutes=15), max_age=timedelta(days=90)).run_pass()
    with serving(Config(metrics=MetricsConfig(port=0)), core, CollectorRegistry()) as endpoint:
        assert endpoint.url is not None
        port = endpoint.url.rsplit(":", 1)[1]
        _python, *args = healthcheck_command()  # run with this test's Python
        env = {**os.environ, "RECALLBOT_METRICS__PORT": port}
        run = subprocess.run([sys.executable, *args], env=env, capture_output=True, timeout=30)
    assert (run.returncode == 0) is checked
