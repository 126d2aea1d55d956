import copy
import json

import pytest

from aura_exporter import contract
from aura_exporter.errors import SourceError
from tests.support.stats_server import example_payload


def test_documented_example_is_valid():
    contract.validate(example_payload())


def test_schema_file_is_a_valid_json_schema():
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(contract.schema())


@pytest.mark.parametrize(
    "mutate, reason, words",
    [
        (lambda p: p.update(schema="aura.mothership.stats/v2"), "unsupported_schema", "aura.mothership.stats/v2"),
        (lambda p: p.pop("schema"), "unsupported_schema", "None"),
        (lambda p: p["sync"].pop("queue_depth"), "invalid_payload", "queue_depth"),
        (lambda p: p["sync"].update(queue_depth="lots"), "invalid_payload", "sync/queue_depth"),
        (lambda p: p["identity_cache"].update(hits=-1), "invalid_payload", "identity_cache/hits"),
        (lambda p: p["db_pool"].update(shard7=p["db_pool"]["primary"]), "invalid_payload", "shard7"),
    ],
)
def test_invalid_payloads_are_named_precisely(mutate, reason, words):
    payload = example_payload()
    mutate(payload)
    with pytest.raises(SourceError) as info:
        contract.validate(payload)
    assert info.value.reason == reason
    assert words in info.value.message


def test_not_an_object():
    with pytest.raises(SourceError, match="JSON list"):
        contract.validate([1, 2])


def test_histogram_bounds_pass_through():
    raw = example_payload()["intent_log"]["append_seconds"]
    h = contract.histogram(raw, "intent_log/append_seconds")
    assert [b for b, _ in h.buckets] == [repr(float(b)) if b != "+Inf" else "+Inf" for b, _ in raw["buckets"]]
    assert h.buckets[-1] == ("+Inf", float(raw["count"]))
    assert h.sum == raw["sum"]


@pytest.mark.parametrize(
    "buckets, count, words",
    [
        ([[0.1, 5], [0.5, 3], ["+Inf", 6]], 6, "decrease at le=0.5"),
        ([[0.5, 1], [0.1, 2], ["+Inf", 2]], 2, "not increasing"),
        ([[0.1, 1], [0.5, 2]], 2, "last bucket must be +Inf"),
        ([[0.1, 1], ["+Inf", 2]], 3, "differs from count"),
    ],
)
def test_bad_histograms(buckets, count, words):
    with pytest.raises(SourceError) as info:
        contract.histogram({"buckets": buckets, "sum": 1.0, "count": count}, "x")
    assert info.value.reason == "invalid_payload"
    assert words in info.value.message


def test_example_in_docs_matches_schema_required_fields():
    # Every top-level section the schema requires is documented in the example.
    required = set(contract.schema()["required"])
    assert required <= set(example_payload())
    assert json.loads(json.dumps(example_payload())) == copy.deepcopy(example_payload())
