"""Configuration: one TOML file, every key overridable as RECALLBOT_<SECTION>__<KEY>.

Tokens are secrets: they may come from the environment only, and they never
appear in a repr, a log line or an error message.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from bot.errors import ConfigError
from bot.sources.kinds import CPSC_URL, KINDS

__all__ = ["CPSC_URL", "Config", "SourceConfig", "load_config"]

ENV_PREFIX = "RECALLBOT_"
PLATFORM_GROUP = "recallbot.platforms"  # the entry-point group platform plugins are named under


@dataclass(frozen=True)
class StorageConfig:
    url: str = "sqlite:///recallbot.db"


@dataclass(frozen=True)
class CheckerConfig:
    interval_seconds: int = 900
    max_age_days: int = 90
    default_sources: bool = True  # with no [[sources]], check every live source (bot/sources/kinds.py)


@dataclass(frozen=True)
class TelegramConfig:
    token: str | None = field(default=None, repr=False)
    api_base_url: str = "https://api.telegram.org/bot"
    api_file_url: str = "https://api.telegram.org/file/bot"
    messages_per_second: float = 25.0
    chat_messages_per_second: float = 1.0
    group_messages_per_minute: float = 18.0


@dataclass(frozen=True)
class DiscordConfig:
    token: str | None = field(default=None, repr=False)
    api_base_url: str = "https://discord.com/api/v10"
    gateway_url: str | None = None
    command_guild_id: int | None = None
    messages_per_second: float = 25.0
    channel_messages_per_second: float = 1.0


@dataclass(frozen=True)
class SourceConfig:
    kind: str
    path: Path | None = None  # curated
    base_url: str | None = None  # a live source's address (its `url` or `base_url` key)
    options: tuple[tuple[str, Any], ...] = ()  # a live source's other settings, every one given

    def option(self, name: str) -> Any:
        """Return one of a live source's settings."""
        return dict(self.options)[name]


def installed_platforms() -> list[str]:
    """Return the names of the installed platform plugins (entry points; nothing is imported)."""
    return sorted(entry.name for entry in entry_points(group=PLATFORM_GROUP))


def default_sources() -> tuple[SourceConfig, ...]:
    """Return every live source with its defaults: what runs when no [[sources]] is configured."""
    return tuple(
        SourceConfig(kind=k.kind, base_url=k.default_url, options=tuple(k.defaults().items())) for k in KINDS.values()
    )


@dataclass(frozen=True)
class Config:
    storage: StorageConfig = StorageConfig()
    checker: CheckerConfig = CheckerConfig()
    telegram: TelegramConfig = TelegramConfig()
    discord: DiscordConfig = DiscordConfig()
    sources: tuple[SourceConfig, ...] = ()
    # Sections of other installed platform plugins, as written: each plugin checks its own.
    plugins: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


# section -> key -> (type, minimum for ints)
_SCHEMA: dict[str, dict[str, tuple[type, int | None]]] = {
    "storage": {"url": (str, None)},
    "checker": {"interval_seconds": (int, 10), "max_age_days": (int, 1), "default_sources": (bool, None)},
    "telegram": {
        "token": (str, None),
        "api_base_url": (str, None),
        "api_file_url": (str, None),
        "messages_per_second": (float, None),
        "chat_messages_per_second": (float, None),
        "group_messages_per_minute": (float, None),
    },
    "discord": {
        "token": (str, None),
        "api_base_url": (str, None),
        "gateway_url": (str, None),
        "command_guild_id": (int, 1),
        "messages_per_second": (float, None),
        "channel_messages_per_second": (float, None),
    },
}
_SECTIONS = {"storage": StorageConfig, "checker": CheckerConfig, "telegram": TelegramConfig, "discord": DiscordConfig}
_SOURCE_KEYS = {"curated": {"kind", "path"}} | {k.kind: {"kind", k.url_key, *k.options} for k in KINDS.values()}
_KIND_NAMES = ", ".join(f'"{kind}"' for kind in _SOURCE_KEYS)
_SECRETS = {"token"}


def _suggest(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1)
    return f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(options)}."


_NUMBER_WORDS = {int: "a whole number", float: "a number above 0"}
_BOOLS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _convert(where: str, key: str, value: Any, kind: type, minimum: float | None) -> Any:
    """Check one value's type; strings from the environment are parsed."""
    if kind is bool:
        if isinstance(value, str) and value.strip().lower() in _BOOLS:
            return _BOOLS[value.strip().lower()]
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, got {value!r}; fix the value.")
        return value
    if kind is tuple:  # a list of strings; from the environment, comma-separated
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list | tuple) or not all(isinstance(v, str) for v in items):
            raise ConfigError(f'{where} must be a list of strings like ["a", "b"], got {value!r}; fix the value.')
        return tuple(v.strip() for v in items if v.strip())
    if kind is float and minimum is not None:  # a float that may be 0 (a delay)
        try:
            number = float(value.strip()) if isinstance(value, str) else value
        except ValueError:
            number = None
        if not isinstance(number, int | float) or isinstance(number, bool) or number < minimum:
            raise ConfigError(f"{where} must be a number of at least {minimum:g}, got {value!r}; fix the value.")
        return float(number)
    if kind in _NUMBER_WORDS:
        wanted = _NUMBER_WORDS[kind]
        if isinstance(value, str):
            try:
                value = kind(value.strip())
            except ValueError:
                raise ConfigError(f"{where} must be {wanted}, got {value!r}; fix the value.") from None
        accepted = (int, float) if kind is float else (int,)
        if not isinstance(value, accepted) or isinstance(value, bool) or (kind is float and value <= 0):
            shown = repr(value) if kind is float else type(value).__name__
            raise ConfigError(f"{where} must be {wanted}, got {shown}; fix the value.")
        if minimum is not None and value < minimum:
            raise ConfigError(f"{where} must be at least {minimum}, got {value}; raise it.")
        return kind(value)
    if not isinstance(value, str):
        shown = "a secret" if key in _SECRETS else repr(value)
        raise ConfigError(f"{where} must be a string in quotes, got {shown}; quote the value.")
    return value.strip() or None


