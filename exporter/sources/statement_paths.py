"""Classify pg_stat_statements entries into the Mothership's hot paths.

pg_stat_statements keeps one row per normalized statement, which is far too
many label values for Prometheus. The Mothership's catalog has a handful of
statement shapes (docs/mothership-stats.md, "Catalog in PostgreSQL"); each is
mapped to a fixed path name here and everything else to ``other``, so the
``path`` label has at most ``len(PATHS)`` values whatever the workload.
"""

from __future__ import annotations

import re

#: The catalog tables the Mothership keeps in PostgreSQL.
CATALOG_TABLES = ("function_identities", "zones", "intent_log", "team_members")

_T = r'(?:"?\w+"?\.)?"?{table}"?\b'


def _rule(path: str, pattern: str) -> tuple[str, re.Pattern[str]]:
    return path, re.compile(pattern, re.IGNORECASE | re.DOTALL)


def _table(name: str) -> str:
    return _T.format(table=name)


# First match wins: writes are tested before reads because an INSERT ... SELECT
# names both.
_RULES = (
    _rule("intent_append", rf"^\s*insert\s+into\s+{_table('intent_log')}"),
    _rule("identity_write", rf"^\s*(?:insert\s+into|update)\s+{_table('function_identities')}"),
    _rule("zone_update", rf"^\s*(?:insert\s+into|update)\s+{_table('zones')}"),
    _rule("identity_resolution", rf"^\s*(?:with\b.*?)?select\b.*?\bfrom\s+{_table('function_identities')}"),
    _rule("zone_lookup", rf"^\s*(?:with\b.*?)?select\b.*?\bfrom\s+{_table('zones')}"),
    _rule("intent_read", rf"^\s*(?:with\b.*?)?select\b.*?\bfrom\s+{_table('intent_log')}"),
    _rule("membership", rf"^\s*(?:with\b.*?)?(?:select|insert|update|delete)\b.*?\b{_table('team_members')}"),
)

PATHS = tuple(path for path, _ in _RULES) + ("other",)


def classify(query: str) -> str:
    """The path a normalized statement belongs to."""
    for path, pattern in _RULES:
        if pattern.search(query):
            return path
    return "other"
