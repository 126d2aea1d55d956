"""The Mothership's TOML knobs and their defaults, as the performance-tuning
guide lists them. Runbook checks use this to refuse advice about knobs that do
not exist; the reference Mothership reads its TOML against it."""

from __future__ import annotations

from typing import Any

#: section -> knob -> default
KNOBS: dict[str, dict[str, Any]] = {
    "server": {"workers": 8, "accept_backlog": 1024},
    "database": {"pool_size": 16, "statement_timeout_ms": 10000, "read_replica_url": ""},
    "sync": {"batch_size": 128, "flush_interval_ms": 500, "max_in_flight": 1024, "compression": "none"},
    "cache": {"identity_cache_mb": 256, "fragment_cache_mb": 1024},
    "runtime": {"tokio_worker_threads": 0},
    "fragment_store": {"prefix_sharding": 0},
    "readiness": {"require_cache_warm": False, "warm_threshold_ratio": 0.85},
}


def unknown_knobs(document: dict[str, Any]) -> list[str]:
    """Dotted names in a parsed TOML document that are not Mothership knobs."""
    problems = []
    for section, values in document.items():
        if section not in KNOBS or not isinstance(values, dict):
            problems.append(section)
            continue
        problems += [f"{section}.{key}" for key in values if key not in KNOBS[section]]
    return problems
