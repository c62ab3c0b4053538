#!/usr/bin/env bash
# Installs the pinned third-party checkers the tests run: the npm validators
# (package-lock.json) into scripts/tools/node_modules and the Python tools
# (requirements.txt, and build-requirements.txt with --build-tools) into
# scripts/.venv. Safe to run again: an up-to-date install is left as it is.
#
#   scripts/tools/install.sh                # test tools
#   scripts/tools/install.sh --build-tools  # also cargo-lambda and zig, to build the Lambdas
set -euo pipefail
tools="$(cd "$(dirname "$0")" && pwd)"
scripts="$(dirname "$tools")"
venv="$scripts/.venv"
. "$scripts/lib.sh"

with_build=false
for arg in "$@"; do
  case "$arg" in
    --build-tools) with_build=true ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

command -v npm >/dev/null || { echo "install.sh: npm is required (Node.js 18 or later)" >&2; exit 1; }

echo "==> npm validators (scripts/tools/package-lock.json)"
(cd "$tools" && npm ci --no-audit --no-fund --loglevel=error)

ensure_venv "$venv" "$tools/requirements.txt"
"$venv/bin/cfn-lint" --version

if $with_build; then
  ensure_venv "$venv" "$tools/build-requirements.txt"
  "$venv/bin/cargo-lambda" lambda --version
fi
