#!/usr/bin/env bash
# The main job: on a fresh machine, installs what is needed, starts an embedded local
# PostgreSQL, builds Sluice (release), and runs a real pipeline through the protocol:
# a demo table is checked, discovered and read by postgres-plugin (as a source) to JSON Lines,
# written by postgres-plugin (as a destination) into another schema, then copied again by
# `plugin-host pipeline` straight from source to destination, twice (the second run upserts a change),
# and finally a pipeline into a destination keeping pgvector embeddings of a notes table (with
# scripts/embedding-server.py as the OpenAI-compatible endpoint), searched by similarity.
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
embedder=""
trap 'rm -rf "$work"; [ -z "$embedder" ] || kill "$embedder" 2>/dev/null' EXIT

echo "== seeding demo.orders (10,000 rows)"
psql -q -v ON_ERROR_STOP=1 <<'SQL'
DROP SCHEMA IF EXISTS demo CASCADE;
DROP SCHEMA IF EXISTS demo_copy CASCADE;
DROP SCHEMA IF EXISTS demo_pipeline CASCADE;
DROP SCHEMA IF EXISTS demo_notes CASCADE;
DROP SCHEMA IF EXISTS demo_vectors CASCADE;
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

echo "== pipeline with pgvector embeddings: demo_notes.notes -> demo_vectors.notes + notes_embeddings"
psql -q -v ON_ERROR_STOP=1 <<'SQL'
CREATE SCHEMA demo_notes;
CREATE TABLE demo_notes.notes (id bigint PRIMARY KEY, topic text, body text);
INSERT INTO demo_notes.notes VALUES
  (1, 'billing', 'The customer asked for a refund of a double charge on the March invoice.'),
  (2, 'shipping', 'The parcel left the warehouse late; the courier delivered it on Friday.'),
  (3, 'product', 'Feature request: export reports as CSV files from the dashboard.'),
  (4, 'billing', 'Invoice addresses can now be changed from the account settings page.');
SQL
python3 scripts/embedding-server.py --port 0 --api-key demo-key > "$work/embedder.out" 2>/dev/null &
embedder=$!
for _ in $(seq 100); do grep -q listening "$work/embedder.out" 2>/dev/null && break; sleep 0.05; done
embed_port=$(awk '/listening/ {print $3}' "$work/embedder.out")
sed 's/schemas: \[demo\]/schemas: [demo_notes]/' "$work/source.yaml" > "$work/notes-source.yaml"
cat > "$work/vectors.yaml" <<YAML
connection_string: "host=\${PGHOST} port=\${PGPORT} user=\${PGUSER} password=\${PGPASSWORD} dbname=\${PGDATABASE}"
schema: demo_vectors
write_mode: upsert
embeddings:
  tables: [{table: notes, embed_columns: [body], metadata_columns: [topic]}]
  base_url: http://127.0.0.1:$embed_port/v1
  api_key: \${DEMO_EMBEDDING_KEY}
  model: demo-hashing
  dimensions: 256
YAML
DEMO_EMBEDDING_KEY=demo-key "$bin/plugin-host" pipeline --source "$bin/postgres-plugin" --source-config "$work/notes-source.yaml" \
  --destination "$bin/postgres-plugin" --destination-config "$work/vectors.yaml" > "$work/vectors-summary.json"
query=$(python3 - "$embed_port" <<'PY'
import json, sys, urllib.request
request = urllib.request.Request("http://127.0.0.1:%s/v1/embeddings" % sys.argv[1], headers={"Authorization": "Bearer demo-key"},
                                 data=json.dumps({"input": ["refund for a charge on my invoice"], "dimensions": 256}).encode())
print(json.load(urllib.request.urlopen(request))["data"][0]["embedding"])
PY
)
echo "nearest notes to 'refund for a charge on my invoice':"
psql -At -v q="$query" <<'SQL'
SELECT id || ' [' || topic || '] ' || _sluice_text FROM demo_vectors.notes_embeddings ORDER BY _sluice_embedding <=> :'q'::vector LIMIT 2;
SQL
