"""The `recallbot` command, run as a user would: a subprocess in an empty directory."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import select
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest

from bot.commands import dispatch
from bot.events import Destination
from storage import outbox, repo
from tests.conftest import NOW, RECALLBOT, clean_env


def recallbot(tmp_path, *args, stdin="", env=None):
    return subprocess.run(
        [*RECALLBOT, *args],
        cwd=tmp_path,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        # The default database lives in the user's data directory: the test's own, not the developer's.
        env=clean_env(**{"XDG_DATA_HOME": str(tmp_path / "data"), **(env or {})}),
    )


def test_check_json_on_the_bundled_data(tmp_path):
    done = recallbot(tmp_path, "check", "PAC20-272", "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["verdict"] == "recalled"
    assert [m["id"] for m in answer["matches"]] == ["romoss-pac20-272-2025"]
    assert answer["matches"][0]["units"] == 491745


def test_check_several_models_in_plain_text(tmp_path):
    done = recallbot(tmp_path, "check", "A1263", "2G505", "QQ-0000-ZZ")
    assert done.returncode == 0, done.stderr
    assert "Yes: A1263 is named in 1 notice." in done.stdout
    assert "Yes: 2G505 is named in 1 notice." in done.stdout  # CPSC 26-011, from the bundled snapshot
    assert "No recall or supplier suspension I know of matches QQ-0000-ZZ." in done.stdout


def test_console_answers_commands_on_the_bundled_data(tmp_path):
    done = recallbot(
        tmp_path, "console", stdin="/check PAC20-272\nA1263\n/subscribe brand Anker\n/subscriptions\n/nonsense\n"
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "RECALL: Romoss PAC20-272 power bank" in out
    assert "Yes: A1263 is named in 1 notice." in out
    assert "This chat follows:\n- brand Anker" in out
    assert "I don't know the command /nonsense." in out
    assert "Traceback" not in out + done.stderr


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"RECALLBOT_CHECKER__INTERVAL_SECONDS": "soon"},
            "recallbot: RECALLBOT_CHECKER__INTERVAL_SECONDS must be a whole number",
        ),
        (
            {"RECALLBOT_STORAGE__URL": "postgresql+psycopg://nobody@127.0.0.1:9/none"},
            "recallbot: Could not open the database postgresql+psycopg://nobody@127.0.0.1:9/none",
        ),
        ({"RECALLBOT_STORAGE__URL": "not a url"}, "recallbot: [storage] url 'not a url' is not a database URL"),
        (  # postgres:// is what other tools accept; SQLAlchemy has no dialect of that name
            {"RECALLBOT_STORAGE__URL": "postgres://x"},
            "recallbot: [storage] url 'postgres://x': recallbot does not know the database 'postgres'",
        ),
        (  # a malformed port: the URL is echoed with its password masked
            {"RECALLBOT_STORAGE__URL": "postgresql+psycopg://bob:s3cret@db:54x2/recalls"},
            "recallbot: [storage] url 'postgresql+psycopg://bob:***@db:54x2/recalls' is not a database URL",
        ),
        (  # a driver that is not installed
            {"RECALLBOT_STORAGE__URL": "postgresql+psycopg2://bob:s3cret@127.0.0.1/recalls"},
            "recallbot: [storage] url 'postgresql+psycopg2://bob:***@127.0.0.1/recalls' needs the database driver "
            "'psycopg2', which is not installed: pip install 'recallbot[postgres]'",
        ),
    ],
)
def test_startup_failures_are_one_sentence_and_a_non_zero_exit(tmp_path, env, expected):
    done = recallbot(tmp_path, "check", "A1263", env=env)
    assert done.returncode == 2
    assert done.stderr.startswith(expected)
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr
    assert "s3cret" not in done.stderr


def test_check_now_reports_a_baseline_then_changes_and_status_shows_health(tmp_path):
    curated = tmp_path / "extra.toml"
    curated.write_text('[[recall]]\nid = "z-1"\nbrand = "Zapco"\nproduct = "Zapco ZP-100"\nsource = "test"\n')
    (tmp_path / "config.toml").write_text('[[sources]]\nkind = "curated"\npath = "extra.toml"\n')
    source = f"curated:{curated.resolve()}"
    first = recallbot(tmp_path, "check-now", "--config", "config.toml")
    assert first.returncode == 0, first.stderr
    assert (
        f"{source}: 1 new, 0 updated, 0 unchanged, 0 skipped, 0 alerts queued (first pass: baseline, no alerts)"
        in first.stdout
    )
    curated.write_text(curated.read_text() + '\n[[recall]]\nid = "z-2"\nbrand = "Zapco"\nsource = "test"\n')
    second = recallbot(tmp_path, "check-now", "--config", "config.toml")
    assert second.returncode == 0, second.stderr
    assert f"{source}: 0 new, 0 updated, 1 unchanged, 1 skipped, 0 alerts queued" in second.stdout
    assert "skipped " in second.stdout and "record 'z-2': field 'product': missing" in second.stdout
    curated.write_text("[[recall]\n")
    third = recallbot(tmp_path, "check-now", "--config", "config.toml")
    assert third.returncode == 1
    assert f"{source}: FAILED: not valid TOML" in third.stdout
    status = recallbot(tmp_path, "status", "--config", "config.toml")
    assert status.returncode == 0, status.stderr
    assert "Alerts waiting to be sent: 0." in status.stdout
    assert (
        f"- {source}: 1 record; last success " in status.stdout and "1 failures in a row; last error" in status.stdout
    )
    assert (
        "- bundled:cpsc-snapshot (bundled with recallbot): 589 records dated Dec 7, 2023 to Mar 26, 2026"
        in status.stdout
    )


# --- A CLI that feels right (issue 15) ------------------------------------------


def test_check_keeps_its_default_database_in_the_user_data_directory(tmp_path):
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    done = recallbot(workdir, "check", "A1263", env={"XDG_DATA_HOME": str(tmp_path / "data")})
    assert done.returncode == 0, done.stderr
    assert list(workdir.iterdir()) == []
    assert (tmp_path / "data" / "recallbot" / "recallbot.db").is_file()


def test_storage_url_overrides_the_default_database(tmp_path):
    database = tmp_path / "elsewhere.db"
    done = recallbot(tmp_path, "check", "A1263", env={"RECALLBOT_STORAGE__URL": f"sqlite:///{database}"})
    assert done.returncode == 0, done.stderr
    assert database.is_file()
    assert not (tmp_path / "data").exists()


def test_a_database_left_in_the_working_directory_by_an_older_recallbot_is_pointed_out(tmp_path):
    old = tmp_path / "recallbot.db"
    old.write_bytes(b"")
    done = recallbot(tmp_path, "check", "A1263")
    assert done.returncode == 0, done.stderr
    now = tmp_path / "data" / "recallbot" / "recallbot.db"
    assert f"{old.resolve()} is not used: the database is now {now.as_posix()}." in done.stderr


@pytest.mark.parametrize(
    ("queries", "expected"),
    [
        (["A1263"], 0),  # a recalled model
        (["Anker"], 0),  # a brand with recalls on record
        (["QQ-0000-ZZ"], 1),  # nothing matched
        ([""], 2),  # nothing to check
        (["x" * 10_000], 2),  # longer than any model or brand
        (["QQ-0000-ZZ", "A1263"], 0),  # any match is a match, as with grep and several files
    ],
    ids=["recalled", "brand", "not-found", "empty", "too-long", "several"],
)
def test_check_exit_status_says_found_not_found_or_bad_input(tmp_path, queries, expected):
    done = recallbot(tmp_path, "check", *queries, "--json")
    assert done.returncode == expected, done.stderr
    assert "Traceback" not in done.stderr


def test_status_shows_the_next_check_while_an_instance_heartbeats(core):
    with core.session(write=True) as session:
        repo.set_meta(session, "next_check_at", (NOW + timedelta(minutes=15)).isoformat())
        outbox.heartbeat(session, "instance-1", NOW - timedelta(seconds=1), stale_after=timedelta(seconds=15))
        session.commit()
    header = dispatch(core, Destination("cli", "0"), "/status").text.splitlines()[0]
    assert header == "Checker: last check never, next check Jul 1, 2025 12:15 UTC. Alerts waiting to be sent: 0."


def test_status_says_no_instance_is_running_when_none_heartbeat_recently(core):
    with core.session(write=True) as session:
        repo.set_meta(session, "next_check_at", (NOW + timedelta(minutes=15)).isoformat())
        outbox.heartbeat(session, "instance-1", NOW - timedelta(seconds=10), stale_after=timedelta(seconds=15))
        session.commit()
    header = dispatch(core, Destination("cli", "0"), "/status").text.splitlines()[0]
    assert header == (
        "Checker: last check never; no instance is running, so no check is planned (start one with recallbot run). "
        "Alerts waiting to be sent: 0."
    )


LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) ", re.MULTILINE)


def test_run_with_a_log_file_keeps_log_lines_out_of_the_conversation(tmp_path):
    log = tmp_path / "recallbot.log"
    (tmp_path / "config.toml").write_text(f'[storage]\nurl = "sqlite:///{tmp_path / "r.db"}"\n')
    bot = subprocess.Popen(
        [*RECALLBOT, "run", "--config", "config.toml", "--log-file", str(log)],
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(XDG_DATA_HOME=str(tmp_path / "data")),
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in bot.stdout], daemon=True).start()
    try:
        bot.stdin.write("/check A1263\n")
        bot.stdin.flush()
        seen = ""
        deadline = time.monotonic() + 60
        while "Yes: A1263 is named in 1 notice." not in seen:
            assert time.monotonic() < deadline, f"no answer; output:\n{seen}"
            with contextlib.suppress(queue.Empty):
                seen += lines.get(timeout=1)
    finally:
        bot.send_signal(signal.SIGTERM)
        _, stderr = bot.communicate(timeout=30)
    assert bot.returncode == 0, stderr
    assert stderr == ""
    assert LOG_LINE.search(seen) is None
    assert seen.startswith("recallbot console.")
    assert "INFO recallbot: no Telegram or Discord token configured: console mode" in log.read_text()


def read_until(fd: int, *texts: str, timeout: float = 60) -> str:
    """Read a terminal's output until ``texts`` appear in it in this order; return what was read."""
    pattern = re.compile(".*".join(map(re.escape, texts)), re.DOTALL)
    out, deadline = "", time.monotonic() + timeout
    while not pattern.search(out):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"{texts!r} not seen; output:\n{out}"
        if select.select([fd], [], [], remaining)[0]:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the other end has closed
                break
            if not chunk:
                break
            out += chunk.decode(errors="replace")
    return out


