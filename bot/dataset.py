"""The bundled dataset, and storing events so lookups are index lookups."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path

from sqlmodel import Session

from bot.events import Event
from bot.normalize import name_key
from bot.sources.base import Problem
from bot.sources.cpsc import parse_records
from bot.sources.curated import parse_brands, parse_curated
from storage import repo

logger = logging.getLogger(__name__)

SNAPSHOT_ORIGIN = "bundled:cpsc-snapshot"
CURATED_ORIGIN = "bundled:curated"


@dataclass
class StoreReport:
    """What storing a batch of events changed."""

    new: list[Event] = field(default_factory=list)
    updated: list[tuple[Event, Event]] = field(default_factory=list)  # (old, new)
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)


def _curated_text() -> str:
    return (resources.files("bot") / "data" / "curated.toml").read_text("utf-8")


def bundled_curated() -> tuple[list[Event], list[Problem]]:
    """Return the events of the bundled curated file."""
    return parse_curated(_curated_text(), "bundled curated.toml")


def load_brand_aliases(session: Session) -> list[Problem]:
    """Store the brand aliases of the bundled curated file ("小米" is Xiaomi); return the records skipped."""
    pairs, problems = parse_brands(_curated_text(), "bundled curated.toml")
    repo.replace_brand_aliases(session, [(name_key(alias), name_key(name), name) for alias, name in pairs])
    return problems


def bundled_events() -> dict[str, tuple[list[Event], list[Problem]]]:
    """Return the events shipped with recallbot, by origin: the CPSC snapshot and the curated file."""
    with gzip.open(
        (resources.files("bot") / "data" / "cpsc-snapshot.json.gz").open("rb"), "rt", encoding="utf-8"
    ) as fh:
        snapshot = parse_records(json.load(fh), "bundled CPSC snapshot")
    return {SNAPSHOT_ORIGIN: snapshot, CURATED_ORIGIN: bundled_curated()}


def store_events(
    session: Session, events: list[Event], origin: str, now: datetime, *, own_only: bool = False
) -> StoreReport:
    """Insert new events and overwrite changed ones; return what changed.

    With ``own_only`` an event another origin wrote is left as it is (counted unchanged).
    """
    report = StoreReport()
    stored = repo.known_hashes(session, [e.id for e in events], origin)
    changed = [e for e in events if e.id in stored and stored[e.id] != e.content_hash]
    if own_only and changed:
        owners = repo.event_origins(session, [e.id for e in changed])
        changed = [e for e in changed if owners[e.id] == origin]
    report.new = [e for e in events if e.id not in stored]
    report.unchanged = len(events) - len(report.new) - len(changed)
    if changed:
        old = repo.get_events(session, [e.id for e in changed])
        report.updated = [(old[e.id], e) for e in changed]
        repo.replace_events(session, changed, origin, now)
    repo.insert_events(session, report.new, origin, now)
    return report


def load_bundled(session: Session, now: datetime) -> StoreReport:
    """Store the bundled dataset; only records that changed since the last start are written.

    This runs at every start, so it must never revert what a live source wrote: a bundled
    record fills in an event that is absent, and updates only an event the same bundled
    file wrote (a newer snapshot); an event a live feed has since updated stays as it is.
    """
    total = StoreReport()
    # Parsing the bundled files takes seconds; a start with the very files and parsers of the
    # last one has nothing to store, so `recallbot check` and restarts skip it.
    digest = bundled_digest()
    if repo.get_meta(session, BUNDLED_DIGEST) == digest:
        return total
    for origin, (events, problems) in bundled_events().items():
        report = store_events(session, events, origin, now, own_only=True)
        total.new += report.new
        total.updated += report.updated
        total.unchanged += report.unchanged
        total.problems += problems
    total.problems += load_brand_aliases(session)
    for problem in total.problems:
        logger.warning("skipped a bundled record: %s", problem)
    if total.new or total.updated:
        repo.set_meta(session, "dataset_version", now.isoformat())
    repo.set_meta(session, BUNDLED_DIGEST, digest)
    return total


BUNDLED_DIGEST = "bundled_digest"
# What turns the bundled files into events: a change to any of them reloads the files.
_PARSERS = ("dataset.py", "events.py", "normalize.py", "sources/cpsc.py", "sources/curated.py", "extract")


def bundled_digest() -> str:
    """Return a digest of the bundled data files and the code that parses them."""
    root = Path(__file__).parent
    files = sorted((root / "data").glob("*")) + [
        path
        for name in _PARSERS
        for path in sorted([root / name] if name.endswith(".py") else (root / name).glob("*.py"))
    ]
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()
