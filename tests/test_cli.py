"""The `recallbot` command, run as a user would: a subprocess in an empty directory."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import RECALLBOT, clean_env


def recallbot(tmp_path, *args, stdin="", env=None):
    return subprocess.run(
        [*RECALLBOT, *args],
        cwd=tmp_path,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(**(env or {})),
    )


def test_check_json_on_the_bundled_data(tmp_path):
    done = recallbot(tmp_path, "check", "PAC20-272", "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["verdict"] == "recalled"
    assert [m["id"] for m in answer["matches"]] == ["romoss-pac20-272-2025"]
    assert answer["matches"][0]["units"] == 491745
    assert (tmp_path / "recallbot.db").exists()


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