def console_at_a_terminal(tmp_path, keys: bytes, answer: str) -> str:
    """Type ``keys`` into `recallbot console` on a pseudo-terminal, wait for ``answer``, then Ctrl-D."""
    main, terminal = os.openpty()
    env = clean_env(XDG_DATA_HOME=str(tmp_path / "data"), TERM="dumb")
    console = subprocess.Popen(
        [*RECALLBOT, "console"], cwd=tmp_path, stdin=terminal, stdout=terminal, stderr=terminal, env=env
    )
    os.close(terminal)
    try:
        out = read_until(main, "> ")
        os.write(main, keys)
        out += read_until(main, answer, "> ")  # the next prompt: readline reads keys again
        os.write(main, b"\x04")  # Ctrl-D
        assert console.wait(timeout=30) == 0
    finally:
        console.kill()
        os.close(main)
    return out


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal and GNU readline")
def test_console_at_a_terminal_prompts_and_recalls_the_last_session(tmp_path):
    yes = "Yes: A1263 is named in 1 notice."
    first = console_at_a_terminal(tmp_path, b"A1263\r", yes)
    assert "> " in first
    assert "A1263" in (tmp_path / "data" / "recallbot" / "console_history").read_text()
    second = console_at_a_terminal(tmp_path, b"\x1b[A\r", yes)  # the up arrow brings back the last line typed
    assert yes in second


def test_check_piped_into_a_reader_that_stops_early_ends_quietly(tmp_path):
    """`recallbot check X | head -1`: the closed pipe is no traceback, and the status is a SIGPIPE'd program's."""
    process = subprocess.Popen(
        [*RECALLBOT, "check", "A1263"], cwd=tmp_path, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    process.stdout.close()  # the reader is gone before the answer is written
    stderr = process.stderr.read().decode()
    assert (process.wait(timeout=120), stderr) == (141, "")
