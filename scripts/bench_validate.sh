#!/usr/bin/env bash
# Benchmarks the TDF -> CSV converter against a Python csv-module baseline
# doing the same checks on the same file, in the same invocation, then
# measures the converter's peak RSS on a bigger file.
#
#   scripts/bench_validate.sh            # 300 MB throughput file, 1 GB RSS file
#   BENCH_MB=50 RSS_MB=200 scripts/bench_validate.sh   # a quicker run
#   BENCH_BASELINE_BIN=/path/to/bench_validate scripts/bench_validate.sh
#       # also runs another build of this driver (say the previous release's,
#       # built from a worktree into its own target dir) on the same file
#
# The same rows are then validated as a declared dataset with the same
# columns in two other shapes: CSV with a header, and JSON lines.
#
# Targets: >= 400 MB/s, >= 20x the baseline, peak RSS < 64 MB.
# MB means 10^6 bytes. Generated files live in target/bench-data/ and are
# deleted on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

BENCH_MB=${BENCH_MB:-300}
RSS_MB=${RSS_MB:-1000}
DATA=target/bench-data
BIN=target/fast-release/examples/bench_validate
mkdir -p "$DATA"
trap 'rm -rf "$DATA"' EXIT

PIN=()
if command -v taskset >/dev/null; then PIN=(taskset -c 0); fi

cargo build --quiet --profile fast-release -p edba-tasks --example bench_validate


echo "== throughput on a ${BENCH_MB} MB sales file (one core: ${PIN[*]:-not pinned})"
"$BIN" gen "$DATA/sales.tdf" "$((BENCH_MB * 1000000))"
cat "$DATA/sales.tdf" >/dev/null # both runs start from a warm page cache
rust=$("${PIN[@]}" "$BIN" run "$DATA/sales.tdf")
echo "$rust"
python=$("${PIN[@]}" python3 scripts/bench/validate_baseline.py "$DATA/sales.tdf")
echo "$python"
for key in lines valid rejected skipped; do
    if [[ "$(field "$key" "$rust")" != "$(field "$key" "$python")" ]]; then
        echo "WARNING: $key differs between the converter and the baseline" >&2
    fi
done
# The validate task's whole write: the same rows as typed Parquet (snappy).
rust_parquet=$("${PIN[@]}" "$BIN" run-parquet "$DATA/sales.tdf")
echo "$rust_parquet"
echo "with the typed Parquet output: $(field mb_per_s "$rust_parquet") MB/s wall, $(field mb_per_cpu_s "$rust_parquet") MB/s CPU"
rust_mbps=$(field mb_per_s "$rust")
python_mbps=$(field mb_per_s "$python")
echo "wall time: rust ${rust_mbps} MB/s, python ${python_mbps} MB/s, ratio $(ratio "$rust_mbps" "$python_mbps" 1)x (targets: >= 400 MB/s, >= 20x)"
# CPU time does not count the time other jobs held the core: the steadier
# number on a shared machine.
rust_cpu=$(field mb_per_cpu_s "$rust")
python_cpu=$(field mb_per_cpu_s "$python")
echo "CPU time:  rust ${rust_cpu} MB/s, python ${python_cpu} MB/s, ratio $(ratio "$rust_cpu" "$python_cpu" 1)x"
if [[ -n "${BENCH_BASELINE_BIN:-}" ]]; then
    base=$("${PIN[@]}" "$BENCH_BASELINE_BIN" run "$DATA/sales.tdf")
    echo "$base"
    echo "baseline build ($BENCH_BASELINE_BIN): $(field mb_per_s "$base") MB/s wall, $(field mb_per_cpu_s "$base") MB/s CPU; this build / baseline (CPU): $(ratio "$rust_cpu" "$(field mb_per_cpu_s "$base")")x"
    for key in lines valid rejected skipped; do
        if [[ "$(field "$key" "$rust")" != "$(field "$key" "$base")" ]]; then
            echo "WARNING: $key differs between this build and the baseline build" >&2
        fi
    done
fi

echo "== the same rows as a declared dataset: CSV with a header, JSON lines"
for format in csv jsonl; do
    "$BIN" "$format" "$DATA/sales.tdf" "$DATA/sales.$format"
    cat "$DATA/sales.$format" >/dev/null
    out=$("${PIN[@]}" "$BIN" run "$DATA/sales.$format" "$format")
    echo "$out"
    echo "$format: $(field bytes "$out") bytes, $(field mb_per_s "$out") MB/s wall, $(field mb_per_cpu_s "$out") MB/s CPU, $(field valid "$out") valid / $(field rejected "$out") rejected"
    out=$("${PIN[@]}" "$BIN" run-parquet "$DATA/sales.$format" "$format")
    echo "$format with typed Parquet: $(field mb_per_s "$out") MB/s wall, $(field mb_per_cpu_s "$out") MB/s CPU"
    rm -f "$DATA/sales.$format"
done
rm -f "$DATA/sales.tdf"

echo "== peak RSS on a ${RSS_MB} MB sales file, writing typed Parquet as the validate task does"
"$BIN" gen "$DATA/sales-big.tdf" "$((RSS_MB * 1000000))"
if [[ -x /usr/bin/time ]]; then
    /usr/bin/time -v "${PIN[@]}" "$BIN" run-parquet "$DATA/sales-big.tdf" 2>"$DATA/time.txt" | tee "$DATA/run.txt"
    rss_kib=$(sed -n 's/.*Maximum resident set size (kbytes): *//p' "$DATA/time.txt")
else
    "${PIN[@]}" "$BIN" run-parquet "$DATA/sales-big.tdf" | tee "$DATA/run.txt"
    rss_kib=$(field peak_rss_kib "$(cat "$DATA/run.txt")")
fi
echo "peak RSS ${rss_kib} KiB ($(awk -v k="$rss_kib" 'BEGIN { printf "%.1f", k / 1024 }') MiB; target < 64 MB)"
