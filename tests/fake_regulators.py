"""One loopback server that answers as the five regulators' feeds do, from the real payloads in tests/data.

Each feed lives under its own prefix (``/cpsc``, ``/eu``, ``/hc``, ``/uk``, ``/accc``), so a
config points each source's ``base_url`` / ``url`` at it. Every request is recorded.
"""

from __future__ import annotations

import hashlib
import re

from aiohttp import web
from aiohttp.typedefs import Handler

from tests.conftest import DATA
from tests.loopback import serve

UK_CONTENT = {
    "/product-safety-alerts-reports-recalls/product-recall-my-first-baby-spinner-sold-by-the-works-2609-0229": (
        "content-recall-baby-spinner-2609-0229.json"
    ),
    "/product-safety-alerts-reports-recalls/product-safety-report-allegro-a1-e-bike-2609-0156": (
        "content-report-e-bike-2609-0156.json"
    ),
}


class FakeRegulators:
    """Serves CPSC, EU Safety Gate, Health Canada, UK OPSS and ACCC payloads on 127.0.0.1."""

    def __init__(self, cpsc_body: bytes | None = None) -> None:
        self.requests: list[str] = []  # path and query of every request
        self.cpsc_body = cpsc_body if cpsc_body is not None else (DATA / "cpsc-slice.json").read_bytes()
        self.hc_body = (DATA / "health_canada" / "HCRSAMOpenData-7-rows.json").read_bytes()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/cpsc/RestWebServices/Recall", self.cpsc)
        app.router.add_get("/eu/api/download/weeklyReport/list/xml/en", self.eu_index)
        app.router.add_get("/eu/api/download/weeklyReport/detail/xml/{id}", self.eu_report)
        app.router.add_get("/hc/HCRSAMOpenData.json", self.health_canada)
        app.router.add_get("/uk/api/search.json", self.uk_search)
        app.router.add_get("/uk/api/content/{path:.*}", self.uk_content)
        app.router.add_get("/accc/feed.xml", self.accc)
        app.middlewares.append(self._record)
        self._runner, self.port = await serve(app)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests.append(request.path_qs)
        return await handler(request)

    async def cpsc(self, request: web.Request) -> web.Response:
        return web.Response(body=self.cpsc_body, content_type="application/json")

    async def eu_index(self, request: web.Request) -> web.Response:
        # The real index, less the reports that were not captured: the fake publishes only what it can serve.
        index = (DATA / "eu_safety_gate" / "weekly-report-list.xml").read_bytes()
        body = re.sub(rb"<weeklyReport>(?:(?!</weeklyReport>).)*</weeklyReport>", _captured_only, index, flags=re.S)
        return web.Response(body=body, content_type="text/xml")

    async def eu_report(self, request: web.Request) -> web.Response:
        if request.match_info["id"] != "10000324":  # the one report captured; the others are not served
            return web.Response(status=404)
        return web.Response(
            body=(DATA / "eu_safety_gate" / "weekly-report-10000324.xml").read_bytes(), content_type="text/xml"
        )

    async def health_canada(self, request: web.Request) -> web.Response:
        etag = '"' + hashlib.sha256(self.hc_body).hexdigest()[:16] + '"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=self.hc_body, content_type="application/json", headers={"ETag": etag})

    async def uk_search(self, request: web.Request) -> web.Response:
        if request.query.get("start", "0") != "0":  # the captured page is the only one
            return web.json_response({"results": [], "total": 4, "start": int(request.query["start"])})
        return web.Response(body=(DATA / "uk_opss" / "search.json").read_bytes(), content_type="application/json")

    async def uk_content(self, request: web.Request) -> web.Response:
        name = UK_CONTENT.get("/" + request.match_info["path"])
        if name is None:
            return web.Response(status=404)
        return web.Response(body=(DATA / "uk_opss" / name).read_bytes(), content_type="application/json")

    async def accc(self, request: web.Request) -> web.Response:
        body = (DATA / "accc" / "psa_recall-rss-first-2-items.xml").read_bytes()
        return web.Response(body=body, content_type="application/rss+xml")


def _captured_only(entry: re.Match[bytes]) -> bytes:
    return entry.group() if b"/detail/xml/10000324?" in entry.group() else b""


def sources_config(base_url: str) -> str:
    """Return the [[sources]] of a config that points every live source at the fake."""
    return f"""
[[sources]]
kind = "cpsc"
base_url = "{base_url}/cpsc/RestWebServices/Recall"

[[sources]]
kind = "eu_safety_gate"
base_url = "{base_url}/eu"
delay = 0

[[sources]]
kind = "health_canada"
url = "{base_url}/hc/HCRSAMOpenData.json"

[[sources]]
kind = "uk_opss"
base_url = "{base_url}/uk"

[[sources]]
kind = "accc"
url = "{base_url}/accc/feed.xml"
"""
