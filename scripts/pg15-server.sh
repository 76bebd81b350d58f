#!/usr/bin/env bash
# Starts or stops Debian's PostgreSQL 15 (package postgresql-15) with TLS on, for the version
# and TLS matrix of the tests.
#
#   scripts/pg15-server.sh start    # makes certificates and roles when missing, starts, prints exports
#   scripts/pg15-server.sh stop
#   scripts/pg15-server.sh env      # SLUICE_PG15_* exports: where the TLS tests find this server
#   scripts/pg15-server.sh pg-env   # PG* exports pointing at this server (superuser, no TLS)
#
# Port SLUICE_PG15_PORT (54330), data and secrets under SLUICE_PG15_ROOT (/var/tmp/sluice-pg15),
# never in the repo. The server runs as the `postgres` user and listens on 127.0.0.1 only.
# openssl makes, once: a CA, a server certificate for localhost and 127.0.0.1 (subjectAltName),
# a second unrelated CA (the "wrong CA"), and a client certificate for the role sluice_cert.
# Keys and the password file are 0600, owned by whoever uses them (the server's by postgres).
# Roles (pg_hba.conf), each password random, made once and kept in secrets.env:
#   postgres         superuser, scram-sha-256, with or without TLS (the suites run as it)
#   sluice_scram     scram-sha-256
#   sluice_md5       an md5-hashed password, md5 authentication
#   sluice_tls_only  scram-sha-256 over TLS only (hostssl); refused without TLS
#   sluice_cert      a client certificate signed by the CA (cert authentication); TLS only
# Safe to run again: what exists is kept, roles and pg_hba.conf are brought back in line.
set -euo pipefail

PORT=${SLUICE_PG15_PORT:-54330}
ROOT=${SLUICE_PG15_ROOT:-/var/tmp/sluice-pg15}
BIN=/usr/lib/postgresql/15/bin
DATA="$ROOT/data-$PORT"
TLS="$ROOT/tls-$PORT"
SECRETS="$ROOT/secrets-$PORT.env"

as_postgres() { runuser -u postgres -- "$@"; }

# Passwords for the roles: random, made once, readable by root only.
load_secrets() {
  if [ ! -s "$SECRETS" ]; then
    (umask 077
     {
       for name in SUPERUSER SCRAM MD5 TLS_ONLY; do echo "${name}_PASSWORD=$(openssl rand -hex 16)"; done
     } > "$SECRETS.tmp")
    mv "$SECRETS.tmp" "$SECRETS"
  fi
  chmod 600 "$SECRETS"
  # shellcheck disable=SC1090
  . "$SECRETS"
}

print_env() {
  load_secrets
  echo "export SLUICE_PG15_HOST=127.0.0.1 SLUICE_PG15_PORT=$PORT SLUICE_PG15_PASSWORD=$SUPERUSER_PASSWORD SLUICE_PG15_TLS=$TLS"
  echo "export SLUICE_PG15_SCRAM_PASSWORD=$SCRAM_PASSWORD SLUICE_PG15_MD5_PASSWORD=$MD5_PASSWORD SLUICE_PG15_TLS_ONLY_PASSWORD=$TLS_ONLY_PASSWORD"
}

print_pg_env() {
  load_secrets
  echo "export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres PGPASSWORD=$SUPERUSER_PASSWORD PGDATABASE=postgres"
}

# sign NAME SUBJECT EXTENSIONS: a key and a certificate signed by the CA.
sign() {
  openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -keyout "$TLS/$1.key" \
    -out "$TLS/$1.csr" -subj "$2" 2>/dev/null
  printf '%s\n' "$3" > "$TLS/$1.ext"
  openssl x509 -req -in "$TLS/$1.csr" -CA "$TLS/ca.crt" -CAkey "$TLS/ca.key" -CAcreateserial \
    -days 3650 -sha256 -out "$TLS/$1.crt" -extfile "$TLS/$1.ext" 2>/dev/null
  rm -f "$TLS/$1.csr" "$TLS/$1.ext"
}

