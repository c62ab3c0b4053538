#!/usr/bin/env bash
# Benchmarks the evaluate task's decision phase on MariaDB:
#   1. 1,000 jobs over 1,000,000 tracked files (EMR mocked with no cluster, so
#      nothing is claimed); target: under 1 s.
#   2. 100 jobs over 100,000 files, edba next to the original sample's
#      per-job leading-wildcard LIKE scans in the same run; target: >= 50x.
#
#   scripts/bench_evaluate.sh
#   EDBA_BENCH_JOBS=100 EDBA_BENCH_FILES=100000 scripts/bench_evaluate.sh   # quicker
#
# Needs MariaDB (scripts/services.sh); EDBA_BENCH_MYSQL_URL points elsewhere.
# Each phase creates and drops its own database.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

cargo build --quiet --profile fast-release -p edba-tasks --example bench_evaluate
out=$(target/fast-release/examples/bench_evaluate)
echo "$out"

scale_ms=$(field scale_evaluate_ms "$out")
speedup=$(field speedup "$out")
echo "decision phase at scale: ${scale_ms} ms (target < 1000 ms)"
echo "speedup over the original approach: ${speedup}x (target >= 50x)"
