"""`/check` on real CPSC records (tests/data/cpsc-slice.json) and the bundled curated file."""

from __future__ import annotations

import pytest

from bot.errors import UsageError
from bot.matching import MatchKind, Verdict, check

A1263_US = "anker-powercore-10000-a1263-us-2025"
APEX = "cqc-apex-wuxi-2025-06"


def run(core, query):
    with core.session() as session:
        return check(session, core.vocabulary(session), query)


def ids(matches):
    return {m.event.id for m in matches}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # seed events, any spelling of the model
        ("PAC20-272", {"romoss-pac20-272-2025"}),
        ("pac20 272", {"romoss-pac20-272-2025"}),
        ("PAC20272", {"romoss-pac20-272-2025"}),
        ("A1263", {A1263_US}),  # the CPSC record 25-338 is the same recall (same_as)
        ("a1263", {A1263_US}),
        ("Anker PowerCore 10000 A1263", {A1263_US}),
        # lists: "model numbers A1642, A1647 and A1652"
        ("A1647", {"cpsc-25011"}),
        ("A1652", {"cpsc-25011"}),
        ("AT1632", {"cpsc-24298"}),  # "... AT1520 and AT1632; tabletop models ..."
        ("98210", {"cpsc-24270"}),  # "model number 98200 or 98210": a plain number in a list
        # spaces inside a model
        ("BatPak 2F", {"cpsc-26002"}),
        ("batpak2f", {"cpsc-26002"}),
        ("PM 4910-10", {"cpsc-25071"}),
        ("pm4910-10", {"cpsc-25071"}),
        # slashes and hyphens
        ("IST-09991/W05", {"cpsc-25390"}),
        ("IST09991W05", {"cpsc-25390"}),
        ("nc-02", {"cpsc-25449"}),
        ("NC 02", {"cpsc-25449"}),
        ("DS-0148D003", {"cpsc-26153"}),
        # leading zeros
        ("0480", {"cpsc-25111"}),
        ("0754", {"cpsc-25111"}),
        # one model in two recalls; a model that is a prefix of another
        ("FCRG3051BW", {"cpsc-24117", "cpsc-26333"}),
        ("2G505", {"cpsc-26011"}),
        ("2G505B", {"cpsc-25437", "cpsc-26011"}),
        ("A17A1", {"cpsc-24146"}),
        ("BY8708-00", {"cpsc-25071"}),
    ],
)
def test_model_hits(core, query, expected):
    result = run(core, query)
    assert result.verdict == Verdict.RECALLED
    assert ids(result.matches) == expected


@pytest.mark.parametrize(
    "query",
    [
        "VF34504801",  # a serial number from 24-117's "VF34504801 thru VF34504942"
        "2G50",  # a prefix of 2G505: whole tokens only
        "12W",  # "a 12W (A1642) maximum output": a measure, not a model
        "8-Drawer",  # "Furnulem 8-Drawer Dressers"
        "Nov-19",  # a date code in 25-071's table
        "911XXXXXX",  # a date-code pattern in the same table
        "A12634",
    ],
)
def test_non_models_are_not_recalled(core, query):
    # Not "not found": "8-Drawer" is a word of a product name, answered as a possible match.
    result = run(core, query)
    assert result.verdict in (Verdict.NOT_FOUND, Verdict.POSSIBLE)
    assert all(m.kind is not MatchKind.MODEL for m in result.matches)


def test_brand_matches_whole_words_only(core):
    result = run(core, "Anker")
    assert result.verdict == Verdict.BRAND
    assert "cpsc-26288" not in ids(result.matches)  # Trankerloop contains "anker"
    assert {"cpsc-25011", "cpsc-24146", "cpsc-25056", A1263_US, "anker-china-seven-models-2025"} <= ids(result.matches)
    assert "cpsc-25338" not in ids(result.matches)  # shown once, as the curated record


def test_brand_is_case_insensitive_and_answers_to_company_names(core):
    by_company = ids(run(core, "ANKER INNOVATIONS").matches)
    assert {"cpsc-25011", "cpsc-24146", "cpsc-25056", A1263_US} <= by_company <= ids(run(core, "anker").matches)
    assert ids(run(core, "Trankerloop").matches) == {"cpsc-26288"}
    assert ids(run(core, "frigidaire").matches) == {"cpsc-24117", "cpsc-26333"}


def test_brand_from_description_branding(core):
    assert ids(run(core, "Kogalla").matches) == {"cpsc-26002"}  # "Kogalla-branded power banks"
    assert ids(run(core, "Remington").matches) == {"cpsc-25430"}  # 'sold under the "Remington" brand'


def test_supplier_by_alias(core):
    for query in ("Amprius", "APEX (Wuxi) Co., Ltd.", "amprius wuxi"):
        result = run(core, query)
        assert result.verdict == Verdict.SUPPLIER
        assert ids(result.matches) == {APEX}


def test_recalled_model_of_linked_brand_notes_the_suspension(core):
    result = run(core, "A1263")
    assert ids(result.notes) == {APEX}
    assert "Anker" in result.notes[0].reason


def test_unrecalled_model_of_linked_brand_still_gets_the_note(core):
    result = run(core, "Anker 737")
    assert result.verdict == Verdict.BRAND
    assert result.model == "737"
    assert ids(result.notes) == {APEX}
    xiaomi = run(core, "Xiaomi 20000")
    assert xiaomi.verdict == Verdict.BRAND  # known as a customer of the supplier: never "not found"
    assert ids(xiaomi.notes) == {APEX}


def test_unlinked_brand_gets_no_note(core):
    assert run(core, "Frigidaire").notes == ()
    assert run(core, "PAC20-272").notes == ()


def test_miss_suggests_close_models_and_brands(core):
    assert "PAC20-272" in run(core, "PAC20-27").suggestions
    assert "2G505" in run(core, "2G50").suggestions
    assert "Anker" in run(core, "Ankr").suggestions
    assert len(run(core, "A1264").suggestions) <= 3


def test_far_miss_has_no_suggestions(core):
    result = run(core, "zzqx-99999-q")
    assert result.verdict == Verdict.NOT_FOUND
    assert result.suggestions == ()


@pytest.mark.parametrize("query", ["", "   ", "A" * 65, "x" * 10_000, "A1263\x00", "PAC\x1b[31m20"])
def test_bad_queries_raise_usage_errors(core, query):
    with pytest.raises(UsageError):
        run(core, query)
