#!/usr/bin/env bash
# Benchmarks the local runtime (`edba run`), each next to its baseline in the
# same invocation, and prints a table:
#   1. files/s through the ingest machine on SQLite and on MariaDB, concurrency
#      1 and 4, next to the same files through the validate function alone
#      and `store.track` alone (what the orchestration costs); then the same
#      files through `edba serve` (an S3 client PUTs them to its endpoint, each
#      created object starts ingest as its S3 event does), concurrency 1 and 4;
#   2. J101: from the upload of the 13th IL file to the EMR step's submission
#      (the local addStep.sync handler), median and p90 over fresh homes, next
#      to the original sample's 10-minute cron schedule, and through
#      `edba serve` (the PUT to the step's TaskScheduled in the history);
#   3. the sales summary SQL job on a generated 5,000,000-row province: the
#      local step runner (DataFusion) over the typed Parquet validate stores
#      next to DuckDB running the same SQL text on the same Parquet files
#      (and both over the CSVs of older runs), with the results' row counts
#      and sums compared.
#
#   BENCH_BASELINE_BIN=/path/to/an/older/bench_local scripts/bench_local.sh
#      also runs section 1 on SQLite with that build, side by side;
#      BENCH_BASELINE_EDBA=/path/to/an/older/edba runs section 1b against
#      that build's serve too (this build's client uploads to both).
#   BENCH_DATA=/dev/shm/edba-bench scripts/bench_local.sh
#      keeps the generated files and every home below it instead (tmpfs: edba's
#      own cost without the disk's; each stored object is a few files, and
#      creating a file on some virtual disks costs half a millisecond).
#   BENCH_SERVE_REPS=5 scripts/bench_local.sh
#      runs section 1b five times per figure (default 3) and prints the median.
#
#   scripts/bench_local.sh
#   BENCH_FILES=100 BENCH_REPS=3 BENCH_JOB_ROWS=500000 scripts/bench_local.sh   # quicker
#   BENCH_PROFILE=debug BENCH_FILES=20 BENCH_REPS=2 BENCH_JOB_ROWS=100000 scripts/bench_local.sh   # smoke run
#
# Needs MariaDB (scripts/services.sh); EDBA_BENCH_MYSQL_URL points elsewhere.
# Each MariaDB phase creates databases edba_bench_<random> and drops them.
# DuckDB is installed into scripts/.venv-bench (gitignored). Generated data
# lives in target/bench-data/local/ (or BENCH_DATA) and is deleted on exit. Timings are
# wall-clock on whatever else the machine is doing: read ratios, not digits.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

FILES=${BENCH_FILES:-500}
LINES=${BENCH_LINES:-200}
REPS=${BENCH_REPS:-10}
JOB_ROWS=${BENCH_JOB_ROWS:-5000000}
JOB_STORES=${BENCH_JOB_STORES:-50}
JOB_ITEMS=${BENCH_JOB_ITEMS:-10000}
SERVE_REPS=${BENCH_SERVE_REPS:-3}
DATA=target/bench-data/local
# Under BENCH_DATA, a directory of the bench's own (removed on exit).
if [[ -n "${BENCH_DATA:-}" ]]; then DATA=$BENCH_DATA/edba-bench-local; fi
PROFILE=${BENCH_PROFILE:-fast-release}
BIN=target/$PROFILE/examples/bench_local
VENV=scripts/.venv-bench

rm -rf "$DATA"
mkdir -p "$DATA"
trap 'rm -rf "$DATA"' EXIT

if [[ "$PROFILE" == debug ]]; then
    cargo build --quiet -p edba-local --example bench_local -p edba --bin edba
else
    cargo build --quiet --profile "$PROFILE" -p edba-local --example bench_local -p edba --bin edba
fi
EDBA=target/$PROFILE/edba
ensure_venv "$VENV" scripts/bench/requirements.txt

echo "== 1. ingest: $FILES files x $LINES lines"
declare -A INGEST
for backend in sqlite mysql; do
    for c in 1 4; do
        line=$("$BIN" ingest --data "$DATA" --backend "$backend" --files "$FILES" --lines "$LINES" --concurrency "$c")
        echo "$line"
        INGEST[$backend-$c]=$line
    done
done

# A baseline build gets folders of its own: an older one deletes and reuses
# its homes, which must not slow (or delete) this build's.
if [[ -n "${BENCH_BASELINE_BIN:-}" ]]; then
    mkdir -p "$DATA/baseline"
    for c in 1 4; do
        line=$("$BENCH_BASELINE_BIN" ingest --data "$DATA/baseline" --backend sqlite --files "$FILES" --lines "$LINES" --concurrency "$c")
        echo "baseline $line"
        INGEST[base-$c]=$line
    done
fi

