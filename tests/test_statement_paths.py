import pytest

from aura_exporter.sources.statement_paths import PATHS, classify


@pytest.mark.parametrize(
    "query, path",
    [
        ("SELECT identity_id, content_hash, zone_id FROM function_identities WHERE repo = $1 AND qualified_name = $2",
         "identity_resolution"),
        ("select f.identity_id from public.function_identities f where f.repo=$1", "identity_resolution"),
        ("INSERT INTO function_identities (repo, qualified_name, content_hash) VALUES ($1, $2, $3) "
         "ON CONFLICT (repo, qualified_name) DO UPDATE SET content_hash = excluded.content_hash", "identity_write"),
        ("SELECT zone_id, state FROM zones WHERE repo = $1 AND path = $2", "zone_lookup"),
        ("UPDATE zones SET state = $1, updated_at = now() WHERE zone_id = $2", "zone_update"),
        ("INSERT INTO intent_log (repo, identity_id, peer, intent) VALUES ($1, $2, $3, $4) RETURNING seq",
         "intent_append"),
        ("SELECT seq, intent FROM intent_log WHERE repo = $1 AND seq > $2 ORDER BY seq LIMIT $3", "intent_read"),
        ("SELECT name, kind FROM team_members WHERE team = $1", "membership"),
        ("CREATE TABLE team_members (id int)", "other"),
        ("SELECT count(*) FROM pg_stat_activity", "other"),
        ("SELECT * FROM zones_archive WHERE repo = $1", "other"),
    ],
)
def test_classify(query, path):
    assert classify(query) == path


def test_paths_are_a_small_fixed_set():
    assert len(PATHS) == len(set(PATHS)) <= 10
    assert PATHS[-1] == "other"
