"""TLS and basic auth for the listener, read from the same YAML file format
as the Prometheus exporter-toolkit (``--web.config.file``)::

    tls_server_config:
      cert_file: /etc/aura-exporter/tls.crt
      key_file: /etc/aura-exporter/tls.key
      client_ca_file: /etc/aura-exporter/ca.crt      # optional: require client certificates
    basic_auth_users:
      prometheus: $2y$10$...                         # bcrypt hash (htpasswd -nBC 10 "" | tr -d ':')
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ssl
import threading
from dataclasses import dataclass, field

import bcrypt
import yaml

from aura_exporter.config import ConfigError

_KNOWN = {"tls_server_config", "basic_auth_users", "http_server_config"}


@dataclass
class WebConfig:
    ssl_context: ssl.SSLContext | None = None
    users: dict[str, bytes] = field(default_factory=dict)
    _verified: set[bytes] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def authorized(self, header: str | None) -> bool:
        """Check an Authorization header against the bcrypt hashes. Successful
        checks are remembered by a salted digest so each scrape does not pay
        for bcrypt again."""
        if not self.users:
            return True
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:], validate=True).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        hashed = self.users.get(user)
        if hashed is None:
            return False
        token = hashlib.sha256(hashed + b"\0" + user.encode() + b"\0" + password.encode()).digest()
        with self._lock:
            if any(hmac.compare_digest(token, known) for known in self._verified):
                return True
        if bcrypt.checkpw(password.encode(), hashed):
            with self._lock:
                self._verified.add(token)
            return True
        return False


def load(path: str | None) -> WebConfig:
    if not path:
        return WebConfig()
    try:
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read web config {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"web config {path} is not valid YAML: {exc}") from None
    if not isinstance(document, dict) or set(document) - _KNOWN:
        raise ConfigError(f"web config {path}: unknown keys {sorted(set(document) - _KNOWN)}")
    config = WebConfig()
    tls = document.get("tls_server_config")
    if tls:
        if not tls.get("cert_file") or not tls.get("key_file"):
            raise ConfigError(f"web config {path}: tls_server_config needs cert_file and key_file")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            context.load_cert_chain(tls["cert_file"], tls["key_file"])
            if tls.get("client_ca_file"):
                context.load_verify_locations(tls["client_ca_file"])
                context.verify_mode = ssl.CERT_REQUIRED
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"web config {path}: cannot load TLS files: {exc}") from None
        config.ssl_context = context
    for user, hashed in (document.get("basic_auth_users") or {}).items():
        hashed_bytes = str(hashed).encode()
        if not hashed_bytes.startswith((b"$2a$", b"$2b$", b"$2y$")):
            raise ConfigError(f"web config {path}: the password of {user} is not a bcrypt hash")
        config.users[str(user)] = hashed_bytes
    return config
