"""Configuration: file, environment overrides, and one clear sentence per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import CPSC_URL, SourceConfig, TelegramConfig, load_config
from bot.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_defaults_with_no_file_and_no_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))  # the database is in the user's data directory, not the cwd
    config = load_config(None, environ={})
    assert config.storage.url == f"sqlite:///{tmp_path.as_posix()}/recallbot/recallbot.db"
    assert (config.checker.interval_seconds, config.checker.max_age_days) == (900, 90)
    assert config.telegram.api_base_url == "https://api.telegram.org/bot"
    assert config.telegram.token is None and config.discord.token is None
    # With no [[sources]], every live regulator feed is checked, each at its own address.
    assert [(s.kind, s.base_url) for s in config.sources] == [
        ("cpsc", "https://www.saferproducts.gov/RestWebServices/Recall"),
        ("eu_safety_gate", "https://ec.europa.eu/safety-gate-alerts"),
        (
            "health_canada",
            "https://recalls-rappels.canada.ca/sites/default/files/opendata-donneesouvertes/HCRSAMOpenData.json",
        ),
        ("uk_opss", "https://www.gov.uk"),
        ("accc", "https://www.productsafety.gov.au/rss/feed.xml/psa_recall"),
    ]


def test_default_sources_can_be_turned_off_and_a_sources_list_replaces_them(tmp_path):
    assert load_config(None, environ={"RECALLBOT_CHECKER__DEFAULT_SOURCES": "false"}).sources == ()
    path = write(tmp_path, "[[sources]]\nkind = 'accc'\nurl = 'http://127.0.0.1:9/feed.xml'\n")
    assert [(s.kind, s.base_url) for s in load_config(path, environ={}).sources] == [
        ("accc", "http://127.0.0.1:9/feed.xml")
    ]


def test_a_live_sources_options_are_checked_and_defaulted(tmp_path):
    text = "[[sources]]\nkind = 'eu_safety_gate'\nweeks = 2\ndelay = 0\n[[sources]]\nkind = 'health_canada'\n"
    eu, hc = load_config(write(tmp_path, text), environ={}).sources
    assert (eu.option("weeks"), eu.option("delay"), eu.base_url) == (2, 0.0, "https://ec.europa.eu/safety-gate-alerts")
    assert hc.option("organizations") == ("Consumer product safety",)
    env = {"RECALLBOT_SOURCES__1__ORGANIZATIONS": "Consumer product safety, Medical devices"}
    assert load_config(write(tmp_path, text), environ=env).sources[1].option("organizations") == (
        "Consumer product safety",
        "Medical devices",
    )
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, "[[sources]]\nkind = 'eu_safety_gate'\nweek = 2\n"), environ={})
    assert str(error.value) == "[[sources]] #1 has unknown key 'week' for kind eu_safety_gate; did you mean 'weeks'?"


def test_file_values_and_sources(tmp_path):
    (tmp_path / "extra.toml").write_text("")
    path = write(
        tmp_path,
        """
