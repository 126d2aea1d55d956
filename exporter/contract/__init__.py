"""The Mothership stats contract (v1): its JSON Schema and the checks a
schema cannot express (cumulative buckets that only grow)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import jsonschema

from aura_exporter.errors import SourceError

SCHEMA_ID = "aura.mothership.stats/v1"
SCHEMA_FILE = "mothership-stats.v1.schema.json"


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    text = resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _validator() -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(schema())
    cls.check_schema(schema())
    return cls(schema())


@dataclass(frozen=True)
class Histogram:
    """A validated histogram, ready for ``HistogramMetricFamily.add_metric``."""

    buckets: list[tuple[str, float]]
    sum: float


def _where(path: Any) -> str:
    parts = [str(p) for p in path]
    return "/".join(parts) if parts else "(top level)"


def validate(payload: Any) -> None:
    """Raise ``SourceError`` with a precise message if ``payload`` is not a
    v1 stats document. The schema version is checked first so that a newer
    Mothership gets a clear "unsupported version" rather than a list of
    missing fields."""
    if not isinstance(payload, dict):
        raise SourceError("invalid_payload", f"stats body is a JSON {type(payload).__name__}, expected an object")
    version = payload.get("schema")
    if version != SCHEMA_ID:
        raise SourceError(
            "unsupported_schema",
            f"stats schema is {version!r}; this exporter reads {SCHEMA_ID!r}",
        )
    error = jsonschema.exceptions.best_match(_validator().iter_errors(payload))
    if error is not None:
        raise SourceError("invalid_payload", f"stats field {_where(error.absolute_path)}: {error.message}")


def histogram(raw: dict[str, Any], where: str) -> Histogram:
    """Check that buckets are strictly increasing in bound, non-decreasing in
    count, end with +Inf and agree with ``count``; pass the bounds through."""
    buckets: list[tuple[str, float]] = []
    previous_bound = -math.inf
    previous_count = 0
    for bound, count in raw["buckets"]:
        upper = math.inf if bound == "+Inf" else float(bound)
        if upper <= previous_bound:
            raise SourceError("invalid_payload", f"stats field {where}: bucket bounds not increasing at {bound}")
        if count < previous_count:
            raise SourceError(
                "invalid_payload",
                f"stats field {where}: cumulative bucket counts decrease at le={bound} ({previous_count} -> {count})",
            )
        buckets.append(("+Inf" if math.isinf(upper) else _format_bound(upper), float(count)))
        previous_bound, previous_count = upper, count
    if not math.isinf(previous_bound):
        raise SourceError("invalid_payload", f"stats field {where}: last bucket must be +Inf")
    if previous_count != raw["count"]:
        raise SourceError(
            "invalid_payload",
            f"stats field {where}: +Inf bucket ({previous_count}) differs from count ({raw['count']})",
        )
    return Histogram(buckets=buckets, sum=float(raw["sum"]))


def _format_bound(value: float) -> str:
    # Same rendering client_python uses for its own bucket bounds.
    return repr(float(value))
