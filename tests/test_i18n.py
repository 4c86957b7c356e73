"""Languages: the Chinese catalog is complete, and a chat is answered and alerted in its language."""

from __future__ import annotations

import asyncio
import gettext
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from sqlalchemy import text
from sqlmodel import Session

from bot import i18n, messages
from bot.commands import dispatch
from bot.events import Destination, Reason
from bot.render import quoted_field, render_alert
from bot.sources.curated import parse_curated
from notifiers.console import handle_line
from storage import outbox
from storage.db import alembic_config
from tests.conftest import core_with_alerts, follows

ROOT = Path(__file__).parent.parent
PO = ROOT / "bot" / "locale" / "zh_Hans" / "LC_MESSAGES" / "recallbot.po"
KEYWORDS = {"_": None, "N_": None, "P_": ((1, "c"), 2), "ngettext": (1, 2), "pgettext": ((1, "c"), 2)}
CHAT = Destination("telegram", "5550001")
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def _catalog():
    with PO.open("rb") as source:
        return read_po(source, locale="zh_Hans")


def _source_messages() -> set[tuple[str | None, str]]:
    """Every sentence marked in the code today, extracted as `pybabel extract` does."""
    found = set()
    for folder in ("bot", "notifiers"):
        for _file, _line, message, _comments, context in extract_from_dir(
            ROOT / folder, keywords=KEYWORDS, comment_tags=(), method_map=[("**.py", "python")]
        ):
            found.add((context, message if isinstance(message, str) else message[0]))
    return found


def test_every_sentence_in_the_code_has_a_chinese_translation_that_is_not_fuzzy():
    catalog = _catalog()
    marked = _source_messages()
    assert len(marked) > 150  # the extraction really found the sentences
    untranslated = []
    for context, message in sorted(marked, key=str):
        entry = catalog.get(message, context=context)
        if entry is None and context is None:  # a plural form is keyed by its singular
            entry = next((m for m in catalog if isinstance(m.id, tuple) and m.id[0] == message), None)
        strings = entry.string if entry is not None and isinstance(entry.string, tuple) else (entry and entry.string,)
        if entry is None or not all(strings) or entry.fuzzy:
            untranslated.append(message)
    assert untranslated == []


def test_each_translation_keeps_the_placeholders_of_its_english():
    fields = re.compile(r"\{(\w+)(?:![rs])?\}")
    wrong = []
    for entry in _catalog():
        if not entry.id:
            continue
        english = entry.id if isinstance(entry.id, str) else entry.id[1]
        chinese = entry.string if isinstance(entry.string, str) else entry.string[0]
        if set(fields.findall(english)) != set(fields.findall(chinese)):
            wrong.append(english)
    assert wrong == []


def test_the_installed_catalog_is_compiled_from_the_committed_po_file():
    compiled = gettext.translation(i18n.DOMAIN, localedir=i18n.LOCALE_DIR, languages=["zh_Hans"])
    stale = [
        entry.id
        for entry in _catalog()
        if entry.id and isinstance(entry.id, str) and not entry.context and compiled.gettext(entry.id) != entry.string
    ]
    assert stale == []


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        *[("zh-CN", "zh_Hans"), ("zh-TW", "zh_Hans"), ("zh-hans", "zh_Hans"), ("zh", "zh_Hans"), ("中文", "zh_Hans")],
        *[("en-US", "en"), ("en", "en"), ("de", None), ("", None), (None, None)],
    ],
)
def test_platform_language_codes_choose_a_catalog(code, expected):
    assert i18n.language_of(code) == expected


def test_a_chinese_check_answers_in_chinese_and_quotes_the_notice_as_published(core):
    with i18n.language("zh_Hans"):
        reply = dispatch(core, CHAT, "/check PAC20-272")
        assert reply.text == "是：1 份公告写明了 PAC20-272。"
        assert [b.label for b in reply.buttons] == ["订阅这个型号", "订阅这个品牌"]


def test_a_chinese_no_names_the_data_and_its_age_with_chinese_dates(core):
    with i18n.language("zh_Hans"):
        answer = dispatch(core, CHAT, "/check zzqx-99999-q").text
    assert answer.startswith("我掌握的召回和供应商证书暂停中，没有与 zzqx-99999-q 相符的。")
    assert "2023年12月28日至2026年3月26日的 34 条美国消费品安全委员会（CPSC）召回" in answer
    assert "未被列出并不代表产品安全。" in answer


