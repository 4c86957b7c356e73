"""A fake Discord server on 127.0.0.1, for the real discord.py client.

REST: the login calls, ``/gateway/bot``, channel messages (with nonce de-duplication,
as Discord does with ``enforce_nonce``), interaction callbacks, follow-ups and command
sync. Gateway: a websocket that says hello, acknowledges heartbeats, answers identify
with READY and one GUILD_CREATE, and dispatches the interactions a test sends, compressed
the way the client asked (``zlib-stream``, or ``zstd-stream`` when zstandard is present).
Every request is recorded; a channel can be scripted to answer with an error.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

from tests.loopback import SendWindow, serve

TOKEN = "fake-discord-bot-token.for-tests-only"
APP_ID = 900000000000000001
BOT = {"id": "900000000000000001", "username": "RecallBot", "discriminator": "0", "avatar": None, "bot": True}
GUILD_ID = 910000000000000001
GENERAL = 910000000000000011  # the channel commands are sent from
ALERTS = 910000000000000012  # a second channel, for the channel option
ADMIN = {"id": "920000000000000001", "username": "admin", "discriminator": "0", "avatar": None, "global_name": "Ada"}
MEMBER = {"id": "920000000000000002", "username": "member", "discriminator": "0", "avatar": None, "global_name": "Mo"}
DM_CHANNEL = 930000000000000001
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
SEND_MESSAGES = (1 << 10) | (1 << 11)  # view channel, send messages
EVERY_PERMISSION = (1 << 50) - 1
OPTION_TYPES = {str: 3, int: 4}


@dataclass
class Request:
    method: str
    path: str
    body: Any
    status: int = 200


@dataclass
class Gateway:
    """One websocket session."""

    ws: web.WebSocketResponse
    compression: str | None
    sequence: itertools.count = field(default_factory=lambda: itertools.count(1))
    _zlib: Any = None
    _zstd: Any = None

    async def send(self, payload: dict) -> None:
        text = json.dumps(payload).encode()
        if self.compression == "zlib-stream":
            self._zlib = self._zlib or zlib.compressobj()
            await self.ws.send_bytes(self._zlib.compress(text) + self._zlib.flush(zlib.Z_SYNC_FLUSH))
        elif self.compression == "zstd-stream":
            import zstandard

            self._zstd = self._zstd or zstandard.ZstdCompressor().compressobj()
            await self.ws.send_bytes(self._zstd.compress(text) + self._zstd.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK))
        else:
            await self.ws.send_str(text.decode())

    async def dispatch(self, event: str, data: dict) -> None:
        await self.send({"op": 0, "t": event, "s": next(self.sequence), "d": data})


class FakeDiscord:
    """The fake server. Start with ``await server.start()``; point the client at ``api_base_url``."""

    def __init__(self, token: str = TOKEN, max_per_second: float | None = None) -> None:
        self.token = token
        self.max_per_second = max_per_second  # enforce a send rate on channel messages, answering 429 above it
        self.too_many = 0
        self._window = SendWindow(max_per_second) if max_per_second else None
        self.requests: list[Request] = []
        self.messages: dict[int, list[dict]] = {}  # channel id -> message bodies, repeats by nonce dropped
        self.callbacks: dict[int, dict] = {}  # interaction id -> callback body
        self.followups: dict[str, list[dict]] = {}  # interaction token -> follow-up bodies
        self.attachments: dict[str, bytes] = {}  # attachment id -> the file the CDN address serves
        self.commands: dict[str, list[dict]] = {}  # "global" or a guild id -> the last set synced
        self.failures: dict[int, tuple[int, int, str]] = {}  # channel id -> (status, code, message)
        self.identifies = 0
        self.refuse_commands = False
        self.compressions: list[str | None] = []
        self.sessions: list[Gateway] = []
        self.ready = asyncio.Event()
        self._answered = asyncio.Condition()
        self._ids = itertools.count(940000000000000001)
        self._nonces: dict[tuple[int, str], dict] = {}
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def api_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{path:.*}", self._rest)
        app.router.add_get("/attachments/{id}/{name}", self._attachment)  # Discord's CDN
        self._runner, self.port = await serve(app)

    async def stop(self) -> None:
        for session in self.sessions:
            await session.ws.close()
        if self._runner:
            await self._runner.cleanup()

    # --- REST ---------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["path"]
        body = await request.json() if request.can_read_body else None
        record = Request(request.method, path, body)
        self.requests.append(record)
        interaction_call = path.startswith(("/interactions/", "/webhooks/"))
        if not interaction_call and request.headers.get("Authorization") != f"Bot {self.token}":
            record.status = 401
            return _json({"message": "401: Unauthorized", "code": 0}, 401)
        if self._window and request.method == "POST" and path.startswith("/channels/"):
            wait = self._window.admit()
            if wait:
                self.too_many += 1
                record.status = 429
                # The window stands for Discord's global limit (50 a second for the bot), so it
                # answers the way that limit does; no "Via" header, so discord.py hands it to us.
                answer = {"message": "You are being rate limited.", "retry_after": wait, "global": True}
                headers = {"Retry-After": f"{wait:.3f}", "X-RateLimit-Global": "true", "X-RateLimit-Scope": "global"}
                return _json(answer, 429, headers)
        status, answer = self._route(request.method, path, body)
        record.status = status
        if status == 204:
            return web.Response(status=204)
        async with self._answered:
            self._answered.notify_all()
        return _json(answer, status)

    def _route(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        if path == "/users/@me":
            return 200, BOT
        if path == "/oauth2/applications/@me":
            return 200, self._application()
        if path in ("/gateway", "/gateway/bot"):
            limit = {"total": 1000, "remaining": 1000 - self.identifies, "reset_after": 86400000, "max_concurrency": 1}
            return 200, {"url": self.gateway_url, "shards": 1, "session_start_limit": limit}
        if parts[0] == "applications" and parts[-1] == "commands":
            scope = parts[3] if len(parts) == 5 else "global"
            if method == "PUT" and self.refuse_commands:  # the bot was invited without applications.commands
                return 403, {"message": "Missing Access", "code": 50001}
            if method == "PUT":
                self.commands[scope] = body
            return 200, [self._command(c, scope) for c in self.commands.get(scope, [])]
        if parts[0] == "channels" and parts[-1] == "messages" and method == "POST":
            return self._channel_message(int(parts[1]), body)
        if parts[0] == "interactions" and parts[-1] == "callback":
            self.callbacks[int(parts[1])] = body
            return 200, {"interaction": {"id": parts[1], "type": 2, "response_message_loading": body["type"] == 5}}
        if parts[0] == "webhooks" and len(parts) == 3 and method == "POST":
            self.followups.setdefault(parts[2], []).append(body)
            return 200, self._message(0, body)
        if parts[0] == "webhooks" and method == "PATCH":
            return 200, self._message(0, body)
        return 404, {"message": "404: Not Found", "code": 0}

    def _channel_message(self, channel_id: int, body: dict) -> tuple[int, Any]:
        if channel_id in self.failures:
            status, code, text = self.failures[channel_id]
            return status, {"message": text, "code": code}
        key = (channel_id, body.get("nonce"))
        if body.get("enforce_nonce") and key in self._nonces:
            return 200, self._nonces[key]  # Discord returns the first message again, and sends nothing
        self.messages.setdefault(channel_id, []).append(body)
        message = self._message(channel_id, body)
        self._nonces[key] = message
        return 200, message

    def _message(self, channel_id: int, body: dict) -> dict:
        return {
            "id": str(next(self._ids)),
            "channel_id": str(channel_id),
            "author": BOT,
            "content": body.get("content") or "",
            "timestamp": datetime.now(UTC).isoformat(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": body.get("embeds") or [],
            "components": [],
            "pinned": False,
            "type": 0,
            "flags": body.get("flags", 0),
            "nonce": body.get("nonce"),
        }

    def _application(self) -> dict:
        owner = dict(ADMIN)
        return {
            "id": str(APP_ID),
            "name": "RecallBot",
            "description": "",
            "icon": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": owner,
            "team": None,
            "verify_key": "0" * 64,
            "flags": 0,
        }

    def _command(self, command: dict, scope: str) -> dict:
        out = dict(command, id=str(next(self._ids)), application_id=str(APP_ID), version="1")
        if scope != "global":
            out["guild_id"] = scope
        return out

    # --- gateway ------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        session = Gateway(ws, request.query.get("compress"))
        self.compressions.append(session.compression)
        self.sessions.append(session)
        await session.send({"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None})
        async for message in ws:
            if message.type is not WSMsgType.TEXT and message.type is not WSMsgType.BINARY:
                break
            payload = json.loads(message.data)
            if payload["op"] == 1:
                await session.send({"op": 11, "d": None, "s": None, "t": None})
            elif payload["op"] == 2:
                await self._identify(session, payload["d"])
            elif payload["op"] == 6:  # resume: this fake keeps no sessions, so ask for a new identify
                await session.send({"op": 9, "d": False, "s": None, "t": None})
        return ws

    async def _identify(self, session: Gateway, data: dict) -> None:
        if data.get("token") != self.token:
            await session.ws.close(code=4004, message=b"Authentication failed.")
            return
        self.identifies += 1
        ready = {
            "v": 10,
            "user": BOT,
            "guilds": [{"id": str(GUILD_ID), "unavailable": True}],
            "session_id": f"session-{self.identifies}",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(APP_ID), "flags": 0},
        }
        await session.dispatch("READY", ready)
        await session.dispatch("GUILD_CREATE", guild() | {"unavailable": False})  # a guild of READY
        self.ready.set()

    async def remove_from_guild(self) -> None:
        """Tell the client it was removed from the server."""
        await self.sessions[-1].dispatch("GUILD_DELETE", {"id": str(GUILD_ID)})

    async def drop_gateway(self, code: int) -> None:
        """Close the current gateway session with a close code."""
        await self.sessions[-1].ws.close(code=code, message=b"closed by the test")

    async def add_to_guild(self) -> None:
        """Tell the client it was added to the server (again): no "unavailable" key, as on a join."""
        await self.sessions[-1].dispatch("GUILD_CREATE", guild())

    # --- interactions ---------------------------------------------------------------------

    async def slash(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        user: dict = ADMIN,
        permissions: int = EVERY_PERMISSION,
        dm: bool = False,
        resolved: dict | None = None,
        locale: str = "en-US",
        image: bytes | None = None,
        content_type: str = "image/jpeg",
    ) -> int:
        """Send a slash command as a user in the server's #general (or in a DM); return its id.

        ``image`` attaches a file to the command's ``image`` option, served at a CDN address.
        """
        opts = [
            {"name": k, "type": 7 if k == "channel" else OPTION_TYPES[type(v)], "value": v}
            for k, v in (options or {}).items()
        ]
        if image is not None:
            attachment_id = str(next(self._ids))
            self.attachments[attachment_id] = image
            url = f"http://127.0.0.1:{self.port}/attachments/{attachment_id}/label.jpg"
            attachment = {"id": attachment_id, "filename": "label.jpg", "size": len(image), "url": url}
            attachment |= {"proxy_url": url, "content_type": content_type, "width": 1200, "height": 900}
            opts.append({"name": "image", "type": 11, "value": attachment_id})
            resolved = (resolved or {}) | {"attachments": {attachment_id: attachment}}
        data = {"id": "1", "name": name, "type": 1, "options": opts}
        if resolved:
            data["resolved"] = resolved
        return await self._interact(2, data, user, permissions, dm, locale)

    async def press(
        self, custom_id: str, *, user: dict = ADMIN, permissions: int = EVERY_PERMISSION, locale: str = "en-US"
    ) -> int:
        """Press a button under a message in #general; return the interaction's id."""
        data = {"custom_id": custom_id, "component_type": 2}
        return await self._interact(3, data, user, permissions, dm=False, locale=locale)

    async def _interact(
        self, kind: int, data: dict, user: dict, permissions: int, dm: bool, locale: str = "en-US"
    ) -> int:
        interaction_id = next(self._ids)
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(APP_ID),
            "type": kind,
            "token": f"token-{interaction_id}",
            "version": 1,
            "data": data,
            "locale": locale,  # the user's app language: "zh-CN", "zh-TW", "en-US"
            "entitlements": [],
            "attachment_size_limit": 8388608,
            "app_permissions": str(EVERY_PERMISSION),
        }
        if kind == 3:
            payload["message"] = self._message(GENERAL, {"content": "an earlier message"})
        if dm:
            payload |= {
                "channel_id": str(DM_CHANNEL),
                "channel": {"id": str(DM_CHANNEL), "type": 1, "recipients": [user]},
                "user": user,
                "context": 1,
                "authorizing_integration_owners": {"0": str(APP_ID)},
            }
        else:
            member = {"user": user, "roles": [], "joined_at": "2025-06-01T00:00:00+00:00", "deaf": False, "mute": False}
            payload |= {
                "guild_id": str(GUILD_ID),
                "guild_locale": "en-US",
                "channel_id": str(GENERAL),
                "channel": channel(GENERAL, "general") | {"permissions": str(permissions)},
                "member": member | {"flags": 0, "permissions": str(permissions), "pending": False},
                "context": 0,
                "authorizing_integration_owners": {"0": str(GUILD_ID)},
            }
        await self.sessions[-1].dispatch("INTERACTION_CREATE", payload)
        return interaction_id

    async def _attachment(self, request: web.Request) -> web.Response:
        data = self.attachments.get(request.match_info["id"])
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="image/jpeg")

    async def followed_up(self, interaction_id: int, timeout: float = 30.0) -> list[dict]:
        """Wait for a deferred interaction's first follow-up and return the follow-ups so far."""
        token = f"token-{interaction_id}"
        await self.wait_for(lambda: token in self.followups, timeout)
        return self.followups[token]

    async def answer(self, interaction_id: int, timeout: float = 10.0) -> dict:
        """Wait for the interaction's callback and return its body."""
        async with self._answered:
            await asyncio.wait_for(self._answered.wait_for(lambda: interaction_id in self.callbacks), timeout)
        return self.callbacks[interaction_id]

    async def wait_for(self, predicate: Any, timeout: float = 10.0) -> None:
        """Wait until ``predicate()`` holds after some request."""
        async with self._answered:
            await asyncio.wait_for(self._answered.wait_for(predicate), timeout)


