#!/usr/bin/env bash
# Builds the pinned Temporal server, its SQL schema tool and the Temporal Web UI server from the Go module proxy,
# once per machine, into a cache outside the repository (so every clone on the machine shares it):
#
#   bash scripts/install-temporal-server.sh [cache root]
#     cache root: ${OUIJA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ouija}
#     result:     <cache root>/temporal-server-<version>/{bin/temporal-server,bin/temporal-sql-tool,
#                 bin/temporal-ui-server,schema/postgresql/v12/...,VERSIONS}
#
# Versions come from deploy/temporal/versions.env. Needs Go 1.21 or newer on PATH (or in /usr/local/go/bin):
# GOTOOLCHAIN=auto fetches the Go release the server's go.mod asks for, through the module proxy. A cold build
# takes several minutes on 2 cores; the Go module and build caches (GOMODCACHE, GOCACHE) make later ones faster.
# The install is atomic (built in a temporary directory beside the result, then renamed) and safe to run
# concurrently (flock). Progress goes to stderr; the install directory is the last line on stdout.
set -euo pipefail

die() { echo "install-temporal-server: $*" >&2; exit 1; }
say() { echo "install-temporal-server: $*" >&2; }

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../deploy/temporal/versions.env
source "$repo_root/deploy/temporal/versions.env"
: "${TEMPORAL_SERVER_VERSION:?missing in deploy/temporal/versions.env}" "${TEMPORAL_UI_SERVER_VERSION:?missing in deploy/temporal/versions.env}"

cache_root="${1:-${OUIJA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ouija}}"
mkdir -p "$cache_root"
cache_root="$(cd "$cache_root" && pwd)"
dir="$cache_root/temporal-server-$TEMPORAL_SERVER_VERSION"
stamp="server=$TEMPORAL_SERVER_VERSION ui=$TEMPORAL_UI_SERVER_VERSION"

installed() {
  [[ -f $dir/VERSIONS && "$(cat "$dir/VERSIONS")" == "$stamp" ]] &&
    [[ -x $dir/bin/temporal-server && -x $dir/bin/temporal-sql-tool && -x $dir/bin/temporal-ui-server ]] &&
    [[ -d $dir/schema/postgresql/v12/temporal/versioned && -d $dir/schema/postgresql/v12/visibility/versioned ]]
}

# Two installers (say CI and a test run) must not build at once; the second one then finds the result.
exec 9>"$cache_root/.temporal-server-$TEMPORAL_SERVER_VERSION.lock"
flock 9

if installed; then
  echo "$dir"
  exit 0
fi

# Go on PATH, else where the official tarball puts it (CI's PATH may lack it). OUIJA_GO_DIRS overrides that list.
go_bin="$(command -v go || true)"
for d in ${OUIJA_GO_DIRS-/usr/local/go/bin}; do
  [[ -n $go_bin || ! -x $d/go ]] || go_bin=$d/go
done
[[ -n $go_bin ]] || die "go not found on PATH (nor in ${OUIJA_GO_DIRS-/usr/local/go/bin}). The Temporal server is built from the Go module proxy: install Go 1.21 or newer (https://go.dev/doc/install; Debian bookworm's golang-go is 1.19, too old) and run this again."
go_version="$("$go_bin" env GOVERSION)" # go1.26.8
minor="$(sed -E 's/^go1\.([0-9]+).*/\1/' <<<"$go_version")"
[[ $minor =~ ^[0-9]+$ && $minor -ge 21 ]] \
  || die "$go_bin is $go_version; building the Temporal server needs Go 1.21 or newer (GOTOOLCHAIN=auto then fetches the release it needs)."
export GOTOOLCHAIN=auto

tmp="$(mktemp -d "$cache_root/.temporal-server-$TEMPORAL_SERVER_VERSION.XXXXXX")"
trap 'rm -rf "$tmp" "$tmp.old"' EXIT
started=$SECONDS

say "building go.temporal.io/server v$TEMPORAL_SERVER_VERSION (server and sql tool) with $go_version; several minutes when the Go caches are cold"
GOBIN="$tmp/gobin/server" "$go_bin" install \
  "go.temporal.io/server/cmd/server@v$TEMPORAL_SERVER_VERSION" "go.temporal.io/server/cmd/tools/sql@v$TEMPORAL_SERVER_VERSION" >&2 \
  || die "go install go.temporal.io/server/cmd/server@v$TEMPORAL_SERVER_VERSION failed (is the Go module proxy reachable?)"
say "building github.com/temporalio/ui-server/v2 v$TEMPORAL_UI_SERVER_VERSION"
# Its binary is called `server` too: a GOBIN of its own.
GOBIN="$tmp/gobin/ui" "$go_bin" install "github.com/temporalio/ui-server/v2/cmd/server@v$TEMPORAL_UI_SERVER_VERSION" >&2 \
  || die "go install github.com/temporalio/ui-server/v2/cmd/server@v$TEMPORAL_UI_SERVER_VERSION failed"

mkdir -p "$tmp/bin" "$tmp/schema"
mv "$tmp/gobin/server/server" "$tmp/bin/temporal-server"
mv "$tmp/gobin/server/sql" "$tmp/bin/temporal-sql-tool"
mv "$tmp/gobin/ui/server" "$tmp/bin/temporal-ui-server"
rm -rf "$tmp/gobin"

# The versioned schema files ship inside the server's module; copied so the install does not depend on the
# module cache staying around (go clean -modcache).
module_dir="$("$go_bin" env GOMODCACHE)/go.temporal.io/server@v$TEMPORAL_SERVER_VERSION"
[[ -d $module_dir/schema/postgresql/v12 ]] || die "no schema/postgresql/v12 in $module_dir"
cp -R "$module_dir/schema/postgresql" "$tmp/schema/postgresql"
chmod -R u+w "$tmp/schema" # the module cache is read-only, and so would be the copy

got="$("$tmp/bin/temporal-server" --version)" # "temporal version 1.32.2"
[[ $got == *" $TEMPORAL_SERVER_VERSION" ]] || die "the built server reports '$got', expected $TEMPORAL_SERVER_VERSION"
echo "$stamp" >"$tmp/VERSIONS"
chmod 755 "$tmp"

# An install of an older UI version under the same server version is replaced, never half-overwritten.
[[ ! -e $dir ]] || mv "$dir" "$tmp.old"
mv "$tmp" "$dir"
say "installed $stamp into $dir in $((SECONDS - started)) s"
echo "$dir"
