#!/usr/bin/env bash
# Builds kube-apiserver, kubectl and etcd from source (Go module proxy) at the
# versions pinned in versions.env (the one place; the testing module reads the
# same file as Java properties) and installs them where io.fabric8:kube-api-test
# looks for binaries:
#
#   ${FLOTILLA_KUBE_API_TEST_DIR:-~/.kubeapitest}/k8s/<version without "v">-<os>-<arch>/
#       {kube-apiserver,etcd,kubectl}
#
# (kube-api-test 7.6.1: KubeAPIServerConfigBuilder.DIRECTORY_NAME=".kubeapitest",
# env KUBE_API_TEST_DIR, BinaryManager.BINARY_LIST_DIR="k8s", Utils.platformSuffix
# "-<os.name>-<arch>"; the version part is parsed as dot-separated integers, so
# it must be "1.37.2", not "v1.37.2".)
#
# The testing module (dev.flotilla.testing.RealApiServer) runs kube-api-test in
# offline mode against this directory.
#
# Only the tiny main packages under cmd/ are ours. go.mod/go.sum are generated
# in a work dir at build time; the k8s.io/* staging replace list is derived
# from k8s.io/kubernetes' own go.mod, never typed by hand.
#
# Idempotent: if the three binaries exist and report the pinned versions it
# prints "up to date" and exits 0. Progress goes to stderr; the last line on
# stdout is the binary directory, so  dir="$(testing/apiserver/build.sh)"  works.
#
# Environment:
#   FLOTILLA_KUBE_API_TEST_DIR   base dir (default: ~/$KUBE_API_TEST_DEFAULT_DIRNAME from versions.env)
#   FLOTILLA_APISERVER_WORK_DIR  generated modules + build logs
#                                (default: ${XDG_CACHE_HOME:-~/.cache}/flotilla/apiserver-build)
#   FLOTILLA_APISERVER_REBUILD=1 rebuild even if up to date
#   FLOTILLA_GO_BUILD_P          go build -p (default 2). Measured peak: ~0.5 GiB per compile
#                                job; linking kube-apiserver alone takes ~2.3 GiB RSS.
#   GO                           go binary (default: go on PATH, else /usr/local/go/bin/go)
#   GOTOOLCHAIN                  default auto: an older Go (>= 1.21) fetches the Go the module needs
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
START_SECONDS=$SECONDS

log() { printf '[apiserver-build +%ss] %s\n' "$(( SECONDS - START_SECONDS ))" "$*" >&2; }
die() { printf '[apiserver-build] ERROR: %s\n' "$*" >&2; exit 1; }

[[ -f "$SCRIPT_DIR/versions.env" ]] || die "missing $SCRIPT_DIR/versions.env"
# shellcheck source=versions.env
. "$SCRIPT_DIR/versions.env"
K8S_VERSION="${KUBERNETES_VERSION:?versions.env must set KUBERNETES_VERSION}"  # k8s.io/kubernetes; staging = v0.<minor>.<patch>
ETCD_VERSION="${ETCD_VERSION:?versions.env must set ETCD_VERSION}"            # go.etcd.io/etcd/server/v3
KUBE_API_TEST_DEFAULT_DIRNAME="${KUBE_API_TEST_DEFAULT_DIRNAME:-.kubeapitest}"
[[ "$ETCD_VERSION" =~ ^v3\.[0-9]+\.[0-9]+$ ]] || die "ETCD_VERSION must look like v3.X.Y, got $ETCD_VERSION"

# ---- toolchain --------------------------------------------------------------
GO="${GO:-$(command -v go || true)}"
[[ -n "$GO" ]] || GO=/usr/local/go/bin/go
[[ -x "$GO" ]] || die "go toolchain not found (set GO=/path/to/go or put go on PATH)"
# Kubernetes 1.37 needs Go 1.26. With GOTOOLCHAIN=auto (the default here, and Go's own default) any
# Go >= 1.21 fetches the toolchain the module asks for from the module proxy; GOTOOLCHAIN=local
# refuses instead, with Go's own message naming both versions.
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
export CGO_ENABLED=0
export GOFLAGS="-mod=mod -buildvcs=false"
BUILD_P="${FLOTILLA_GO_BUILD_P:-2}"

GOOS_HOST="$("$GO" env GOHOSTOS)" || die "'$GO env' failed"
GOARCH_HOST="$("$GO" env GOHOSTARCH)" || die "'$GO env' failed"
case "$GOARCH_HOST" in
  amd64|arm64|ppc64le) ;;   # the arch names kube-api-test's OSInfo produces
  *) die "unsupported arch for kube-api-test: $GOARCH_HOST" ;;
esac

# ---- locations --------------------------------------------------------------
[[ "$K8S_VERSION" =~ ^v1\.([0-9]+)\.([0-9]+)$ ]] || die "KUBERNETES_VERSION must look like v1.X.Y, got $K8S_VERSION"
K8S_MINOR="${BASH_REMATCH[1]}"
STAGING_VERSION="v0.${BASH_REMATCH[1]}.${BASH_REMATCH[2]}"

