#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo run for real:
# the PostgreSQL 15 server (with pg_stat_statements), Prometheus with promtool,
# and Alertmanager with amtool. As root it installs what is missing; otherwise
# it names what is missing and stops.
set -euo pipefail

PG_BIN=${AURA_PG_BIN:-/usr/lib/postgresql/15/bin}
missing=()
[ -x "$PG_BIN/initdb" ] && [ -f "/usr/share/postgresql/15/extension/pg_stat_statements.control" ] || missing+=(postgresql-15)
command -v prometheus >/dev/null && command -v promtool >/dev/null || missing+=(prometheus)
{ command -v prometheus-alertmanager || command -v alertmanager; } >/dev/null && command -v amtool >/dev/null || missing+=(prometheus-alertmanager)

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "missing system packages: ${missing[*]}" >&2
    echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "installing system packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The packages' own services are not wanted: tests and the demo start the binaries themselves.
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
