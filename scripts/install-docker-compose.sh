#!/usr/bin/env bash
# Gets docker-compose 1.29.2 (the Python one, as Debian's `docker-compose` package has it) from PyPI into a venv,
# for machines without that package: the test suite only needs `docker-compose -f F config`, which validates and
# resolves a compose file without a Docker engine. With apt, `apt-get install docker-compose` does the same.
#
#   bash scripts/install-docker-compose.sh [cache dir]     (default: <repo>/.cache/docker-compose, ignored by git)
#
# Idempotent and safe to run concurrently (flock). Progress goes to stderr; the binary's absolute path is the last
# line on stdout. `python3` can be overridden with PYTHON=/path/to/python3.
#
# Pins: docker-compose 1.29.2 wants PyYAML < 6, and PyYAML 5.4.1 has no wheel for current Pythons; its source
# build breaks on Cython 3, so the build is constrained to Cython < 3. docker-py is held at 6.1.3: 7.0 dropped an
# argument docker-compose 1.29 passes when it talks to an engine.
set -euo pipefail

readonly VERSION=1.29.2

die() { echo "install-docker-compose: $*" >&2; exit 1; }

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache_dir="${1:-$repo_root/.cache/docker-compose}"
python="${PYTHON:-python3}"

mkdir -p "$cache_dir"
cache_dir="$(cd "$cache_dir" && pwd)"
venv="$cache_dir/venv"
bin="$venv/bin/docker-compose"

# `docker-compose version --short` prints "1.29.2".
installed_version() { "$bin" version --short 2>/dev/null; }

exec 9>"$cache_dir/.lock"
flock 9

if [[ -x "$bin" && "$(installed_version)" == "$VERSION" ]]; then
  echo "$bin"
  exit 0
fi

command -v "$python" >/dev/null 2>&1 \
  || die "$python not found. Install Python 3 with venv support (Debian: apt-get install python3 python3-venv)."
"$python" -c 'import venv, ensurepip' >/dev/null 2>&1 \
  || die "$python cannot create virtual environments. Install venv support (Debian: apt-get install python3-venv)."

echo "install-docker-compose: installing docker-compose==$VERSION into $venv" >&2
rm -rf "$venv"
"$python" -m venv "$venv" >&2 || die "python3 -m venv $venv failed"
constraints="$cache_dir/constraints.txt"
printf '%s\n' 'cython<3' 'docker==6.1.3' >"$constraints"
# PIP_CONSTRAINT also reaches the isolated environment pip builds PyYAML in.
PIP_CONSTRAINT="$constraints" "$venv/bin/pip" install --quiet --no-input "docker-compose==$VERSION" >&2 \
  || die "pip install docker-compose==$VERSION failed (is PyPI reachable?)"

[[ -x "$bin" ]] || die "docker-compose==$VERSION installed no $bin"
got="$(installed_version)"
[[ "$got" == "$VERSION" ]] || die "$bin reports version '${got:-?}', expected $VERSION"

echo "install-docker-compose: $("$bin" version --short)" >&2
echo "$bin"
