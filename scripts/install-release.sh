#!/usr/bin/env bash
# Installs a released kubectl-hooks (and kubectl_complete-hooks) into a directory: the
# GitHub Action (action.yml) runs it, and so can any CI system.
#
#   scripts/install-release.sh VERSION DEST [SHA256]
#
# Downloads kubectl-hooks-<os>-<arch>.tar.gz of release VERSION (e.g. v0.1.0), the asset
# the krew manifest (plugins/hooks.yaml) also installs, and checks its sha256 before
# unpacking: against SHA256 when given (pin it to trust only the bytes you reviewed), else
# against the release's <asset>.sha256 file (catches corrupted or truncated downloads).
#
# Environment:
#   VELERO_HOOKS_RELEASES   base URL of the releases (default: this repository's GitHub
#                           releases; any URL curl reads, file:// included)
set -euo pipefail

log() { printf 'install-release: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $# -ge 2 && $# -le 3 ]] || die "usage: $0 VERSION DEST [SHA256]"
version="$1" dest="$2" expected="${3:-}"
[[ "$version" =~ ^v[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]] \
    || die "version '$version' is not a release tag such as v0.1.0"
releases="${VELERO_HOOKS_RELEASES:-https://github.com/velero-hooks/velero-hooks/releases/download}"

case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) die "no release is built for $(uname -s); install with cargo install --locked --path kubectl-hooks" ;;
esac
case "$(uname -m)" in
    x86_64 | amd64) arch=amd64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) die "no release is built for $(uname -m)" ;;
esac
asset="kubectl-hooks-$os-$arch.tar.gz"
url="$releases/$version/$asset"

sha256_of() {
    if command -v sha256sum >/dev/null; then
        sha256sum "$1" | cut -d' ' -f1
    else
        shasum -a 256 "$1" | cut -d' ' -f1
    fi
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

log "downloading $url"
curl -fsSL --retry 3 -o "$work/$asset" "$url" || die "could not download $url"
if [[ -z "$expected" ]]; then
    curl -fsSL --retry 3 -o "$work/$asset.sha256" "$url.sha256" \
        || die "could not download $url.sha256; pass the sha256 explicitly"
    expected="$(cut -d' ' -f1 <"$work/$asset.sha256")"
fi
expected="$(tr 'A-F' 'a-f' <<<"$expected")"
[[ "$expected" =~ ^[0-9a-f]{64}$ ]] || die "'$expected' is not a sha256 checksum"
actual="$(sha256_of "$work/$asset")"
[[ "$actual" == "$expected" ]] \
    || die "checksum mismatch for $asset: expected $expected, downloaded $actual"

mkdir -p "$dest"
tar -xzf "$work/$asset" -C "$work"
[[ -f "$work/kubectl-hooks" ]] || die "$asset holds no kubectl-hooks binary"
for bin in kubectl-hooks kubectl_complete-hooks; do
    if [[ -f "$work/$bin" ]]; then
        install -m 0755 "$work/$bin" "$dest/$bin"
    fi
done
"$dest/kubectl-hooks" version >&2 || die "the installed kubectl-hooks does not run on this machine"
log "installed kubectl-hooks $version into $dest"
