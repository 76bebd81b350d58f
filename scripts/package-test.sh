#!/usr/bin/env bash
# The package test: builds the packages (scripts/package.sh), installs the .deb with apt into a
# clean Debian root that has no Swift toolchain, and runs real pipelines there against the local
# PostgreSQL 18 (scripts/pg-server.sh, started here and stopped at the end):
#
#   scripts/package-test.sh [--skip-build]    # --skip-build: package the release binaries as built
#
# The root is a minimal Debian of this machine's release (`debootstrap --variant=minbase`), made
# once and kept in /var/tmp/sluice-pkgtest (SLUICE_PKGTEST_CACHE), with the .debs apt fetched
# for it, so a rerun needs no download. Each run mounts a throw-away overlay over it in a private
# mount namespace (nothing is left mounted, whatever happens) and enters it with chroot, which
# shares the network with this machine: the plugins reach PostgreSQL on 127.0.0.1. Every step
# is printed; the last line counts them (`package test: N passed, N failed`).
set -euo pipefail
cd "$(dirname "$0")/.."

cache=${SLUICE_PKGTEST_CACHE:-/var/tmp/sluice-pkgtest}
codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
base="$cache/$codename-minbase"
source_schema=pkgtest_app
copy_schema=pkgtest_copy

# --- Inside the private mount namespace (the script runs itself there, below).
if [ "${1:-}" = --in-namespace ]; then
  work=$2
  root="$work/root"
  passed=0
  # Runs a check (commands chain with && or return 1: errexit does not apply in an `if`).
  step() {
    local name=$1; shift
    if "$@" >"$work/step.log" 2>&1; then
      passed=$((passed + 1)); echo "ok - $name"
    else
      echo "FAILED - $name"; sed 's/^/    /' "$work/step.log"
      echo "package test: $passed passed, 1 failed"
      exit 1
    fi
  }
  # A command in the root, with the bare environment of a cron job.
  in_root() {
    chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
      PGPASSWORD="$PGPASSWORD" "$@"
  }
  sql() { psql -X -q -v ON_ERROR_STOP=1 -At -c "$1"; }
  # The rows of the source table that its copy lacks or has differently, both ways.
  same_rows() {
    local table=$1 columns=$2 differ
    differ=$(sql "SELECT count(*) FROM ((SELECT $columns FROM $source_schema.$table EXCEPT ALL SELECT $columns FROM $copy_schema.$table)
                  UNION ALL (SELECT $columns FROM $copy_schema.$table EXCEPT ALL SELECT $columns FROM $source_schema.$table)) d")
    [ "$differ" = 0 ] || { echo "$table: $differ rows differ between $source_schema and $copy_schema"; return 1; }
  }
  summary_field() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

  mkdir -p "$root"
  mount -t overlay overlay -o "lowerdir=$base,upperdir=$work/upper,workdir=$work/overlay-work" "$root"
  mount -t proc proc "$root/proc"
  mount --bind /dev "$root/dev"
  mount --bind "$cache/archives" "$root/var/cache/apt/archives"

  clean_root() {
    ! in_root dpkg -s libpq5 && ! in_root dpkg -s libprotobuf-c1 && ! in_root sh -c 'command -v swift' &&
      [ -z "$(find "$root" -xdev -name 'libswiftCore.so*' -print -quit)" ]
  }
  step "the root has no Swift toolchain, no libpq and no protobuf-c" clean_root
  step "apt installs the .deb, pulling in its dependencies" \
    in_root apt-get install -y -q --no-install-recommends /tmp/sluice.deb
  libraries_found() {
    for binary in /usr/lib/sluice/plugin-host /usr/lib/sluice/postgres-plugin /usr/lib/sluice/sequence-plugin; do
      in_root ldd "$binary" | tee /dev/stderr | { ! grep -E 'not found|swift'; } || return 1
    done
  }
  step "every library of every binary is found in the root, none of them Swift's" libraries_found
  from_usr_bin() { in_root plugin-host --help >/dev/null && in_root postgres-plugin --version; }
  step "plugin-host and postgres-plugin run from /usr/bin" from_usr_bin
  step "check passes against PostgreSQL on 127.0.0.1" \
    in_root plugin-host check --plugin postgres-plugin --config /etc/sluice/source.yaml --role source
  first_run() {
    in_root plugin-host pipeline --pipeline /etc/sluice/pipeline.yaml > "$work/summary-1.json" || return 1
    same_rows customers "id, name, email, created_at" && same_rows orders "id, customer_id, amount, status, items, updated_at"
  }
  step "the pipeline copies both tables exactly" first_run
  sql "UPDATE $source_schema.orders SET status = 'shipped', updated_at = now() + interval '1 day' WHERE id % 100 = 0;
       INSERT INTO $source_schema.orders SELECT g, g % 500 + 1, g * 1.25, 'new', ARRAY['x'], now() + interval '2 days'
         FROM generate_series(20001, 20050) g;"
  second_run() {
    in_root plugin-host pipeline --pipeline /etc/sluice/pipeline.yaml > "$work/summary-2.json" || return 1
    same_rows customers "id, name, email, created_at" && same_rows orders "id, customer_id, amount, status, items, updated_at" || return 1
    local read; read=$(summary_field "$work/summary-2.json" records_read)
    # The incremental stream reads the 250 changed and new rows, the full-refresh one its 500.
    [ "$read" -lt 1000 ] || { echo "the second run read $read rows: orders was not read incrementally"; return 1; }
  }
  step "a second run upserts only the changed and new orders (resumed from the destination, no state file)" second_run
  beside_host() {
    in_root plugin-host pipeline --pipeline /etc/sluice/sequence.yaml > "$work/summary-3.json" || return 1
    [ "$(sql "SELECT count(*) FROM $copy_schema.numbers")" = 1000 ]
  }
  step "a plugin named without a path is found beside plugin-host (sequence-plugin, not in PATH)" beside_host
  # As in a container: plugin-host is process 1 of its own PID namespace, and SIGTERM (what
  # Kubernetes sends a pod it stops) cancels the run, which exits 130. The namespace gets its own
  # /proc, as a container's does: libdispatch reads /proc/<thread id>/stat, and with the host's
  # /proc a namespace's thread ids name other processes (it then stops the process, SIGILL).
  sigterm_as_pid_one() {
    unshare --pid --fork --mount-proc="$root/proc" chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin PGPASSWORD="$PGPASSWORD" \
      plugin-host pipeline --pipeline /etc/sluice/endless.yaml > /dev/null &
    local outer=$! inner="" rows=0 waited=0 code=0
    until [ "$rows" -gt 0 ]; do
      [ "$waited" -lt 120 ] || { echo "no rows arrived within 120 s"; kill -KILL "$outer"; return 1; }
      sleep 1; waited=$((waited + 1))
      rows=$(sql "SELECT count(*) FROM pkgtest_sigterm.numbers" 2>/dev/null || echo 0)
    done
    inner=$(tr -d " " < "/proc/$outer/task/$outer/children")
    [ "$(sed -n 's/^NSpid:.*\t//p' "/proc/$inner/status")" = 1 ] || { echo "plugin-host is not process 1"; return 1; }
    kill -TERM "$inner"
    wait "$outer" || code=$?
    [ "$code" = 130 ] || { echo "exit $code, expected 130"; return 1; }
  }
  step "plugin-host as process 1 of a PID namespace: SIGTERM cancels the run, exit 130" sigterm_as_pid_one
  removed() { in_root apt-get remove -y -q sluice-connector && [ ! -e "$root/usr/bin/plugin-host" ] && [ ! -e "$root/usr/lib/sluice" ]; }
  step "apt removes the package and its links" removed
  # The tarball, unpacked where no PATH leads: plugin-host finds postgres-plugin beside itself.
  tarball() {
    tar -xzf "$work/dist/"sluice-connector-*.tar.gz -C "$root/opt" &&
      in_root sh -c 'exec /opt/sluice-connector-*/bin/plugin-host check --plugin postgres-plugin --config /etc/sluice/source.yaml --role source'
  }
  step "the unpacked tarball runs check, finding postgres-plugin beside plugin-host" tarball
  echo "package test: $passed passed, 0 failed"
  exit 0