def _env_overrides(environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name or name == "RECALLBOT_CONFIG":
            continue
        section, _, key = name[len(ENV_PREFIX) :].lower().partition("__")
        found.setdefault(section, {})[key] = value
    return found


def _sources(raw: Any, base: Path, env: dict[str, str]) -> tuple[SourceConfig, ...]:
    tables = [dict(t) for t in raw] if isinstance(raw, list) else None
    if tables is None or not all(isinstance(t, dict) for t in raw):
        raise ConfigError("[[sources]] must be a list of tables, one [[sources]] header per source.")
    for name, value in env.items():  # RECALLBOT_SOURCES__<N>__<KEY>
        index, _, key = name.partition("__")
        if not index.isdigit() or not key:
            raise ConfigError(
                f"RECALLBOT_SOURCES__{name.upper()} is not understood; use RECALLBOT_SOURCES__<N>__<KEY>."
            )
        while len(tables) <= int(index):
            tables.append({})
        tables[int(index)][key] = value
    sources = []
    for n, table in enumerate(tables, start=1):
        where = f"[[sources]] #{n}"
        kind = table.get("kind")
        if kind not in _SOURCE_KEYS:
            raise ConfigError(f"{where} kind must be one of {_KIND_NAMES}, got {kind!r}; set kind.")
        for key in table:
            if key not in _SOURCE_KEYS[kind]:
                raise ConfigError(
                    f"{where} has unknown key '{key}' for kind {kind}; {_suggest(key, sorted(_SOURCE_KEYS[kind]))}"
                )
        if kind == "curated":
            if not isinstance(table.get("path"), str) or not table["path"].strip():
                raise ConfigError(f'{where} (curated) needs path = "file.toml"; add it.')
            path = (base / table["path"]).resolve()
            if not path.is_file():
                raise ConfigError(f"{where} path {str(path)!r} does not exist; fix the path or remove the source.")
            sources.append(SourceConfig(kind="curated", path=path))
        else:
            sources.append(_live_source(where, KINDS[kind], table))
    return tuple(sources)


def _live_source(where: str, kind: Any, table: dict[str, Any]) -> SourceConfig:
    url = _convert(f"{where} {kind.url_key}", kind.url_key, table.get(kind.url_key, kind.default_url), str, None)
    options = {
        name: _convert(f"{where} {name}", name, table[name], option.type, option.minimum)
        if name in table
        else option.default
        for name, option in kind.options.items()
    }
    return SourceConfig(kind=kind.kind, base_url=url or kind.default_url, options=tuple(options.items()))


def load_config(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read the configuration file (optional) and the environment; raise ConfigError if wrong."""
    environ = os.environ if environ is None else environ
    if path is None and environ.get("RECALLBOT_CONFIG"):
        path = Path(environ["RECALLBOT_CONFIG"])
    data: dict[str, Any] = {}
    if path is not None:
        if not path.is_file():
            raise ConfigError(f"Config file {str(path)!r} not found; copy config.example.toml there or fix the path.")
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"Config file {str(path)!r} is not valid TOML ({error}); fix the syntax.") from None
    env = _env_overrides(environ)
    plugin_sections = set(installed_platforms()) - set(_SCHEMA)
    for section in set(data) | set(env):
        if section not in _SCHEMA and section != "sources" and section not in plugin_sections:
            known = [*_SCHEMA, "sources", *sorted(plugin_sections)]
            raise ConfigError(f"Unknown config section [{section}]; {_suggest(section, known)}")
    plugins = {
        name: dict(data.get(name) or {}) | env.get(name, {}) for name in plugin_sections if name in data or name in env
    }
    sections: dict[str, Any] = {}
    for section, keys in _SCHEMA.items():
        raw = data.get(section, {})
        if not isinstance(raw, dict):
            raise ConfigError(f"[{section}] must be a table; write it as a [{section}] header.")
        values: dict[str, Any] = {}
        for source, items in (("file", raw), ("env", env.get(section, {}))):
            for key, value in items.items():
                if key not in keys:
                    where = f"RECALLBOT_{section.upper()}__{key.upper()}" if source == "env" else f"[{section}] {key}"
                    raise ConfigError(f"Unknown config key {where}; {_suggest(key, list(keys))}")
                where = f"RECALLBOT_{section.upper()}__{key.upper()}" if source == "env" else f"[{section}] {key}"
                converted = _convert(where, key, value, *keys[key])
                if converted is None:
                    values.pop(key, None)
                else:
                    values[key] = converted
        sections[section] = _SECTIONS[section](**values)
    base = path.parent if path is not None else Path.cwd()
    sources = _sources(data.get("sources", []), base, env.get("sources", {}))
    if not sources and sections["checker"].default_sources:
        sources = default_sources()
    return Config(**sections, sources=sources, plugins=plugins)