# The testing module passes this dir to kube-api-test explicitly (withTestDir),
# so kube-api-test's own KUBE_API_TEST_DIR variable is deliberately not read.
BASE_DIR="${FLOTILLA_KUBE_API_TEST_DIR:-$HOME/$KUBE_API_TEST_DEFAULT_DIRNAME}"
DEST_DIR="$BASE_DIR/k8s/${K8S_VERSION#v}-${GOOS_HOST}-${GOARCH_HOST}"
WORK_ROOT="${FLOTILLA_APISERVER_WORK_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flotilla/apiserver-build}"
WORK_DIR="$WORK_ROOT/k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}"

# ---- up-to-date check -------------------------------------------------------
# Prints nothing; returns 0 iff all three binaries in $1 report the pinned versions.
versions_ok() {
  local dir="$1" out
  local b
  for b in kube-apiserver kubectl etcd; do [[ -x "$dir/$b" ]] || return 1; done
  out="$("$dir/kube-apiserver" --version 2>&1)" || return 1
  grep -qx "Kubernetes ${K8S_VERSION}" <<<"$out" || return 1
  out="$("$dir/kubectl" version --client 2>&1)" || return 1
  grep -qx "Client Version: ${K8S_VERSION}" <<<"$out" || return 1
  out="$("$dir/etcd" --version 2>&1)" || return 1
  grep -qx "etcd Version: ${ETCD_VERSION#v}" <<<"$out" || return 1
}

if [[ "${FLOTILLA_APISERVER_REBUILD:-0}" != 1 ]] && versions_ok "$DEST_DIR"; then
  log "up to date: kube-apiserver/kubectl ${K8S_VERSION}, etcd ${ETCD_VERSION} in $DEST_DIR"
  echo "$DEST_DIR"
  exit 0
fi

mkdir -p "$WORK_DIR" || die "cannot create work dir $WORK_DIR"

# Serialise concurrent runs (e.g. parallel Maven modules) on the same work dir.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$WORK_DIR/.lock"
  flock 9 || die "cannot lock $WORK_DIR/.lock"
  # Someone else may have finished the build while we waited.
  if [[ "${FLOTILLA_APISERVER_REBUILD:-0}" != 1 ]] && versions_ok "$DEST_DIR"; then
    log "up to date (built by a concurrent run): $DEST_DIR"
    echo "$DEST_DIR"
    exit 0
  fi
fi

log "building kube-apiserver/kubectl ${K8S_VERSION} and etcd ${ETCD_VERSION} with $("$GO" version)"
log "work dir: $WORK_DIR"

# Extracts a string field from `go mod download -json` output on stdin.
json_field() { sed -n -E "s/^[[:space:]]*\"$1\": \"(.*)\",?$/\\1/p"; }

# Writes the common header (go + godebug lines) of a dependency's go.mod.
go_and_godebug_lines() {
  sed -n -E '/^godebug[[:space:]]*\($/,/^\)/p; /^(go|godebug)[[:space:]]+[^([:space:]]/p' "$1"
}

# ---- kube-apiserver + kubectl -----------------------------------------------
log "resolving k8s.io/kubernetes@${K8S_VERSION}"
K8S_JSON="$("$GO" mod download -json "k8s.io/kubernetes@${K8S_VERSION}")" \
  || die "go mod download k8s.io/kubernetes@${K8S_VERSION} failed"
K8S_GOMOD="$(json_field GoMod <<<"$K8S_JSON")"
K8S_INFO="$(json_field Info <<<"$K8S_JSON")"
[[ -f "$K8S_GOMOD" ]] || die "no go.mod for k8s.io/kubernetes@${K8S_VERSION} in module cache"

# `k8s.io/foo => ./staging/src/k8s.io/foo` (inside or outside a replace block).
mapfile -t STAGING < <(sed -n -E \
  's#^[[:space:]]*(replace[[:space:]]+)?(k8s\.io/[A-Za-z0-9._-]+)[[:space:]]+=>[[:space:]]+\./staging/src/k8s\.io/[A-Za-z0-9._-]+[[:space:]]*$#\2#p' \
  "$K8S_GOMOD" | sort -u)
