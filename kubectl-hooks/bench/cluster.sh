#!/usr/bin/env bash
# kubectl hooks against an API server (the emulated one, release builds):
#   1. `kubectl hooks get -A` over 10,000 pods in 50 namespaces, against
#      `kubectl get pods -A -o json` on the same server as the reference;
#   2. `kubectl hooks annotate pods -l app=nginx -A` writing one pre hook to 500 pods
#      (a 2,500-pod server where app=nginx selects 500), against
#      `kubectl annotate pods -l app=nginx -A ... --overwrite` writing the same keys.
# Wall time with hyperfine (median, min-max, runs), peak RSS with /usr/bin/time -v
# (median of 5 runs). Writes a Markdown table on stdout.
#
# Usage: kubectl-hooks/bench/cluster.sh            (needs hyperfine: apt-get install -y hyperfine)
# Environment: KUBECTL (default: .tools/bin/kubectl, else kubectl on PATH), RUNS (default 10)
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"
runs="${RUNS:-10}"
kubectl="${KUBECTL:-}"
if [[ -z "$kubectl" ]]; then
    if [[ -x .tools/bin/kubectl ]]; then kubectl="$repo_root/.tools/bin/kubectl"; else kubectl="$(command -v kubectl)"; fi
fi
command -v hyperfine >/dev/null || { echo "cluster.sh: hyperfine is required (apt-get install -y hyperfine)" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "cluster.sh: /usr/bin/time is required (apt-get install -y time)" >&2; exit 2; }

work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

cargo build --release -q -p kubectl-hooks -p kube-emulator --bins
hooks="$repo_root/target/release/kubectl-hooks"
emulator="$repo_root/target/release/kube-emulator"

# Starts an emulator with N pods over 50 namespaces; its kubeconfig is $work/NAME.
start_emulator() {
    local name="$1" pods="$2"
    "$emulator" --kubeconfig-out "$work/$name" --generate-pods "$pods" --namespaces 50 \
        >"$work/$name.log" 2>&1 &
    pids+=("$!")
    for _ in $(seq 1 300); do
        [[ -s "$work/$name" ]] && "$kubectl" --kubeconfig "$work/$name" get --raw /readyz >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "cluster.sh: emulator $name did not start" >&2
    cat "$work/$name.log" >&2
    exit 1
}

# Median peak RSS in MiB of 5 runs of a command ($PREPARE, if set, runs before each, unmeasured).
peak_rss() {
    local values=()
    for _ in 1 2 3 4 5; do
        if [[ -n "${PREPARE:-}" ]]; then bash -c "$PREPARE" >/dev/null 2>&1; fi
        /usr/bin/time -v "$@" >/dev/null 2>"$work/time.txt" || true
        values+=("$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")")
    done
    printf '%s\n' "${values[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1024}'
}

# hyperfine's JSON → "median ms | min–max ms | runs".
summary() {
    python3 - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
t = sorted(r["times"])
print(f'{r["median"]*1000:.0f} ms | {t[0]*1000:.0f}–{t[-1]*1000:.0f} ms | {len(t)}')
PY
}

start_emulator get 10000
export KUBECONFIG="$work/get"
pods=$("$kubectl" get pods -A --no-headers | wc -l)
[[ "$pods" -eq 10000 ]] || { echo "cluster.sh: expected 10000 pods, found $pods" >&2; exit 1; }
hyperfine -N --warmup 2 --runs "$runs" --export-json "$work/get-hooks.json" "$hooks get -A" >&2
hyperfine -N --warmup 2 --runs "$runs" --export-json "$work/get-kubectl.json" "$kubectl get pods -A -o json" >&2
get_hooks_rss=$(peak_rss "$hooks" get -A)
get_kubectl_rss=$(peak_rss "$kubectl" get pods -A -o json)
rows=$("$hooks" get -A | tail -n +2 | wc -l)

start_emulator annotate 2500
export KUBECONFIG="$work/annotate"
selected=$("$kubectl" get pods -A -l app=nginx --no-headers | wc -l)
[[ "$selected" -eq 500 ]] || { echo "cluster.sh: expected 500 pods, found $selected" >&2; exit 1; }
annotate=("$hooks" annotate pods -l app=nginx -A --phase pre -c fsfreeze --on-error Fail --timeout 1m -- /sbin/fsfreeze --freeze /var/log/nginx)
reset="$hooks remove pods -l app=nginx -A --phase pre"
hyperfine --warmup 1 --runs "$runs" --prepare "$reset" --export-json "$work/annotate-hooks.json" \
    "${annotate[*]} >/dev/null 2>&1" >&2
kubectl_annotate="$kubectl annotate pods -l app=nginx -A --overwrite pre.hook.backup.velero.io/command=[\\\"/sbin/fsfreeze\\\",\\\"--freeze\\\",\\\"/var/log/nginx\\\"] pre.hook.backup.velero.io/container=fsfreeze pre.hook.backup.velero.io/on-error=Fail pre.hook.backup.velero.io/timeout=1m"
hyperfine --warmup 1 --runs "$runs" --prepare "$reset" --export-json "$work/annotate-kubectl.json" \
    "$kubectl_annotate >/dev/null" >&2
$reset >/dev/null
annotate_hooks_rss=$(PREPARE="$reset" peak_rss "${annotate[@]}")
annotate_kubectl_rss=$(PREPARE="$reset" peak_rss bash -c "exec $kubectl_annotate")
written=$("$hooks" get pods -A -l app=nginx | grep -c ' pre ' || true)

cat <<EOF
| command | server | median | min–max | runs | peak RSS (median of 5) |
|---|---|---|---|---|---|
| \`kubectl hooks get -A\` ($rows rows) | 10,000 pods, 50 namespaces | $(summary "$work/get-hooks.json") | ${get_hooks_rss} MiB |
| \`kubectl get pods -A -o json\` (reference) | same | $(summary "$work/get-kubectl.json") | ${get_kubectl_rss} MiB |
| \`kubectl hooks annotate pods -l app=nginx -A --phase pre ...\` (500 pods, $written with a pre hook after) | 2,500 pods, 50 namespaces | $(summary "$work/annotate-hooks.json") | ${annotate_hooks_rss} MiB |
| \`kubectl annotate pods -l app=nginx -A ... --overwrite\` (reference, same 4 keys) | same | $(summary "$work/annotate-kubectl.json") | ${annotate_kubectl_rss} MiB |
EOF
