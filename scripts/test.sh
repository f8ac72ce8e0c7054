#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs the pinned helm and kubectl the chart and
# emulator tests use (into .tools/bin), then runs every test of every crate.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

scripts/install-tools.sh
export PATH="$repo_root/.tools/bin:$PATH"

if ! cargo nextest --version >/dev/null 2>&1; then
    echo "test.sh: cargo-nextest not found, installing it" >&2
    cargo install --locked cargo-nextest
fi

cargo nextest run --workspace --all-targets --no-fail-fast "$@"
cargo test --workspace --doc
