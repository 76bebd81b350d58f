#!/usr/bin/env bash
# Builds relocatable release binaries and packs them for users without a Swift toolchain:
#
#   scripts/package.sh [--skip-build] [--out DIR]     # default DIR: dist/
#
# makes DIR/sluice-connector_VERSION_ARCH.deb (dpkg-deb) and
# DIR/sluice-connector-VERSION-linux-MACHINE.tar.gz, plus SHA256SUMS. The binaries (plugin-host,
# postgres-plugin and the SDK's example sequence-plugin) are built with --static-swift-stdlib
# and stripped; the script fails unless each needs only the C and C++ runtimes, libpq and
# libprotobuf-c, and for postgres-plugin libcurl (the embeddings client goes through
# FoundationNetworking, which is built on libcurl), checked on each ELF dynamic section, with no
# run path but its own folder.
# VERSION is what `postgres-plugin --version` prints.
#
# Package layout: the binaries in /usr/lib/sluice, links /usr/bin/plugin-host and
# /usr/bin/postgres-plugin, the README and the protocol (proto/) in /usr/share/doc/sluice-connector.
# The tarball holds bin/ (the three binaries), README.md and proto/. plugin-host finds a plugin
# named without a path in PATH, then beside its own executable, so both layouts work as they are.
set -euo pipefail
cd "$(dirname "$0")/.."

out=dist
build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --skip-build) build=0; shift ;;
    *) echo "usage: $0 [--skip-build] [--out DIR]" >&2; exit 64 ;;
  esac
done

products=(plugin-host postgres-plugin sequence-plugin)
linked=(postgres-plugin plugin-host)
# The shared libraries a packaged binary may need (libc6, libgcc-s1, libstdc++6, libpq5,
# libprotobuf-c1), and libcurl4 for postgres-plugin only.
allowed='libc\.so\.6|libm\.so\.6|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1|libutil\.so\.1|ld-linux-x86-64\.so\.2|ld-linux-aarch64\.so\.1|libstdc\+\+\.so\.6|libgcc_s\.so\.1|libpq\.so\.5|libprotobuf-c\.so\.1'

if [ "$build" = 1 ]; then
  for product in "${products[@]}"; do
    swift build -c release --static-swift-stdlib --product "$product" 2>&1 | tail -3
  done
fi
bin=$(swift build -c release --show-bin-path)

version=$("$bin/postgres-plugin" --version | awk '{print $2}')
[[ "$version" =~ ^[0-9][0-9A-Za-z.+~-]*$ ]] || { echo "package.sh: unexpected version '$version'" >&2; exit 1; }
arch=$(dpkg --print-architecture)
machine=$(uname -m)
name=sluice-connector

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin"
glibc=0
for product in "${products[@]}"; do
  strip --strip-all -o "$stage/bin/$product" "$bin/$product"
  needed=$(readelf -d "$stage/bin/$product" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  pattern=$allowed
  [ "$product" = postgres-plugin ] && pattern="$pattern|libcurl\.so\.4"
  bad=$(grep -Ev "^($pattern)\$" <<<"$needed" || true)
  if [ -n "$bad" ]; then
    echo "package.sh: $product needs libraries outside the package's dependencies: $bad" >&2
    exit 1
  fi
  # SwiftPM's run path is the binary's own folder; anything else would reach into the toolchain.
  paths=$(readelf -d "$stage/bin/$product" | sed -n 's/.*(R\(UN\)\{0,1\}PATH).*\[\(.*\)\]/\2/p')
  if [ -n "$paths" ] && [ "$paths" != '$ORIGIN' ]; then
    echo "package.sh: $product has a run path other than its own folder: $paths" >&2
    exit 1
  fi
  # The newest glibc symbol version it uses, for libc6's minimum version.
  newest=$(readelf -V --wide "$stage/bin/$product" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1)
  glibc=$(printf '%s\n%s\n' "$glibc" "$newest" | sort -V | tail -1)
  "$stage/bin/$product" --version >/dev/null
done

mkdir -p "$out"
out=$(cd "$out" && pwd)

# The .deb.
deb="$stage/deb"
mkdir -p "$deb/DEBIAN" "$deb/usr/lib/sluice" "$deb/usr/bin" "$deb/usr/share/doc/$name"
for product in "${products[@]}"; do install -m 0755 "$stage/bin/$product" "$deb/usr/lib/sluice/$product"; done
for product in "${linked[@]}"; do ln -s "../lib/sluice/$product" "$deb/usr/bin/$product"; done
install -m 0644 README.md "$deb/usr/share/doc/$name/README.md"
cp -r proto "$deb/usr/share/doc/$name/proto"
find "$deb/usr/share" -type d -exec chmod 0755 {} + -o -type f -exec chmod 0644 {} +
size=$(du -sk --exclude=DEBIAN "$deb" | cut -f1)
cat > "$deb/DEBIAN/control" <<EOF
Package: $name
Version: $version
Architecture: $arch
Maintainer: Sluice developers <dev@sluice.local>
Installed-Size: $size
Depends: libc6 (>= $glibc), libgcc-s1, libstdc++6, libpq5, libprotobuf-c1, libcurl4
Section: database
Priority: optional
Description: PostgreSQL source and destination plugin with its host
 Sluice copies PostgreSQL tables into PostgreSQL, once or incrementally,
 exactly once into its destination. postgres-plugin is the source and
 destination plugin; plugin-host checks, discovers, reads, writes and runs
 pipelines (plugin-host pipeline --pipeline FILE). The SDK's example
 source, sequence-plugin, is in /usr/lib/sluice.
EOF
dpkg-deb --root-owner-group -Zxz --build "$deb" "$out/${name}_${version}_${arch}.deb" >/dev/null

# The tarball.
top="$name-$version-linux-$machine"
mkdir -p "$stage/tar/$top/bin"
for product in "${products[@]}"; do install -m 0755 "$stage/bin/$product" "$stage/tar/$top/bin/$product"; done
install -m 0644 README.md "$stage/tar/$top/README.md"
cp -r proto "$stage/tar/$top/proto"
tar -C "$stage/tar" --owner=0 --group=0 --numeric-owner --sort=name -czf "$out/$top.tar.gz" "$top"

(cd "$out" && sha256sum "${name}_${version}_${arch}.deb" "$top.tar.gz" > SHA256SUMS)
echo "$out/${name}_${version}_${arch}.deb"
echo "$out/$top.tar.gz"