fi

# --- Outside: tools, packages, the cached root, PostgreSQL and the files the root gets.
skip_build=()
[ "${1:-}" = --skip-build ] && skip_build=(--skip-build)

need=()
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v readelf >/dev/null 2>&1 || need+=(binutils)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
scripts/setup.sh

work=$(mktemp -d /var/tmp/sluice-pkgtest-run.XXXXXX)
cleanup() { scripts/pg-server.sh stop; rm -rf "$work"; }
trap cleanup EXIT

echo "== packages (scripts/package.sh)"
scripts/package.sh "${skip_build[@]}" --out "$work/dist"

if [ ! -f "$base/.complete" ]; then
  echo "== a minimal Debian $codename root in $base (once)"
  rm -rf "$base"
  mkdir -p "$cache"
  debootstrap --variant=minbase "$codename" "$base" > "$cache/debootstrap.log" 2>&1 ||
    { tail -20 "$cache/debootstrap.log"; exit 1; }
  rm -f "$base/var/cache/apt/archives/"*.deb
  touch "$base/.complete"
fi
# The package lists of the root, refreshed once a day so that apt finds current versions.
if [ -z "$(find "$base/.complete" -mtime -1)" ]; then
  chroot "$base" apt-get update -qq
  touch "$base/.complete"