# self_signed NAME SUBJECT: a CA.
self_signed() {
  openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -keyout "$TLS/$1.key" \
    -out "$TLS/$1.crt" -days 3650 -sha256 -subj "$2" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

make_certificates() {
  mkdir -p "$TLS"
  chmod 755 "$TLS"
  if [ ! -s "$TLS/server.crt" ] || [ ! -s "$TLS/client.crt" ] || [ ! -s "$TLS/wrong-ca.crt" ]; then
    (umask 077
     self_signed ca "/CN=Sluice test CA"
     self_signed wrong-ca "/CN=Sluice unrelated CA"
     sign server "/CN=localhost" "subjectAltName=DNS:localhost,IP:127.0.0.1
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth"
     sign client "/CN=sluice_cert" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth")
    # Only the wrong CA's certificate is needed; its key signs nothing.
    rm -f "$TLS/wrong-ca.key"
  fi
  chmod 644 "$TLS/ca.crt" "$TLS/wrong-ca.crt" "$TLS/server.crt" "$TLS/client.crt"
  chown root: "$TLS/ca.key" "$TLS/client.key"
  chmod 600 "$TLS/ca.key" "$TLS/client.key"
  chown postgres: "$TLS/server.key"
  chmod 600 "$TLS/server.key"
}

write_hba() {
  cat > "$DATA/pg_hba.conf" <<'EOF'
# Written by scripts/pg15-server.sh; rewritten at every start.
local   all  postgres                        trust
hostssl all  sluice_cert      127.0.0.1/32   cert
host    all  sluice_cert      127.0.0.1/32   reject
hostssl all  sluice_tls_only  127.0.0.1/32   scram-sha-256
host    all  sluice_tls_only  127.0.0.1/32   reject
host    all  sluice_md5       127.0.0.1/32   md5
host    all  all              127.0.0.1/32   scram-sha-256
EOF
  chown postgres: "$DATA/pg_hba.conf"
  chmod 600 "$DATA/pg_hba.conf"
}

# Creates the roles or resets their passwords; SQL goes through stdin, never the command line.
sync_roles() {
  as_postgres "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$DATA" -p "$PORT" -U postgres -d postgres >/dev/null <<EOF
SET client_min_messages = warning;
ALTER ROLE postgres PASSWORD '$SUPERUSER_PASSWORD';
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sluice_scram') THEN CREATE ROLE sluice_scram LOGIN; END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sluice_md5') THEN CREATE ROLE sluice_md5 LOGIN; END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sluice_tls_only') THEN CREATE ROLE sluice_tls_only LOGIN; END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sluice_cert') THEN CREATE ROLE sluice_cert LOGIN; END IF;
END \$\$;
SET password_encryption = 'scram-sha-256';
ALTER ROLE sluice_scram PASSWORD '$SCRAM_PASSWORD';
ALTER ROLE sluice_tls_only PASSWORD '$TLS_ONLY_PASSWORD';
SET password_encryption = 'md5';
ALTER ROLE sluice_md5 PASSWORD '$MD5_PASSWORD';
GRANT CREATE ON DATABASE postgres TO sluice_scram, sluice_md5, sluice_tls_only, sluice_cert;
EOF
}

start() {
  [ -x "$BIN/pg_ctl" ] || { echo "postgresql-15 is not installed: run scripts/setup.sh" >&2; exit 1; }
  id postgres >/dev/null 2>&1 || useradd --system --home-dir "$ROOT" --shell /usr/sbin/nologin postgres
  mkdir -p "$ROOT"
  chmod 755 "$ROOT"
  load_secrets
  make_certificates
  if [ ! -f "$DATA/PG_VERSION" ]; then
    mkdir -p "$DATA"
    chown postgres: "$DATA"
    chmod 700 "$DATA"
    local pwfile
    pwfile=$(mktemp)
    printf '%s\n' "$SUPERUSER_PASSWORD" > "$pwfile"
    chown postgres "$pwfile"
    as_postgres "$BIN/initdb" -D "$DATA" -U postgres --pwfile="$pwfile" \
      --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
  fi
  write_hba
  if as_postgres "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    as_postgres "$BIN/pg_ctl" -D "$DATA" reload >/dev/null
  else
    as_postgres "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w \
      -o "-p $PORT -k $DATA -c listen_addresses=127.0.0.1 -c max_connections=500 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c wal_level=logical -c max_replication_slots=40 -c max_wal_senders=40 -c ssl=on -c ssl_cert_file=$TLS/server.crt -c ssl_key_file=$TLS/server.key -c ssl_ca_file=$TLS/ca.crt" \
      start >/dev/null
  fi
  sync_roles
  print_env
}

stop() {
  [ -f "$DATA/PG_VERSION" ] || return 0
  as_postgres "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || true
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) print_env ;;
  pg-env) print_pg_env ;;
  *) echo "usage: $0 start|stop|env|pg-env" >&2; exit 2 ;;
esac
