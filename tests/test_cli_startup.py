"""What `recallbot` loads before it knows the command: nothing heavy (timed in bench/cli_startup.py, not here)."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

from tests.conftest import RECALLBOT, clean_env

HEAVY = ("telegram", "discord", "sqlalchemy", "sqlmodel", "alembic", "pydantic", "httpx", "apscheduler")


def run(tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=tmp_path, capture_output=True, text=True, timeout=120, env=clean_env(XDG_DATA_HOME=str(tmp_path))
    )


def test_importing_the_cli_loads_no_chat_database_or_web_library(tmp_path):
    script = f"import sys, bot.cli; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = run(tmp_path, sys.executable, "-c", script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_version_prints_the_installed_version(tmp_path):
    done = run(tmp_path, *RECALLBOT, "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"recallbot {version('recallbot')}\n"


def test_help_explains_the_exit_status_of_check(tmp_path):
    done = run(tmp_path, *RECALLBOT, "--help")
    assert done.returncode == 0, done.stderr
    assert "exit status of check: 0 when a query matched something" in done.stdout
    assert list(tmp_path.iterdir()) == []  # no database, no data directory
