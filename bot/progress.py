"""Backfill progress: a bar on a terminal (tqdm), plain lines in a log or a pipe."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from tqdm import tqdm

from bot.sources.base import HistoryStep

LINE_EVERY = 10.0  # seconds between plain progress lines


class BarProgress:
    """A tqdm bar counting the source's units (reports, records), with rate and time left."""

    def __init__(self, name: str, stream: TextIO) -> None:
        self._bar = tqdm(desc=name, unit="step", file=stream, dynamic_ncols=True)
        self._done = 0

    def update(self, step: HistoryStep, stored: int) -> None:
        """Move the bar to the step's position."""
        if step.total is not None and self._bar.total != step.total:
            self._bar.total = step.total
        self._bar.update(step.done - self._done)
        self._done = step.done
        self._bar.set_postfix(records=f"{stored:,}", refresh=False)

    def close(self) -> None:
        self._bar.close()


class LineProgress:
    """One plain line every LINE_EVERY seconds and at the end, for logs and pipes."""

    def __init__(self, name: str, stream: TextIO) -> None:
        self._name, self._stream = name, stream
        self._started = self._last = time.monotonic()
        self._step: HistoryStep | None = None
        self._stored = 0

    def update(self, step: HistoryStep, stored: int) -> None:
        """Print a line if the last one is LINE_EVERY seconds old."""
        self._step, self._stored = step, stored
        if time.monotonic() - self._last >= LINE_EVERY:
            self._print()

    def _print(self) -> None:
        if self._step is None:
            return
        self._last = time.monotonic()
        done, total = self._step.done, self._step.total
        rate = done / max(1e-9, self._last - self._started)
        left = f", about {(total - done) / rate:.0f} s left" if total and rate > 0 else ""
        of = f"/{total}" if total else ""
        print(f"{self._name}: {done}{of} done, {self._stored:,} records stored{left}", file=self._stream, flush=True)

    def close(self) -> None:
        self._print()


@contextmanager
def progress_for(name: str, stream: TextIO) -> Iterator[BarProgress | LineProgress]:
    """Yield a progress bar on a terminal, plain lines otherwise; end it on the way out."""
    progress = BarProgress(name, stream) if stream.isatty() else LineProgress(name, stream)
    try:
        yield progress
    finally:
        progress.close()
