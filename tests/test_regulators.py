"""The five live sources end to end: `recallbot check-now` against a loopback server holding the real
payloads, then `recallbot check` finding what they stored by model, barcode and product name."""

from __future__ import annotations

import json

import pytest

from tests.conftest import clean_env, start_recallbot
from tests.fake_regulators import FakeRegulators, sources_config


@pytest.fixture
async def regulators():
    fake = FakeRegulators()
    await fake.start()
    yield fake
    await fake.stop()


async def recallbot(tmp_path, *args: str) -> tuple[int, str]:
    """Run `recallbot ARGS --config config.toml` without blocking the fake server; return (status, output)."""
    process = await start_recallbot(*args, "--config", "config.toml", cwd=tmp_path, env=clean_env())
    output, _ = await process.communicate()
    return process.returncode, output.decode()


@pytest.fixture
async def checked(tmp_path, regulators):
    """A database filled by one `recallbot check-now` over every source; yields the run's output."""
    db = tmp_path / "recallbot.db"
    (tmp_path / "config.toml").write_text(f'[storage]\nurl = "sqlite:///{db}"\n' + sources_config(regulators.base_url))
    status, output = await recallbot(tmp_path, "check-now")
    assert status == 0, output
    return output


async def test_check_now_stores_every_sources_events_as_a_baseline(regulators, checked):
    base = regulators.base_url
    lines = dict(line.split(": ", 1) for line in checked.splitlines() if line.startswith(tuple("cehua")))
    assert lines[f"eu_safety_gate:{base}/eu"].startswith("4 new, 0 updated, 0 unchanged, 0 skipped, 0 alerts")
    # Consumer products only: 2 of the 7 rows (the others are food, a vehicle, a device and a drug).
    assert lines[f"health_canada:{base}/hc/HCRSAMOpenData.json"].startswith("2 new, ")
    # Two of the four search results have a captured content item; the other two are reported, not lost.
    assert lines[f"uk_opss:{base}/uk"].startswith("2 new, 0 updated, 0 unchanged, 2 skipped")
    assert lines[f"accc:{base}/accc/feed.xml"].startswith("2 new, ")
    assert all(line.endswith("(first pass: baseline, no alerts)") for line in lines.values())
    assert "/eu/api/download/weeklyReport/detail/xml/10000324?language=en" in "\n".join(regulators.requests)


FOUND = [  # (query, the event it finds, how)
    ("A2347", "eu-SR/02540/26", "model"),  # one of two models in one Safety Gate field
    ("5995858167102", "eu-SR/02540/26", "barcode"),
    ("KYLC165V55", "uk-2609-0156", "model"),  # the e-bike's charger model, from the GOV.UK table
    ("BFO-15671", "accc-", "model"),  # a part number in the ACCC description prose
    ("9356247149707", "accc-", "barcode"),
]


async def test_check_finds_what_the_sources_stored_by_model_and_barcode(tmp_path, checked):
    status, output = await recallbot(tmp_path, "check", *[query for query, _, _ in FOUND], "--json")
    assert status == 0, output
    answers = json.loads(output)
    for (query, event_id, match), answer in zip(FOUND, answers, strict=True):
        assert (answer["query"], answer["verdict"], answer["matches"][0]["match"]) == (query, "recalled", match)
        assert answer["matches"][0]["id"].startswith(event_id), answer


async def test_a_health_canada_notice_is_found_by_product_name_and_cites_its_licence(tmp_path, checked):
    status, output = await recallbot(tmp_path, "check", "HotHands hand warmers")
    assert status == 0, output
    assert output.startswith('Possibly: 1 recall names a product matching "HotHands hand warmers"'), output
    assert "Health Canada recall 82676" in output
    assert "Licence: Contains information licensed under the Open Government Licence – Canada." in output


async def test_a_barcode_answer_says_yes_with_the_model_to_compare(tmp_path, checked):
    status, output = await recallbot(tmp_path, "check", "5995858167102")
    assert status == 0, output
    assert output.startswith("Yes: barcode 5995858167102 is listed in 1 notice, for model A2347, JY-888."), output
    assert "Licence: Source: EU Safety Gate" in output


async def test_status_lists_every_source_with_its_records_and_dates(tmp_path, regulators, checked):
    status, output = await recallbot(tmp_path, "status")
    assert status == 0, output
    assert (
        f"- eu_safety_gate:{regulators.base_url}/eu: 4 records dated Sep 25, 2026 to Sep 25, 2026; last success "
        in (output)
    )
    assert f"- accc:{regulators.base_url}/accc/feed.xml: 2 records dated " in output
    assert "- bundled:cpsc-snapshot (bundled with recallbot): 589 records dated Dec 7, 2023 to Mar 26, 2026" in output


async def test_a_second_check_minutes_later_reads_only_the_sources_that_are_due(tmp_path, regulators, checked):
    before = len(regulators.requests)
    status, output = await recallbot(tmp_path, "check-now")
    assert status == 0, output
    # A weekly report, a daily file and hourly feeds are not read again minutes later; CPSC is.
    assert f"eu_safety_gate:{regulators.base_url}/eu: read recently; not due before " in output
    assert [r.split("?")[0] for r in regulators.requests[before:]] == ["/cpsc/RestWebServices/Recall"]


async def test_without_network_each_source_fails_with_one_log_line_and_backs_off(engine, caplog):
    """As on a machine with no internet: every address refuses; each source says so once and waits."""
    import socket
    from datetime import timedelta

    from bot.checker import Checker
    from bot.commands import Core
    from bot.config import load_config
    from bot.runtime import build_sources, http_client, log_report
    from tests.conftest import NOW

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    config = load_config(None, environ={})
    config = type(config)(
        sources=tuple(
            type(s)(s.kind, s.path, s.base_url.replace("https://", f"{closed}/"), s.options) for s in config.sources
        )
    )
    core = Core(engine, clock=lambda: NOW)
    async with http_client() as client:
        checker = Checker(core, build_sources(config, client), interval=timedelta(minutes=15), max_age=timedelta(90))
        with caplog.at_level("INFO"):
            report = await checker.run_pass()
            log_report(report)
            first = [(r.levelname, r.getMessage()) for r in caplog.records]
            tracebacks = [r for r in caplog.records if r.exc_info]
            caplog.clear()
            again = await checker.run_pass()  # within the backoff: nobody is asked, nothing is logged
            log_report(again)
    names = [s.name for s in report.sources]
    assert len(names) == 5 and all(s.error and "network error" in s.error for s in report.sources)
    warnings = [message for level, message in first if level == "WARNING"]
    assert len(warnings) == 5 and all(f"source {name} failed (" in w for name, w in zip(names, warnings, strict=True))
    assert tracebacks == []
    assert all(s.backing_off_until for s in again.sources)
    assert [r.levelname for r in caplog.records] == ["INFO"]  # the one summary line of the pass
