"""Start-up time of the `recallbot` command: `--help`, `--version` and `check A1263`, each run as a
subprocess (python -m bot.cli ...) as a user would, next to `python -c pass` and
`python -c "import sqlalchemy"` measured in the same run.

Every command runs in an empty temporary directory with its own SQLite file
(RECALLBOT_STORAGE__URL) and the live feeds off (RECALLBOT_CHECKER__DEFAULT_SOURCES=false).
`check` is timed twice: on a new database (migrations and the bundled dataset are loaded
first) and on the database the first run left, the usual case.

Run: python -m bench.cli_startup [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.check_latency import percentile

ROW = "{:<44} {:>5} {:>10} {:>10} {:>5}"
CLI = [sys.executable, "-m", "bot.cli"]
ROOT = Path(__file__).resolve().parent.parent


def environment(workdir: Path, db: Path) -> dict[str, str]:
    """Return this environment without the developer's RECALLBOT_ settings, with a database of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECALLBOT_")}
    return env | {
        "RECALLBOT_STORAGE__URL": f"sqlite:///{db}",
        "RECALLBOT_CHECKER__DEFAULT_SOURCES": "false",
        "XDG_DATA_HOME": str(workdir / "data"),  # the console's history file, if anything writes one
        "PYTHONPATH": str(ROOT),
        "LANG": "C.UTF-8",
    }


def timed_run(command: list[str], workdir: Path, env: dict[str, str]) -> tuple[float, int]:
    """Run ``command`` to its end; return its wall time in seconds and its exit status."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=120)
    return time.perf_counter() - start, done.returncode


def measure(label: str, command: list[str], runs: int, fresh_db: bool = False) -> None:
    """Time ``runs`` runs of ``command`` and print its row: runs, median and p95 in milliseconds."""
    samples, statuses = [], set()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for n in range(runs):
            db = workdir / (f"r{n}.db" if fresh_db else "r.db")
            env = environment(workdir, db)
            if not fresh_db and n == 0:
                timed_run(command, workdir, env)  # the database is made and loaded once, not timed
            seconds, status = timed_run(command, workdir, env)
            samples.append(seconds * 1000)
            statuses.add(status)
    median, p95 = statistics.median(samples), percentile(samples, 0.95)
    print(ROW.format(label, runs, f"{median:.0f}", f"{p95:.0f}", ",".join(map(str, sorted(statuses)))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs of each command (default 10)")
    args = parser.parse_args()
    print(ROW.format("command", "runs", "median ms", "p95 ms", "exit"))
    measure("baseline: python -c pass", [sys.executable, "-c", "pass"], args.runs)
    measure('baseline: python -c "import sqlalchemy"', [sys.executable, "-c", "import sqlalchemy"], args.runs)
    measure("recallbot --help", [*CLI, "--help"], args.runs)
    measure("recallbot --version", [*CLI, "--version"], args.runs)
    measure("recallbot check A1263 (existing database)", [*CLI, "check", "A1263"], args.runs)
    measure("recallbot check A1263 (new database)", [*CLI, "check", "A1263"], max(3, args.runs // 3), fresh_db=True)


if __name__ == "__main__":
    main()
