#!/usr/bin/env bash
# Measures what the `fast-release` profile's per-package opt-level overrides
# (Cargo.toml) buy: two from-scratch builds of the CLI and the bench_local
# example, one after the other in this invocation, each in its own target
# directory with CARGO_INCREMENTAL=0:
#   baseline   the same profile with the overrides lifted (opt-level 3 for all)
#   committed  the profile as committed
# then, unless BENCH_BUILD_RUN=0, the SQL job and the ingest benchmark with
# each build's bench_local binary on the same generated data, so the build
# time saved is seen next to the run time it might cost.
#
#   scripts/bench_build.sh                      # ~55 min on 2 cores
#   BENCH_BUILD_RUN=0 scripts/bench_build.sh    # build times and sizes only
#   BENCH_JOB_ROWS=500000 scripts/bench_build.sh
#
# Builds into target/bench-build/ (deleted on exit: it holds two full trees).
# Timings are wall-clock on whatever else the machine is doing: do not run
# another build beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

RUN=${BENCH_BUILD_RUN:-1}
JOB_ROWS=${BENCH_JOB_ROWS:-5000000}
FILES=${BENCH_FILES:-200}
ROOT=target/bench-build
DATA=$ROOT/data
rm -rf "$ROOT"
mkdir -p "$ROOT"
trap 'rm -rf "$ROOT"' EXIT

# The packages the committed profile builds at opt-level 1, read from Cargo.toml
# so the script cannot drift from it.
mapfile -t LOWERED < <(sed -n 's/^\[profile\.fast-release\.package\.\([A-Za-z0-9_-]*\)\]$/\1/p' Cargo.toml)
((${#LOWERED[@]})) || { echo "bench_build: Cargo.toml has no fast-release package overrides" >&2; exit 1; }
echo "packages at opt-level 1 in fast-release: ${LOWERED[*]}"

declare -A WALL SIZE
build() { # build NAME [cargo --config args...]
    local name=$1 start end
    shift
    echo "== building $name from scratch"
    start=$(date +%s)
    CARGO_INCREMENTAL=0 CARGO_TARGET_DIR="$ROOT/$name" cargo build --quiet "$@" --profile fast-release \
        -p edba --bin edba
    CARGO_INCREMENTAL=0 CARGO_TARGET_DIR="$ROOT/$name" cargo build --quiet "$@" --profile fast-release \
        -p edba-local --example bench_local
    end=$(date +%s)
    WALL[$name]=$((end - start))
    SIZE[$name]=$(($(stat -c %s "$ROOT/$name/fast-release/edba") / 1000000))
    echo "   $name: ${WALL[$name]} s, CLI ${SIZE[$name]} MB"
}

baseline_config=()
for package in "${LOWERED[@]}"; do
    baseline_config+=(--config "profile.fast-release.package.\"$package\".opt-level=3")
done
build baseline "${baseline_config[@]}"
build committed

declare -A JOB INGEST
if [[ "$RUN" != 0 ]]; then
    mkdir -p "$DATA"
    "$ROOT/committed/fast-release/examples/bench_local" job-gen --data "$DATA" --rows "$JOB_ROWS" --stores 50 --items 10000
    cat "$DATA"/job/csv/*/*.csv >/dev/null
    for round in 1 2; do # alternate, so neither build always runs on a colder machine
        for name in baseline committed; do
            line=$("$ROOT/$name/fast-release/examples/bench_local" job-run --data "$DATA")
            echo "   job round $round, $name: step_s=$(field step_s "$line")"
            JOB[$name]="${JOB[$name]:-} $(field step_s "$line")"
        done
    done
    for name in baseline committed; do
        line=$("$ROOT/$name/fast-release/examples/bench_local" ingest --data "$DATA" --backend sqlite --files "$FILES" --lines 200 --concurrency 4)
        INGEST[$name]=$(field pipeline_fps "$line")
    done
fi

echo
echo "== results (fast-release, from scratch, CARGO_INCREMENTAL=0)"
printf '%-44s %14s %10s %18s %16s\n' "" "build wall" "CLI size" "job s (2 rounds)" "ingest files/s"
for name in baseline committed; do
    label=$name
    [[ $name == baseline ]] && label="baseline: opt-level 3 everywhere"
    [[ $name == committed ]] && label="committed: ${#LOWERED[@]} packages at opt-level 1"
    printf '%-44s %11s s %7s MB %18s %16s\n' "$label" "${WALL[$name]}" "${SIZE[$name]}" \
        "${JOB[$name]:- n/a}" "${INGEST[$name]:-n/a}"
done
printf '%-44s %13sx\n' "build time committed / baseline" "$(ratio "${WALL[committed]}" "${WALL[baseline]}")"
