"""Photo reading: barcode decode and OCR time per test photo, next to Pillow's decode of the
same JPEG measured in the same run; and `/check` latency while photos are being read.

The photos are those of tests/data/photos. OCR times are of the engine once loaded; its
load is a row of its own. The `/check` rows run model lookups on the bundled data on the
event loop's thread, 5 ms apart, first alone, then while four chats keep a photo each in
a two-worker PhotoReader (two read, two wait), as the bot's loop would.

Run: python -m bench.photos [--runs 10] [--ocr-runs 3] [--queries 400]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.check_latency import build, percentile
from bot.dataset import bundled_events
from bot.matching import check
from bot.normalize import model_key
from bot.photos import PhotoReader, ocr_available, read_barcodes, read_label, read_text

PHOTOS = Path(__file__).resolve().parent.parent / "tests" / "data" / "photos"
ROW = "{:<32} {:<34} {:>4} {:>11}  {}"
GAP = 0.005  # seconds between two /check commands: spread over several photo reads


def median_ms(runs: int, fn: Callable[..., object], *args: object) -> float:
    """Return the median time of ``runs`` calls of ``fn(*args)`` in milliseconds."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        fn(*args)
        samples.append((time.perf_counter_ns() - start) / 1e6)
    return statistics.median(samples)


def pillow_decode(data: bytes) -> None:
    """Decode a JPEG fully with Pillow: the floor under any reading of the photo."""
    from PIL import Image

    Image.open(io.BytesIO(data)).convert("RGB")


def known_models() -> dict[str, str]:
    """Return the bundled data's model keys and labels, as ``Vocabulary.models`` holds them."""
    return {model_key(m): m for found, _ in bundled_events().values() for event in found for m in event.models}


def per_photo(runs: int, ocr_runs: int) -> None:
    photos = sorted(PHOTOS.glob("*.jpg"))
    for path in photos:
        data = path.read_bytes()
        name = f"{path.name} ({len(data) // 1024} KiB)"
        ms = median_ms(runs, pillow_decode, data)
        print(ROW.format(name, "Pillow decode (baseline)", runs, f"{ms:.1f}", ""))
        found = read_barcodes(data)
        ms = median_ms(runs, read_barcodes, data)
        print(ROW.format("", "barcode decode (read_barcodes)", runs, f"{ms:.1f}", ", ".join(found) or "none"))
    if not ocr_available():
        print(ROW.format("all photos", "OCR", "", "", "rapidocr-onnxruntime is not installed"))
        return
    start = time.perf_counter()
    read_text((PHOTOS / "nothing.jpg").read_bytes())
    print(ROW.format("", "OCR engine load + first read", 1, f"{(time.perf_counter() - start) * 1000:.0f}", ""))
    known = known_models()
    for path in photos:
        data = path.read_bytes()
        lines = read_text(data)
        ms = median_ms(ocr_runs, read_text, data)
        print(ROW.format(path.name, "OCR (read_text)", ocr_runs, f"{ms:.0f}", f"{len(lines)} lines"))
        result = read_label(data, known)
        ms = median_ms(ocr_runs, read_label, data, known)
        said = ", ".join(f"{c.text}{'*' if c.known else ''}" for c in result.candidates) or "no candidate"
        print(ROW.format("", "read_label (barcodes, else OCR)", ocr_runs, f"{ms:.0f}", said))


async def _checks(run: Callable[[str], object], queries: list[str]) -> list[float]:
    samples = []
    for query in queries:
        start = time.perf_counter_ns()
        run(query)
        samples.append((time.perf_counter_ns() - start) / 1e6)
        await asyncio.sleep(GAP)  # the loop serves other updates between two commands
    return samples


async def _checks_while_reading(run: Callable[[str], object], queries: list[str], photo: bytes) -> list[float]:
    reader = PhotoReader(max_workers=2)
    stop = asyncio.Event()
    known = known_models()
    read = 0

    async def keep_reading(chat: str) -> None:
        nonlocal read
        while not stop.is_set():
            await reader.read(chat, photo, known)
            read += 1

    chats = [asyncio.create_task(keep_reading(f"chat-{i}")) for i in range(4)]
    await asyncio.sleep(0.5)  # let the reads start (and OCR load) before measuring
    samples = await _checks(run, queries)
    stop.set()
    await asyncio.gather(*chats)
    reader.close()
    print(f"{'':<32} ({read} photos read while /check was measured)")
    return samples


def check_p95_while_reading(queries: int = 400) -> None:
    """Print `/check` p50 and p95 alone and while four photos are being read."""
    events = [event for found, _ in bundled_events().values() for event in found]
    photo = (PHOTOS / ("label_a1263.jpg" if ocr_available() else "barcode_recalled.jpg")).read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        core, labels, _ = build(Path(tmp) / "check.db", events)
        session = core.session()
        vocabulary = core.vocabulary(session)
        asked = [labels[i * 7919 % len(labels)] for i in range(queries)]

        def run(query: str) -> object:
            return check(session, vocabulary, query)

        for case, samples in (
            ("/check alone", asyncio.run(_checks(run, asked))),
            ("/check, 4 photos being read", asyncio.run(_checks_while_reading(run, asked, photo))),
        ):
            p50, p95 = percentile(samples, 0.5), percentile(samples, 0.95)
            print(ROW.format("bundled data", case, len(samples), f"{p50:.2f}/{p95:.2f}", "p50/p95 ms"))
        session.close()
        core.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--ocr-runs", type=int, default=3)
    parser.add_argument("--queries", type=int, default=400)
    args, _ = parser.parse_known_args()
    print(ROW.format("photo", "what", "n", "median ms", "read"))
    per_photo(args.runs, args.ocr_runs)
    check_p95_while_reading(args.queries)


if __name__ == "__main__":
    main()
