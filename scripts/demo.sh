#!/usr/bin/env bash
# The main job: on a fresh machine, installs what is needed, starts an embedded local
# PostgreSQL, builds Sluice (release), and runs a real pipeline through the protocol:
# a demo table is checked, discovered and read by postgres-plugin (as a source) to JSON Lines,
# written by postgres-plugin (as a destination) into another schema, then copied again by
# `plugin-host pipeline` straight from source to destination, twice (the second run upserts a change).
# Set PGHOST etc. yourself and SLUICE_EXTERNAL_PG=1 to run it against your own server.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ "${SLUICE_EXTERNAL_PG:-0}" != 1 ]; then
  eval "$(scripts/pg-server.sh start)"
fi
swift build -c release --product postgres-plugin >&2
swift build -c release --product plugin-host >&2
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== seeding demo.orders (10,000 rows)"
psql -q -v ON_ERROR_STOP=1 <<'SQL'
DROP SCHEMA IF EXISTS demo CASCADE;
DROP SCHEMA IF EXISTS demo_copy CASCADE;
DROP SCHEMA IF EXISTS demo_pipeline CASCADE;
CREATE SCHEMA demo;
CREATE TABLE demo.orders (
  id bigint PRIMARY KEY, customer text NOT NULL, amount numeric(12,2), paid boolean,
  placed_at timestamptz, details jsonb, tags text[]);
INSERT INTO demo.orders
SELECT g, 'customer ' || (g % 97), (g * 1.25)::numeric(12,2), g % 3 = 0,
       timestamptz '2026-01-01 00:00:00+00' + g * interval '1 minute',
       jsonb_build_object('n', g, 'note', 'ünïcode ✓'), ARRAY['t' || (g % 5), 'all']
FROM generate_series(1, 10000) AS g;
SQL

cat > "$work/source.yaml" <<'YAML'
host: ${PGHOST}
port: ${PGPORT}
user: ${PGUSER}
password: ${PGPASSWORD}
database: ${PGDATABASE}
schemas: [demo]
YAML
cat > "$work/destination.yaml" <<'YAML'
connection_string: "host=${PGHOST} port=${PGPORT} user=${PGUSER} password=${PGPASSWORD} dbname=${PGDATABASE}"
schema: demo_copy
write_mode: upsert
YAML

host() { "$bin/plugin-host" "$@" --plugin "$bin/postgres-plugin"; }

echo "== spec (first lines)"
host spec | head -n 8
echo "== check (source)"
host check --config "$work/source.yaml" --role source --json
echo "== discover"
host discover --config "$work/source.yaml" | head -n 40
echo "== read demo.orders -> JSON Lines"
host read --config "$work/source.yaml" --output "$work/orders.jsonl" --state "$work/state.json"
wc -l "$work/orders.jsonl"
head -n 2 "$work/orders.jsonl"
echo "== write JSON Lines -> demo_copy.orders (upsert)"
host discover --config "$work/source.yaml" > "$work/catalog.json"
host write --config "$work/destination.yaml" --catalog "$work/catalog.json" --input "$work/orders.jsonl"
psql -At -c "SELECT 'JSON Lines copy: ' || count(*) || ' rows, ' || (SELECT count(*) FROM (SELECT id, customer, amount, paid, placed_at, details, tags FROM demo.orders EXCEPT SELECT id, customer, amount, paid, placed_at, details, tags FROM demo_copy.orders) d) || ' differ from the source' FROM demo_copy.orders"
echo "== pipeline: demo -> demo_pipeline directly over the protocol (upsert, state file)"
sed 's/schema: demo_copy/schema: demo_pipeline/' "$work/destination.yaml" > "$work/pipeline-destination.yaml"
"$bin/plugin-host" pipeline --source "$bin/postgres-plugin" --source-config "$work/source.yaml" \
  --destination "$bin/postgres-plugin" --destination-config "$work/pipeline-destination.yaml" \
  --write-mode upsert --state "$work/pipeline-state.json" > "$work/pipeline-summary.json"
psql -q -c "UPDATE demo.orders SET paid = true WHERE id <= 100"
echo "== pipeline again after an UPDATE: the full refresh upserts the changed rows"
"$bin/plugin-host" pipeline --source "$bin/postgres-plugin" --source-config "$work/source.yaml" \
  --destination "$bin/postgres-plugin" --destination-config "$work/pipeline-destination.yaml" \
  --write-mode upsert > "$work/pipeline-summary-2.json"
echo "== compare source and pipeline destination"
psql -At -c "SELECT 'source rows: ' || count(*) FROM demo.orders" \
         -c "SELECT 'pipeline destination rows: ' || count(*) FROM demo_pipeline.orders" \
         -c "SELECT 'rows that differ after the update: ' || count(*) FROM (SELECT id, customer, amount, paid, placed_at, details, tags FROM demo.orders EXCEPT SELECT id, customer, amount, paid, placed_at, details, tags FROM demo_pipeline.orders) d"
