"""[logging] format = "json": one JSON object per line, with the secrets redacted as in the text lines."""

from __future__ import annotations

import io
import json
import logging
import signal
import subprocess
import time
from datetime import datetime

import pytest

from bot.config import load_config
from bot.errors import ConfigError
from bot.logs import JsonFormatter, RedactingFormatter, hide_secrets, use_format
from tests.conftest import RECALLBOT, clean_env

TOKEN = "123456:ABC-secret-token"
DB_URL = "postgresql+psycopg://recallbot:hunter2@db:5432/recallbot"


@pytest.fixture
def stream(monkeypatch) -> io.StringIO:
    """The root logger's only handler for the test, writing text lines to a string, as setup_logging does."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(RedactingFormatter())
    monkeypatch.setattr(logging.getLogger(), "handlers", [handler])
    return out


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_record_is_one_json_object_with_time_level_logger_and_message(stream):
    use_format("json")
    logging.getLogger("bot.checker").warning("source %s failed (%s)", "cpsc", "HTTP 500\nfor the API")
    [entry] = lines(stream)
    assert entry == {
        "time": entry["time"],
        "level": "WARNING",
        "logger": "bot.checker",
        "message": "source cpsc failed (HTTP 500\nfor the API)",
    }
    assert datetime.fromisoformat(entry["time"]).utcoffset().total_seconds() == 0


def test_a_secret_and_a_password_in_a_url_are_redacted_in_json(stream):
    hide_secrets([TOKEN])
    use_format("json")
    logging.getLogger("httpx").warning("POST https://api.telegram.org/bot%s/sendMessage via %s", TOKEN, DB_URL)
    [entry] = lines(stream)
    assert entry["message"] == (
        "POST https://api.telegram.org/bot[secret]/sendMessage via postgresql+psycopg://recallbot:***@db:5432/recallbot"
    )
    assert TOKEN not in stream.getvalue() and "hunter2" not in stream.getvalue()


def test_a_traceback_is_kept_in_exc_info_and_redacted(stream):
    use_format("json")
    hide_secrets([TOKEN])  # a secret made known after the switch is hidden too
    try:
        raise ConnectionError(f"cannot reach {DB_URL} with {TOKEN}")
    except ConnectionError:
        logging.getLogger("bot.runtime").exception("checker pass failed")
    [entry] = lines(stream)
    assert entry["message"] == "checker pass failed"
    assert entry["exc_info"].startswith("Traceback (most recent call last):")
    assert entry["exc_info"].endswith(
        "ConnectionError: cannot reach postgresql+psycopg://recallbot:***@db:5432/recallbot with [secret]"
    )
    assert len(stream.getvalue().splitlines()) == 1


def test_text_stays_the_default_and_keeps_the_secrets_hidden(stream):
    hide_secrets([TOKEN])
    use_format("json")
    use_format("text")
    logging.getLogger("bot").warning("token %s", TOKEN)
    assert stream.getvalue().endswith(" WARNING bot: token [secret]\n")
    assert not isinstance(logging.getLogger().handlers[0].formatter, JsonFormatter)


def test_the_format_is_text_unless_configured_and_only_text_or_json():
    offline = {"RECALLBOT_CHECKER__DEFAULT_SOURCES": "false"}
    assert load_config(environ=offline).logging.format == "text"
    assert load_config(environ=offline | {"RECALLBOT_LOGGING__FORMAT": "json"}).logging.format == "json"
    with pytest.raises(ConfigError) as error:
        load_config(environ=offline | {"RECALLBOT_LOGGING__FORMAT": "xml"})
    assert str(error.value) == "RECALLBOT_LOGGING__FORMAT must be 'text' or 'json', got 'xml'; fix the value."


def test_recallbot_run_logs_json_lines(tmp_path):
    log = tmp_path / "stderr.log"
    with log.open("w", encoding="utf-8") as stderr:
        bot = subprocess.Popen(
            [*RECALLBOT, "run"],
            cwd=tmp_path,
            env=clean_env(RECALLBOT_LOGGING__FORMAT="json", RECALLBOT_STORAGE__URL=f"sqlite:///{tmp_path / 'bot.db'}"),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            deadline = time.monotonic() + 60
            while '"check: ' not in log.read_text(encoding="utf-8"):  # the first pass's line
                assert bot.poll() is None and time.monotonic() < deadline, "no checker pass was logged"
                time.sleep(0.1)
            bot.send_signal(signal.SIGTERM)
            assert bot.wait(timeout=30) == 0
        finally:
            bot.kill()
    entries = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert {"time", "level", "logger", "message"} <= set(entries[0])
    assert any(e["logger"] == "bot.app" and e["message"].startswith("bundled dataset: ") for e in entries)
