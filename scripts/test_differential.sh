#!/usr/bin/env bash
# Differential test of edba's local ASL executor against an independent
# interpreter: moto's Step Functions executor (a copy of LocalStack's, whose
# behaviour was recorded against AWS). A seeded corpus of state machines and
# inputs (scripts/differential/gen_corpus.py) runs through `edba exec` and
# through moto; both must agree on the status, on the output (parsed JSON,
# numbers compared numerically) and on the error name.
#
#   scripts/test_differential.sh            # default seed
#   SEED=7 PER_TEMPLATE=12 scripts/test_differential.sh
#
# Known divergences where moto is wrong or unsupported are left out of the
# corpus with the reason and the docs' reference: see KNOWN_DIVERGENCES in
# gen_corpus.py. Exits non-zero on any disagreement.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

start=$(date +%s)
venv=scripts/.venv-diff
ensure_venv "$venv" scripts/differential/requirements.txt
cargo build --quiet
edba="${CARGO_TARGET_DIR:-target}/debug/edba"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$venv/bin/python" scripts/differential/gen_corpus.py "$work" --seed "${SEED:-20240601}" --per-template "${PER_TEMPLATE:-8}"

# moto runs in-process on threads, edba as one process per case: side by side.
"$venv/bin/python" scripts/differential/run_moto.py "$work/cases.json" "$work/moto.json" &
moto_pid=$!
"$venv/bin/python" scripts/differential/run_edba.py "$edba" "$work/cases.json" "$work/edba.json" --jobs 3
wait "$moto_pid"

echo "differential: done in $(( $(date +%s) - start ))s (build and installs included)"
status=0
"$venv/bin/python" scripts/differential/compare.py "$work/cases.json" "$work/edba.json" "$work/moto.json" || status=$?
exit "$status"
