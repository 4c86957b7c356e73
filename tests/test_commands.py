"""Platform-neutral commands, as a chat would use them."""

from __future__ import annotations

import pytest

from bot import messages
from bot.commands import MAX_SUBSCRIPTIONS, dispatch
from bot.events import Destination
from storage import repo

CHAT = Destination("telegram", -1001234567890123)  # supergroup ids need 64 bits
OTHER = Destination("discord", 2**62 + 7)


def follows(core, dest):
    with core.session() as session:
        return [(row.key_type, row.key, row.label) for row in repo.list_subscriptions(session, dest)]


def test_check_reply_names_the_model_and_offers_subscriptions(core):
    reply = dispatch(core, CHAT, "/check PAC20-272")
    assert reply.text == "Yes: PAC20-272 is named in 1 notice."
    assert [m.event.id for m in reply.matches] == ["romoss-pac20-272-2025"]
    assert [b.command for b in reply.buttons] == ["subscribe model PAC20-272", "subscribe brand Romoss"]


def test_check_with_bot_username_in_a_group(core):
    assert dispatch(core, CHAT, "/check@RecallBot A1263").check.verdict == "recalled"


def test_check_without_argument_answers_with_usage(core):
    assert dispatch(core, CHAT, "/check").text == messages.EMPTY_QUERY.format(what="model or brand")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/check " + "A" * 10_000, messages.LONG_QUERY.format(limit=64, length=10_000)),
        ("/check A1263\x07", messages.CONTROL_CHARS),
        ("/subscribe " + "x" * 65, messages.LONG_QUERY.format(limit=64, length=65)),
    ],
)
def test_bad_input_gets_a_sentence_not_a_traceback(core, text, expected):
    reply = dispatch(core, CHAT, text)
    assert (reply.text, reply.matches) == (expected, ())


def test_unknown_command_is_named(core):
    assert dispatch(core, CHAT, "/frobnicate x").text == messages.UNKNOWN_COMMAND.format(name="frobnicate")


def test_subscribe_infers_the_type(core):
    dispatch(core, CHAT, "/subscribe Anker")
    dispatch(core, CHAT, "/subscribe pac20 272")
    dispatch(core, CHAT, "/subscribe Amprius")
    dispatch(core, CHAT, "/subscribe Xiaomi")  # no recalls yet, but linked to the suspension
    dispatch(core, CHAT, "/subscribe Nokorp")  # unknown brand: follow it anyway
    assert follows(core, CHAT) == [
        ("brand", "anker", "Anker"),
        ("model", "PAC20272", "pac20 272"),
        ("supplier", "amprius", "Amprius"),
        ("brand", "xiaomi", "Xiaomi"),
        ("brand", "nokorp", "Nokorp"),
    ]


def test_subscribe_lists_what_is_already_on_record(core):
    reply = dispatch(core, CHAT, "/subscribe brand Anker")
    assert reply.text.startswith("Done: this chat now follows brand Anker.")
    assert "cqc-apex-wuxi-2025-06" in {m.event.id for m in reply.matches}
    assert len(reply.matches) == 5 and reply.footer  # more than fit on one screen
    nothing = dispatch(core, CHAT, "/subscribe brand Nokorp")
    assert nothing.matches == () and messages.SUBSCRIBED_UNKNOWN.format(name="Nokorp") in nothing.text


def test_subscribing_twice_keeps_one_subscription(core):
    dispatch(core, CHAT, "/subscribe model A1263")
    again = dispatch(core, CHAT, "/subscribe model a-1263")
    assert again.text.startswith("This chat already follows model a-1263.")
    assert follows(core, CHAT) == [("model", "A1263", "A1263")]


def test_subscriptions_are_per_destination(core):
    dispatch(core, CHAT, "/subscribe brand Anker")
    dispatch(core, OTHER, "/subscribe brand Baseus")
    assert follows(core, CHAT) == [("brand", "anker", "Anker")]
    assert follows(core, OTHER) == [("brand", "baseus", "Baseus")]


def test_unsubscribe_by_name_without_type(core):
    dispatch(core, CHAT, "/subscribe brand Anker")
    dispatch(core, CHAT, "/subscribe model A1263")
    reply = dispatch(core, CHAT, "/unsubscribe ANKER")
    assert reply.text == messages.UNSUBSCRIBED.format(names="Anker")
    assert follows(core, CHAT) == [("model", "A1263", "A1263")]
    assert dispatch(core, CHAT, "/unsubscribe Anker").text == messages.NOT_SUBSCRIBED.format(name="Anker")


def test_subscriptions_lists_with_unsubscribe_buttons(core):
    assert dispatch(core, CHAT, "/subscriptions").text == messages.NO_SUBSCRIPTIONS
    dispatch(core, CHAT, "/subscribe supplier Amprius")
    reply = dispatch(core, CHAT, "/subscriptions")
    assert reply.text == "This chat follows:\n- supplier Amprius"
    assert [b.command for b in reply.buttons] == ["unsubscribe supplier Amprius"]


def test_subscription_limit_per_chat(core):
    for n in range(MAX_SUBSCRIPTIONS):
        dispatch(core, CHAT, f"/subscribe model X{n:03d}")
    reply = dispatch(core, CHAT, "/subscribe model Y999")
    assert reply.text.startswith(f"This chat already follows {MAX_SUBSCRIPTIONS}")
    assert len(follows(core, CHAT)) == MAX_SUBSCRIPTIONS


def test_recent_shows_latest_by_date(core):
    reply = dispatch(core, CHAT, "/recent")
    dates = [m.event.date for m in reply.matches]
    assert dates == sorted(dates, reverse=True) and len(dates) == 5
    assert reply.matches[0].event.id == "cpsc-26341"  # the newest notice in the test data


def test_start_and_help(core):
    assert "/check" in dispatch(core, CHAT, "/start").text
    assert "/subscribe" in dispatch(core, CHAT, "/help").text


def test_database_failure_becomes_an_apology(core):
    core.engine.dispose()
    with core.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE event_key")
    assert dispatch(core, CHAT, "/check A1263").text == messages.INTERNAL_ERROR


def test_start_resumes_a_paused_chat(core):
    from storage import outbox

    with core.session() as session:
        outbox.pause_destination(session, CHAT, "Forbidden: bot was blocked by the user", core.clock(), by_user=True)
        session.commit()
    dispatch(core, CHAT, "/start")
    with core.session() as session:
        assert outbox.paused_reason(session, CHAT) is None
