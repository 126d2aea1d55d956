"""``aura-exporter [serve|check] [flags]``."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from aura_exporter import __version__
from aura_exporter.check import run_check
from aura_exporter.collector import ExporterCollector
from aura_exporter.config import OPTIONS, ConfigError, add_arguments, resolve, split_listen
from aura_exporter.server import ExporterServer
from aura_exporter.sources import build_sources
from aura_exporter.webconfig import load as load_web_config

log = logging.getLogger("aura_exporter")

COMMANDS = ("serve", "check", "render")

DESCRIPTION = """Prometheus exporter for Aura's Mothership.

Commands:
  serve   (default) serve /metrics, /healthz and / on --listen
  check   read every configured source once, print what works and exit non-zero if one fails
  render  render the rules and dashboard with your overrides: render --override FILE.libsonnet --out DIR

Settings come from flags, then AURA_EXPORTER_* environment variables, then the
TOML file given with --config, then defaults. Secrets: the admin token from
--mothership-token-file or AURA_EXPORTER_MOTHERSHIP_TOKEN; a DSN with a
password from --postgres-dsn-file or AURA_EXPORTER_POSTGRES_DSN."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aura-exporter", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"aura-exporter {__version__}")
    add_arguments(parser)
    return parser


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="ts=%(asctime)s level=%(levelname)s logger=%(name)s msg=%(message)r",
        stream=sys.stderr,
    )


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv.pop(0) if argv and argv[0] in COMMANDS else "serve"
    if command == "render":
        from aura_exporter.render import main as render_main

        return render_main(argv)
    args = build_parser().parse_args(argv)
    try:
        settings = resolve(args)
        _configure_logging(settings.log_level)
        sources = build_sources(settings)
        collector = ExporterCollector(sources, default_timeout=settings.scrape_timeout_default)
        if command == "check":
            return run_check(collector, settings.scrape_timeout_default)
        web = load_web_config(settings.web_config_file)
        host, port = split_listen(settings.listen)
    except ConfigError as exc:
        print(f"aura-exporter: {exc}", file=sys.stderr)
        return 2
    try:
        server = ExporterServer(
            (host, port), collector, web, settings.scrape_timeout_default, settings.scrape_timeout_margin,
            settings.runbook_dir,
        )
    except OSError as exc:
        print(f"aura-exporter: cannot listen on {settings.listen}: {exc.strerror}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server.serve_in_thread()
    log.info(
        "listening on %s with sources: %s", server.url, ", ".join(s.name for s in sources) or "none"
    )
    stop.wait()
    log.info("shutting down")
    server.shutdown()
    server.server_close()
    collector.close()
    return 0


__all__ = ["main", "OPTIONS"]

if __name__ == "__main__":
    sys.exit(main())
