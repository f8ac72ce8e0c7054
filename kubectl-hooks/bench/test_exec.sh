#!/usr/bin/env bash
# `kubectl hooks test` over 500 pods with two hooks each (pre and post, 1,000 execs) against
# the emulated API server, next to the real `kubectl exec` run in a shell loop over the
# same pods and commands. Release builds; wall time with bash's `time` (RUNS runs each).
#
# Usage: kubectl-hooks/bench/test_exec.sh
# Environment: KUBECTL (default: .tools/bin/kubectl, else kubectl on PATH), RUNS (default 3),
#              LOOP_RUNS (the kubectl loop, default 1: it takes minutes), PODS (default 500),
#              NO_BUILD=1 to use the release binaries already built
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"
runs="${RUNS:-3}"
pods="${PODS:-500}"
kubectl="${KUBECTL:-}"
if [[ -z "$kubectl" ]]; then
    if [[ -x .tools/bin/kubectl ]]; then kubectl="$repo_root/.tools/bin/kubectl"; else kubectl="$(command -v kubectl)"; fi
fi

work="$(mktemp -d)"
emulator_pid=""
cleanup() {
    [[ -n "$emulator_pid" ]] && kill "$emulator_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

[[ -n "${NO_BUILD:-}" ]] || cargo build --release -q -p kubectl-hooks -p kube-emulator --bins
hooks="$repo_root/target/release/kubectl-hooks"

# 500 Running pods, each with a pre and a post hook; the emulator's containers answer
# `echo frozen` / `echo thawed` as a shell would.
for i in $(seq 1 "$pods"); do
    cat <<YAML
---
apiVersion: v1
kind: Pod
metadata:
  name: db-$i
  namespace: bench
  labels: {app: bench}
  annotations:
    pre.hook.backup.velero.io/command: '["/bin/sh","-c","echo frozen"]'
    post.hook.backup.velero.io/command: '["/bin/sh","-c","echo thawed"]'
    kube-emulator.test/exec: '{"app":{"run":[{"match":"frozen","stdout":"frozen\\n"},{"match":"thawed","stdout":"thawed\\n"}]}}'
spec:
  containers: [{name: app, image: busybox}]
status: {phase: Running}
YAML
done >"$work/seed.yaml"
"$repo_root/target/release/kube-emulator" --kubeconfig-out "$work/kubeconfig" --namespace bench \
    --seed "$work/seed.yaml" >"$work/emulator.log" 2>&1 &
emulator_pid=$!
for _ in $(seq 1 100); do [[ -s "$work/kubeconfig" ]] && break; sleep 0.1; done

measure() {
    local label="$1" count="$2"; shift 2
    for run in $(seq 1 "$count"); do
        local start end
        start=$(date +%s.%N)
        "$@" >/dev/null
        end=$(date +%s.%N)
        printf '%s\trun %s\t%.2f s\n' "$label" "$run" "$(echo "$end - $start" | bc)"
    done
}

loop() {
    for i in $(seq 1 "$pods"); do
        "$kubectl" --kubeconfig "$work/kubeconfig" -n bench exec "db-$i" -c app -- /bin/sh -c 'echo frozen'
        "$kubectl" --kubeconfig "$work/kubeconfig" -n bench exec "db-$i" -c app -- /bin/sh -c 'echo thawed'
    done
}

for parallel in 16 64 1; do
    measure "kubectl hooks test -l app=bench --yes --parallel $parallel" "$runs" \
        "$hooks" --kubeconfig "$work/kubeconfig" -n bench test -l app=bench --yes --parallel "$parallel" -o json
done
measure "kubectl exec loop (2 per pod)" "${LOOP_RUNS:-1}" loop