fi
mkdir -p "$cache/archives/partial"

eval "$(scripts/pg-server.sh start)"
psql -X -q -v ON_ERROR_STOP=1 <<SQL
SET client_min_messages TO warning;
DROP SCHEMA IF EXISTS $source_schema CASCADE;
DROP SCHEMA IF EXISTS $copy_schema CASCADE;
DROP SCHEMA IF EXISTS pkgtest_sigterm CASCADE;
CREATE SCHEMA $source_schema;
CREATE TABLE $source_schema.customers (id int PRIMARY KEY, name text NOT NULL, email text, created_at timestamptz);
CREATE TABLE $source_schema.orders (id bigint PRIMARY KEY, customer_id int NOT NULL, amount numeric(12,2),
  status text, items text[], updated_at timestamptz NOT NULL);
INSERT INTO $source_schema.customers
  SELECT g, 'customer ' || g, CASE WHEN g % 7 = 0 THEN NULL ELSE 'c' || g || '@example.com' END,
         '2024-01-01'::timestamptz + g * interval '1 hour'
  FROM generate_series(1, 500) g;
INSERT INTO $source_schema.orders
  SELECT g, g % 500 + 1, g * 1.25, 'open', ARRAY['item ' || g, 'é ' || g], '2024-06-01'::timestamptz + g * interval '1 minute'
  FROM generate_series(1, 20000) g;
SQL

# The files the root starts with, written into the overlay's upper layer.
mkdir -p "$work/upper/etc/sluice" "$work/upper/tmp" "$work/overlay-work"
cp "$work/dist/"sluice-connector_*.deb "$work/upper/tmp/sluice.deb"
cat > "$work/upper/etc/sluice/source.yaml" <<EOF
host: 127.0.0.1
port: $PGPORT
user: $PGUSER
password: \${PGPASSWORD}
database: $PGDATABASE
schemas: [$source_schema]
EOF
cat > "$work/upper/etc/sluice/pipeline.yaml" <<EOF
source: {plugin: postgres-plugin, config: source.yaml}
destinations:
  - plugin: postgres-plugin
    config: {host: 127.0.0.1, port: $PGPORT, user: $PGUSER, password: "\${PGPASSWORD}", database: $PGDATABASE, schema: $copy_schema}
catalog:
  streams:
    - {namespace: $source_schema, name: customers, write_mode: replace}
    - {namespace: $source_schema, name: orders, sync_mode: incremental, cursor: updated_at, write_mode: upsert}
EOF
cat > "$work/upper/etc/sluice/sequence.yaml" <<EOF
source: {plugin: sequence-plugin, config: {rows: 1000}}
destinations:
  - plugin: postgres-plugin
    config: {host: 127.0.0.1, port: $PGPORT, user: $PGUSER, password: "\${PGPASSWORD}", database: $PGDATABASE, schema: $copy_schema}
EOF
cat > "$work/upper/etc/sluice/endless.yaml" <<EOF
source: {plugin: sequence-plugin, config: {rows: 1000000000}}
destinations:
  - plugin: postgres-plugin
    config: {host: 127.0.0.1, port: $PGPORT, user: $PGUSER, password: "\${PGPASSWORD}", database: $PGDATABASE, schema: pkgtest_sigterm}
EOF
chmod 1777 "$work/upper/tmp"

echo "== the package in a clean Debian $codename root without Swift"
unshare --mount --propagation private "$0" --in-namespace "$work"