@pytest.mark.parametrize("query", ["ＰＡＣ２０－２７２", "PAC20－272", "pac20 272"])
def test_full_width_digits_and_dashes_are_the_same_model(core, query):
    assert dispatch(core, CHAT, f"/check {query}").check.model == "PAC20-272"


def test_a_chinese_brand_name_finds_the_brand(core):
    with i18n.language("zh_Hans"):
        reply = dispatch(core, CHAT, "/check 罗马仕")
    assert reply.check.brand == "Romoss"
    assert reply.text.startswith("Romoss 在记录中有 1 条召回，见下方。")


def test_chinese_type_words_subscribe_and_the_chat_keeps_the_language_it_was_answered_in(core):
    with i18n.language("zh_Hans"):
        reply = dispatch(core, CHAT, "/subscribe 品牌 小米")
    assert reply.text.startswith("好的，本聊天已订阅品牌 Xiaomi。")
    with core.session() as session:
        assert outbox.language_of(session, CHAT) == "zh_Hans"
    assert core.language(CHAT, guess="en-US") == "zh_Hans"  # the choice beats the next sender's app language


def test_language_command_switches_and_without_a_choice_offers_buttons(core):
    usage = dispatch(core, CHAT, "/language")
    assert usage.text.startswith("This chat is answered in English.")
    assert [(b.label, b.command) for b in usage.buttons] == [("Simplified Chinese", "language zh_Hans")]
    assert (
        dispatch(core, CHAT, "/language zh").text
        == "好的，本聊天今后的回答和提醒都使用简体中文，包括已在等待发送的提醒。"
    )
    assert core.language(CHAT) == "zh_Hans"
    with i18n.language(core.language(CHAT)):
        assert dispatch(core, CHAT, "/language English").text.startswith(
            "Done: this chat is now answered and alerted in English"
        )
    assert core.language(CHAT) == "en"


def test_an_alert_queued_in_english_is_sent_in_the_language_chosen_since(engine, clock):
    core = core_with_alerts(engine, clock, ["7"])
    dest = Destination("test", "7")
    with core.session(write=True) as session:
        before = outbox.claim_due(session, ["test"], clock(), 10, lease=timedelta(seconds=1))
        session.rollback()
    assert before[0].alert.language is None
    dispatch(core, dest, "/language zh")
    with core.session(write=True) as session:
        [claim] = outbox.claim_due(session, ["test"], clock(), 10, lease=timedelta(seconds=30))
        session.commit()
    assert claim.alert.language == "zh_Hans"
    assert claim.alert.reasons == (Reason("brand", "Anker"),)
    with i18n.language(claim.alert.language):
        card = render_alert(claim.alert)
    assert card.startswith("新召回\n\n召回：")
    assert "匹配依据：你订阅了品牌 Anker" in card
    assert "日期：2025年6月12日" in card
    assert "公告内容：按来源发布的英文原文引用" in card
    assert "New recall" not in card


def test_reasons_are_worded_from_data_in_each_language():
    linked = (Reason("model", "A1263", "APEX (Wuxi)", "Anker"),)
    assert messages.why(linked) == (
        "you follow model A1263, a Anker model; Anker is named as a customer of APEX (Wuxi) (potentially affected)"
    )
    with i18n.language("zh_Hans"):
        assert messages.why((Reason("brand", "Xiaomi", "APEX (Wuxi)"), Reason("supplier", "APEX"))) == (
            "你订阅了品牌 Xiaomi，它被列为 APEX (Wuxi) 的客户（可能受影响）；你订阅了供应商 APEX"
        )


def test_chinese_dates_and_counts_follow_chinese_conventions():
    with i18n.language("zh_Hans"):
        assert i18n.format_date(date(2025, 6, 19)) == "2025年6月19日"
        assert messages.recalls(2) == "2 条召回"
        assert messages.listing(["A", "B", "C"]) == "A、B和C"
    assert i18n.format_date(date(2025, 6, 19)) == "Jun 19, 2025"
    assert messages.recalls(1) == "1 recall"
    assert messages.listing(["A", "B", "C"]) == "A, B and C"


