"""`/check` latency: exact hits and misses with suggestions, on the bundled data and on a
synthetic 100,000-recall / 300,000-model set, next to a linear scan measured in the same run.

Run: python -m bench.check_latency [--recalls 100000] [--queries 2000]
"""

from __future__ import annotations

import argparse
import random
import string
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bot.commands import Core
from bot.dataset import bundled_events
from bot.events import Event, EventKind, KeyType
from bot.matching import Verdict, check
from bot.normalize import model_key
from storage import repo
from storage.db import make_engine, migrate

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def db_url(target: str | Path) -> str:
    """Return a database URL: a PostgreSQL URL as it is, a path as a SQLite file."""
    return str(target) if "://" in str(target) else f"sqlite:///{target}"


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(fn: Callable[[str], object], queries: list[str]) -> list[float]:
    """Return the latency of each call in milliseconds."""
    out = []
    for query in queries:
        start = time.perf_counter_ns()
        fn(query)
        out.append((time.perf_counter_ns() - start) / 1e6)
    return out


def synthetic_events(n: int, models_per: int, rng: random.Random) -> list[Event]:
    brands = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 9))).capitalize() for _ in range(n // 20)]
    events = []
    for i in range(n):
        prefix = "".join(rng.choices(string.ascii_uppercase, k=rng.randint(1, 3)))
        models = tuple(f"{prefix}{rng.randint(100, 99999)}-{i % 1000:03d}{chr(65 + j)}" for j in range(models_per))
        events.append(
            Event(
                id=f"syn-{i}",
                kind=EventKind.RECALL,
                date=date(2020, 1, 1) + timedelta(days=i % 2000),
                title=f"Synthetic recall {i}",
                authority="Synthetic",
                source="bench",
                brand=rng.choice(brands),
                products=(f"Synthetic product {i}",),
                models=models,
                hazard="Synthetic hazard.",
            )
        )
    return events


def misspell(label: str, rng: random.Random) -> str:
    """Change one character so the model is unknown but close to a known one."""
    i = rng.randrange(len(label))
    return label[:i] + ("7" if label[i] != "7" else "8") + label[i + 1 :]


def measure(core: Core, labels: list[str], records: list[tuple[str, list[str]]], queries: int, rng: random.Random):
    session = core.session()
    vocabulary = core.vocabulary(session)

    def run(query: str) -> Verdict:
        return check(session, vocabulary, query).verdict

    def scan(query: str) -> list[str]:
        key = model_key(query)
        return [event_id for event_id, keys in records if key in keys]

    known = {model_key(label) for label in labels}
    hits = [rng.choice(labels) for _ in range(queries)]
    misses = []
    while len(misses) < queries:
        candidate = misspell(rng.choice(labels), rng)
        if model_key(candidate) not in known:
            misses.append(candidate)
    assert all(run(q) is Verdict.RECALLED for q in hits[:50])
    with_suggestions = sum(bool(check(session, vocabulary, q).suggestions) for q in misses[:200])
    rows = {
        "exact hit": timed(run, hits),
        "exact hit, linear scan": timed(scan, hits[: max(50, queries // 10)]),
        "miss + suggestions": timed(run, misses),
    }
    session.close()
    return rows, with_suggestions / 200


def build(path: str | Path, events: list[Event]) -> tuple[Core, list[str], list[tuple[str, list[str]]]]:
    """Store the events in a fresh SQLite file; return the core, model labels and scan records."""
    engine = make_engine(db_url(path))
    migrate(engine)
    core = Core(engine)
    with core.session() as session:
        repo.insert_events(session, events, "bench", NOW)
        repo.set_meta(session, "dataset_version", "bench")
        session.commit()
        labels = [label for _, _, label in repo.key_vocabulary(session, [KeyType.MODEL.value])]
    records = [(event.id, [model_key(m) for m in event.models]) for event in events]
    return core, labels, records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recalls", type=int, default=100_000)
    parser.add_argument("--models-per-recall", type=int, default=3)
    parser.add_argument("--queries", type=int, default=2000)
    args, _ = parser.parse_known_args()
    rng = random.Random(42)
    row = "{:<28} {:<34} {:>5} {:>8} {:>8}  {}"
    print(row.format("dataset", "case", "n", "p50 ms", "p99 ms", "target"))
    with tempfile.TemporaryDirectory() as tmp:
        datasets = [
            ("bundled data", [e for events, _ in bundled_events().values() for e in events]),
            (f"synthetic {args.recalls:,} recalls", synthetic_events(args.recalls, args.models_per_recall, rng)),
        ]
        for n, (name, events) in enumerate(datasets):
            started = time.perf_counter()
            core, labels, records = build(Path(tmp) / f"{n}.db", events)
            built = time.perf_counter() - started
            rows, suggested = measure(core, labels, records, args.queries, rng)
            core.engine.dispose()
            judged = n == len(datasets) - 1  # the targets are set for the 100k set
            targets = {"exact hit": (2.0, "p99 < 2 ms"), "miss + suggestions": (30.0, "p99 < 30 ms")}
            for case, samples in rows.items():
                p50, p99 = percentile(samples, 0.5), percentile(samples, 0.99)
                limit, text = targets.get(case, (None, "baseline"))
                verdict = (" met" if p99 < limit else " MISSED") if judged and limit else ""
                print(row.format(name, case, len(samples), f"{p50:.3f}", f"{p99:.3f}", text + verdict))
            speedup = percentile(rows["exact hit, linear scan"], 0.5) / percentile(rows["exact hit"], 0.5)
            verdict = (" met" if speedup >= 50 else " MISSED") if judged else ""
            print(row.format(name, "index speed-up over scan (p50)", "", f"{speedup:.1f}x", "", ">= 50x" + verdict))
            print(f"{name:<28} {len(labels):,} model keys stored in {built:.1f} s; {suggested:.0%} of misses suggested")


if __name__ == "__main__":
    main()
