#!/usr/bin/env bash
# `kubectl hooks validate -f` on a realistic manifest stream and on a directory of small
# files, through the release binary, side by side with the YAML-parse floor: rapidyaml (a
# C++ YAML parser, from PyPI) building its tree for the same bytes on one core.
# Reports the median of 5 runs: MB/s, the ratio to the floor, and peak resident memory.
#
# Usage: kubectl-hooks/bench/validate-stream.sh [DOCUMENTS] [FILES]
#   DOCUMENTS  documents in the stream (default 10000, about 13 MB; 77000 is about 100 MB)
#   FILES      small files in the directory case (default 20000)
# Environment: BEFORE=/path/to/an/older/kubectl-hooks measures it on the same stream too.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"
documents="${1:-10000}"
files="${2:-20000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

RAPIDYAML_VERSION="0.15.2"
venv="$repo_root/.tools/bench-venv"
if ! "$venv/bin/python" -c "import ryml" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "rapidyaml==$RAPIDYAML_VERSION"
fi

cargo build --release -q -p kubectl-hooks
binary="${CARGO_TARGET_DIR:-$repo_root/target}/release/kubectl-hooks"

python3 kubectl-hooks/bench/gen-stream.py "$documents" > "$work/stream.yaml"
bytes=$(stat -c %s "$work/stream.yaml")
"$binary" validate -f "$work/stream.yaml" -o json > "$work/report.json" || true
python3 -c "import json,sys; s=json.load(open(sys.argv[1]))['summary']; print('checked:', s)" "$work/report.json"

median_runs() { # command... -> "median_seconds peak_kib" over 5 runs
    local runs=()
    for _ in 1 2 3 4 5; do
        /usr/bin/time -f "%e %M" -o "$work/time" "$@" > /dev/null || true
        runs+=("$(grep -E "^[0-9]" "$work/time")")
    done
    printf '%s\n' "${runs[@]}" | sort -n | sed -n 3p
}

read -r ours_s ours_kib < <(median_runs "$binary" validate -f "$work/stream.yaml")
if [[ -n "${BEFORE:-}" ]]; then
    read -r before_s before_kib < <(median_runs "$BEFORE" validate -f "$work/stream.yaml")
    python3 -c "
import sys
mb, s, kib = int(sys.argv[1]) / 1e6, float(sys.argv[2]), int(sys.argv[3])
print(f'before ($BEFORE): {s:.3f} s, {mb/s:.1f} MB/s, peak RSS {kib/1024:.1f} MiB')
" "$bytes" "$before_s" "$before_kib"
fi
floor_s=$("$venv/bin/python" - "$work/stream.yaml" <<'PY'
import sys, time, ryml
data = open(sys.argv[1], "rb").read()
times = []
for _ in range(5):
    buf = bytearray(data)
    start = time.perf_counter()
    ryml.parse_in_place(buf)
    times.append(time.perf_counter() - start)
print(sorted(times)[2])
PY
)
python3 - "$bytes" "$documents" "$ours_s" "$ours_kib" "$floor_s" "$(nproc)" <<'PY'
import sys
size, docs, ours, kib, floor, cores = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
mb = size / 1e6
print(f"stream: {docs} documents, {mb:.1f} MB, {cores} cores")
print(f"validate: {ours:.3f} s, {mb/ours:.1f} MB/s, {docs/ours:,.0f} documents/s, peak RSS {kib/1024:.1f} MiB")
print(f"rapidyaml tree build (1 core): {floor:.3f} s, {mb/floor:.1f} MB/s")
print(f"ratio validate / rapidyaml: {(mb/ours)/(mb/floor):.2f}")
PY