[checker]
interval_seconds = 60
[discord]
command_guild_id = 1234567890123456789
[[sources]]
kind = "curated"
path = "extra.toml"
[[sources]]
kind = "cpsc"
""",
    )
    config = load_config(path, environ={})
    assert config.checker.interval_seconds == 60
    assert config.discord.command_guild_id == 1234567890123456789
    assert [s.kind for s in config.sources] == ["curated", "cpsc"]
    assert config.sources[0].path == (tmp_path / "extra.toml").resolve()
    assert config.sources[1].base_url == CPSC_URL


def test_environment_overrides_the_file(tmp_path):
    path = write(tmp_path, "[checker]\ninterval_seconds = 60\n")
    env = {
        "RECALLBOT_CHECKER__INTERVAL_SECONDS": "120",
        "RECALLBOT_TELEGRAM__TOKEN": "123:secret-token",
        "RECALLBOT_STORAGE__URL": "sqlite:///other.db",
    }
    config = load_config(path, environ=env)
    assert config.checker.interval_seconds == 120
    assert config.telegram.token == "123:secret-token"
    assert config.storage.url == "sqlite:///other.db"
    assert "secret-token" not in repr(config)


def test_a_source_can_be_set_through_the_environment_alone():
    env = {
        "RECALLBOT_SOURCES__0__KIND": "uk_opss",
        "RECALLBOT_SOURCES__0__BASE_URL": "http://127.0.0.1:9/uk",
        "RECALLBOT_SOURCES__0__FIRST_COUNT": "5",
    }
    assert load_config(None, environ=env).sources == (
        SourceConfig(kind="uk_opss", base_url="http://127.0.0.1:9/uk", options=(("first_count", 5), ("delay", 0.0))),
    )


def test_the_environment_overrides_one_key_of_a_file_source(tmp_path):
    path = write(tmp_path, "[[sources]]\nkind = 'uk_opss'\nbase_url = 'http://127.0.0.1:9/a'\nfirst_count = 10\n")
    env = {"RECALLBOT_SOURCES__0__BASE_URL": "http://127.0.0.1:9/b"}  # N counts from 0: the first [[sources]]
    assert load_config(path, environ=env).sources == (
        SourceConfig(kind="uk_opss", base_url="http://127.0.0.1:9/b", options=(("first_count", 10), ("delay", 0.0))),
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"RECALLBOT_SOURCES__0__KIND": "uk_opss", "RECALLBOT_SOURCES__0__BASEURL": "http://127.0.0.1:9"},
            "[[sources]] #1 has unknown key 'baseurl' for kind uk_opss; did you mean 'base_url'?",
        ),
        (
            {"RECALLBOT_SOURCES__FIRST__KIND": "uk_opss"},
            "RECALLBOT_SOURCES__FIRST__KIND is not understood; use RECALLBOT_SOURCES__<N>__<KEY>.",
        ),
    ],
)
def test_an_unknown_source_key_in_the_environment_gives_one_sentence(env, expected):
    with pytest.raises(ConfigError) as error:
        load_config(None, environ=env)
    assert str(error.value) == expected


def test_config_path_from_environment(tmp_path):
    path = write(tmp_path, "[checker]\nmax_age_days = 30\n")
    assert load_config(None, environ={"RECALLBOT_CONFIG": str(path)}).checker.max_age_days == 30


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("[telegram]\ntokn = 'x'\n", {}, "Unknown config key [telegram] tokn; did you mean 'token'?"),
        ("[chcker]\n", {}, "Unknown config section [chcker]; did you mean 'checker'?"),
        (
            "[checker]\ninterval_seconds = 'often'\n",
            {},
            "[checker] interval_seconds must be a whole number, got 'often'; fix the value.",
        ),
        ("[checker]\ninterval_seconds = 1\n", {}, "[checker] interval_seconds must be at least 10, got 1; raise it."),
        (
            "",
            {"RECALLBOT_CHECKER__MAX_AGE_DAYS": "ninety"},
            "RECALLBOT_CHECKER__MAX_AGE_DAYS must be a whole number, got 'ninety'; fix the value.",
        ),
        ("", {"RECALLBOT_TELEGRAM__TOKN": "x"}, "Unknown config key RECALLBOT_TELEGRAM__TOKN; did you mean 'token'?"),
        (
            "[telegram]\ntoken = 12345\n",
            {},
            "[telegram] token must be a string in quotes, got a secret; quote the value.",
        ),
        (
            "[[sources]]\nkind = 'rss'\n",
            {},
            '[[sources]] #1 kind must be one of "curated", "cpsc", "eu_safety_gate", "health_canada", "uk_opss", '
            "\"accc\", got 'rss'; set kind.",
        ),
        ("[[sources]]\nkind = 'curated'\n", {}, '[[sources]] #1 (curated) needs path = "file.toml"; add it.'),
    ],
)
def test_mistakes_give_one_sentence_naming_the_key_and_the_fix(tmp_path, text, env, expected):
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, text), environ=env)
    assert str(error.value) == expected


def test_missing_curated_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"path '.*nothere.toml' does not exist; fix the path or remove the source"):
        load_config(write(tmp_path, "[[sources]]\nkind = 'curated'\npath = 'nothere.toml'\n"), environ={})


def test_missing_config_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"not found; copy config\.example\.toml"):
        load_config(tmp_path / "absent.toml", environ={})


def test_example_config_is_valid():
    example = Path(__file__).parent.parent / "config.example.toml"
    config = load_config(example, environ={})
    assert config.checker.interval_seconds == 900


def test_telegram_pacing_is_configurable(tmp_path):
    config = load_config(
        write(tmp_path, "[telegram]\nmessages_per_second = 20\n"),
        environ={"RECALLBOT_TELEGRAM__GROUP_MESSAGES_PER_MINUTE": "12.5"},
    )
    assert (config.telegram.messages_per_second, config.telegram.group_messages_per_minute) == (20.0, 12.5)
    with pytest.raises(ConfigError, match=r"\[telegram\] chat_messages_per_second must be a number above 0"):
        load_config(write(tmp_path, "[telegram]\nchat_messages_per_second = 0\n"), environ={})


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("", {"RECALLBOT_CHCKER__INTERVAL_SECONDS": "60"}, "Unknown config section [chcker]; did you mean 'checker'?"),
        ("[Checker]\n", {}, "Unknown config section [Checker]; did you mean 'checker'?"),
        (
            "[checker]\ninterval_seconds = 1.5\n",
            {},
            "[checker] interval_seconds must be a whole number, got float; fix the value.",
        ),
        (
            "[checker]\ndefault_sources = 'maybe'\n",
            {},
            "[checker] default_sources must be true or false, got 'maybe'; fix the value.",
        ),
        (
            "",
            {"RECALLBOT_TELEGRAM__MESSAGES_PER_SECOND": "0"},
            "RECALLBOT_TELEGRAM__MESSAGES_PER_SECOND must be a number above 0, got 0.0; fix the value.",
        ),
        ("[discord]\ncommand_guild_id = 0\n", {}, "[discord] command_guild_id must be at least 1, got 0; raise it."),
        (
            "[[sources]]\nkind = 'eu_safety_gate'\ndelay = -1\n",
            {},
            "[[sources]] #1 delay must be a number of at least 0, got -1; fix the value.",
        ),
        (
            "[[sources]]\nkind = 'health_canada'\norganizations = ['a', 5]\n",
            {},
            '[[sources]] #1 organizations must be a list of strings like ["a", "b"], got [\'a\', 5]; fix the value.',
        ),
        ("sources = [5]\n", {}, "[[sources]] must be a list of tables, one [[sources]] header per source."),
        ("storage = 5\n", {}, "[storage] must be a table; write it as a [storage] header."),
        (
            "",
            {"RECALLBOT_SOURCES__1__KIND": "cpsc"},  # #2 is set, #1 is not
            '[[sources]] #1 kind must be one of "curated", "cpsc", "eu_safety_gate", "health_canada", "uk_opss", '
            '"accc", got None; set kind.',
        ),
    ],
)
def test_each_kind_of_value_names_its_mistake(tmp_path, text, env, expected):
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, text), environ=env)
    assert str(error.value) == expected


def test_the_environment_is_the_mapping_given_else_the_process_environment(monkeypatch):
    monkeypatch.setenv("RECALLBOT_TELEGRAM__TOKEN", "123:from-the-process")
    monkeypatch.delenv("RECALLBOT_CONFIG", raising=False)
    assert load_config(None, environ={}).telegram.token is None
    assert load_config(None).telegram.token == "123:from-the-process"


def test_a_blank_variable_leaves_the_default():
    """docker-compose passes an unset token as RECALLBOT_TELEGRAM__TOKEN= (blank)."""
    env = {"RECALLBOT_TELEGRAM__TOKEN": " ", "RECALLBOT_TELEGRAM__API_BASE_URL": ""}
    config = load_config(None, environ=env)
    assert (config.telegram.token, config.telegram.api_base_url) == (None, "https://api.telegram.org/bot")


def test_a_variable_name_is_read_in_any_case_after_the_prefix():
    env = {"RECALLBOT_Checker__Interval_Seconds": "60", "recallbot_checker__max_age_days": "5"}  # not ours: lower-case
    checker = load_config(None, environ=env).checker
    assert (checker.interval_seconds, checker.max_age_days) == (60, 90)


def test_a_section_built_in_code_holds_its_token_as_a_secret():
    config = TelegramConfig(token="123:in-code", api_base_url="http://127.0.0.1:9/bot")
    assert config.token == "123:in-code"
    assert "in-code" not in repr(config)
