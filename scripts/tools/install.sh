#!/usr/bin/env bash
# Installs the pinned third-party checkers the tests run: the npm validators
# and playwright-core (package-lock.json) into scripts/tools/node_modules,
# Debian's chromium when missing, and the Python tools
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

# The console's browser test drives Debian's Chromium, headless, through
# playwright-core (no browser download).
if ! command -v chromium >/dev/null; then
  echo "==> chromium (apt-get) for the console's browser test"
  if [ "$(id -u)" = 0 ]; then apt_get=(apt-get); else apt_get=(sudo apt-get); fi
  "${apt_get[@]}" install -y --no-install-recommends chromium >/dev/null || {
    echo "install.sh: cannot install chromium; the console's browser test needs it" >&2; exit 1; }
fi
"$venv/bin/cfn-lint" --version

if $with_build; then
  ensure_venv "$venv" "$tools/build-requirements.txt"
  "$venv/bin/cargo-lambda" lambda --version
fi