def test_the_migration_keeps_queued_english_reasons_as_data(sqlite_engine):
    engine = sqlite_engine
    config = alembic_config(engine)
    command.downgrade(config, "0008")
    old = [
        "you follow brand Anker",
        "you follow model A1263, a Anker model; Anker is named as a customer of APEX (Wuxi) (potentially affected)",
        "you follow brand Xiaomi, named as a customer of APEX (Wuxi) (potentially affected)",
        "something worded by hand",
    ]
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO event (id, kind, origin, content_hash, data, first_seen_at, updated_at) "
                "VALUES ('e1', 'recall', 't', 'h', '{}', :now, :now)"
            ),
            {"now": NOW},
        )
        connection.execute(
            text(
                "INSERT INTO delivery (event_id, event_hash, is_update, platform, address, reasons, status, attempts, "
                "next_attempt_at, created_at) VALUES ('e1', 'h', false, 'telegram', '5', :reasons, 'pending', 0, "
                ":now, :now)"
            ),
            {"reasons": "\n".join(old), "now": NOW},
        )
    command.upgrade(config, "head")
    with Session(engine) as session:
        stored = session.execute(text("SELECT reasons FROM delivery")).scalar_one()
    reasons = tuple(Reason.parse(line) for line in stored.splitlines())
    assert reasons == (
        Reason("brand", "Anker"),
        Reason("model", "A1263", "APEX (Wuxi)", "Anker"),
        Reason("brand", "Xiaomi", "APEX (Wuxi)"),
        Reason("", "something worded by hand"),
    )
    assert [messages.why((r,)) for r in reasons] == old  # the English is as before
    command.downgrade(config, "0008")
    with engine.begin() as connection:
        assert connection.execute(text("SELECT reasons FROM delivery")).scalar_one() == "\n".join(old)


def test_a_curated_notice_written_in_chinese_is_labelled_for_english_readers_only():
    record = """
[[recall]]
id = "samr-test-2025"
brand = "罗马仕"
product = "罗马仕 PAC20-272 移动电源"
hazard = "部分电芯原材料可能过热，极端情况下起火。"
source = "国家市场监督管理总局"
language = "zh"
"""
    [event], problems = parse_curated(record, "test.toml")
    assert problems == []
    with i18n.language("zh_Hans"):
        assert quoted_field(event) == []
    assert quoted_field(event) == [("Notice text", "quoted in Simplified Chinese, as the source published it")]


def test_concurrent_tasks_each_keep_their_own_language():
    async def two_languages() -> tuple[str, str]:
        async def one(lang: str) -> str:
            with i18n.language(lang):
                await asyncio.sleep(0.01)
                return i18n._(messages.LABEL_DATE)

        return tuple(await asyncio.gather(one("zh_Hans"), one("en")))  # type: ignore[return-value]

    assert asyncio.run(two_languages()) == ("日期", "Date")


def test_the_console_answers_in_the_terminals_language_until_one_is_chosen(core, monkeypatch):
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert handle_line(core, "PAC20-272").startswith("是：1 份公告写明了 PAC20-272。")
    handle_line(core, "/language en")
    assert handle_line(core, "PAC20-272").startswith("Yes: PAC20-272 is named in 1 notice.")


def test_a_missing_compiled_catalog_is_compiled_from_the_po_file(tmp_path, monkeypatch):
    locale = tmp_path / "zh_Hans" / "LC_MESSAGES"
    locale.mkdir(parents=True)
    (locale / "recallbot.po").write_bytes(PO.read_bytes())  # and no .mo beside it
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.translations.cache_clear()
    try:
        with i18n.language("zh_Hans"):
            assert i18n._(messages.LABEL_DATE) == "日期"
            assert messages.recalls(3) == "3 条召回"
    finally:
        i18n.translations.cache_clear()


def test_a_reason_worded_by_an_older_instance_after_the_migration_is_shown_as_worded():
    assert messages.why((Reason.parse("you follow brand Anker"),)) == "you follow brand Anker"


@pytest.mark.parametrize("typed", ["/subscribe 品牌小米", "/subscribe 品牌：小米", "/subscribe 品牌 小米"])
def test_chinese_type_words_need_no_space(core, typed):
    dispatch(core, CHAT, typed)
    assert follows(core, "telegram", int(CHAT.address)) == [("brand", "xiaomi")]


def test_models_listed_with_a_chinese_enumeration_comma_are_each_checked(core):
    with i18n.language("zh_Hans"):
        reply = dispatch(core, CHAT, "/check A1263、PAC20-272")
    assert reply.text.startswith("是：")
    assert {model for model, _ in reply.check.models_named} == {"A1263", "PAC20-272"}
    assert "; " not in reply.text and "。 " not in reply.text  # Chinese punctuation joins the parts
