#!/usr/bin/env bash
# Validates a 10,000-document manifest stream end to end through the release binary:
# reports documents/s, MB/s and peak resident memory (median of 5 runs).
#
# Usage: kubectl-hooks/bench/validate-stream.sh [DOCUMENTS]
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"
documents="${1:-10000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo build --release -q -p kubectl-hooks
binary="$repo_root/target/release/kubectl-hooks"

# A stream like `helm template` prints: Deployments, StatefulSets, CronJobs and Pods with
# realistic specs, most with hooks, one in ten with a mistake, and some Services between.
python3 - "$documents" > "$work/stream.yaml" <<'PY'
import sys
n = int(sys.argv[1])
kinds = ["Deployment", "StatefulSet", "Pod", "CronJob", "Service"]
mistakes = ['"30"', '"-1s"', 'fail']
out = []
for i in range(n):
    kind = kinds[i % len(kinds)]
    name = f"app-{i}"
    if kind == "Service":
        out.append(f"""apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: team-{i % 50}
  labels: {{app: {name}}}
spec:
  selector: {{app: {name}}}
  ports:
    - port: 80
      targetPort: 8080
""")
        continue
    timeout = mistakes[i % 3] if i % 10 == 0 else "2m"
    annotations = f"""        pre.hook.backup.velero.io/container: fsfreeze
        pre.hook.backup.velero.io/command: '["/sbin/fsfreeze", "--freeze", "/var/lib/data"]'
        pre.hook.backup.velero.io/on-error: Fail
        pre.hook.backup.velero.io/timeout: {timeout}
        post.hook.backup.velero.io/container: fsfreeze
        post.hook.backup.velero.io/command: '["/sbin/fsfreeze", "--unfreeze", "/var/lib/data"]'
        post.hook.backup.velero.io/on-error: Continue
        prometheus.io/scrape: "true"
"""
    pod_spec = """        containers:
          - name: app
            image: registry.example.com/app:1.4.2
            ports: [{containerPort: 8080, name: http}]
            resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {memory: 256Mi}}
            volumeMounts: [{name: data, mountPath: /var/lib/data}]
          - name: fsfreeze
            image: ubuntu:noble
            securityContext: {privileged: true}
            command: ["/bin/sleep", "infinity"]
            volumeMounts: [{name: data, mountPath: /var/lib/data}]
        volumes:
          - name: data
            persistentVolumeClaim: {claimName: data}
"""
    if kind == "Pod":
        body = f"""apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: team-{i % 50}
  annotations:
{annotations.replace('        ', '    ')}spec:
{pod_spec.replace('        ', '  ', 1).replace(chr(10) + '        ', chr(10) + '  ')}"""
    elif kind == "CronJob":
        body = f"""apiVersion: batch/v1
kind: CronJob
metadata:
  name: {name}
  namespace: team-{i % 50}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        metadata:
          annotations:
{annotations.replace('        ', '            ')}        spec:
          restartPolicy: OnFailure
{pod_spec.replace('        ', '          ')}"""
    else:
        apps = "apps/v1"
        body = f"""apiVersion: {apps}
kind: {kind}
metadata:
  name: {name}
  namespace: team-{i % 50}
  labels: {{app: {name}}}
spec:
  replicas: 2
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
      annotations:
{annotations}    spec:
{pod_spec.replace('        ', '      ')}"""
    out.append(body)
sys.stdout.write("---\n".join(out))
PY

bytes=$(stat -c %s "$work/stream.yaml")
"$binary" validate -f "$work/stream.yaml" -o json > "$work/report.json" || true
python3 -c "import json,sys; s=json.load(open(sys.argv[1]))['summary']; print('checked:', s)" "$work/report.json"

runs=()
for _ in 1 2 3 4 5; do
    /usr/bin/time -f "%e %M" -o "$work/time" "$binary" validate -f "$work/stream.yaml" > /dev/null || true
    runs+=("$(grep -E "^[0-9]" "$work/time")")
done
printf '%s\n' "${runs[@]}" | sort -n | python3 -c "
import sys
rows = [tuple(map(float, l.split())) for l in sys.stdin if l.strip()]
secs = sorted(r[0] for r in rows); rss = sorted(r[1] for r in rows)
med = secs[len(secs)//2]
docs = $documents; mb = $bytes / 1e6
print(f'input: {docs} documents, {mb:.1f} MB')
print(f'wall time: median {med:.3f} s (min {secs[0]:.3f}, max {secs[-1]:.3f})')
print(f'throughput: {docs/med:,.0f} documents/s, {mb/med:.1f} MB/s')
print(f'peak RSS: median {rss[len(rss)//2]/1024:.1f} MiB')
"
