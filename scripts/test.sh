#!/usr/bin/env bash
# Every check of the project, as CI runs it: installs the pinned third-party
# checkers, starts the services the tests need, then formatting, lints, the
# generated-file drift check and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# CI builds from a fresh clone once: incremental caches only cost disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

step() { printf '\n==> %s\n' "$*"; }

step "services (MariaDB, PostgreSQL, the TLS-only MariaDB on 3307)"
scripts/services.sh

step "third-party checkers and build tools (asl-validator, statelint, cfn-lint, cargo-lambda, zig; pinned in scripts/tools/)"
scripts/tools/install.sh --build-tools

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "generated files are up to date"
cargo run --quiet -- generate --check

step "cargo test"
cargo test --workspace

step "edba exec agrees with moto's Step Functions interpreter (generated corpus)"
scripts/test_differential.sh

step "the EMR step's PySpark runner on local Spark"
scripts/test_spark.sh

step "the five Lambda functions build for arm64 and each zip is under 15 MB"
scripts/build_lambdas.sh
