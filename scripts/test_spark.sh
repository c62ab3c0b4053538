#!/usr/bin/env bash
# Runs the aggregation job's SQL on local Spark (scripts/emr/test_run_sql_job.py).
# Makes scripts/.venv with the pinned requirements on first use; needs Java 17.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

venv=scripts/.venv
ensure_venv "$venv" scripts/emr/requirements-test.txt
command -v java >/dev/null || { echo "test_spark.sh: Java (17) is required by Spark" >&2; exit 1; }
# The tests read the typed Parquet `edba validate` writes.
cargo build --quiet --bin edba

exec "$venv/bin/python" -m pytest -q -p no:cacheprovider scripts/emr/test_run_sql_job.py "$@"
