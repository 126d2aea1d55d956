"""Every source the exporter knows, registered in one place.

A source whose target is not configured is not built, so it is neither run
nor reported."""

from __future__ import annotations

import logging

from aura_exporter.config import ConfigError, Settings, read_secret_file
from aura_exporter.redact import dsn_password
from aura_exporter.sources.base import Collected, Source
from aura_exporter.sources.mothership import MothershipSource, token_loader
from aura_exporter.sources.postgres import PostgresSource
from aura_exporter.sources.process import ProcessSource

log = logging.getLogger("aura_exporter.sources")

__all__ = ["Collected", "Source", "build_sources"]


def build_sources(settings: Settings) -> list[Source]:
    sources: list[Source] = []
    if settings.mothership_url:
        sources.append(
            MothershipSource(
                settings.mothership_url,
                token_loader(settings.mothership_token_file, settings.mothership_token_env),
                hit_ratio_window=settings.hit_ratio_window,
                max_body_bytes=settings.max_body_bytes,
            )
        )
    dsn = settings.postgres_dsn
    if settings.postgres_dsn_file:
        dsn = read_secret_file(settings.postgres_dsn_file, "PostgreSQL DSN")
        if not dsn:
            raise ConfigError(f"PostgreSQL DSN file {settings.postgres_dsn_file} is empty")
    if dsn:
        if settings.origins.get("postgres_dsn") == "flag" and dsn_password(dsn):
            log.warning(
                "the PostgreSQL DSN on the command line holds a password, which the process list shows: "
                "use --postgres-dsn-file or AURA_EXPORTER_POSTGRES_DSN"
            )
        sources.append(PostgresSource(dsn, statement_timeout=settings.postgres_statement_timeout))
    if settings.process_pid_file or settings.process_match:
        sources.append(ProcessSource(settings.process_pid_file, settings.process_match))
    return sources
