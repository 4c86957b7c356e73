"""Photos of labels, answered: the core's answer, and the real Telegram and Discord clients against the fakes.

The photos are in tests/data/photos (see its README: generated labels of real recalled
models, and an unrelated one). HALO's UPC 840056145528 is CPSC recall 24-350 of the
bundled snapshot; A1263 is the Anker recall 25-338 of the test slice.
"""

from __future__ import annotations

from functools import cache
from importlib.util import find_spec
from pathlib import Path

import pytest

from bot import messages
from bot.commands import dispatch, photo
from bot.config import TelegramConfig
from bot.dataset import SNAPSHOT_ORIGIN, bundled_events, store_events
from bot.events import Destination, Event
from bot.photos import Candidate, PhotoResult
from bot.sources.eu_safety_gate import parse_report
from notifiers.telegram_bot import telegram_running
from tests import fake_telegram
from tests.conftest import DATA, eventually
from tests.test_discord import discord_bot_running, server  # noqa: F401  (fixtures)

PHOTOS = Path(__file__).parent / "data" / "photos"
HALO_UPC = "840056145528"
CHAT = Destination("telegram", "77")
needs_ocr = pytest.mark.skipif(not find_spec("rapidocr_onnxruntime"), reason="the [photos] extra is not installed")


def picture(name: str) -> bytes:
    return (PHOTOS / name).read_bytes()


@cache
def halo() -> Event:
    """Return HALO's recall: the bundled snapshot's record with UPC 840056145528 (parsed once: it takes seconds)."""
    events, _ = bundled_events()[SNAPSHOT_ORIGIN]
    return next(event for event in events if HALO_UPC in event.barcodes)


@pytest.fixture
def core_with_halo(core):
    """The test core, with HALO's recall stored."""
    with core.session(write=True) as session:
        store_events(session, [halo()], SNAPSHOT_ORIGIN, core.clock())
        session.commit()
    return core


def test_a_barcode_answers_with_the_recall_that_lists_it(core_with_halo):
    reply = photo(core_with_halo, CHAT, PhotoResult(barcodes=("00840056145528",)))
    assert reply.text.startswith(f"Yes: barcode {HALO_UPC} is listed in 1 notice")
    assert [m.event.id for m in reply.matches] == ["cpsc-24350"]
    assert reply.matches[0].reason == f"barcode {HALO_UPC} is listed in this notice"


def test_model_numbers_read_are_offered_to_confirm_never_checked_unasked(core):
    read = PhotoResult(candidates=(Candidate("A1263", "Al263", True),), text_found=True, ocr_ran=True)
    reply = photo(core, CHAT, read)
    assert reply.text.startswith("I read A1263 on the label. Tap the one printed as the model number")
    assert reply.matches == ()
    assert [(b.label, b.command) for b in reply.buttons] == [("Check A1263", "check A1263")]


def test_an_unrelated_label_says_nothing_matched_with_the_coverage_line(core):
    read = PhotoResult(
        candidates=(Candidate("M185", "M185", False), Candidate("M-R0048", "M-R0048", False)),
        text_found=True,
        ocr_ran=True,
    )
    text = photo(core, CHAT, read).text
    assert text.startswith("I read M185 and M-R0048 on the label, and no recall I know of names them.")
    assert "and 34 U.S. CPSC recalls from Dec 28, 2023 to Mar 26, 2026" in text
    assert text.endswith("Not being listed does not mean a product is safe.")


def test_a_photo_with_nothing_readable_gets_tips_and_without_ocr_a_sentence(core):
    assert photo(core, CHAT, PhotoResult(ocr_ran=True)).text == messages.PHOTO_NOTHING
    assert photo(core, CHAT, PhotoResult()).text == messages.PHOTO_NO_OCR


# --- Telegram ---------------------------------------------------------------------


@pytest.fixture
async def telegram(bot_api, core_with_halo):
    config = TelegramConfig(token=fake_telegram.TOKEN, api_base_url=bot_api.base_url, api_file_url=bot_api.file_url)
    async with telegram_running(config, core_with_halo) as notifier:
        yield notifier


async def test_telegram_a_barcode_photo_answers_that_recall(bot_api, telegram):
    bot_api.push_photo(5, picture("barcode_recalled.jpg"))
    await eventually(lambda: bot_api.sent(5), timeout=30)
    [answer] = bot_api.sent(5)
    assert answer["text"].startswith(f"Yes: barcode {HALO_UPC} is listed in 1 notice")
    assert "<b>RECALL: " in answer["text"]
    assert [c.method for c in bot_api.calls if c.method in ("sendChatAction", "getFile")] == [
        "sendChatAction",
        "getFile",
    ]
    assert bot_api.downloads == ["photos/file1.jpg"]  # the largest size, not the thumbnail


