"""`recallbot run` in console mode, as a process: commands, the scheduled checker, alerts."""

from __future__ import annotations

import queue
import signal
import subprocess
import threading
import time

from tests.conftest import RECALLBOT, clean_env, eventually

NEW_RECALL = """
[[recall]]
id = "zapco-zp200-2026"
date = {today}
brand = "Zapco"
models = ["ZP-200"]
product = "Zapco ZP-200 power bank"
hazard = "The battery can overheat."
source = "test"
"""


class Process:
    """A running recallbot whose output lines can be waited for."""

    def __init__(self, args: list[str], cwd) -> None:
        self.proc = subprocess.Popen(
            [*RECALLBOT, *args],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=clean_env(),
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)

    def send(self, line: str) -> None:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def wait_for(self, text: str, timeout: float = 60, after: int = 0) -> str:
        """Wait for a line containing ``text`` among the lines from index ``after``; return it."""
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.seen[after:]):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"{text!r} not seen; output:\n{''.join(self.seen)}"
            try:
                self.seen.append(self.lines.get(timeout=remaining))
            except queue.Empty:
                continue
        return next(line for line in self.seen[after:] if text in line)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        finally:
            self.proc.kill()


async def test_console_mode_alerts_a_subscriber_when_a_curated_file_gains_a_recall(tmp_path):
    curated = tmp_path / "extra.toml"
    curated.write_text('[[recall]]\nid = "zapco-1"\nbrand = "Zapco"\nproduct = "Zapco ZP-100"\nsource = "test"\n')
    (tmp_path / "config.toml").write_text(
        '[checker]\ninterval_seconds = 10\n[[sources]]\nkind = "curated"\npath = "extra.toml"\n'
    )
    bot = Process(["run", "--config", "config.toml"], tmp_path)
    try:
        bot.wait_for("check: 1 new, 0 updated, 0 unchanged, 0 skipped, 0 alerts queued")  # the baseline
        bot.send("/subscribe brand Zapco")
        bot.wait_for("Done: this chat now follows brand Zapco.")
        curated.write_text(curated.read_text() + NEW_RECALL.format(today=time.strftime("%Y-%m-%d")))
        bot.wait_for("*** New recall")
        bot.wait_for("Why: you follow brand Zapco")

        def nothing_waiting() -> bool:  # the alert is printed a moment before it is recorded as sent
            mark = len(bot.seen)
            bot.send("/status")
            return "Alerts waiting to be sent: 0." in bot.wait_for("Alerts waiting to be sent:", after=mark)

        await eventually(nothing_waiting, timeout=20, every=0.2)
    finally:
        code = bot.stop()
    assert code == 0
    output = "".join(bot.seen)
    assert output.count("*** New recall") == 1
    assert "Traceback" not in output


async def test_the_checker_job_runs_one_at_a_time_and_coalesces(engine):
    from bot.commands import Core
    from bot.config import CheckerConfig, Config
    from bot.runtime import running

    config = Config(checker=CheckerConfig(interval_seconds=900))
    async with running(config, Core(engine), {}) as runtime:
        job = runtime.scheduler.get_job("checker")
        assert (job.max_instances, job.coalesce, job.misfire_grace_time) == (1, True, 450)
        assert job.trigger.interval.total_seconds() == 900
