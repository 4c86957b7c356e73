"""Configuration: one TOML file, every key overridable as RECALLBOT_<SECTION>__<KEY>.

The schema is pydantic-settings, ``extra="forbid"`` throughout: a model per section
(``StorageConfig``, ``CheckerConfig``, ``TelegramConfig``, ``DiscordConfig``, ``RetentionConfig``,
``LimitsConfig``, ``MetricsConfig``, ``OperatorConfig``, ``LoggingConfig``), one per
``[[sources]]`` kind (made from ``KINDS``, told apart by ``kind``) and a table per other
installed platform plugin, which checks its own. The file (``TomlConfigSettingsSource``) and
the environment (``EnvSettingsSource``, ``__`` nesting) are read as two layers, the
environment laid over the file, and validated together; a mistake becomes one sentence that
names the file key (``[telegram] tokn``) or the variable (``RECALLBOT_TELEGRAM__TOKN``) and
the fix (``_sentence``).

Tokens are secrets (``SecretStr``): keep them in the environment; they never appear in a
repr, a log line or an error message.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from annotated_types import Ge, Gt, Le
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    SecretStr,
    Strict,
    StringConstraints,
    Tag,
    ValidationError,
    create_model,
)
from pydantic.dataclasses import dataclass as settings_dataclass
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails, PydanticUseDefault
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from bot.errors import ConfigError
from bot.sources.kinds import CPSC_URL, KINDS, SourceKind

__all__ = ["CPSC_URL", "Config", "SourceConfig", "load_config"]

ENV_PREFIX = "RECALLBOT_"
PLATFORM_GROUP = "recallbot.platforms"  # the entry-point group platform plugins are named under

# The kinds of value a setting takes. Text is read as the kind (the environment gives nothing else, and a quoted
# number in the file is still a number); anything else must be the kind already, so `interval_seconds = 1.5` or
# `= true` is refused, not rounded or counted as 1.
_BOOLS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _text(value: Any) -> Any:
    """Strip text; blank text is no setting at all, so the default applies (``TOKEN=`` in a compose file)."""
    if isinstance(value, str):
        value = value.strip()
        if not value:
            raise PydanticUseDefault()
    return value


def _read_as(kind: Callable[[str], Any]) -> BeforeValidator:
    """Read text as ``kind``; text that is not one is left for the type check to refuse."""

    def read(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return kind(value.strip())
        except ValueError:
            return value

    return BeforeValidator(read)


def _flag(text: str) -> bool:
    if text.lower() not in _BOOLS:
        raise ValueError(text)
    return _BOOLS[text.lower()]


def _words(value: Any) -> Any:
    """Read a list of strings; text (the environment's) is comma-separated."""
    items = value.split(",") if isinstance(value, str) else value
    if isinstance(items, list | tuple) and all(isinstance(v, str) for v in items):
        return tuple(v.strip() for v in items if v.strip())
    return value


Text = Annotated[str, BeforeValidator(_text)]
OptionalText = Annotated[str | None, BeforeValidator(_text)]
Secret = Annotated[SecretStr | None, BeforeValidator(_text)]
Flag = Annotated[bool, Strict(), _read_as(_flag)]
WholeNumber = Annotated[int, Strict(), _read_as(int)]
Number = Annotated[float, Strict(), _read_as(float)]
Rate = Annotated[Number, Gt(0)]
Words = Annotated[tuple[str, ...], Strict(), BeforeValidator(_words)]
_KINDS_OF_VALUE: dict[type, Any] = {bool: Flag, int: WholeNumber, float: Number, tuple: Words}

_FORBID = ConfigDict(extra="forbid")


def _default_database_url() -> str:
    """Return a SQLite file in the user's data directory (made if missing), so no command leaves one where it ran."""
    from platformdirs import user_data_path  # here: only a configuration without [storage] url needs it

    return f"sqlite:///{(user_data_path('recallbot', ensure_exists=True) / 'recallbot.db').as_posix()}"


# Sections are pydantic dataclasses: frozen domain values that validate, built by keyword or position
# (`StorageConfig(url)`) like the dataclasses they replace.
@settings_dataclass(frozen=True, config=_FORBID)
class StorageConfig:
    url: Text = Field(default_factory=_default_database_url)


@settings_dataclass(frozen=True, config=_FORBID)
class CheckerConfig:
    interval_seconds: Annotated[WholeNumber, Ge(10)] = 900
    max_age_days: Annotated[WholeNumber, Ge(1)] = 90
    default_sources: Flag = True  # with no [[sources]], check every live source (bot/sources/kinds.py)


@settings_dataclass(frozen=True, config=_FORBID)
class TelegramConfig:
    secret_token: Secret = Field(default=None, alias="token", repr=False)
    api_base_url: Text = "https://api.telegram.org/bot"
    api_file_url: Text = "https://api.telegram.org/file/bot"
    messages_per_second: Rate = 25.0
    chat_messages_per_second: Rate = 1.0
    group_messages_per_minute: Rate = 18.0

    @property
    def token(self) -> str | None:
        """Return the bot token, None when unset; the adapters read it here, nothing logs it."""
        return None if self.secret_token is None else self.secret_token.get_secret_value()


@settings_dataclass(frozen=True, config=_FORBID)
class DiscordConfig:
    secret_token: Secret = Field(default=None, alias="token", repr=False)
    api_base_url: Text = "https://discord.com/api/v10"
    gateway_url: OptionalText = None
    command_guild_id: Annotated[WholeNumber, Ge(1)] | None = None
    messages_per_second: Rate = 25.0
    channel_messages_per_second: Rate = 1.0

    @property
    def token(self) -> str | None:
        """Return the bot token, None when unset; the adapters read it here, nothing logs it."""
        return None if self.secret_token is None else self.secret_token.get_secret_value()


@settings_dataclass(frozen=True, config=_FORBID)
class RetentionConfig:
    # A server's channels are deleted this long after it removed the bot (README "What is stored about a chat").
    removed_server_days: Annotated[WholeNumber, Ge(1)] = 30


@settings_dataclass(frozen=True, config=_FORBID)
class LimitsConfig:
    # A chat that sends more commands than this within the window is told once, then ignored until it passes.
    commands_per_window: Annotated[WholeNumber, Ge(1)] = 20
    window_seconds: Annotated[WholeNumber, Ge(1)] = 10


@settings_dataclass(frozen=True, config=_FORBID)
class MetricsConfig:
    # Prometheus /metrics and /health for `recallbot run`, off unless a port is set (0 picks a free one).
    port: Annotated[Annotated[WholeNumber, Ge(0), Le(65535)] | None, BeforeValidator(_text)] = None  # blank: off
    host: Text = "127.0.0.1"  # 0.0.0.0 in a container, for a scraper or health check from outside it


@settings_dataclass(frozen=True, config=_FORBID)
class OperatorConfig:
    # Where the operator is told of incidents (README "Operator alerts"); neither set: they are only logged.
    telegram_chat_id: Annotated[int, Strict(), _read_as(int)] | None = None  # a group's id is negative
    discord_channel_id: Annotated[WholeNumber, Ge(1)] | None = None
    source_down_hours: Rate = 6.0  # a source failing this long is an incident
    outbox_minutes: Annotated[WholeNumber, Ge(1)] = 30  # an alert waiting this long to be sent is an incident


@settings_dataclass(frozen=True, config=_FORBID)
class LoggingConfig:
    format: Annotated[Literal["text", "json"], BeforeValidator(_text)] = "text"  # json: one object per line


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
    storage: StorageConfig = field(default_factory=StorageConfig)
    checker: CheckerConfig = field(default_factory=CheckerConfig)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    discord: DiscordConfig = field(default_factory=DiscordConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    operator: OperatorConfig = field(default_factory=OperatorConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    sources: tuple[SourceConfig, ...] = ()
    # Sections of other installed platform plugins, as written: each plugin checks its own.
    plugins: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


class Settings(BaseSettings):
    """The file's and the environment's shape; ``_schema`` types [[sources]] and adds the plugins' sections."""

    # Keys are exact, as TOML's are; _Environment reads variable names in any case after RECALLBOT_.
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", case_sensitive=True, extra="forbid"
    )

    storage: StorageConfig = Field(default_factory=StorageConfig)  # not made at import: its url makes a directory
    checker: CheckerConfig = CheckerConfig()
    telegram: TelegramConfig = TelegramConfig()
    discord: DiscordConfig = DiscordConfig()
    retention: RetentionConfig = RetentionConfig()
    limits: LimitsConfig = LimitsConfig()
    metrics: MetricsConfig = MetricsConfig()
    operator: OperatorConfig = OperatorConfig()
    logging: LoggingConfig = LoggingConfig()
    sources: list[Any] = []  # [[sources]]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Validate only the values given: load_config reads the file and the environment as two layers itself."""
        # Itself, to read the environment it is handed (a test's), to name the layer a wrong value came from, and to
        # lay [[sources]] over the file's by index (merged sources replace a list whole). Without this hook even
        # model_validate, which runs BaseSettings.__init__, would read os.environ behind the caller's back.
        return (init_settings,)


class CuratedSource(BaseModel):
    model_config = _FORBID

    kind: str
    path: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]  # required: no default to fall to


def _live_source_model(kind: SourceKind) -> type[BaseModel]:
    """Return one live kind's settings model: its address key and options, as KINDS declares them."""
    fields: dict[str, Any] = {"kind": (str, ...), kind.url_key: (Text, kind.default_url)}
    for name, option in kind.options.items():
        fields[name] = (Annotated[_KINDS_OF_VALUE[option.type], Field(ge=option.minimum)], option.default)
    return create_model(f"{kind.kind}_source", __config__=_FORBID, **fields)


# Generated, not declared: KINDS already states each option's type, default and minimum (the CLI and the
# runtime read them there), so a new kind stays one SourceKind entry. Made on first use, not at import: only a
# configuration with [[sources]] needs them, and `recallbot check` should not wait for them.
@cache
def _source_models() -> dict[str, type[BaseModel]]:
    """Return each [[sources]] kind's settings model by kind, curated first."""
    return {"curated": CuratedSource} | {name: _live_source_model(kind) for name, kind in KINDS.items()}


def _kind_of(table: Any) -> Any:
    return table.get("kind") if isinstance(table, dict) else None


def _schema(plugin_sections: list[str], with_sources: bool) -> type[Settings]:
    """Return the whole schema: a table per plugin's section and, ``with_sources``, [[sources]] typed by kind."""
    # Without, ``sources`` stays an untyped list: enough for a file and an environment that set none.
    plugins: dict[str, Any] = {name: (dict[str, Any] | None, None) for name in plugin_sections}
    if with_sources:
        plugins["sources"] = (_sources_type(), [])
    return create_model("RecallbotSettings", __base__=Settings, **plugins)


def _sources_type() -> Any:
    """Return a list of tables, each validated by the model its ``kind`` names (a union made at run time)."""
    # Typed Any: the type checker cannot follow a type made from values, pydantic can.
    kinds: Any = Union.__getitem__(tuple(Annotated[model, Tag(name)] for name, model in _source_models().items()))
    table: Any = Annotated[kinds, Discriminator(_kind_of)]
    return list[table]


class _Environment(EnvSettingsSource):
    """The environment layer, read from the mapping given (a test's) rather than os.environ."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        # Only RECALLBOT_<SECTION>__<KEY> names count (RECALLBOT_CONFIG names the file), in any case of the key.
        self._names = {n.lower(): v for n, v in environ.items() if n.startswith(ENV_PREFIX) and "__" in n}
        super().__init__(settings_cls, case_sensitive=False)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return self._names

    def __call__(self) -> dict[str, Any]:
        values = super().__call__()
        for name in self._names:  # a section no field names is kept, for extra="forbid" to refuse as in the file
            values.setdefault(name[len(ENV_PREFIX) :].partition("__")[0], {})
        return values


def _merge(file: dict[str, Any], env: dict[str, Any]) -> dict[str, Any]:
    """Lay the environment over the file: key by key in a section, and [[sources]] by index."""
    merged = dict(file)
    for section, values in env.items():
        if section == "sources":
            merged[section] = _overlay_sources(file.get(section, []), values)
        elif isinstance(merged.get(section, {}), dict):  # else not a table: left to be refused as one
            merged[section] = {**merged.get(section, {}), **values}
    return merged


def _overlay_sources(tables: Any, env: dict[str, Any]) -> Any:
    """Set RECALLBOT_SOURCES__<N>__<KEY> on the file's [[sources]] N+1 (N counts from 0), adding tables as needed."""
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        return tables  # refused as not a list of tables
    tables = [dict(t) for t in tables]
    for index, keys in env.items():
        if not index.isdigit() or not isinstance(keys, dict):
            name = f"{index}__{next(iter(keys))}" if isinstance(keys, dict) else index
            raise ConfigError(
                f"RECALLBOT_SOURCES__{name.upper()} is not understood; use RECALLBOT_SOURCES__<N>__<KEY>."
            )
        while len(tables) <= int(index):
            tables.append({})
        tables[int(index)].update(keys)
    return tables


def _suggest(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1)
    return f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(options)}."


