#!/usr/bin/env bash
# Installs the pinned third-party checkers the tests run: the npm validators
# (package-lock.json) into scripts/tools/node_modules and the Python tools
# (requirements.txt) into scripts/.venv. Safe to run again: an up-to-date
# install is left as it is.
#
#   scripts/tools/install.sh                # test tools
#   scripts/tools/install.sh --build-tools  # also cargo-lambda and zig, to build the Lambdas
set -euo pipefail
tools="$(cd "$(dirname "$0")" && pwd)"
scripts="$(dirname "$tools")"
venv="$scripts/.venv"

# cargo-lambda cross-compiles with zig; both ship as PyPI wheels.
build_tools=("cargo-lambda==1.9.2" "ziglang==0.15.2")

with_build=false
for arg in "$@"; do
  case "$arg" in
    --build-tools) with_build=true ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

command -v npm >/dev/null || { echo "install.sh: npm is required (Node.js 18 or later)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "install.sh: python3 is required (3.9 or later, with venv)" >&2; exit 1; }

echo "==> npm validators (scripts/tools/package-lock.json)"
(cd "$tools" && npm ci --no-audit --no-fund --loglevel=error)

if [[ ! -x "$venv/bin/python" ]]; then
  echo "==> creating $venv"
  python3 -m venv "$venv"
fi

# pip install is a no-op when the pinned versions are already there; checking
# first keeps a repeated run fast and offline.
want=("-r" "$tools/requirements.txt")
if ! "$venv/bin/python" - "$tools/requirements.txt" <<'PY'
import sys
from importlib.metadata import version, PackageNotFoundError
ok = True
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    name, _, pinned = line.partition("==")
    try:
        ok &= version(name) == pinned
    except PackageNotFoundError:
        ok = False
sys.exit(0 if ok else 1)
PY
then
  echo "==> Python tools (scripts/tools/requirements.txt)"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${want[@]}"
fi
"$venv/bin/cfn-lint" --version

if $with_build; then
  echo "==> build tools: ${build_tools[*]}"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${build_tools[@]}"
  "$venv/bin/cargo-lambda" lambda --version
fi
