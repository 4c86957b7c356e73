"""Reading label photos: barcodes, OCR'd model numbers, and the reader that runs it off the event loop.

The photographs are in tests/data/photos (see its README: generated ones, and one real photo).
Known models are the bundled dataset's, as ``Vocabulary.models`` holds them.
"""

from __future__ import annotations

import asyncio
import io
import struct
import subprocess
import sys
import threading
import zlib
from collections.abc import Mapping
from pathlib import Path

import pytest

from bot import photos
from bot.dataset import bundled_events
from bot.normalize import gtin_key, model_key
from bot.photos import (
    MAX_PHOTO_BYTES,
    MAX_VARIANTS,
    Candidate,
    PhotoBusy,
    PhotoReader,
    PhotoResult,
    PhotoTooLarge,
    gtin14,
    label_candidates,
    label_serials,
    read_barcodes,
    read_label,
)

PHOTOS = Path(__file__).parent / "data" / "photos"
HALO_UPC = "840056145528"  # CPSC recall 24-350, HALO 1000 Portable Power Stations


def photo(name: str) -> bytes:
    return (PHOTOS / name).read_bytes()


@pytest.fixture(scope="module")
def events():
    return [event for found, _ in bundled_events().values() for event in found]


@pytest.fixture(scope="module")
def known(events) -> dict[str, str]:
    return {model_key(model): model for event in events for model in event.models}


@pytest.fixture
def ocr():
    pytest.importorskip("rapidocr_onnxruntime")


