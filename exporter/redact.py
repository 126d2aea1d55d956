"""Keep secrets out of anything a human or Prometheus can read."""

from __future__ import annotations

import re
from collections.abc import Iterable

from psycopg.conninfo import conninfo_to_dict

# Shown where a secret was.
MASK = "***"


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every occurrence of each non-empty secret in ``text``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text


def dsn_password(dsn: str) -> str | None:
    try:
        return conninfo_to_dict(dsn).get("password")
    except Exception:  # an unparsable DSN is reported elsewhere; never echo it
        return None


_SAFE_DSN_KEYS = ("host", "hostaddr", "port", "dbname", "user", "sslmode")


def describe_dsn(dsn: str) -> str:
    """A DSN rendered for logs: where it points, never its password."""
    try:
        params = conninfo_to_dict(dsn)
    except Exception:
        return "<unparsable DSN>"
    return " ".join(f"{k}={params[k]}" for k in _SAFE_DSN_KEYS if params.get(k))


_URL_USERINFO = re.compile(r"//[^/@\s]*@")


def describe_url(url: str) -> str:
    """A URL with any user:password@ part removed."""
    return _URL_USERINFO.sub("//" + MASK + "@", url)
