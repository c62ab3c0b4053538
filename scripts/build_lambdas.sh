#!/usr/bin/env bash
# Builds the five Lambda functions with cargo-lambda as Lambda deploys them
# (bootstrap zips for provided.al2023) and checks each zip's size.
#
# Usage: scripts/build_lambdas.sh [--x86-64] [--max-mb N]
#
#   --x86-64    build for x86_64 instead of arm64 (Graviton, the template's choice)
#   --max-mb N  fail when a zip is larger than N MB (default 15)
#
# cargo-lambda and zig (the cross linker) come from scripts/.venv:
# scripts/tools/install.sh --build-tools installs them.
# Zips land in target/lambda/<function>/bootstrap.zip.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
binaries=(validate track evaluate load record)
arch=--arm64
max_mb=15
while [[ $# -gt 0 ]]; do
  case "$1" in
    --x86-64) arch=--x86-64 ;;
    --arm64) arch=--arm64 ;;
    --max-mb) max_mb="${2:?--max-mb needs a value}"; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build_lambdas.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

export PATH="$repo/scripts/.venv/bin:$PATH"
command -v cargo-lambda >/dev/null ||
  { echo "build_lambdas.sh: cargo-lambda is missing: run scripts/tools/install.sh --build-tools" >&2; exit 1; }
# cargo-lambda finds zig through PATH or python -m ziglang.
command -v zig >/dev/null || python3 -c 'import ziglang' 2>/dev/null ||
  "$repo/scripts/.venv/bin/python" -c 'import ziglang' 2>/dev/null ||
  { echo "build_lambdas.sh: zig is missing: run scripts/tools/install.sh --build-tools" >&2; exit 1; }

# cargo-lambda would add the target itself; doing it first makes the step visible.
if [[ "$arch" == --arm64 ]] && command -v rustup >/dev/null; then
  rustup target add aarch64-unknown-linux-gnu
fi

bin_args=()
for b in "${binaries[@]}"; do bin_args+=(--bin "$b"); done

cd "$repo"
start=$(date +%s)
cargo lambda build --release "$arch" --package edba-tasks --output-format zip "${bin_args[@]}"
echo "built in $(( $(date +%s) - start )) s ($arch)"

limit=$(( max_mb * 1000 * 1000 ))
status=0
printf '%-10s %12s %12s\n' function zip_bytes binary_bytes
for b in "${binaries[@]}"; do
  zip="target/lambda/$b/bootstrap.zip"
  [[ -f "$zip" ]] || { echo "build_lambdas.sh: $zip was not produced" >&2; status=1; continue; }
  size=$(stat -c %s "$zip")
  unzipped=$(python3 -c 'import sys, zipfile; print(sum(i.file_size for i in zipfile.ZipFile(sys.argv[1]).infolist()))' "$zip")
  printf '%-10s %12d %12d\n' "$b" "$size" "$unzipped"
  if (( size > limit )); then
    echo "build_lambdas.sh: $zip is $size bytes, over the ${max_mb} MB budget" >&2
    status=1
  fi
done
exit $status