def _json(data: Any, status: int, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py reads a body as JSON only when the content type is exactly application/json
    headers = {"Content-Type": "application/json"} | (headers or {})
    return web.Response(body=json.dumps(data).encode(), status=status, headers=headers)


def channel(channel_id: int, name: str) -> dict:
    """Return a text channel of the fake server."""
    return {
        "id": str(channel_id),
        "type": 0,
        "name": name,
        "guild_id": str(GUILD_ID),
        "position": 0,
        "permission_overwrites": [],
        "nsfw": False,
        "parent_id": None,
        "topic": None,
        "last_message_id": None,
        "rate_limit_per_user": 0,
    }


def guild() -> dict:
    """Return the GUILD_CREATE payload of the fake server."""
    everyone = {
        "id": str(GUILD_ID),
        "name": "@everyone",
        "permissions": str(SEND_MESSAGES),
        "position": 0,
        "color": 0,
        "hoist": False,
        "managed": False,
        "mentionable": False,
        "flags": 0,
    }
    return {
        "id": str(GUILD_ID),
        "name": "Power bank owners",
        "icon": None,
        "owner_id": ADMIN["id"],
        "roles": [everyone],
        "channels": [channel(GENERAL, "general"), channel(ALERTS, "recall-alerts")],
        "member_count": 3,
        "members": [],
        "threads": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "emojis": [],
        "stickers": [],
        "features": [],
        "presences": [],
        "voice_states": [],
        "large": False,
        "joined_at": "2025-06-01T00:00:00+00:00",
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "afk_timeout": 300,
        "afk_channel_id": None,
        "system_channel_id": None,
        "premium_tier": 0,
        "preferred_locale": "en-US",
        "nsfw_level": 0,
        "system_channel_flags": 0,
    }