def _fields(model: Any) -> dict[str, FieldInfo]:
    """Return a model's (or a section's) fields by the key they are written as (``token``, not its field's name)."""
    fields: dict[str, FieldInfo] = model.model_fields if issubclass(model, BaseModel) else model.__pydantic_fields__
    return {info.alias or name: info for name, info in fields.items()}


def _sentence(error: ErrorDetails, env: Mapping[str, Any], known: list[str]) -> str:
    """Say one of pydantic's errors as today's sentence: what is wrong, where, and what to do."""
    loc = [str(part) for part in error["loc"]]
    if loc[0] == "sources":
        return _source_sentence(error, loc[1:])
    section = loc[0]
    if len(loc) == 1 and error["type"] == "extra_forbidden":
        return f"Unknown config section [{section}]; {_suggest(section, known)}"
    if len(loc) == 1:
        return f"[{section}] must be a table; write it as a [{section}] header."
    fields, key = _fields(Settings.model_fields[section].annotation), loc[1]
    in_env = isinstance(env.get(section), dict) and key in env[section]
    where = f"{ENV_PREFIX}{section.upper()}__{key.upper()}" if in_env else f"[{section}] {key}"
    if error["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
        return f"Unknown config key {where}; {_suggest(key, list(fields))}"
    return _value_sentence(error, where, key, fields[key])


def _source_sentence(error: ErrorDetails, loc: list[str]) -> str:
    """Say an error in [[sources]] (``loc`` after "sources": index, kind, key)."""
    table = error["input"]
    if not loc or (len(loc) == 1 and not isinstance(table, dict)):
        return "[[sources]] must be a list of tables, one [[sources]] header per source."
    where = f"[[sources]] #{int(loc[0]) + 1}"
    if len(loc) == 1:
        names = ", ".join(f'"{kind}"' for kind in _source_models())
        return f"{where} kind must be one of {names}, got {table.get('kind')!r}; set kind."
    kind, key = loc[1], loc[2]
    fields = _fields(_source_models()[kind])
    if error["type"] == "extra_forbidden":
        return f"{where} has unknown key '{key}' for kind {kind}; {_suggest(key, sorted(fields))}"
    if kind == "curated":
        return f'{where} (curated) needs path = "file.toml"; add it.'
    return _value_sentence(error, f"{where} {key}", key, fields[key])


def _value_sentence(error: ErrorDetails, where: str, key: str, field: FieldInfo) -> str:
    """Say why a value is refused, by the kind of value the key takes (its annotation and smallest value)."""
    got, minimum = error["input"], next((m.ge for m in field.metadata if isinstance(m, Ge)), None)
    if error["type"].startswith("bool"):
        return f"{where} must be true or false, got {got!r}; fix the value."
    if field.annotation is float and minimum is not None:  # a delay, which may be 0
        return f"{where} must be a number of at least {minimum:g}, got {got!r}; fix the value."
    if field.annotation is float:
        with suppress(AttributeError, ValueError):
            got = float(got.strip())  # shown as read
        return f"{where} must be a number above 0, got {got!r}; fix the value."
    if error["type"] == "greater_than_equal":
        return f"{where} must be at least {error.get('ctx', {}).get('ge')}, got {got}; raise it."
    if error["type"] == "less_than_equal":
        return f"{where} must be at most {error.get('ctx', {}).get('le')}, got {got}; lower it."
    if error["type"] == "literal_error":
        return f"{where} must be {error.get('ctx', {}).get('expected')}, got {got!r}; fix the value."
    if error["type"].startswith("int"):
        shown = repr(got) if isinstance(got, str) else type(got).__name__
        return f"{where} must be a whole number, got {shown}; fix the value."
    if error["type"].startswith("tuple"):
        return f'{where} must be a list of strings like ["a", "b"], got {got!r}; fix the value.'
    shown = "a secret" if key == "token" else repr(got)
    return f"{where} must be a string in quotes, got {shown}; quote the value."


def _read_file(schema: type[Settings], path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"Config file {str(path)!r} not found; copy config.example.toml there or fix the path.")
    try:
        data: dict[str, Any] = TomlConfigSettingsSource(schema, toml_file=path).toml_data
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"Config file {str(path)!r} is not valid TOML ({error}); fix the syntax.") from None
    return data


