#!/usr/bin/env bash
# Smoke test for the binaries built by build.sh: starts etcd and kube-apiserver
# on loopback (ShardedListAndWatch on), checks `kubectl get ns` and that a list
# with a shardSelector comes back filtered with metadata.shardInfo, then stops
# both processes. Needs openssl, curl and python3. Exit 0 = all good.
#
#   testing/apiserver/smoke.sh [bin-dir]     (default: output of build.sh)
#   ports: FLOTILLA_SMOKE_ETCD_PORT (23790; peer port +10), FLOTILLA_SMOKE_API_PORT (16443)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BIN="${1:-$("$SCRIPT_DIR/build.sh")}"
ETCD_PORT="${FLOTILLA_SMOKE_ETCD_PORT:-23790}"
PEER_PORT=$(( ETCD_PORT + 10 ))
API_PORT="${FLOTILLA_SMOKE_API_PORT:-16443}"

die() { printf '[apiserver-smoke] FAIL: %s\n' "$*" >&2; exit 1; }
log() { printf '[apiserver-smoke] %s\n' "$*" >&2; }
for t in openssl curl python3; do command -v "$t" >/dev/null || die "$t not found"; done
for b in etcd kube-apiserver kubectl; do [[ -x "$BIN/$b" ]] || die "$BIN/$b missing (run build.sh)"; done

T="$(mktemp -d "${TMPDIR:-/tmp}/flotilla-smoke.XXXXXX")"
ETCD_PID="" API_PID=""
cleanup() {
  local pid
  for pid in $API_PID $ETCD_PID; do kill "$pid" 2>/dev/null || true; done
  for pid in $API_PID $ETCD_PID; do wait "$pid" 2>/dev/null || true; done
  if [[ "${KEEP:-0}" == 1 ]]; then log "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
cd "$T"

# --- PKI: CA, serving cert for 127.0.0.1, system:masters client cert, SA key pair
ossl() { openssl "$@" 2>/dev/null || die "openssl $1 failed"; }
ossl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 1 -subj "/CN=flotilla-smoke-ca"
ossl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=kube-apiserver"
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
ossl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 1 -extfile server.ext
ossl req -newkey rsa:2048 -nodes -keyout admin.key -out admin.csr -subj "/O=system:masters/CN=flotilla-admin"
printf 'extendedKeyUsage=clientAuth\n' >client.ext
ossl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out admin.crt -days 1 -extfile client.ext
ossl genrsa -out sa.key 2048
ossl rsa -in sa.key -pubout -out sa.pub

# --- etcd
"$BIN/etcd" --name default --data-dir "$T/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$PEER_PORT" \
  --initial-cluster "default=http://127.0.0.1:$PEER_PORT" >etcd.log 2>&1 &
ETCD_PID=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$ETCD_PORT/health" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$ETCD_PORT/health" >/dev/null || { tail -n 20 etcd.log >&2; die "etcd not healthy"; }

# --- kube-apiserver (a loopback advertise address needs --endpoint-reconciler-type=none)
"$BIN/kube-apiserver" --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
  --bind-address=127.0.0.1 --secure-port="$API_PORT" --advertise-address=127.0.0.1 \
  --endpoint-reconciler-type=none --authorization-mode=RBAC --client-ca-file=ca.crt \
  --tls-cert-file=server.crt --tls-private-key-file=server.key \
  --service-account-key-file=sa.pub --service-account-signing-key-file=sa.key \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-cluster-ip-range=10.0.0.0/24 --cert-dir="$T/certs" \
  --feature-gates=ShardedListAndWatch=true >apiserver.log 2>&1 &
API_PID=$!
CURL=(curl -sS --cacert ca.crt --cert admin.crt --key admin.key)
URL="https://127.0.0.1:$API_PORT"
for _ in $(seq 1 120); do "${CURL[@]}" -f "$URL/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
"${CURL[@]}" -f "$URL/readyz" >/dev/null 2>&1 || { tail -n 20 apiserver.log >&2; die "kube-apiserver not ready"; }
log "kube-apiserver ready after ${SECONDS}s"

cat >kubeconfig <<EOF
apiVersion: v1
kind: Config
clusters:
- name: smoke
  cluster: {server: "$URL", certificate-authority: "$T/ca.crt"}
users:
- name: admin
  user: {client-certificate: "$T/admin.crt", client-key: "$T/admin.key"}
contexts:
- name: smoke
  context: {cluster: smoke, user: admin}
current-context: smoke
EOF
export KUBECONFIG="$T/kubeconfig"
"$BIN/kubectl" get ns >&2 || die "kubectl get ns failed"

# --- sharded list: FNV-1a(namespace) of "default" is 0xebada5168620c5fe
SEL_HI="shardRange(object.metadata.namespace, '0x8000000000000000', '0x10000000000000000')"
SEL_LO="shardRange(object.metadata.namespace, '0x0000000000000000', '0x8000000000000000')"
"$BIN/kubectl" -n default create configmap smoke --from-literal=k=v >/dev/null || die "create configmap failed"
check() {  # $1 selector, $2 expected item count of configmap "smoke" in default
  "${CURL[@]}" -G "$URL/api/v1/configmaps" --data-urlencode "fieldSelector=metadata.name=smoke" \
    --data-urlencode "shardSelector=$1" | python3 -c '
import json, sys
d = json.load(sys.stdin); want = int(sys.argv[2])
si = d.get("metadata", {}).get("shardInfo")
if not si: sys.exit("no metadata.shardInfo in response: %s" % json.dumps(d)[:300])
if si.get("selector") != sys.argv[1]: sys.exit("shardInfo.selector mismatch: %r" % si)
if len(d["items"]) != want: sys.exit("expected %d items, got %d" % (want, len(d["items"])))
' "$1" "$2" || die "sharded list check failed for: $1"
}
check "$SEL_HI" 1
check "$SEL_LO" 0
log "OK: kubectl works; shardSelector filters and metadata.shardInfo is echoed"
