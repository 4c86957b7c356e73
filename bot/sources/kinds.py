"""Every kind of live source `[[sources]]` can name: its defaults, its options and how to build it.

The five live feeds are on by default (``default_sources``); a ``[[sources]]`` list replaces
them. The configuration makes each kind's settings model from its entry here (``url_key`` and
``default_url``, and ``options``: type, default, smallest value), so a new kind is one entry in
``KINDS`` and one module in ``bot/sources/``.

Nothing here imports a source module: answers read a kind's licence line (``attribution_of``)
and the configuration its options, and neither should load the feeds' HTTP and HTML libraries.
A kind's module is imported when a source of that kind is built; its default address and
licence line are kept here, and the module imports them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from bot.sources.base import Source

# Each kind's default address and licence line live here, and its module imports them: answers and the
# configuration read them without loading the feed code.
CPSC_URL = "https://www.saferproducts.gov/RestWebServices/Recall"
EU_URL = "https://ec.europa.eu/safety-gate-alerts"
EU_ATTRIBUTION = "Source: EU Safety Gate (ec.europa.eu/safety-gate-alerts), © European Union, 2005–2026"
HC_URL = "https://recalls-rappels.canada.ca/sites/default/files/opendata-donneesouvertes/HCRSAMOpenData.json"
HC_ATTRIBUTION = "Contains information licensed under the Open Government Licence – Canada."
HC_CONSUMER_PRODUCTS = "Consumer product safety"  # the organisation whose recalls are read by default
UK_URL = "https://www.gov.uk"
UK_ATTRIBUTION = "Contains public sector information licensed under the Open Government Licence v3.0."
ACCC_URL = "https://www.productsafety.gov.au/rss/feed.xml/psa_recall"
ACCC_ATTRIBUTION = "Source: ACCC © Commonwealth of Australia"


@dataclass(frozen=True)
class Option:
    """One setting a kind takes besides its address: its type, default and smallest value."""

    type: type  # int, float, bool or tuple (a list of strings)
    default: Any
    minimum: float | None = None


@dataclass(frozen=True)
class SourceKind:
    """A kind of live source: what it covers, where it reads by default and how it is built."""

    kind: str
    id_prefix: str  # the start of its events' ids ("eu" of "eu-SR/02546/26")
    url_key: str  # "base_url" where the source reads several paths under it, else "url"
    default_url: str
    attribution: str | None  # the licence line answers citing it show (None: none asked for)
    build: Callable[[str, httpx.AsyncClient, Mapping[str, Any]], Source]
    options: Mapping[str, Option] = field(default_factory=dict)

    def defaults(self) -> dict[str, Any]:
        """Return every option at its default."""
        return {name: option.default for name, option in self.options.items()}


def _cpsc(url: str, client: httpx.AsyncClient, options: Mapping[str, Any]) -> Source:
    from bot.sources import cpsc

    return cpsc.CpscSource(url, client, first_days=options.get("first_days", 90))


def _eu(url: str, client: httpx.AsyncClient, options: Mapping[str, Any]) -> Source:
    from bot.sources import eu_safety_gate

    return eu_safety_gate.EuSafetyGateSource(url, client, weeks=options["weeks"], delay=options["delay"])


def _hc(url: str, client: httpx.AsyncClient, options: Mapping[str, Any]) -> Source:
    from bot.sources import health_canada

    return health_canada.HealthCanadaSource(url, client, organizations=tuple(options["organizations"]))


def _uk(url: str, client: httpx.AsyncClient, options: Mapping[str, Any]) -> Source:
    from bot.sources import uk_opss

    return uk_opss.UkOpssSource(url, client, first_count=options["first_count"], delay=options["delay"])


def _accc(url: str, client: httpx.AsyncClient, options: Mapping[str, Any]) -> Source:
    from bot.sources import accc

    return accc.AcccSource(url, client)


KINDS: dict[str, SourceKind] = {
    kind.kind: kind
    for kind in (
        SourceKind(
            "cpsc",
            "cpsc",
            "base_url",
            CPSC_URL,
            None,  # U.S. federal works are public domain, and each answer names the CPSC recall
            _cpsc,
        ),
        SourceKind(
            "eu_safety_gate",
            "eu",
            "base_url",
            EU_URL,
            EU_ATTRIBUTION,
            _eu,
            {"weeks": Option(int, 8, 1), "delay": Option(float, 1.0, 0)},
        ),
        SourceKind(
            "health_canada",
            "hc",
            "url",
            HC_URL,
            HC_ATTRIBUTION,
            _hc,
            {"organizations": Option(tuple, (HC_CONSUMER_PRODUCTS,))},
        ),
        SourceKind(
            "uk_opss",
            "uk",
            "base_url",
            UK_URL,
            UK_ATTRIBUTION,
            _uk,
            {"first_count": Option(int, 50, 1), "delay": Option(float, 0.0, 0)},
        ),
        SourceKind(
            "accc",
            "accc",
            "url",
            ACCC_URL,
            ACCC_ATTRIBUTION,
            _accc,
        ),
    )
}

# The kinds whose whole history `recallbot backfill` can load (the others' feeds hold all they offer).
HISTORY_KINDS = ("cpsc", "eu_safety_gate")

# Answers cite a source's licence by the event id's prefix.
ATTRIBUTIONS = {k.id_prefix: k.attribution for k in KINDS.values() if k.attribution}


def attribution_of(event_id: str) -> str | None:
    """Return the licence line of the source an event came from, if it asks for one."""
    return ATTRIBUTIONS.get(event_id.split("-", 1)[0])


# Where a notice of the same recall at another regulator lives, by the end of its host name.
PARTNERS = {
    "recalls-rappels.canada.ca": "Canada (Health Canada)",
    "tc.gc.ca": "Canada (Transport Canada)",
    "gob.mx": "Mexico (Profeco)",
    "ec.europa.eu": "EU (Safety Gate)",
    "gov.uk": "UK (OPSS)",
    "productsafety.gov.au": "Australia (ACCC)",
}


def partner_of(url: str) -> str:
    """Return the country and regulator a notice's address belongs to, or its host name."""
    host = url.split("://", 1)[-1].split("/", 1)[0].lower()
    for suffix, name in PARTNERS.items():
        if host == suffix or host.endswith("." + suffix):
            return name
    return host
