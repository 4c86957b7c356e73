"""A fake Telegram Bot API server on 127.0.0.1, for the real python-telegram-bot client.

It answers the methods recallbot uses the way api.telegram.org does (JSON
envelopes, error codes and ``parameters``), records every call, queues updates
for long polling, and can be scripted to answer a chat with an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.loopback import SendWindow, serve

TOKEN = "123456:TEST-token-for-the-fake-server"
BOT = {
    "id": 123456,
    "is_bot": True,
    "first_name": "RecallBot",
    "username": "RecallBot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
JSON_FIELDS = {"reply_markup", "commands", "allowed_updates", "link_preview_options", "scope", "entities"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


class FakeBotApi:
    """The fake server. Start with ``await server.start()``; ``base_url`` goes to PTB."""

    def __init__(self, token: str = TOKEN, max_per_second: float | None = None) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.updates: list[dict] = []
        self.errors: dict[int, list[dict]] = defaultdict(list)  # chat id -> scripted error envelopes
        self.poll_errors: list[dict] = []  # scripted answers to the next getUpdates calls
        self.members: dict[tuple[int, int], str] = {}  # (chat, user) -> status
        self.files: dict[str, bytes] = {}  # file_id -> the bytes getFile's path downloads
        self.sizes: dict[str, int] = {}  # file_id -> the size Telegram says it has
        self.downloads: list[str] = []  # file paths downloaded
        self.max_per_second = max_per_second  # enforce a send rate, answering 429 above it
        self.too_many = 0
        self._window = SendWindow(max_per_second) if max_per_second else None
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._new_update = asyncio.Event()
        self._closing = False
        self._pollers: dict[int, web.Request] = {}
        self._terminated: set[int] = set()
        self.conflicts = 0
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def file_url(self) -> str:
        """Where files are downloaded from: PTB appends the token and getFile's file_path."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner, self.port = await serve(app)

    async def stop(self) -> None:
        self._closing = True
        self._new_update.set()  # release long polls at once, or cleanup waits for them
        if self._runner:
            await self._runner.cleanup()

    def sent(self, chat_id: int | None = None) -> list[dict]:
        """Return the sendMessage calls that succeeded, optionally for one chat."""
        return [
            c.params
            for c in self.calls
            if c.method == "sendMessage" and c.params.get("_ok") and (chat_id is None or c.params["chat_id"] == chat_id)
        ]

    def polling(self) -> int:
        """Return how many clients have a long poll (getUpdates) open right now."""
        return sum(1 for r in self._pollers.values() if r.transport is not None and not r.transport.is_closing())

    # --- updates a test pushes ----------------------------------------------------
    def _push(self, update: dict) -> None:
        update["update_id"] = next(self._update_ids)
        self.updates.append(update)
        self._new_update.set()

    def push_message(
        self, chat_id: int, text: str, *, user_id: int = 42, chat_type: str = "private", language: str | None = None
    ) -> None:
        chat = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = "Pat"
        else:
            chat["title"] = "Power bank owners"
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": user(user_id, language),
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        self._push({"message": message})

    def push_callback(
        self, chat_id: int, data: str, *, user_id: int = 42, chat_type: str = "private", language: str | None = None
    ) -> str:
        query_id = f"cq{next(self._update_ids)}"
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": chat_type, "title": "t", "first_name": "Pat"},
            "from": BOT,
            "text": "earlier reply",
        }
        self._push(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user(user_id, language),
                    "chat_instance": "ci",
                    "message": message,
                    "data": data,
                }
            }
        )
        return query_id

    def push_photo(
        self, chat_id: int, data: bytes, *, as_file: bool = False, language: str | None = None, size: int | None = None
    ) -> None:
        """Send a picture: as a photo (Telegram's sizes of it), or as a file (a document); ``size`` fakes its size."""
        file_id = f"file{len(self.files) + 1}"
        self.files[file_id] = data
        size = len(data) if size is None else size
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Pat"},
            "from": user(42, language),
        }
        if as_file:
            message["document"] = {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "file_name": "label.jpg",
                "mime_type": "image/jpeg",
                "file_size": size,
            }
        else:  # Telegram sends smaller copies first; the last is the largest
            thumb = {"file_id": f"{file_id}-small", "file_unique_id": f"u{file_id}s", "width": 90, "height": 90}
            self.files[f"{file_id}-small"] = b"too small to read"
            full = {"file_id": file_id, "file_unique_id": f"u{file_id}", "width": 1280, "height": 960}
            message["photo"] = [thumb | {"file_size": 1000}, full | {"file_size": size}]
        self.sizes[file_id] = size
        self._push({"message": message})

    def push_migration(self, old_chat_id: int, new_chat_id: int) -> None:
        """Upgrade a group to a supergroup: Telegram sends two service messages, in this order.

        First the old group's last message, with ``migrate_to_chat_id``; then the new
        supergroup's first one, with ``migrate_from_chat_id`` (as in the getUpdates dump in
        github.com/tucnak/telebot/issues/187). A message belongs to one chat, so the two
        ids never come in one message (github.com/tdlib/telegram-bot-api/issues/170).
        """
        sender = {"id": 42, "is_bot": False, "first_name": "Pat"}
        chats = (
            ({"id": old_chat_id, "type": "group"}, {"migrate_to_chat_id": new_chat_id}),
            ({"id": new_chat_id, "type": "supergroup"}, {"migrate_from_chat_id": old_chat_id}),
        )
        for chat, service in chats:
            message = {"message_id": next(self._message_ids), "date": int(time.time()), "from": sender}
            self._push({"message": message | {"chat": chat | {"title": "Power bank owners"}} | service})

    def push_kicked(self, chat_id: int, chat_type: str = "group") -> None:
        member = {"user": BOT, "status": "member"}
        self._push(
            {
                "my_chat_member": {
                    "chat": {"id": chat_id, "type": chat_type, "title": "t", "first_name": "Pat"},
                    "from": {"id": 42, "is_bot": False, "first_name": "Pat"},
                    "date": int(time.time()),
                    "old_chat_member": member,
                    "new_chat_member": {"user": BOT, "status": "kicked", "until_date": 0},
                }
            }
        )

    # --- the API ----------------------------------------------------------------
    async def _params(self, request: web.Request) -> dict[str, Any]:
        raw: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                raw.update(await request.json())
            else:
                raw.update(await request.post())
        params: dict[str, Any] = {}
        for name, value in raw.items():
            if isinstance(value, str) and (
                name in JSON_FIELDS or name.endswith("_id") or name in ("offset", "timeout")
            ):
                with contextlib.suppress(ValueError):
                    value = json.loads(value)
            params[name] = value
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params = await self._params(request)
        self.calls.append(Call(method, params))
        handler = getattr(self, f"api_{method}", None)
        if handler is None:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        result = await (handler(params, request) if method == "getUpdates" else handler(params))
        if isinstance(result, web.Response):
            return result
        if method == "sendMessage":
            params["_ok"] = True
        return web.json_response({"ok": True, "result": result})

    async def api_getFile(self, params: dict) -> dict | web.Response:
        file_id = params["file_id"]
        if file_id not in self.files:
            return self._error(400, "Bad Request: invalid file_id")
        if self.sizes.get(file_id, 0) > 20 * 1024 * 1024:
            return self._error(400, "Bad Request: file is too big")
        path = f"photos/{file_id}.jpg"
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(self.files[file_id]),
            "file_path": path,
        }

    async def _download(self, request: web.Request) -> web.Response:
        self.downloads.append(request.match_info["path"])
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        file_id = request.match_info["path"].removeprefix("photos/").removesuffix(".jpg")
        if file_id not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[file_id], content_type="image/jpeg")

    async def api_sendChatAction(self, params: dict) -> bool:
        return True

    async def api_getMe(self, params: dict) -> dict:
        return BOT

    async def api_deleteWebhook(self, params: dict) -> bool:
        return True

    async def api_setMyCommands(self, params: dict) -> bool:
        return True

    async def api_getUpdates(self, params: dict, request: web.Request) -> list[dict] | web.Response:
        if self.poll_errors:
            return self._scripted(self.poll_errors.pop(0))
        # Telegram allows one poller per token: a new getUpdates ends a pending one from a
        # client that is still connected with 409 Conflict (an abandoned one just goes).
        for other in self._pollers.values():
            if other.transport is not None and not other.transport.is_closing():
                self.conflicts += 1
                self._terminated.add(id(other))
        self._new_update.set()
        self._pollers[id(request)] = request
        try:
            updates = await self._updates(params)
        finally:
            del self._pollers[id(request)]
        if id(request) in self._terminated:
            return self._error(409, "Conflict: terminated by other getUpdates request")
        return updates

    async def _updates(self, params: dict) -> list[dict]:
        offset = int(params.get("offset") or 0)
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        if not self.updates and not self._closing:
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), timeout=float(params.get("timeout") or 0))
        return [u for u in self.updates if u["update_id"] >= offset]

    async def api_answerCallbackQuery(self, params: dict) -> bool:
        return True

    async def api_getChatMember(self, params: dict) -> dict | web.Response:
        status = self.members.get((int(params["chat_id"]), int(params["user_id"])), "member")
        user = {"id": int(params["user_id"]), "is_bot": False, "first_name": "Pat"}
        member: dict[str, Any] = {"user": user, "status": status}
        if status == "administrator":
            member.update(
                can_be_edited=False,
                is_anonymous=False,
                can_manage_chat=True,
                can_delete_messages=True,
                can_manage_video_chats=True,
                can_restrict_members=True,
                can_promote_members=False,
                can_change_info=True,
                can_invite_users=True,
                can_post_stories=False,
                can_edit_stories=False,
                can_delete_stories=False,
            )
        elif status == "creator":
            member["is_anonymous"] = False
        return member

    def _rate_limited(self) -> web.Response | None:
        if self._window is None or not self._window.admit():
            return None
        self.too_many += 1
        return self._error(429, "Too Many Requests: retry after 1", {"retry_after": 1})

    def _scripted(self, envelope: dict) -> web.Response:
        if "html" in envelope:  # a proxy in front of the Bot API answered, not the API
            return web.Response(status=envelope["error_code"], text=envelope["html"], content_type="text/html")
        return self._error(envelope["error_code"], envelope["description"], envelope.get("parameters"))

    @staticmethod
    def _error(code: int, description: str, parameters: dict | None = None) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if parameters:
            body["parameters"] = parameters
        return web.json_response(body, status=code)

    async def api_sendMessage(self, params: dict) -> dict | web.Response:
        chat_id = int(params["chat_id"])
        scripted = self.errors.get(chat_id)
        if scripted:
            return self._scripted(scripted.pop(0))
        limited = self._rate_limited()
        if limited is not None:
            return limited
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group", "title": "t", "first_name": "Pat"},
            "text": params.get("text", ""),
        }