echo "== 1b. the same files through edba serve: PUTs to its S3 endpoint by an S3 client, $SERVE_REPS runs each"
# A run lasts a second or two, so one is at the mercy of whatever else the
# machine does: each figure is the median of SERVE_REPS runs, this build's
# and the baseline's taking turns.
declare -A SERVE
for c in 1 4; do
    new=() base=() new_rss=() base_rss=()
    for ((rep = 1; rep <= SERVE_REPS; rep++)); do
        line=$("$BIN" serve-ingest --data "$DATA" --edba "$EDBA" --files "$FILES" --lines "$LINES" --concurrency "$c")
        echo "$line"
        new+=("$(field files_per_s "$line")")
        new_rss+=("$(field serve_rss_mib "$line")")
        if [[ -n "${BENCH_BASELINE_EDBA:-}" ]]; then
            # This build's client, the baseline's server: only serve differs.
            line=$("$BIN" serve-ingest --data "$DATA" --edba "$BENCH_BASELINE_EDBA" \
                --files "$FILES" --lines "$LINES" --concurrency "$c")
            echo "baseline $line"
            base+=("$(field files_per_s "$line")")
            base_rss+=("$(field serve_rss_mib "$line")")
        fi
    done
    SERVE[$c]="files_per_s=$(median "${new[@]}") runs=$(IFS=,; echo "${new[*]}") rss=$(median "${new_rss[@]}")"
    if [[ ${#base[@]} -gt 0 ]]; then
        SERVE[base-$c]="files_per_s=$(median "${base[@]}") runs=$(IFS=,; echo "${base[*]}") rss=$(median "${base_rss[@]}")"
    fi
done
SERVE_TRIGGER=$("$BIN" serve-trigger --data "$DATA" --edba "$EDBA" --reps "$REPS")
echo "$SERVE_TRIGGER"

echo "== 2. J101: 13th file's upload -> addStep.sync, $REPS fresh homes"
TRIGGER=$("$BIN" trigger --data "$DATA" --reps "$REPS")
echo "$TRIGGER"

echo "== 2b. the executor's own cost per state transition: a 1000-state Pass/Choice loop"
TRANSITIONS=$("$BIN" transitions --states 1000 --reps "$REPS")
echo "$TRANSITIONS"

echo "== 3. the SQL job on $JOB_ROWS sales rows ($JOB_STORES stores, $JOB_ITEMS items)"
"$BIN" job-gen --data "$DATA" --rows "$JOB_ROWS" --stores "$JOB_STORES" --items "$JOB_ITEMS"
cat "$DATA"/job/csv/*/*.csv "$DATA"/job/parquet/*/*.parquet >/dev/null # every run starts from a warm page cache
declare -A JOB DUCK
for format in parquet csv; do
    JOB[$format]=$("$BIN" job-run --data "$DATA" --format "$format")
    echo "${JOB[$format]}"
    DUCK[$format]=$("$VENV/bin/python" scripts/bench/local_duckdb_job.py sql/jobs/sales_summary.sql \
        "$DATA/job/$format" "$DATA/job/duckdb-out" "$format")
    echo "${DUCK[$format]}"
done
LOCAL_JOB=${JOB[parquet]}
DUCK_JOB=${DUCK[parquet]}
SAME=yes
for key in saleitemsummary_rows salessummary_rows sale_cents tax_cents discount_cents item_count_sum named_rows; do
    for other in "${JOB[csv]}" "${DUCK[parquet]}" "${DUCK[csv]}"; do
        if [[ "$(field "$key" "$LOCAL_JOB")" != "$(field "$key" "$other")" ]]; then
            echo "WARNING: $key differs: step runner on Parquet $(field "$key" "$LOCAL_JOB"), $(cut -d' ' -f1-2 <<<"$other") $(field "$key" "$other")" >&2
            SAME=no
        fi
    done
done

echo
echo "== results"
printf '%-58s %12s %12s\n' "ingest ($FILES files x $LINES lines), files/s" "SQLite" "MariaDB"
for c in 1 4; do
    for what in pipeline:"ingest machine (validate+track+choice)" validate:"baseline: validate function only" track:"baseline: store.track only"; do
        key=${what%%:*}
        label=${what#*:}
        printf '%-58s %12s %12s\n' "  c=$c $label" \
            "$(field "${key}_fps" "${INGEST[sqlite-$c]}")" "$(field "${key}_fps" "${INGEST[mysql-$c]}")"
    done
    s=${INGEST[sqlite-$c]}
    m=${INGEST[mysql-$c]}
    orchestration() { # seconds of the machine beyond validate + track, per file
        awk -v p="$(field pipeline_s "$1")" -v v="$(field validate_s "$1")" -v t="$(field track_s "$1")" -v n="$FILES" \
            'BEGIN { printf "%.2f ms", (p - v - t) * 1000 / n }'
    }
    printf '%-58s %12s %12s\n' "  c=$c orchestration beyond validate+track, per file" "$(orchestration "$s")" "$(orchestration "$m")"
done
if [[ -n "${BENCH_BASELINE_BIN:-}" ]]; then
    for c in 1 4; do
        printf '%-58s %12s\n' "  c=$c ingest machine, baseline build ($BENCH_BASELINE_BIN)" "$(field pipeline_fps "${INGEST[base-$c]}")"
        printf '%-58s %12s\n' "  c=$c validate function only, baseline build" "$(field validate_fps "${INGEST[base-$c]}")"
    done
fi
for c in 1 4; do
    printf '%-58s %12s   (%s)\n' "  c=$c through edba serve (S3 client PUTs -> events -> ingest)" \
        "$(field files_per_s "${SERVE[$c]}")" "$(field runs "${SERVE[$c]}")"
    if [[ -n "${SERVE[base-$c]:-}" ]]; then
        printf '%-58s %12s   (%s)\n' "  c=$c through edba serve, baseline build" \
            "$(field files_per_s "${SERVE[base-$c]}")" "$(field runs "${SERVE[base-$c]}")"
    fi
done
printf '%-58s %12s %12s\n' "  edba serve's resident memory after the files, c=4 (MiB)" \
    "$(field rss "${SERVE[4]}")" "$(field rss "${SERVE[base-4]:-}") (baseline)"
printf '%-58s %12s %12s\n' "  upload (PutObject to the embedded S3), c=1" \
    "$(field upload_fps "${INGEST[sqlite-1]}")" "$(field upload_fps "${INGEST[mysql-1]}")"
echo
printf '%-58s %12s %12s\n' "J101 13th upload -> EMR step submitted ($REPS runs)" "median" "p90"
printf '%-58s %12s %12s\n' "  edba local (event-driven)" \
    "$(field upload_to_step_p50_ms "$TRIGGER") ms" "$(field upload_to_step_p90_ms "$TRIGGER") ms"
printf '%-58s %12s %12s\n' "  through edba serve (S3 client PUT -> event -> step)" \
    "$(field upload_to_step_ms_p50 "$SERVE_TRIGGER") ms" "$(field upload_to_step_ms_p90 "$SERVE_TRIGGER") ms"
printf '%-58s %12s %12s\n' "  of which from the ingest execution's start" \
    "$(field start_to_step_p50_ms "$TRIGGER") ms" "$(field start_to_step_p90_ms "$TRIGGER") ms"
printf '%-58s %12s %12s\n' "  upload -> run loaded and recorded" \
    "$(field upload_to_done_p50_ms "$TRIGGER") ms" "$(field upload_to_done_p90_ms "$TRIGGER") ms"
printf '%-58s %12s %12s\n' "  baseline: original sample, 10-minute cron (expected/worst)" "300000 ms" "600000 ms"
echo "  task medians on that path (ms): $(sed -n 's/^trigger-tasks median_ms //p' <<<"$TRIGGER")"
echo
printf '%-58s %12s\n' "executor, 1000-state Pass/Choice loop, per transition" "microseconds"
printf '%-58s %12s\n' "  baseline: JSONPath (Parameters + Variable rule)" "$(field transition_us_jsonpath "$TRANSITIONS")"
printf '%-58s %12s\n' "  JSONata over \$states.input (Output + Condition)" "$(field transition_us_jsonata "$TRANSITIONS")"
printf '%-58s %12s\n' "  JSONata over a variable (Assign + Condition)" "$(field transition_us_jsonata_vars "$TRANSITIONS")"
printf '%-58s %12s\n' "  ratio JSONata / JSONPath" \
    "$(ratio "$(field transition_us_jsonata "$TRANSITIONS")" "$(field transition_us_jsonpath "$TRANSITIONS")")x"
echo
printf '%-58s %12s\n' "sales_summary.sql on $JOB_ROWS rows" "seconds"
printf '%-58s %12s\n' "  edba step runner on typed Parquet (S3 download included)" "$(field step_s "${JOB[parquet]}")"
printf '%-58s %12s\n' "  baseline: DuckDB $(field version "$DUCK_JOB"), same SQL, same Parquet on disk" "$(field job_s "${DUCK[parquet]}")"
printf '%-58s %12s\n' "  ratio step runner / DuckDB (typed Parquet)" "$(ratio "$(field step_s "${JOB[parquet]}")" "$(field job_s "${DUCK[parquet]}")")x"
printf '%-58s %12s\n' "  edba step runner on the CSVs of older runs" "$(field step_s "${JOB[csv]}")"
printf '%-58s %12s\n' "  baseline: DuckDB, same SQL, the CSVs on disk" "$(field job_s "${DUCK[csv]}")"
printf '%-58s %12s\n' "  ratio step runner / DuckDB (CSV)" "$(ratio "$(field step_s "${JOB[csv]}")" "$(field job_s "${DUCK[csv]}")")x"
printf '%-58s %12s\n' "  same row counts and sums" "$SAME"
printf '%-58s %12s\n' "  (saleitemsummary / salessummary rows)" \
    "$(field saleitemsummary_rows "$LOCAL_JOB") / $(field salessummary_rows "$LOCAL_JOB")"
[[ "$SAME" == yes ]]
