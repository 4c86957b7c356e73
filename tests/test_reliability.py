"""Faults found under test: each reproduced here on the real database (SQLite file and PostgreSQL)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from bot import messages
from bot.commands import Core, dispatch
from bot.events import Destination
from storage import repo

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
