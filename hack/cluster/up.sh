#!/usr/bin/env bash
# Starts the local cluster on loopback: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok
# with one large fake node. Idempotent: a running cluster is left alone. Prints the kubeconfig path.
#
# Environment:
#   MOOR_CLUSTER_DIR       state directory (default: <repo>/.moor/local); the kubeconfig is written to DIR/kubeconfig
#   MOOR_CLUSTER_API_PORT  kube-apiserver port (default 16443)
#   MOOR_CLUSTER_ETCD_PORT etcd client port (default 12379)
#   MOOR_CLUSTER_ETCD_PEER_PORT etcd peer port (default: the client port + 1)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
dir=${MOOR_CLUSTER_DIR:-$repo/.moor/local}
api_port=${MOOR_CLUSTER_API_PORT:-16443}
etcd_port=${MOOR_CLUSTER_ETCD_PORT:-12379}
etcd_peer_port=${MOOR_CLUSTER_ETCD_PEER_PORT:-$((etcd_port + 1))}
state="$dir/cluster"
kubeconfig="$dir/kubeconfig"

log() { echo "cluster-up: $*" >&2; }

mkdir -p "$state"
exec 9>"$state/.lock"
flock 9

bin=$("$here/build.sh")
kubectl=("$bin/kubectl" --kubeconfig "$kubeconfig")

alive() { [[ -f "$state/$1.pid" ]] && kill -0 "$(cat "$state/$1.pid")" 2>/dev/null; }

if alive etcd && alive kube-apiserver && alive kube-controller-manager && alive kube-scheduler && alive kwok && "${kubectl[@]}" get --raw /readyz >/dev/null 2>&1; then
  log "already running"
  echo "$kubeconfig"
  exit 0
fi
# Something is half up (a crash or a reboot): start clean.
"$here/down.sh" --keep-lock >/dev/null 2>&1 || true
mkdir -p "$state"

pki="$state/pki"
if [[ ! -f "$pki/admin.crt" ]]; then
  log "creating certificates"
  mkdir -p "$pki"
  (
    cd "$pki"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 -subj "/CN=moor-local-ca" 2>/dev/null
    cat > server.ext <<EXT
subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc
extendedKeyUsage=serverAuth
EXT
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=kube-apiserver" 2>/dev/null
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 3650 -extfile server.ext 2>/dev/null
    echo "extendedKeyUsage=clientAuth" > client.ext
    openssl req -newkey rsa:2048 -nodes -keyout admin.key -out admin.csr -subj "/O=system:masters/CN=moor-admin" 2>/dev/null
    openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out admin.crt -days 3650 -extfile client.ext 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  )
fi

b64() { base64 -w0 < "$1"; }
write_kubeconfig() {
  cat > "$1.tmp" <<KC
apiVersion: v1
kind: Config
clusters:
- name: moor-local
  cluster:
    server: https://127.0.0.1:$api_port
    certificate-authority-data: $(b64 "$pki/ca.crt")
users:
- name: moor-admin
  user:
    client-certificate-data: $(b64 "$pki/admin.crt")
    client-key-data: $(b64 "$pki/admin.key")
contexts:
- name: moor-local
  context:
    cluster: moor-local
    user: moor-admin
    namespace: default
current-context: moor-local
KC
  mv "$1.tmp" "$1"
}
write_kubeconfig "$kubeconfig"

start() { # name, then the command
  local name=$1; shift
  setsid "$@" >"$state/$name.log" 2>&1 </dev/null 9>&- &
  echo $! > "$state/$name.pid"
}

fail() {
  log "$*; last log lines:"
  for f in "$state"/*.log; do echo "== $f" >&2; tail -n 15 "$f" >&2; done
  exit 1
}

wait_for() { # what, seconds, command...
  local what=$1 secs=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    for name in etcd kube-apiserver kube-controller-manager kube-scheduler kwok; do
      [[ ! -f "$state/$name.pid" ]] || alive "$name" || fail "$name exited while waiting for $what"
    done
    ((SECONDS < deadline)) || fail "timed out waiting for $what"
    sleep 0.2
  done
}

log "starting etcd on 127.0.0.1:$etcd_port"
start etcd "$bin/etcd" --name moor-local --data-dir "$state/etcd" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
  --initial-cluster "moor-local=http://127.0.0.1:$etcd_peer_port" \
  --unsafe-no-fsync --quota-backend-bytes 4294967296 --log-level warn
wait_for etcd 30 curl -fsS "http://127.0.0.1:$etcd_port/health"

log "starting kube-apiserver on 127.0.0.1:$api_port"
start kube-apiserver "$bin/kube-apiserver" \
  --etcd-servers "http://127.0.0.1:$etcd_port" \
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
  --tls-cert-file "$pki/server.crt" --tls-private-key-file "$pki/server.key" \
  --client-ca-file "$pki/ca.crt" \
  --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
  --service-account-issuer https://kubernetes.default.svc --api-audiences https://kubernetes.default.svc \
  --service-cluster-ip-range 10.96.0.0/16 \
  --authorization-mode Node,RBAC --allow-privileged --endpoint-reconciler-type none \
  --storage-media-type application/vnd.kubernetes.protobuf
wait_for kube-apiserver 60 "${kubectl[@]}" get --raw /readyz

log "starting kube-controller-manager and kube-scheduler"
start kube-controller-manager "$bin/kube-controller-manager" --kubeconfig "$kubeconfig" \
  --authentication-kubeconfig "$kubeconfig" --authorization-kubeconfig "$kubeconfig" \
  --bind-address 127.0.0.1 --secure-port 0 --leader-elect=false \
  --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
  --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
  --service-cluster-ip-range 10.96.0.0/16 --use-service-account-credentials=false \
  --controllers '*,-node-ipam-controller' --kube-api-qps 300 --kube-api-burst 600
start kube-scheduler "$bin/kube-scheduler" --kubeconfig "$kubeconfig" \
  --authentication-kubeconfig "$kubeconfig" --authorization-kubeconfig "$kubeconfig" \
  --bind-address 127.0.0.1 --secure-port 0 --leader-elect=false --kube-api-qps 300 --kube-api-burst 600

log "starting kwok"
stages=$(ls "$(dirname "$bin")"/stages/*.yaml | paste -sd, -)
start kwok "$bin/kwok" --kubeconfig "$kubeconfig" \
  --manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
  --manage-nodes-with-label-selector= \
  --disregard-status-with-annotation-selector kwok.x-k8s.io/status=custom \
  --cidr 10.244.0.1/16 --node-ip 127.0.0.1 --node-lease-duration-seconds 40 \
  --server-address 127.0.0.1:0 --config "$stages"

"${kubectl[@]}" apply -f - >/dev/null <<NODE
apiVersion: v1
kind: Node
metadata:
  name: moor-node
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: moor-node
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok
status:
  allocatable: {cpu: "1000", memory: 4Ti, pods: "5000", ephemeral-storage: 10Ti}
  capacity: {cpu: "1000", memory: 4Ti, pods: "5000", ephemeral-storage: 10Ti}
NODE
wait_for "node Ready" 60 "${kubectl[@]}" wait --for=condition=Ready node/moor-node --timeout=1s
wait_for "default service account" 60 "${kubectl[@]}" -n default get serviceaccount default
log "ready ($("${kubectl[@]}" version -o json | grep -m1 gitVersion | tr -d ' ",' ))"
echo "$kubeconfig"
