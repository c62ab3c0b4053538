#!/usr/bin/env bash
# Runs the aggregation job's SQL on local Spark (scripts/emr/test_run_sql_job.py).
# Makes scripts/.venv with the pinned requirements on first use; needs Java 17.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=scripts/.venv
requirements=scripts/emr/requirements-test.txt
stamp=$venv/.requirements.sha256
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [[ ! -x $venv/bin/python || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    echo "$want" >"$stamp"
fi
command -v java >/dev/null || { echo "test_spark.sh: Java (17) is required by Spark" >&2; exit 1; }

exec "$venv/bin/python" -m pytest -q -p no:cacheprovider scripts/emr/test_run_sql_job.py "$@"