@needs_ocr
async def test_telegram_a_label_leads_through_the_confirm_button_to_the_recall(bot_api, telegram):
    bot_api.push_photo(5, picture("label_a1263.jpg"), as_file=True)
    await eventually(lambda: bot_api.sent(5), timeout=60)
    [read] = bot_api.sent(5)
    assert read["text"].startswith("I read A1263 on the label.")
    [[button]] = read["reply_markup"]["inline_keyboard"]
    assert button == {"text": "Check A1263", "callback_data": "check A1263"}
    bot_api.push_callback(5, button["callback_data"])
    await eventually(lambda: len(bot_api.sent(5)) == 2)
    assert bot_api.sent(5)[1]["text"].startswith("Yes: A1263 is named in")


@needs_ocr
async def test_telegram_an_unrelated_label_says_nothing_matched_in_chinese_for_a_chinese_app(bot_api, telegram):
    bot_api.push_photo(6, picture("label_unrelated.jpg"), language="zh-hans")
    await eventually(lambda: bot_api.sent(6), timeout=60)
    text = bot_api.sent(6)[0]["text"]
    assert text.startswith("我在铭牌上读到了 M185和M-R0048，我掌握的召回中没有写明它们的。")
    assert "未被列出并不代表产品安全。" in text


async def test_telegram_a_file_over_twenty_megabytes_is_refused_without_a_download(bot_api, telegram):
    bot_api.push_photo(7, b"not read", as_file=True, size=25 * 1024 * 1024)
    await eventually(lambda: bot_api.sent(7))
    assert bot_api.sent(7)[0]["text"] == messages.PHOTO_TOO_LARGE.format(size="25.0", limit=20)
    assert bot_api.downloads == []


async def test_telegram_a_picture_that_cannot_be_opened_gets_a_sentence_not_a_traceback(bot_api, telegram):
    bot_api.push_photo(8, b"\x00garbage, not a JPEG")
    await eventually(lambda: bot_api.sent(8), timeout=30)
    assert bot_api.sent(8)[0]["text"] == messages.PHOTO_UNREADABLE


# --- Discord ----------------------------------------------------------------------


async def test_discord_a_barcode_photo_on_check_is_deferred_then_answered(server, core_with_halo, discord_bot_running):  # noqa: F811
    interaction = await server.slash("check", {}, image=picture("barcode_recalled.jpg"))
    assert (await server.answer(interaction))["type"] == 5  # deferred at once: "thinking" while it reads
    [answer] = await server.followed_up(interaction)
    assert answer["content"].startswith(f"Yes: barcode {HALO_UPC} is listed in 1 notice")
    assert answer["embeds"][0]["title"].startswith("RECALL: ")


@needs_ocr
async def test_discord_a_label_leads_through_the_confirm_button_to_the_recall(server, discord_bot_running):  # noqa: F811
    interaction = await server.slash("check", {}, image=picture("label_a1263.jpg"), locale="zh-CN")
    [read] = await server.followed_up(interaction, timeout=60)
    assert read["content"].startswith("我在铭牌上读到了 A1263。")
    [button] = [b for row in read["components"] for b in row["components"]]
    assert (button["label"], button["custom_id"]) == ("查询 A1263", "recallbot:check A1263")
    pressed = await server.answer(await server.press(button["custom_id"], locale="zh-CN"))
    assert pressed["data"]["content"].startswith("是：")


async def test_discord_an_attachment_that_is_not_a_picture_gets_a_sentence(server, discord_bot_running):  # noqa: F811
    interaction = await server.slash("check", {}, image=b"%PDF-1.4", content_type="application/pdf")
    assert (await server.answer(interaction))["type"] == 5  # deferred at once, then answered
    [answer] = await server.followed_up(interaction)
    assert answer["content"] == messages.PHOTO_NOT_IMAGE


async def test_discord_check_without_a_model_or_an_image_gets_the_usage_sentence(server, discord_bot_running):  # noqa: F811
    answer = await server.answer(await server.slash("check", {}))
    assert answer["data"]["content"] == messages.EMPTY_QUERY.format(what="model or brand")


@pytest.mark.parametrize("typed", ["5060138820289", "５０６０１３８８２０２８９", "05060138820289"])
def test_a_barcode_typed_by_hand_answers_from_the_eu_notice_that_lists_it(core, typed):
    body = (DATA / "eu_safety_gate" / "weekly-report-10000324.xml").read_bytes()
    events, problems = parse_report(body, "test", "10000324")
    assert problems == []
    with core.session(write=True) as session:
        store_events(session, events, "eu_safety_gate:test", core.clock())
        session.commit()
    reply = dispatch(core, CHAT, f"/check {typed}")
    assert reply.text.startswith("Yes: barcode 5060138820289 is listed in 1 notice, for model 73281.")
    assert [m.event.id for m in reply.matches] == ["eu-SR/02546/26"]


def test_a_barcode_no_notice_lists_sends_the_owner_to_the_model_number(core):
    reply = photo(core, CHAT, PhotoResult(barcodes=("04006381333931",)))
    assert reply.text.startswith("No recall or supplier suspension I know of matches 4006381333931.")
    assert reply.text.endswith(messages.PHOTO_BARCODE_UNLISTED)


def test_a_picture_that_cannot_be_opened_says_so(core):
    assert photo(core, CHAT, PhotoResult(opened=False)).text == messages.PHOTO_UNREADABLE
