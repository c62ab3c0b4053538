#!/usr/bin/env bash
# Every check of the project, as CI runs it: installs the pinned third-party
# checkers, starts the services the tests need, then formatting, lints, the
# generated-file drift check and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "services (MariaDB, PostgreSQL)"
scripts/services.sh

step "third-party ASL validators (pinned in scripts/tools/package-lock.json)"
(cd scripts/tools && npm ci --no-audit --no-fund --loglevel=error)

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "generated files are up to date"
cargo run --quiet -- generate --check

step "cargo test"
cargo test --workspace
