"""Read a photo of a product label: its retail barcode, or the model number printed on it.

Barcodes (EAN-13, UPC-A, EAN-8, UPC-E) are decoded with zxing-cpp and returned as
GTIN-14, the form :func:`bot.normalize.gtin_key` gives recall barcodes. A photo without
one is read with RapidOCR, an optional extra (``rapidocr-onnxruntime``), and the model
numbers in its text are found by the rules that find them in recall notices
(:func:`bot.extract.extract_models`), with label words such as "M/N" and "型号" read as
"Model". OCR confuses look-alike characters (1/l/I/|, 0/O/D, 5/S, 8/B, 2/Z), so a model
read as "Al263" is taken to be A1263 when that is a known model and "Al263" is not.

Everything here is synchronous and CPU-bound, except :class:`PhotoReader`, which runs it
in a small thread pool off the event loop. Pillow, zxing-cpp and RapidOCR are imported
where they are used: importing this module costs nothing, and OCR's models load on the
first photo that needs them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import io
import itertools
import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.errors import PhotoBusy, PhotoTooLarge
from bot.extract import extract_models
from bot.normalize import model_key

if TYPE_CHECKING:
    from PIL.Image import Image

logger = logging.getLogger(__name__)

MAX_PHOTO_BYTES = 20 * 1024 * 1024  # the largest file Telegram's getFile serves
# A 48-megapixel phone photo passes; a small file that inflates to gigapixels does not.
MAX_PIXELS = 50_000_000
# Telegram's own photos are at most 2560 pixels on a side; a larger original is scaled down to
# that before decoding, which keeps a label's bars and letters many pixels wide and the work bounded.
WORK_SIDE = 2560
MAX_VARIANTS = 256  # confusable spellings tried per candidate
MAX_CHANGES = 3  # a read that needs more fixes than this to be a known model is not taken for it
MAX_CANDIDATES = 5
# One thread: on a two-core machine ONNX Runtime is faster with one than with both, and the
# other core stays free for the event loop.
OCR_THREADS = 1

_CONFUSABLE = {c: group for group in ("1IL", "0OD", "5S", "8B", "2Z") for c in group}
# Label words that name the model; read as "Model" so the notice rules apply after them.
_MODEL_LABEL = re.compile(
    r"(?:\bM/N\b|\b(?:model|modell|modèle|modelo)\b\.?(?:[\s-]*(?:no|nr|num|number)\b\.?|\s*#)?"
    r"|型号|型號|品番|型番|모델명|모델)\s*:?",
    re.IGNORECASE,
)
_SERIAL = re.compile(r"(?:\bS/?N\b|\bserial(?:\s*(?:no|number|#))?\.?|序列号)\s*[:#]?\s*([A-Z0-9][A-Z0-9-]{3,})", re.I)
_UNIT = r"(?:mAh|kWh|Wh|mA|V|A|W|Hz)"
# OCR drops the spaces and the DC sign between ratings: "5V⎓2A" comes back as "5V2A".
_GLUED_MEASURES = re.compile(rf"(?<![\w.])(?:\d+(?:\.\d+)?{_UNIT}){{2,}}(?!\w)", re.IGNORECASE)
_ONE_MEASURE = re.compile(rf"\d+(?:\.\d+)?{_UNIT}", re.IGNORECASE)
_LABEL_END = re.compile(r"(?:model|:)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Candidate:
    """A model number read off a label: ``text`` to check, ``read_as`` what OCR read, ``known`` if a recall names it."""

    text: str
    read_as: str
    known: bool


@dataclass(frozen=True)
class PhotoResult:
    """What a photo showed: GTIN-14 barcodes, else model candidates and serial numbers read by OCR."""

    barcodes: tuple[str, ...] = ()
    candidates: tuple[Candidate, ...] = ()
    text_found: bool = False
    ocr_ran: bool = False
    opened: bool = True  # False: the bytes are no picture that can be read (not an image, damaged, too large)
    serials: tuple[str, ...] = ()


# Barcodes


def _check_digit(body: str) -> str:
    """Return the GS1 check digit of the digits before it (weights 3, 1, 3, ... from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str(-total % 10)


def _upce_to_upca(code: str) -> str:
    """Expand an 8-digit UPC-E (number system, six digits, check digit) to its 12-digit UPC-A."""
    system, d, check = code[0], code[1:7], code[7]
    last = d[5]
    if last in "012":
        body = d[:2] + last + "0000" + d[2:5]
    elif last == "3":
        body = d[:3] + "00000" + d[3:5]
    elif last == "4":
        body = d[:4] + "00000" + d[4]
    else:
        body = d[:5] + "0000" + last
    return system + body + check


def gtin14(digits: str, fmt: str = "") -> str | None:
    """Return an EAN-13, UPC-A, EAN-8, UPC-E or GTIN-14 as GTIN-14 if its check digit holds, else None.

    ``fmt`` names the symbology ("UPC-E", "UPCE"): an 8-digit UPC-E is expanded to UPC-A
    first, while 8 digits without it are an EAN-8.
    """
    text = re.sub(r"[\s-]", "", unicodedata.normalize("NFKC", digits))
    if not re.fullmatch(r"[0-9]+", text):
        return None
    if re.sub(r"[^A-Z]", "", fmt.upper()) == "UPCE" and len(text) == 8:
        if text[0] not in "01":
            return None
        text = _upce_to_upca(text)
    if len(text) not in (8, 12, 13, 14) or _check_digit(text[:-1]) != text[-1]:
        return None
    return text.zfill(14)


def _open(data: bytes) -> Image | None:
    """Return the photo upright in RGB, at most WORK_SIDE on a side; None if it is no image or too large."""
    from PIL import Image, ImageOps

    try:
        opened = Image.open(io.BytesIO(data))
        width, height = opened.size
        if width * height > MAX_PIXELS:
            logger.info("photo of %sx%s pixels not read: over %s", width, height, MAX_PIXELS)
            return None
        scale = min(1.0, WORK_SIDE / max(width, height))
        opened.draft("RGB", (int(width * scale), int(height * scale)))  # a JPEG decodes at a fraction, cheaply
        image = ImageOps.exif_transpose(opened).convert("RGB")
        image.thumbnail((WORK_SIDE, WORK_SIDE))
    except Exception as error:  # Pillow raises many types on broken input: OSError, ValueError, SyntaxError...
        logger.info("photo not readable as an image: %r", error)
        return None
    return image


def _attempts(image: Image) -> Iterator[Image]:
    """Yield the photo as zxing-cpp should try it, cheapest and likeliest first."""
    from PIL import Image as PilImage
    from PIL import ImageOps

    gray = image.convert("L")
    yield gray
    width, height = gray.size
    if max(width, height) < 1000:  # a small photo's bars are a pixel or two wide: enlarge them
        gray = ImageOps.autocontrast(gray.resize((width * 2, height * 2), PilImage.Resampling.BICUBIC))
        width, height = gray.size
        yield gray
    # zxing-cpp misses some small barcodes in a large frame that it reads once cropped; people
    # centre what they photograph.
    yield gray.crop((width // 4, height // 4, width * 3 // 4, height * 3 // 4))
    # It reads bars up to ~30 degrees off its axes; these turns cover the angles in between.
    for angle in (45, -45):
        yield gray.rotate(angle, PilImage.Resampling.BICUBIC, expand=True, fillcolor=255)


def _barcodes(image: Image) -> list[str]:
    import zxingcpp

    retail = zxingcpp.BarcodeFormat
    formats = zxingcpp.BarcodeFormats([retail.EAN13, retail.UPCA, retail.EAN8, retail.UPCE])
    for attempt in _attempts(image):
        found = [gtin14(code.text, code.format.name) for code in zxingcpp.read_barcodes(attempt, formats=formats)]
        codes = list(dict.fromkeys(code for code in found if code))
        if codes:
            return codes
    return []


def read_barcodes(data: bytes) -> list[str]:
    """Return the retail barcodes in a photo as GTIN-14s, in the order found; [] if none or no image."""
    image = _open(data)
    return _barcodes(image) if image is not None else []


# Text


@functools.cache
def ocr_available() -> bool:
    """Tell whether the optional OCR extra (rapidocr-onnxruntime) can be used."""
    try:
        importlib.import_module("rapidocr_onnxruntime")  # untyped: by name, so mypy needs no stubs for it
    except ImportError as error:  # also OpenCV without its system libraries (libGL)
        logger.info("photos are read for barcodes only: %s", error)
        return False
    return True


class _Ocr:
    """One RapidOCR engine per process, made on first use: it loads ~16 MB of models.

    A lock lets one thread at a time use it: the engine keeps per-call settings on
    itself, and a second run on a two-core machine would only slow both.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._engine: Any = None

    def lines(self, image: Image) -> list[str]:
        if min(image.size) < 8 or max(image.size) > 40 * min(image.size):
            return []  # no label is shaped so, and RapidOCR fails resizing a sliver ("4000x3")
        with self._lock:
            if self._engine is None:
                rapidocr = importlib.import_module("rapidocr_onnxruntime")
                self._engine = rapidocr.RapidOCR(intra_op_num_threads=OCR_THREADS, inter_op_num_threads=OCR_THREADS)
            result, _ = self._engine(image)
        return [text.strip() for _, text, _ in result or () if text.strip()]


_OCR = _Ocr()


def read_text(data: bytes) -> list[str]:
    """Return the lines of text OCR reads in a photo, top to bottom; [] if none, no image or no OCR."""
    image = _open(data)
    return _OCR.lines(image) if image is not None and ocr_available() else []


# Model numbers in the text


def _clean(line: str) -> str:
    """Undo what OCR does to a label line that the notice rules would misread."""
    line = unicodedata.normalize("NFKC", line)
    line = re.sub(r"(?<=\w)\||\|(?=\w)", "I", line)  # "A|263": a bar is a 1 or an I, never a list mark here
    line = _GLUED_MEASURES.sub(lambda m: " ".join(_ONE_MEASURE.findall(m.group())), line)
    return _MODEL_LABEL.sub(" Model: ", line)


def _notice_text(lines: list[str]) -> str:
    """Join label lines as sentences, so a list after "Model:" or "SN:" ends with its line."""
    out = ""
    for line in lines:
        out += line + (" " if _LABEL_END.search(line) else " .\n")
    return out


def _variants(key: str) -> Iterator[str]:
    """Yield the spellings OCR may have misread as ``key``, fewest changes first, at most MAX_VARIANTS."""
    spots = [(i, [c for c in _CONFUSABLE[ch] if c != ch]) for i, ch in enumerate(key) if ch in _CONFUSABLE]
    count = 0
    for changes in range(1, min(len(spots), MAX_CHANGES) + 1):
        for chosen in itertools.combinations(spots, changes):
            for letters in itertools.product(*(alternatives for _, alternatives in chosen)):
                chars = list(key)
                for (i, _), letter in zip(chosen, letters, strict=True):
                    chars[i] = letter
                yield "".join(chars)
                count += 1
                if count >= MAX_VARIANTS:
                    return


def _resolve(read_as: str, known_models: Mapping[str, str]) -> Candidate:
    """Return the candidate a read stands for: a known model as read, or one OCR slip away, else as read."""
    key = model_key(read_as)
    if key in known_models:
        return Candidate(known_models[key], read_as, True)
    if len(key) >= 4:  # "VH2" is one slip from too many short codes to guess
        for variant in _variants(key):
            if variant in known_models:
                return Candidate(known_models[variant], read_as, True)
    return Candidate(read_as, read_as, False)


def _misread_number(token: str) -> bool:
    """Tell a number OCR spelled with lower-case look-alikes ("1oo00") from a model with letters."""
    letters = [c for c in token if c.isalpha()]
    return bool(letters) and all(c in "oli" for c in letters)


def label_serials(lines: list[str]) -> list[str]:
    """Return the serial numbers a label prints after "SN", "S/N" or "Serial", in order."""
    found = (m.group(1) for line in lines for m in _SERIAL.finditer(unicodedata.normalize("NFKC", line)))
    return list(dict.fromkeys(found))


def label_candidates(lines: list[str], known_models: Mapping[str, str]) -> list[Candidate]:
    """Return up to five model numbers read on a label: known models first, then in reading order.

    ``known_models`` maps a model key to its label, as ``Vocabulary.models`` does.
    """
    cleaned = [_clean(line) for line in lines]
    keys = [model_key(line) for line in cleaned]
    serials = {model_key(serial) for serial in label_serials(lines)}
    found: dict[str, tuple[int, Candidate]] = {}
    for model in extract_models(_notice_text(cleaned)):
        candidate = _resolve(model, known_models)
        key = model_key(candidate.text)
        if key in serials or key in found or (not candidate.known and _misread_number(model)):
            continue
        line = next((i for i, line_key in enumerate(keys) if model_key(model) in line_key), len(lines))
        found[key] = (line, candidate)
    ordered = sorted(found.values(), key=lambda item: (not item[1].known, item[0]))
    return [candidate for _, candidate in ordered[:MAX_CANDIDATES]]


# A whole label


def read_label(data: bytes, known_models: Mapping[str, str], ocr: bool = True) -> PhotoResult:
    """Read a label photo: its barcodes, or when it has none and ``ocr`` is on, the model numbers in its text."""
    image = _open(data)
    if image is None:
        return PhotoResult(opened=False)
    barcodes = _barcodes(image)
    if barcodes or not ocr or not ocr_available():
        return PhotoResult(barcodes=tuple(barcodes))
    lines = _OCR.lines(image)
    return PhotoResult(
        candidates=tuple(label_candidates(lines, known_models)),
        text_found=bool(lines),
        ocr_ran=True,
        serials=tuple(label_serials(lines)),
    )


Reader = Callable[[bytes, Mapping[str, str]], PhotoResult]


class PhotoReader:
    """Read label photos in a bounded thread pool, off the event loop, one photo per chat at a time.

    ``max_pending`` bounds the photos held at once (each up to 20 MB), running or queued.
    """

    def __init__(self, max_workers: int = 2, max_pending: int = 16, reader: Reader = read_label) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="photo")
        self._reader = reader
        self._max_pending = max_pending
        self._running: dict[str, Future[PhotoResult]] = {}  # chat -> its photo; touched on the loop only

    def busy(self, chat: str) -> bool:
        """Tell whether a photo of this chat is being read (checked before downloading the next)."""
        return chat in self._running

    @property
    def pending(self) -> int:
        """Return how many photos are being read or wait for a worker."""
        return len(self._running)

    async def read(self, chat: str, data: bytes, known_models: Mapping[str, str]) -> PhotoResult:
        """Read a photo a chat sent.

        :raises PhotoTooLarge: the photo is over MAX_PHOTO_BYTES.
        :raises PhotoBusy: the chat's previous photo is still being read, or ``max_pending`` are.
        """
        if len(data) > MAX_PHOTO_BYTES:
            raise PhotoTooLarge(len(data), MAX_PHOTO_BYTES)
        if chat in self._running:
            raise PhotoBusy(chat, own=True)
        if len(self._running) >= self._max_pending:
            raise PhotoBusy(chat, own=False)
        loop = asyncio.get_running_loop()
        future = self._pool.submit(self._reader, data, known_models)
        self._running[chat] = future
        # The chat stays busy until the work ends, not when a cancelled caller stops waiting for it.
        future.add_done_callback(lambda done: self._release(loop, chat, done))
        return await asyncio.wrap_future(future)

    def _release(self, loop: asyncio.AbstractEventLoop, chat: str, done: Future[PhotoResult]) -> None:
        """Free the chat, on the event loop's thread (this runs on the worker's)."""

        def release() -> None:
            if self._running.get(chat) is done:
                del self._running[chat]

        # A loop closed meanwhile has no chat left to free: the bot is shutting down.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(release)

    def close(self, wait: bool = True) -> None:
        """Stop the pool: photos not yet started are dropped; with ``wait``, block until the running ones end."""
        self._pool.shutdown(wait=wait, cancel_futures=True)
