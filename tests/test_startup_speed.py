"""What `recallbot check` skips on a database that is up to date (timed in bench/cli_startup.py, not here)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from storage.db import MIGRATIONS, alembic_config, current_revision, head_revision, make_engine, migrate
from tests.conftest import clean_env

# Loaded only to read the live feeds or to migrate: a check on a current database needs none of them. (httpx
# is not listed: bot.dataset still loads it, through bot.sources.base.)
NOT_FOR_CHECK = ("alembic", "mako", "bs4", "defusedxml", "bot.sources.accc", "bot.sources.uk_opss", "tqdm")


def check(tmp_path, script: str = "") -> str:
    """Run `recallbot check A1263`, then ``script`` in the same interpreter; return what it printed."""
    code = f"import sys\nfrom bot.cli import main\nstatus = main(['check', 'A1263'])\n{script}\nsys.exit(status)"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120, env=clean_env()
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_check_on_a_current_database_loads_neither_alembic_nor_the_feed_parsers(tmp_path):
    check(tmp_path)  # makes the database
    report = f"print('loaded:', *[m for m in {NOT_FOR_CHECK!r} if m in sys.modules])"
    assert check(tmp_path, report).splitlines()[-1] == "loaded:"


def test_check_on_a_new_database_migrates_it_and_answers(tmp_path):
    assert "RECALL: Anker PowerCore 10000 power bank" in check(tmp_path)
    engine = make_engine(f"sqlite:///{Path(os.environ['XDG_DATA_HOME']) / 'recallbot' / 'recallbot.db'}")
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_check_closes_the_database_so_no_write_ahead_log_is_left(tmp_path):
    check(tmp_path)
    assert sorted(p.name for p in (Path(os.environ["XDG_DATA_HOME"]) / "recallbot").iterdir()) == ["recallbot.db"]


def test_the_head_read_from_the_files_is_alembics():
    scripts = ScriptDirectory.from_config(alembic_config(make_engine("sqlite://")))
    assert head_revision() == scripts.get_current_head()


def test_a_new_migration_file_becomes_the_head(tmp_path):
    for script in (MIGRATIONS / "versions").glob("*.py"):
        (tmp_path / script.name).write_text(script.read_text(encoding="utf-8"), encoding="utf-8")
    head = head_revision()
    (tmp_path / "9999_next.py").write_text(
        f'revision: str = "9999"\ndown_revision: str | None = {head!r}\n', encoding="utf-8"
    )
    assert head_revision(tmp_path) == "9999"


@pytest.mark.parametrize(
    "files",
    [
        {},  # no migrations at all
        {"a.py": 'revision = "a"\ndown_revision = None\n', "b.py": 'revision = "b"\ndown_revision = None\n'},  # 2 heads
        {"a.py": 'revision = "a"\ndown_revision = None\n', "b.py": "REVISION = 'b'\n"},  # a revision not found
    ],
    ids=["none", "two heads", "unreadable"],
)
def test_migration_files_it_cannot_read_with_certainty_give_no_head(tmp_path, files):
    for name, body in files.items():
        (tmp_path / name).write_text(body, encoding="utf-8")
    assert head_revision(tmp_path) is None


def test_a_database_one_revision_behind_is_migrated(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'recallbot.db'}")
    config = alembic_config(engine)
    previous = ScriptDirectory.from_config(config).get_revision("head").down_revision
    assert isinstance(previous, str)
    command.upgrade(config, previous)
    assert current_revision(engine) == previous
    migrate(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_a_new_database_has_no_revision_until_migrated(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'recallbot.db'}")
    assert current_revision(engine) is None
    migrate(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == head_revision()
    engine.dispose()