def _source(settings: Any, n: int, base: Path) -> SourceConfig:
    if isinstance(settings, CuratedSource):
        path = (base / settings.path).resolve()
        if not path.is_file():
            raise ConfigError(f"[[sources]] #{n} path {str(path)!r} does not exist; fix the path or remove the source.")
        return SourceConfig(kind="curated", path=path)
    kind = KINDS[settings.kind]
    options = tuple((name, getattr(settings, name)) for name in kind.options)
    return SourceConfig(kind=kind.kind, base_url=getattr(settings, kind.url_key), options=options)


def load_config(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read the configuration file (optional) and the environment; raise ConfigError if wrong."""
    environ = os.environ if environ is None else environ
    if path is None and environ.get("RECALLBOT_CONFIG"):
        path = Path(environ["RECALLBOT_CONFIG"])
    plugin_sections = sorted(set(installed_platforms()) - set(Settings.model_fields))
    schema = _schema(plugin_sections, with_sources=False)
    file = _read_file(schema, path) if path is not None else {}
    env = _Environment(schema, environ)()
    if "sources" in file or "sources" in env:  # read the environment again, as the typed [[sources]] parse it
        schema = _schema(plugin_sections, with_sources=True)
        env = _Environment(schema, environ)()
    try:
        settings = schema.model_validate(_merge(file, env))
    except ValidationError as error:
        known = [*Settings.model_fields, *plugin_sections]
        first = min(error.errors(), key=lambda e: not (len(e["loc"]) == 1 and e["type"] == "extra_forbidden"))
        raise ConfigError(_sentence(first, env, known)) from None
    base = path.parent if path is not None else Path.cwd()
    sources = tuple(_source(s, n, base) for n, s in enumerate(settings.sources, start=1))
    if not sources and settings.checker.default_sources:
        sources = default_sources()
    plugins = {name: getattr(settings, name) for name in plugin_sections if getattr(settings, name) is not None}
    return Config(
        storage=settings.storage,
        checker=settings.checker,
        telegram=settings.telegram,
        discord=settings.discord,
        retention=settings.retention,
        limits=settings.limits,
        metrics=settings.metrics,
        operator=settings.operator,
        logging=settings.logging,
        sources=sources,
        plugins=plugins,
    )
