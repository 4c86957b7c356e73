"""Faults found under test: each reproduced here on the real database (SQLite file and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import logging
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import text

from bot import dataset, messages
from bot.commands import Core, dispatch
from bot.dataset import load_bundled, store_events
from bot.events import Destination
from bot.logs import RedactingFormatter
from storage import repo
from tests.conftest import NOW, _postgres_engine, clean_env, drop_schema

PAIRS = 100


def test_a_double_tapped_subscribe_button_subscribes_once_and_answers_both_taps(engine):
    core = Core(engine)
    start = threading.Barrier(2)

    def tap(chat: int) -> str:
        start.wait(timeout=30)
        return dispatch(core, Destination("telegram", chat), "/subscribe brand Anker").text

    replies: list[str] = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for chat in range(1, PAIRS + 1):  # two taps of one button arrive together, chat after chat
            replies += pool.map(tap, [chat, chat])
    assert not [r for r in replies if r == messages.INTERNAL_ERROR], replies[:2]
    assert sum(r.startswith("Done") for r in replies) == PAIRS  # one tap subscribes, the other is told
    with core.session() as session:
        for chat in (1, PAIRS):
            assert [s.key for s in repo.list_subscriptions(session, Destination("telegram", chat))] == ["anker"]


def test_a_restart_keeps_what_the_live_feed_wrote_and_a_newer_snapshot_updates_its_own(engine, monkeypatch):
    core = Core(engine)
    with core.session(write=True) as session:
        load_bundled(session, NOW)
        session.commit()
    bundled = {e.id: e for e in dataset.bundled_events()[dataset.SNAPSHOT_ORIGIN][0]}
    live_id, other_id = "cpsc-25338", "cpsc-24040"
    live = dataclasses.replace(bundled[live_id], remedy="Updated by CPSC: stop using and contact Anker for a refund.")
    with core.session(write=True) as session:  # the live CPSC feed updated the remedy
        assert len(store_events(session, [live], "cpsc:https://www.saferproducts.gov", NOW).updated) == 1
        session.commit()

    with core.session(write=True) as session:  # a restart loads the bundled snapshot again
        load_bundled(session, NOW + timedelta(days=1))
        session.commit()
    with core.session() as session:
        assert repo.get_events(session, [live_id])[live_id].remedy == live.remedy

    # A newer snapshot (a new release) changes both records: only the one it still owns is updated.
    newer = [dataclasses.replace(bundled[i], remedy=f"snapshot 2: {i}") for i in (live_id, other_id)]
    shipped = dataset.bundled_events()
    monkeypatch.setattr(dataset, "bundled_events", lambda: shipped | {dataset.SNAPSHOT_ORIGIN: (newer, [])})
    monkeypatch.setattr(dataset, "bundled_digest", lambda: "the files of a newer release")
    with core.session(write=True) as session:
        report = load_bundled(session, NOW + timedelta(days=2))
        session.commit()
    with core.session() as session:
        stored = repo.get_events(session, [live_id, other_id])
    assert [new.id for _, new in report.updated] == [other_id]
    assert (stored[live_id].remedy, stored[other_id].remedy) == (live.remedy, f"snapshot 2: {other_id}")


def test_a_start_with_the_same_bundled_files_and_parsers_does_not_parse_them_again(engine, monkeypatch):
    core = Core(engine)
    with core.session(write=True) as session:
        assert len(load_bundled(session, NOW).new) > 500
        session.commit()
    parsed = []
    monkeypatch.setattr(dataset, "bundled_events", lambda: parsed.append(1) or {})
    with core.session(write=True) as session:
        load_bundled(session, NOW + timedelta(days=1))
        session.commit()
    assert parsed == []


def test_instances_starting_together_on_postgresql_migrate_and_load_once(request, tmp_path):
    """Each instance migrates and loads the bundled data at start-up; on an empty database they race."""
    engine, schema = _postgres_engine()
    request.addfinalizer(lambda: drop_schema(engine, schema))
    url = engine.url.render_as_string(hide_password=False)
    # Separate processes, as instances are; each waits for the same moment, then starts up.
    go = time.time() + 4
    script = f"import time; time.sleep(max(0, {go} - time.time())); from bot.cli import main; raise SystemExit(main())"
    env = clean_env(RECALLBOT_STORAGE__URL=url)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, "status"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            env=env,
        )
        for _ in range(4)
    ]
    errors = [proc.communicate(timeout=120)[1] for proc in procs]
    assert [(p.returncode, e.strip().splitlines()[-1:]) for p, e in zip(procs, errors, strict=True)] == [(0, [])] * 4
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
        assert connection.execute(text("SELECT count(*) FROM event")).scalar() == 596


def test_log_lines_and_tracebacks_are_redacted():
    """Secrets are removed from the formatted text, so a traceback that quotes them is redacted too."""
    formatter = RedactingFormatter(["123456:BOT-TOKEN"])
    try:
        raise OSError(
            "cannot reach https://api.telegram.org/bot123456:BOT-TOKEN/getMe via postgresql://bob:s3cret@db/x"
        )
    except OSError:
        record = logging.LogRecord(
            "telegram.ext", logging.ERROR, __file__, 1, "failed: %s", ("postgresql://bob:s3cret@db/y",), None
        )
        record.exc_info = sys.exc_info()
    text = formatter.format(record)
    assert "Traceback" in text and "OSError" in text
    assert "s3cret" not in text and "BOT-TOKEN" not in text
    assert "postgresql://bob:***@db/x" in text and "bot[secret]/getMe" in text
