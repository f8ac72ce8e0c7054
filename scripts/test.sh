#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs the pinned tools the tests run (helm and
# kubectl for the chart and emulator tests, the SARIF Multitool and pre-commit for validate's
# CI integrations; all into .tools), then runs every test of every crate.
#
# Runs with cargo-nextest when it is installed (parallel per test, clearer failures) and
# with plain `cargo test` otherwise: compiling a test runner would cost more than it saves
# on a first run. Extra arguments go to the runner (`scripts/test.sh -p velero-hooks`).
# Tests that need a real cluster are ignored unless VELERO_HOOKS_E2E_KUBECONFIG is set,
# and then they run too.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

scripts/install-tools.sh
export PATH="$repo_root/.tools/bin:$PATH"

ignored=()
if [[ -n "${VELERO_HOOKS_E2E_KUBECONFIG:-}" ]]; then
    ignored=(--run-ignored all)
fi

if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --all-targets --no-fail-fast "${ignored[@]}" "$@"
    cargo test --workspace --doc
else
    echo "test.sh: cargo-nextest not installed, running the suite with cargo test" >&2
    libtest_ignored=()
    [[ ${#ignored[@]} -gt 0 ]] && libtest_ignored=(--include-ignored)
    # Benches are built and run once each (criterion's test mode), as nextest does.
    cargo test --workspace --all-targets --no-fail-fast "$@" -- "${libtest_ignored[@]}"
    cargo test --workspace --doc
fi