(( ${#STAGING[@]} > 0 )) || die "no staging replace directives found in $K8S_GOMOD"
log "derived ${#STAGING[@]} staging replacements -> ${STAGING_VERSION}"

# Release timestamp of the tag, used as a reproducible buildDate.
BUILD_DATE="$(sed -n -E '1,/"Time"/s/.*"Time": *"([^"]+)".*/\1/p' "$K8S_INFO" 2>/dev/null || true)"
BUILD_DATE="${BUILD_DATE:-1970-01-01T00:00:00Z}"
BUILD_DATE="${BUILD_DATE%%.*}"; [[ "$BUILD_DATE" == *Z ]] || BUILD_DATE="${BUILD_DATE}Z"

# go.mod and cmd/ are regenerated on every build; go.sum is kept so that a
# rebuild with a warm module cache does not need the checksum database.
K8S_MOD_DIR="$WORK_DIR/k8s"
rm -rf "$K8S_MOD_DIR/cmd" "$K8S_MOD_DIR/go.mod"
mkdir -p "$K8S_MOD_DIR/cmd"
cp -R "$SCRIPT_DIR/cmd/kube-apiserver" "$SCRIPT_DIR/cmd/kubectl" "$K8S_MOD_DIR/cmd/"
{
  echo "// Code generated by testing/apiserver/build.sh. DO NOT EDIT."
  echo "module flotilla.dev/testing/apiserver/k8s"
  echo
  go_and_godebug_lines "$K8S_GOMOD"
  echo
  echo "require k8s.io/kubernetes ${K8S_VERSION}"
  echo
  echo "replace ("
  for m in "${STAGING[@]}"; do printf '\t%s => %s %s\n' "$m" "$m" "$STAGING_VERSION"; done
  echo ")"
} >"$K8S_MOD_DIR/go.mod"

log "go mod tidy (k8s)"
(cd "$K8S_MOD_DIR" && "$GO" mod tidy) >"$WORK_DIR/tidy-k8s.log" 2>&1 \
  || { tail -n 30 "$WORK_DIR/tidy-k8s.log" >&2; die "go mod tidy failed for the k8s module (log: $WORK_DIR/tidy-k8s.log)"; }

K8S_LDFLAGS="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  K8S_LDFLAGS+=" -X ${pkg}.gitVersion=${K8S_VERSION}"
  K8S_LDFLAGS+=" -X ${pkg}.gitMajor=1"
  K8S_LDFLAGS+=" -X ${pkg}.gitMinor=${K8S_MINOR}"
  K8S_LDFLAGS+=" -X ${pkg}.gitTreeState=archive"
  K8S_LDFLAGS+=" -X ${pkg}.buildDate=${BUILD_DATE}"
done

OUT_DIR="$WORK_DIR/out"
rm -rf "$OUT_DIR"
mkdir -p "$OUT_DIR"

log "go build kube-apiserver + kubectl (-p ${BUILD_P}; a cold build takes a while)"
(cd "$K8S_MOD_DIR" && "$GO" build -p "$BUILD_P" -trimpath -ldflags "$K8S_LDFLAGS" \
   -o "$OUT_DIR/" ./cmd/kube-apiserver ./cmd/kubectl) \
  || die "go build of kube-apiserver/kubectl ${K8S_VERSION} failed"

# ---- etcd -------------------------------------------------------------------
log "resolving go.etcd.io/etcd/server/v3@${ETCD_VERSION}"
ETCD_JSON="$("$GO" mod download -json "go.etcd.io/etcd/server/v3@${ETCD_VERSION}")" \
  || die "go mod download go.etcd.io/etcd/server/v3@${ETCD_VERSION} failed"
ETCD_GOMOD="$(json_field GoMod <<<"$ETCD_JSON")"
[[ -f "$ETCD_GOMOD" ]] || die "no go.mod for go.etcd.io/etcd/server/v3@${ETCD_VERSION} in module cache"

ETCD_MOD_DIR="$WORK_DIR/etcd"
rm -f "$ETCD_MOD_DIR/main.go" "$ETCD_MOD_DIR/go.mod"
mkdir -p "$ETCD_MOD_DIR"
cp "$SCRIPT_DIR/cmd/etcd/main.go" "$ETCD_MOD_DIR/"
{
  echo "// Code generated by testing/apiserver/build.sh. DO NOT EDIT."
  echo "module etcd"
  echo
  go_and_godebug_lines "$ETCD_GOMOD"
  echo
  echo "require go.etcd.io/etcd/server/v3 ${ETCD_VERSION}"
} >"$ETCD_MOD_DIR/go.mod"

log "go mod tidy (etcd)"
(cd "$ETCD_MOD_DIR" && "$GO" mod tidy) >"$WORK_DIR/tidy-etcd.log" 2>&1 \
  || { tail -n 30 "$WORK_DIR/tidy-etcd.log" >&2; die "go mod tidy failed for the etcd module (log: $WORK_DIR/tidy-etcd.log)"; }

log "go build etcd"
(cd "$ETCD_MOD_DIR" && "$GO" build -p "$BUILD_P" -trimpath -ldflags "-s -w" -o "$OUT_DIR/etcd" .) \
  || die "go build of etcd ${ETCD_VERSION} failed"

# ---- verify + install -------------------------------------------------------
versions_ok "$OUT_DIR" || die "freshly built binaries in $OUT_DIR do not report ${K8S_VERSION}/${ETCD_VERSION} (check their --version)"

mkdir -p "$DEST_DIR" || die "cannot create $DEST_DIR"
for b in kube-apiserver kubectl etcd; do
  install -m 0755 "$OUT_DIR/$b" "$DEST_DIR/.$b.tmp" || die "cannot write $DEST_DIR/.$b.tmp"
  mv -f "$DEST_DIR/.$b.tmp" "$DEST_DIR/$b" || die "cannot install $DEST_DIR/$b"
done
versions_ok "$DEST_DIR" || die "installed binaries in $DEST_DIR fail the version check"

log "installed in $(( SECONDS - START_SECONDS ))s: $(cd "$DEST_DIR" && du -h kube-apiserver kubectl etcd | tr '\t\n' ': ' )"
echo "$DEST_DIR"