RETRY_AFTER = {"error_code": 429, "description": "Too Many Requests: retry after 7", "parameters": {"retry_after": 7}}
BLOCKED = {"error_code": 403, "description": "Forbidden: bot was blocked by the user"}
CHAT_NOT_FOUND = {"error_code": 400, "description": "Bad Request: chat not found"}
KICKED = {"error_code": 403, "description": "Forbidden: bot was kicked from the group chat"}
BAD_ENTITIES = {"error_code": 400, "description": "Bad Request: can't parse entities: unsupported start tag"}


def user(user_id: int, language: str | None) -> dict:
    """Return a sender as Telegram describes one; ``language`` is the IETF tag of their app ("zh-hans")."""
    sender = {"id": user_id, "is_bot": False, "first_name": "Pat"}
    if language:
        sender["language_code"] = language
    return sender


def migrated(new_chat_id: int) -> dict:
    return {
        "error_code": 400,
        "description": "Bad Request: group chat was upgraded to a supergroup chat",
        "parameters": {"migrate_to_chat_id": new_chat_id},
    }


def server_error() -> dict:
    return {"error_code": 502, "description": "Bad Gateway"}


# What api.telegram.org's nginx answers when the Bot API behind it is down: HTML, not JSON.
GATEWAY_PAGE = {
    "error_code": 502,
    "html": "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1>"
    "</center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n",
}
