-- The Mothership's catalog in PostgreSQL, as the stats contract (docs/mothership-stats.md) describes it.
-- The exporter's PostgreSQL source reads statistics for these tables and classifies statements on them.
-- Idempotent: the reference Mothership runs it at every start.

CREATE TABLE IF NOT EXISTS team_members (
    member_id   bigserial PRIMARY KEY,
    team        text        NOT NULL,
    name        text        NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('engineer', 'agent')),
    joined_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (team, name)
);

CREATE TABLE IF NOT EXISTS zones (
    zone_id     bigserial PRIMARY KEY,
    repo        text        NOT NULL,
    path        text        NOT NULL,
    state       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- The zone-lookup index. When it is dropped or invalid, every zone lookup is a
-- sequential scan (the "PostgreSQL CPU at 100%" pattern).
CREATE INDEX IF NOT EXISTS zones_repo_path_idx ON zones (repo, path);

CREATE TABLE IF NOT EXISTS function_identities (
    identity_id    bigserial PRIMARY KEY,
    repo           text        NOT NULL,
    qualified_name text        NOT NULL,
    content_hash   text        NOT NULL,
    zone_id        bigint      REFERENCES zones (zone_id),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (repo, qualified_name)
);

CREATE TABLE IF NOT EXISTS intent_log (
    seq          bigserial PRIMARY KEY,
    repo         text        NOT NULL,
    identity_id  bigint      NOT NULL,
    peer         text        NOT NULL,
    intent       jsonb       NOT NULL,
    appended_at  timestamptz NOT NULL DEFAULT now()
);
-- A function's history, read when its identity is resolved on a cache miss.
CREATE INDEX IF NOT EXISTS intent_log_identity_idx ON intent_log (identity_id, seq);
