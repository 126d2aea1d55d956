"""Exporter configuration: flags > AURA_EXPORTER_* environment > TOML file > defaults.

Every option is declared once in ``OPTIONS``; the argument parser, the
environment lookup, the TOML reader, ``--help`` and the README table all come
from that list.
"""

from __future__ import annotations

import argparse
import os
import tomllib
from dataclasses import dataclass
from typing import Any, Callable

ENV_PREFIX = "AURA_EXPORTER_"


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class Option:
    name: str
    default: Any
    help: str
    type: Callable[[str], Any] = str
    #: the TOML table and key it is read from ("" = top level)
    toml: tuple[str, str] | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()

    @property
    def toml_key(self) -> tuple[str, str]:
        return self.toml or ("", self.name)


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise ValueError(f"must be positive, got {text}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if value < 0:
        raise ValueError(f"must not be negative, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise ValueError(f"must be positive, got {text}")
    return value


OPTIONS: tuple[Option, ...] = (
    Option("listen", "0.0.0.0:9733", "address to serve /metrics on, HOST:PORT", toml=("", "listen")),
    Option("web_config_file", None, "TLS and basic-auth settings for the listener (exporter-toolkit web config YAML)",
           toml=("web", "config_file")),
    Option("mothership_url", None, "base URL of the Mothership, e.g. http://127.0.0.1:7777 (source off if unset)",
           toml=("mothership", "url")),
    Option("mothership_token_file", None,
           "file holding the Mothership admin token (re-read every scrape); or set AURA_EXPORTER_MOTHERSHIP_TOKEN",
           toml=("mothership", "token_file")),
    Option("hit_ratio_window", 300.0, "seconds over which aura_identity_cache_hit_ratio is computed",
           type=_positive_float, toml=("mothership", "hit_ratio_window_seconds")),
    Option("max_body_bytes", 4 * 1024 * 1024, "largest stats body accepted from the Mothership, in bytes",
           type=_positive_int, toml=("mothership", "max_body_bytes")),
    Option("postgres_dsn", None,
           "libpq DSN of the catalog database (source off if unset); prefer --postgres-dsn-file or "
           "AURA_EXPORTER_POSTGRES_DSN when it holds a password", toml=("postgres", "dsn")),
    Option("postgres_dsn_file", None, "file holding the libpq DSN", toml=("postgres", "dsn_file")),
    Option("postgres_statement_timeout", 5.0, "statement_timeout for the exporter's queries, in seconds",
           type=_positive_float, toml=("postgres", "statement_timeout_seconds")),
    Option("process_pid_file", None, "pid file of the Mothership process (process source off unless this or "
           "--process-match is set)", toml=("process", "pid_file")),
    Option("process_match", None, "regular expression matched against process command lines to find the Mothership",
           toml=("process", "cmdline_match")),
    Option("scrape_timeout_default", 10.0, "scrape deadline in seconds when Prometheus sends no "
           "X-Prometheus-Scrape-Timeout-Seconds header", type=_positive_float, toml=("scrape", "default_timeout_seconds")),
    Option("scrape_timeout_margin", 0.5, "seconds kept back from Prometheus's scrape timeout to send the answer",
           type=_non_negative_float, toml=("scrape", "timeout_margin_seconds")),
    Option("runbook_dir", None, "serve these runbooks at /runbooks/ (air-gapped mode)", toml=("web", "runbook_dir")),
    Option("log_level", "info", "debug, info, warning or error", toml=("", "log_level")),
)

BY_NAME = {option.name: option for option in OPTIONS}


@dataclass(frozen=True)
class Settings:
    values: dict[str, Any]
    #: where each value came from: flag, env, file or default
    origins: dict[str, str]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def mothership_token_env(self) -> str:
        return ENV_PREFIX + "MOTHERSHIP_TOKEN"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="TOML configuration file (AURA_EXPORTER_CONFIG)")
    for option in OPTIONS:
        default = "" if option.default is None else f" (default {option.default})"
        parser.add_argument(
            option.flag,
            dest=option.name,
            default=argparse.SUPPRESS,
            metavar=option.name.split("_")[-1].upper(),
            help=f"{option.help}{default}; env {option.env}",
        )


def _read_toml(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    known = {option.toml_key: option.name for option in OPTIONS}
    values: dict[str, Any] = {}
    for key, value in document.items():
        if isinstance(value, dict):
            for sub, sub_value in value.items():
                if (key, sub) not in known:
                    raise ConfigError(f"config file {path}: unknown setting [{key}] {sub}")
                values[known[(key, sub)]] = sub_value
        elif ("", key) in known:
            values[known[("", key)]] = value
        else:
            raise ConfigError(f"config file {path}: unknown setting {key}")
    return values


def _coerce(option: Option, value: Any, origin: str) -> Any:
    if value is None:
        return None
    try:
        return option.type(str(value)) if option.type is not str else str(value)
    except ValueError as exc:
        raise ConfigError(f"{option.name} from {origin}: {exc}") from None


def resolve(args: argparse.Namespace, environ: dict[str, str] | None = None) -> Settings:
    environ = dict(os.environ if environ is None else environ)
    config_path = getattr(args, "config", None) or environ.get(ENV_PREFIX + "CONFIG")
    from_file = _read_toml(config_path) if config_path else {}
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for option in OPTIONS:
        if option.name in vars(args):
            raw, origin = getattr(args, option.name), "flag"
        elif option.env in environ:
            raw, origin = environ[option.env], "env"
        elif option.name in from_file:
            raw, origin = from_file[option.name], "file"
        else:
            raw, origin = option.default, "default"
        values[option.name] = _coerce(option, raw, f"{origin} {option.flag}")
        origins[option.name] = origin
    if values["postgres_dsn"] and values["postgres_dsn_file"]:
        raise ConfigError("set either --postgres-dsn or --postgres-dsn-file, not both")
    if values["process_pid_file"] and values["process_match"]:
        raise ConfigError("set either --process-pid-file or --process-match, not both")
    return Settings(values, origins)


def read_secret_file(path: str, what: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read {what} file {path}: {exc.strerror}") from None


def split_listen(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(f"--listen wants HOST:PORT, got {listen!r}")
    return host.strip("[]") or "0.0.0.0", int(port)
