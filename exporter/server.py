"""The HTTP listener: /metrics (deadline from Prometheus's header), /healthz, /
and, in air-gapped mode, the runbooks."""

from __future__ import annotations

import gzip
import html
import logging
import mimetypes
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from prometheus_client.exposition import choose_encoder

from aura_exporter import __version__
from aura_exporter.collector import ExporterCollector
from aura_exporter.deadline import Deadline
from aura_exporter.webconfig import WebConfig

log = logging.getLogger("aura_exporter.server")

TIMEOUT_HEADER = "X-Prometheus-Scrape-Timeout-Seconds"


class _Families:
    """What prometheus_client's encoders expect: an object with collect()."""

    def __init__(self, families: list) -> None:
        self._families = families

    def collect(self):
        return iter(self._families)


def scrape_deadline(header: str | None, default: float, margin: float) -> Deadline:
    """Prometheus's timeout less a margin for sending the answer; the default
    when the header is missing or unusable."""
    try:
        timeout = float(header) if header else default
        if not timeout > 0:
            timeout = default
    except ValueError:
        timeout = default
    return Deadline(max(timeout - margin, timeout * 0.5))


class ExporterServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        collector: ExporterCollector,
        web: WebConfig,
        default_timeout: float,
        timeout_margin: float,
        runbook_dir: str | None = None,
    ) -> None:
        self.collector = collector
        self.web = web
        self.default_timeout = default_timeout
        self.timeout_margin = timeout_margin
        self.runbook_dir = Path(runbook_dir).resolve() if runbook_dir else None
        super().__init__(address, _Handler)
        if web.ssl_context is not None:
            self.socket = web.ssl_context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        scheme = "https" if self.web.ssl_context else "http"
        return f"{scheme}://{host}:{port}"

    def serve_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="http", daemon=True)
        thread.start()
        return thread


class _Handler(BaseHTTPRequestHandler):
    server: ExporterServer
    server_version = f"aura-exporter/{__version__}"
    # A client that never sends its request must not hold a thread forever.
    timeout = 30

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:  # noqa: N802 - stdlib signature
        if not self.server.web.authorized(self.headers.get("Authorization")):
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="aura-exporter"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path = urlsplit(self.path).path
        if path == "/metrics":
            self._metrics()
        elif path == "/healthz":
            self._send(200, b"ok\n", "text/plain; charset=utf-8")
        elif path == "/":
            self._index()
        elif path.startswith("/runbooks/") and self.server.runbook_dir is not None:
            self._runbook(unquote(path[len("/runbooks/"):]))
        else:
            self._send(404, b"not found\n", "text/plain; charset=utf-8")

    def _metrics(self) -> None:
        deadline = scrape_deadline(
            self.headers.get(TIMEOUT_HEADER), self.server.default_timeout, self.server.timeout_margin
        )
        families = self.server.collector.scrape(deadline)
        encoder, content_type = choose_encoder(self.headers.get("Accept"))
        body = encoder(_Families(families))
        if "gzip" in (self.headers.get("Accept-Encoding") or ""):
            self._send(200, gzip.compress(body), content_type, {"Content-Encoding": "gzip"})
        else:
            self._send(200, body, content_type)

    def _index(self) -> None:
        rows = "".join(
            f"<li>{html.escape(s.name)}: {html.escape(s.target())}</li>" for s in self.server.collector.sources
        )
        runbooks = '<li><a href="/runbooks/README.md">runbooks</a></li>' if self.server.runbook_dir else ""
        page = (
            "<!doctype html><html><head><title>Aura Mothership exporter</title></head><body>"
            f"<h1>Aura Mothership exporter {__version__}</h1>"
            f'<ul><li><a href="/metrics">metrics</a></li><li><a href="/healthz">health</a></li>{runbooks}</ul>'
            f"<h2>Sources</h2><ul>{rows or '<li>none configured</li>'}</ul></body></html>"
        )
        self._send(200, page.encode(), "text/html; charset=utf-8")

    def _runbook(self, name: str) -> None:
        root = self.server.runbook_dir
        target = (root / name).resolve()
        if root not in target.parents or not target.is_file():
            self._send(404, b"no such runbook\n", "text/plain; charset=utf-8")
            return
        kind = "text/markdown" if target.suffix == ".md" else mimetypes.guess_type(target.name)[0]
        self._send(200, target.read_bytes(), f"{kind or 'application/octet-stream'}; charset=utf-8")

    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            log.debug("client went away before the answer was sent")