def png_header(width: int, height: int) -> bytes:
    """Return a PNG that claims ``width`` x ``height`` pixels and holds none: a decompression bomb's shape."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


# gtin14


@pytest.mark.parametrize(
    ("digits", "fmt", "expected"),
    [
        ("4006381333931", "", "04006381333931"),  # EAN-13
        ("840056145528", "", "00840056145528"),  # UPC-A
        ("0840056145528", "EAN-13", "00840056145528"),  # UPC-A as zxing-cpp reports it
        ("96385074", "", "00000096385074"),  # EAN-8
        ("04252614", "UPC-E", "00042100005264"),  # UPC-E, expanded to UPC-A 042100005264
        ("04252614", "UPCE", "00042100005264"),
        ("10012345678902", "", "10012345678902"),  # GTIN-14
        ("４００６３８１３３３９３１", "", "04006381333931"),  # full-width digits
        ("0 84005 61455 28", "", "00840056145528"),  # as printed under the bars
    ],
)
def test_gtin14_normalises_a_valid_code(digits, fmt, expected):
    assert gtin14(digits, fmt) == expected


@pytest.mark.parametrize(
    ("digits", "fmt"),
    [
        ("4006381333932", ""),  # EAN-13, wrong check digit
        ("840056145527", ""),  # UPC-A, wrong check digit
        ("96385075", ""),  # EAN-8, wrong check digit
        ("04252615", "UPC-E"),  # UPC-E, wrong check digit
        ("24252614", "UPC-E"),  # UPC-E has number system 0 or 1 only
        ("84005614552", ""),  # 11 digits: no such code
        ("84005614552X", ""),
        ("", ""),
    ],
)
def test_gtin14_rejects_an_invalid_code(digits, fmt):
    assert gtin14(digits, fmt) is None


def test_eight_digits_are_checked_as_an_ean8_unless_said_to_be_upce():
    assert (gtin14("04252614"), gtin14("04252614", "UPC-E")) == (None, "00042100005264")


# Barcodes


def test_the_recalled_products_barcode_photo_decodes_to_its_gtin14(events):
    halo = next(event for event in events if HALO_UPC in event.barcodes)

    found = read_barcodes(photo("barcode_recalled.jpg"))

    assert found == ["00840056145528"]
    assert found[0] in {gtin_key(code) for code in halo.barcodes}


def test_a_label_without_a_barcode_has_none():
    assert read_barcodes(photo("label_a1263.jpg")) == []


def test_a_real_photo_of_code39_barcodes_gives_no_retail_barcode():
    assert read_barcodes(photo("real_code39_sheet.jpg")) == []


def test_a_barcode_photo_is_answered_without_ocr(known):
    result = read_label(photo("barcode_recalled.jpg"), known)

    assert result == PhotoResult(barcodes=("00840056145528",))


@pytest.mark.parametrize("angle", [40, -50])
def test_a_barcode_photographed_at_an_angle_is_read(angle):
    from PIL import Image

    original = Image.open(io.BytesIO(photo("barcode_recalled.jpg")))
    turned = original.rotate(angle, Image.Resampling.BICUBIC, expand=True, fillcolor=(128, 128, 128))
    data = io.BytesIO()
    turned.save(data, "JPEG", quality=85)

    assert read_barcodes(data.getvalue()) == ["00840056145528"]


# Bad input


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not an image at all",
        photo("barcode_recalled.jpg")[:3000],  # a truncated JPEG
        png_header(40_000, 40_000),  # 1.6 gigapixels: Pillow's decompression bomb error
        png_header(8_000, 8_000),  # 64 megapixels: over MAX_PIXELS
    ],
    ids=["empty", "text", "truncated", "bomb", "huge"],
)
def test_bytes_that_are_no_usable_image_give_an_empty_result(data, known):
    assert (read_barcodes(data), read_label(data, known)) == ([], PhotoResult(opened=False))


def test_an_image_too_thin_to_hold_a_label_gives_an_empty_result(known):
    from PIL import Image

    data = io.BytesIO()
    Image.new("RGB", (4000, 3), "white").save(data, "PNG")

    assert read_label(data.getvalue(), known) == PhotoResult(ocr_ran=True)


# OCR of whole labels


def test_the_a1263_label_yields_the_known_model_a1263(known, ocr):
    result = read_label(photo("label_a1263.jpg"), known)

    assert (result.barcodes, result.ocr_ran, result.text_found) == ((), True, True)
    assert [(c.text, c.known) for c in result.candidates] == [("A1263", True)]
    assert result.serials == ("AH12631F23456789",)


def test_the_chinese_label_yields_the_known_model_pac20_272(known, ocr):
    result = read_label(photo("label_pac20_272.jpg"), known)

    assert [(c.text, c.known) for c in result.candidates] == [("PAC20-272", True)]


def test_the_unrelated_label_yields_no_known_model(known, ocr):
    result = read_label(photo("label_unrelated.jpg"), known)

    assert result.text_found
    assert [c for c in result.candidates if c.known] == []
    assert {c.text for c in result.candidates} == {"M185", "M-R0048"}


def test_a_photo_without_text_or_barcode_yields_nothing(known, ocr):
    result = read_label(photo("nothing.jpg"), known)

    assert result == PhotoResult(ocr_ran=True)


def test_a_real_photo_with_only_numbers_yields_no_model(known, ocr):
    result = read_label(photo("real_code39_sheet.jpg"), known)

    assert (result.text_found, result.candidates) == (True, ())


def test_ocr_can_be_turned_off(known):
    result = read_label(photo("label_a1263.jpg"), known, ocr=False)

    assert result == PhotoResult()


# Model numbers in OCR'd lines


@pytest.mark.parametrize("read_as", ["Al263", "AI263", "A|263", "AL263", "A1Z63"])
def test_a_confusable_read_maps_to_the_known_model(read_as, known):
    candidates = label_candidates([f"Model: {read_as}"], known)

    assert candidates == [Candidate("A1263", read_as.replace("|", "I"), True)]


def test_a_read_of_an_unknown_model_stays_as_read(known):
    assert label_candidates(["Model: ZX7Q41"], known) == [Candidate("ZX7Q41", "ZX7Q41", False)]


@pytest.mark.parametrize(
    "line",
    ["型号：PAC20-272", "型號: PAC20-272", "Model No.: PAC20-272", "M/N: PAC20-272", "Modell-Nr.: PAC20-272"],
)
def test_label_words_name_the_model(line, known):
    assert label_candidates([line], known) == [Candidate("PAC20-272", "PAC20-272", True)]


def test_a_plain_number_is_a_model_after_a_label_word_only(known):
    assert label_candidates(["型号：98231", "PowerCore 10000"], known) == [Candidate("98231", "98231", False)]


def test_a_model_on_the_line_after_its_label_is_found(known):
    assert label_candidates(["Model:", "A1263"], known) == [Candidate("A1263", "A1263", True)]


def test_serial_numbers_are_not_models(known):
    lines = ["Model: A1263", "S/N: AH12631F23456789", "SN:A1642X0001"]

    assert label_candidates(lines, known) == [Candidate("A1263", "A1263", True)]
    assert label_serials(lines) == ["AH12631F23456789", "A1642X0001"]


def test_ratings_glued_together_by_ocr_are_not_models(known):
    lines = ["Input:5V2A", "Capacity:10000mAh3.6V 36Wh", "输入：5V-3A9V2A", "AnkerPowerCore 1oo00"]

    assert label_candidates(lines, known) == []


def test_known_models_come_first_then_reading_order_at_most_five(known):
    lines = ["Model: ZX7Q41", "Item: QQ123", "RT9001 / VB4410 / KK2002", "Model: A1263", "HJ8833"]

    assert [c.text for c in label_candidates(lines, known)] == ["A1263", "ZX7Q41", "QQ123", "RT9001", "VB4410"]


def test_repeated_reads_of_one_model_count_once(known):
    assert label_candidates(["Model: Al263", "A1263", "AI263"], known) == [Candidate("A1263", "Al263", True)]


def test_confusable_spellings_tried_are_bounded():
    assert len(list(photos._variants("1" * 30))) == MAX_VARIANTS


def test_importing_photos_loads_no_image_library():
    code = (
        "import sys, bot.photos; print(sorted({'PIL', 'zxingcpp', 'rapidocr_onnxruntime', 'numpy'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout

    assert out.strip() == "[]"


# PhotoReader


class Blocking:
    """A reader that holds each read until released, so a test can act while photos are being read."""

    def __init__(self, parties: int = 1) -> None:
        self.entered = threading.Barrier(parties + 1)
        self.release = threading.Event()

    def __call__(self, data: bytes, known_models: Mapping[str, str]) -> PhotoResult:
        self.entered.wait(timeout=10)
        assert self.release.wait(timeout=10)
        return PhotoResult(barcodes=(data.decode(),))


async def test_a_second_photo_from_a_chat_being_read_is_refused():
    blocking = Blocking()
    reader = PhotoReader(reader=blocking)
    first = asyncio.create_task(reader.read("chat-1", b"first", {}))
    await asyncio.to_thread(blocking.entered.wait, 10)

    with pytest.raises(PhotoBusy) as busy:
        await reader.read("chat-1", b"second", {})

    blocking.release.set()
    assert (await first, busy.value.chat, busy.value.own) == (PhotoResult(barcodes=("first",)), "chat-1", True)
    reader.close()


async def test_a_chat_may_send_its_next_photo_once_the_last_is_read():
    reader = PhotoReader(reader=lambda data, known: PhotoResult(barcodes=(data.decode(),)))

    first = await reader.read("chat-1", b"first", {})
    second = await reader.read("chat-1", b"second", {})

    assert (first.barcodes, second.barcodes, reader.pending) == (("first",), ("second",), 0)
    reader.close()


async def test_two_chats_photos_are_read_at_once():
    blocking = Blocking(parties=2)  # both reads must be inside the reader together to pass the barrier
    reader = PhotoReader(max_workers=2, reader=blocking)
    reads = [asyncio.create_task(reader.read(chat, chat.encode(), {})) for chat in ("chat-1", "chat-2")]
    await asyncio.to_thread(blocking.entered.wait, 10)

    blocking.release.set()

    assert [r.barcodes for r in await asyncio.gather(*reads)] == [("chat-1",), ("chat-2",)]
    reader.close()


async def test_a_full_reader_refuses_another_chats_photo():
    blocking = Blocking()
    reader = PhotoReader(max_workers=1, max_pending=1, reader=blocking)
    first = asyncio.create_task(reader.read("chat-1", b"first", {}))
    await asyncio.to_thread(blocking.entered.wait, 10)

    with pytest.raises(PhotoBusy) as busy:
        await reader.read("chat-2", b"second", {})

    blocking.release.set()
    await first
    assert (busy.value.chat, busy.value.own) == ("chat-2", False)
    reader.close()


async def test_a_photo_over_the_limit_is_refused_unread():
    reader = PhotoReader(reader=lambda data, known: pytest.fail("a too-large photo was read"))

    with pytest.raises(PhotoTooLarge) as large:
        await reader.read("chat-1", bytes(MAX_PHOTO_BYTES + 1), {})

    assert (large.value.size, large.value.limit) == (MAX_PHOTO_BYTES + 1, MAX_PHOTO_BYTES)
    reader.close()


async def test_the_reader_reads_a_real_photo(known):
    reader = PhotoReader()

    result = await reader.read("chat-1", photo("barcode_recalled.jpg"), known)

    assert result.barcodes == ("00840056145528",)
    reader.close()