# A monorepo: many small files, one workload each, walked and checked in parallel.
mkdir -p "$work/repo"
python3 - "$work/repo" "$files" <<'PY'
import os, subprocess, sys
root, n = sys.argv[1], int(sys.argv[2])
stream = subprocess.run([sys.executable, "kubectl-hooks/bench/gen-stream.py", str(n)], capture_output=True, text=True, check=True).stdout
for i, doc in enumerate(stream.split("\n---\n")):
    d = os.path.join(root, f"team-{i % 50}", f"app-{i // 50 % 20}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"object-{i}.yaml"), "w") as f:
        f.write(doc)
PY
repo_bytes=$(du -sb "$work/repo" | cut -f1)
read -r dir_s dir_kib < <(median_runs "$binary" validate -R -f "$work/repo")
python3 -c "
import sys
n, s, kib, b = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
print(f'directory: {n} files in 1,000 directories, {b/1e6:.1f} MB: {s:.3f} s, {n/s:,.0f} files/s, peak RSS {kib/1024:.1f} MiB')
" "$files" "$dir_s" "$dir_kib" "$repo_bytes"

# One document with 20,000 findings (misspelt hook keys, 0.9 MB): locating each finding's
# line must stay linear in the findings.
python3 - "$work/findings.yaml" <<'PY'
import sys
lines = ["apiVersion: v1", "kind: Pod", "metadata:", "  name: many", "  annotations:"]
lines += [f"    pre.hook.backup.velero.io/comand{i}: x" for i in range(20000)]
lines += ["spec:", "  containers: [{name: c}]"]
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY
read -r many_s many_kib < <(median_runs "$binary" validate -f "$work/findings.yaml")
echo "20,000 findings in one document: ${many_s} s, peak RSS $((many_kib / 1024)) MiB"
if [[ -n "${BEFORE:-}" ]]; then
    read -r many_before_s _ < <(median_runs "$BEFORE" validate -f "$work/findings.yaml")
    echo "20,000 findings, before: ${many_before_s} s"
fi

# One Schedule with 20,000 spec hook findings (a timeout without a unit in each of 20,000
# resource hooks, 2.2 MB): the line and column of every spec path must come from one pass.
python3 - "$work/spec-findings.yaml" <<'PY'
import sys
lines = ["apiVersion: velero.io/v1", "kind: Schedule", "metadata:", "  name: many",
         "  namespace: velero", "spec:", "  schedule: '0 1 * * *'", "  template:",
         "    hooks:", "      resources:"]
for i in range(20000):
    lines += [f"      - name: h{i}", "        pre:", "        - exec:",
              "            command: [\"/bin/true\"]", "            timeout: \"30\""]
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY
read -r spec_s spec_kib < <(median_runs "$binary" validate -f "$work/spec-findings.yaml")
echo "20,000 spec findings in one Schedule: ${spec_s} s, peak RSS $((spec_kib / 1024)) MiB"

# A cluster dump checked against Schedules: 20,000 pods (one List) and 5 Schedules of 20
# resource hooks each, every hook reaching every pod. Each pod is planned under each
# Schedule to find the hooks that name a container it lacks: time and memory must not grow
# with pods × hooks held at once.
python3 - "$work/dump.yaml" <<'PY'
import json, sys
items = [{"apiVersion": "v1", "kind": "Pod",
          "metadata": {"name": f"p{i}", "namespace": f"ns{i % 50}", "labels": {"app": "db"}},
          "spec": {"containers": [{"name": "app"}]}, "status": {"phase": "Running"}}
         for i in range(20000)]
docs = [json.dumps({"apiVersion": "v1", "kind": "List", "items": items})]
for s in range(5):
    hooks = [{"name": f"h{j}", "includedNamespaces": ["ns*"],
              "pre": [{"exec": {"container": "app", "command": ["/bin/true"],
                                "onError": "Continue", "timeout": "30s"}}]} for j in range(20)]
    docs.append(json.dumps({"apiVersion": "velero.io/v1", "kind": "Schedule",
                            "metadata": {"name": f"s{s}", "namespace": "velero"},
                            "spec": {"schedule": "@daily", "template": {"hooks": {"resources": hooks}}}}))
open(sys.argv[1], "w").write("\n---\n".join(docs))
PY
read -r dump_s dump_kib < <(median_runs "$binary" validate -f "$work/dump.yaml")
echo "20,000 pods under 5 Schedules of 20 resource hooks: ${dump_s} s, peak RSS $((dump_kib / 1024)) MiB"
