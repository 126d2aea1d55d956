-- The PostgreSQL role the exporter connects as: read-only, statistics only.
--
-- Run once as a superuser, connected to the Mothership's catalog database:
--     psql -d aura -f deploy/sql/exporter-role.sql
-- then give it a password without putting it on a command line:
--     psql -d aura -c '\password aura_exporter'
-- and hand the exporter a DSN file such as
--     host=db.internal dbname=aura user=aura_exporter password=... sslmode=verify-full
--
-- pg_monitor (pg_read_all_settings, pg_read_all_stats, pg_stat_scan_tables) is all
-- the exporter needs: it sees every session in pg_stat_activity and the statement
-- texts in pg_stat_statements, and can read no table data.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'aura_exporter') THEN
        CREATE ROLE aura_exporter LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION CONNECTION LIMIT 3;
    END IF;
END
$$;

GRANT pg_monitor TO aura_exporter;

-- Belt and braces: even a mistaken statement cannot write or run long.
ALTER ROLE aura_exporter SET default_transaction_read_only = on;
ALTER ROLE aura_exporter SET statement_timeout = '5s';
ALTER ROLE aura_exporter SET lock_timeout = '1s';

-- pg_stat_statements lives in the catalog database; the exporter reads it there.
-- CREATE EXTENSION IF NOT EXISTS pg_stat_statements;   -- needs shared_preload_libraries
