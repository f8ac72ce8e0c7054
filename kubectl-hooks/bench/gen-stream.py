#!/usr/bin/env python3
"""Prints a manifest stream like `helm template` or `kustomize build` prints for a real
platform repository: Deployments and StatefulSets with full pod specs (probes, env,
resources, volumes), ConfigMaps with multi-line data, Services, CronJobs, Secrets.
Hooks are on a minority of workloads (one in five), and one hooked workload in ten has a
mistake, as in repositories that use Velero hooks for a few databases.

Usage: gen-stream.py DOCUMENTS > stream.yaml
"""
import sys

n = int(sys.argv[1])
kinds = ["Deployment", "ConfigMap", "Service", "StatefulSet", "Deployment", "Service",
         "CronJob", "ConfigMap", "Secret", "Deployment"]
mistakes = ['"30"', '"-1s"', "fail"]


def hooks(i, indent):
    if i % 5 != 0:
        return ""
    timeout = mistakes[(i // 5) % 3] if (i // 5) % 10 == 0 else "2m"
    lines = [
        "pre.hook.backup.velero.io/container: fsfreeze",
        "pre.hook.backup.velero.io/command: '[\"/sbin/fsfreeze\", \"--freeze\", \"/var/lib/data\"]'",
        "pre.hook.backup.velero.io/on-error: Fail",
        f"pre.hook.backup.velero.io/timeout: {timeout}",
        "post.hook.backup.velero.io/container: fsfreeze",
        "post.hook.backup.velero.io/command: '[\"/sbin/fsfreeze\", \"--unfreeze\", \"/var/lib/data\"]'",
        "post.hook.backup.velero.io/on-error: Continue",
    ]
    return "".join(f"{indent}{line}\n" for line in lines)


def pod_spec(i, indent):
    spec = f"""serviceAccountName: app-{i % 30}
securityContext:
  runAsNonRoot: true
  fsGroup: 2000
containers:
  - name: app
    image: registry.example.com/team-{i % 50}/app:1.{i % 9}.2
    imagePullPolicy: IfNotPresent
    args: ["--config=/etc/app/config.yaml", "--port=8080", "--log-format=json"]
    ports:
      - {{containerPort: 8080, name: http, protocol: TCP}}
      - {{containerPort: 9090, name: metrics, protocol: TCP}}
    env:
      - name: APP_ENV
        value: production
      - name: POD_NAME
        valueFrom:
          fieldRef: {{fieldPath: metadata.name}}
      - name: DATABASE_PASSWORD
        valueFrom:
          secretKeyRef: {{name: app-{i}-db, key: password}}
    readinessProbe:
      httpGet: {{path: /healthz, port: http}}
      initialDelaySeconds: 5
      periodSeconds: 10
    livenessProbe:
      httpGet: {{path: /livez, port: http}}
      failureThreshold: 3
    resources:
      requests: {{cpu: 100m, memory: 128Mi}}
      limits: {{memory: 256Mi}}
    volumeMounts:
      - {{name: data, mountPath: /var/lib/data}}
      - {{name: config, mountPath: /etc/app, readOnly: true}}
  - name: fsfreeze
    image: ubuntu:noble
    securityContext: {{privileged: true}}
    command: ["/bin/sleep", "infinity"]
    volumeMounts:
      - {{name: data, mountPath: /var/lib/data}}
volumes:
  - name: data
    persistentVolumeClaim: {{claimName: data-{i}}}
  - name: config
    configMap: {{name: app-{i}-config}}
"""
    return "".join(f"{indent}{line}\n" if line else "\n" for line in spec.splitlines())


def document(i):
    kind = kinds[i % len(kinds)]
    name = f"app-{i}"
    ns = f"team-{i % 50}"
    labels = f"{{app.kubernetes.io/name: {name}, app.kubernetes.io/part-of: shop, app.kubernetes.io/managed-by: Helm}}"
    if kind == "Service":
        return f"""apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {ns}
  labels: {labels}
spec:
  type: ClusterIP
  selector: {{app.kubernetes.io/name: app-{i - 2}}}
  ports:
    - {{name: http, port: 80, targetPort: http}}
    - {{name: metrics, port: 9090, targetPort: metrics}}
"""
    if kind == "ConfigMap":
        return f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}-config
  namespace: {ns}
  labels: {labels}
data:
  config.yaml: |
    server:
      port: 8080
      readTimeout: 30s
    database:
      host: db-{i % 7}.{ns}.svc.cluster.local
      pool: {{min: 2, max: 20}}
    features: [search, recommendations, "checkout-v2"]
  logging.properties: |
    level=INFO
    format=json
    # rotated by the platform
"""
    if kind == "Secret":
        return f"""apiVersion: v1
kind: Secret
metadata:
  name: {name}-db
  namespace: {ns}
type: Opaque
stringData:
  username: app
  password: "s3cr3t-{i}"
"""
    annotations = hooks(i, " " * 8)
    template_meta = f"""    metadata:
      labels: {labels}
""" + (f"      annotations:\n{annotations}" if annotations else "")
    if kind == "CronJob":
        return f"""apiVersion: batch/v1
kind: CronJob
metadata:
  name: {name}
  namespace: {ns}
spec:
  schedule: "0 3 * * *"
  concurrencyPolicy: Forbid
  jobTemplate:
    spec:
      template:
{template_meta.replace(chr(10) + '  ', chr(10) + '      ').replace('    metadata', '        metadata', 1)}        spec:
          restartPolicy: OnFailure
{pod_spec(i, ' ' * 10)}"""
    extra = "  serviceName: " + name + "\n" if kind == "StatefulSet" else ""
    return f"""apiVersion: apps/v1
kind: {kind}
metadata:
  name: {name}
  namespace: {ns}
  labels: {labels}
spec:
  replicas: 2
{extra}  selector:
    matchLabels: {{app.kubernetes.io/name: {name}}}
  template:
{template_meta}    spec:
{pod_spec(i, ' ' * 6)}"""


sys.stdout.write("---\n".join(document(i) for i in range(n)))
