"""The reference Mothership's HTTP endpoints."""

from __future__ import annotations

import hmac
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aura_sim.mothership import Mothership

log = logging.getLogger("aura_sim.server")

MAX_BODY = 64 * 1024


class MothershipServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], mothership: Mothership, admin_token: str) -> None:
        self.mothership = mothership
        self.admin_token = admin_token
        self._tracing_timer: threading.Timer | None = None
        self._base_level = logging.getLogger("aura_sim").getEffectiveLevel()
        super().__init__(address, _Handler)

    def set_tracing(self, level: str, seconds: float) -> None:
        """Raise the log level for a window, then revert by itself."""
        root = logging.getLogger("aura_sim")
        previous = self._base_level
        if self._tracing_timer is not None:
            self._tracing_timer.cancel()
        root.setLevel(getattr(logging, level.upper()))
        log.warning("tracing at %s for %ss", level, seconds)
        self._tracing_timer = threading.Timer(seconds, lambda: root.setLevel(previous))
        self._tracing_timer.daemon = True
        self._tracing_timer.start()


class _Handler(BaseHTTPRequestHandler):
    server: MothershipServer

    def log_message(self, format, *args):  # noqa: A002
        log.debug("%s %s", self.address_string(), format % args)

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        ok = header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), self.server.admin_token.encode())
        if not ok:
            self._json(401, {"error": "admin token required"})
        return ok

    def _json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict | None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._json(413, {"error": "body too large"})
            return None
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
            if not isinstance(body, dict):
                raise ValueError("not an object")
            return body
        except ValueError as exc:
            self._json(400, {"error": f"invalid JSON body: {exc}"})
            return None

    def do_GET(self):  # noqa: N802
        ms = self.server.mothership
        if self.path == "/health":
            ready = ms.ready()
            self._json(200 if ready else 503, {"status": "ok" if ready else "warming",
                                               "warm_ratio": round(ms.warm_ratio(), 4)})
        elif self.path == "/debug/stats":
            if self._authorized():
                self._json(200, ms.stats())
        else:
            self._json(404, {"error": "not found"})

    def do_POST(self):  # noqa: N802
        if self.path not in ("/debug/tracing", "/admin/cache/warm"):
            self._json(404, {"error": "not found"})
            return
        if not self._authorized():
            return
        body = self._body()
        if body is None:
            return
        if self.path == "/debug/tracing":
            level = str(body.get("level", "debug"))
            seconds = body.get("duration_seconds", 60)
            if level.upper() not in ("DEBUG", "INFO", "WARNING") or not isinstance(seconds, (int, float)) \
                    or not 0 < seconds <= 3600:
                self._json(400, {"error": "level must be debug, info or warning; duration_seconds 1..3600"})
                return
            self.server.set_tracing(level, float(seconds))
            self._json(200, {"level": level, "duration_seconds": seconds})
        else:
            branch = str(body.get("branch", "main"))
            warmed = self.server.mothership.warm(branch)
            self._json(200, {"branch": branch, "identities": warmed})
