#!/usr/bin/env bash
# Builds the local cluster's binaries once per machine into a cache outside the repo, keyed by version:
#   ${MOOR_CACHE_DIR:-$HOME/.cache/moor}/cluster/<kube>-<etcd>-<kwok>/bin
# Prints that bin directory. A finished build leaves a .complete stamp, so an interrupted one is redone.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../versions.env
source "$here/../versions.env"

dir="${MOOR_CACHE_DIR:-$HOME/.cache/moor}/cluster/${KUBE_VERSION}-etcd${ETCD_VERSION}-kwok${KWOK_VERSION}"
bin="$dir/bin"
if [[ -f "$dir/.complete" ]]; then
  echo "$bin"
  exit 0
fi
mkdir -p "$bin"
export GOFLAGS=-buildvcs=false CGO_ENABLED=0

log() { echo "cluster-build: $*" >&2; }

log "building etcd $ETCD_VERSION"
(cd "$here/etcd" && go build -trimpath -o "$bin/etcd" .)

log "building kwok $KWOK_VERSION"
(cd "$here/kwok" && go build -trimpath -o "$bin/kwok" sigs.k8s.io/kwok/cmd/kwok)
stages="$(cd "$here/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)/kustomize/stage"
mkdir -p "$dir/stages"
for s in node/fast node/heartbeat-with-lease pod/fast; do
  cp "$stages/$s/"*.yaml "$dir/stages/" 2>/dev/null || true
done
rm -f "$dir/stages/kustomization.yaml"

# The server reports KUBE_VERSION (Helm checks kubeVersion), so stamp it like the upstream release build does.
ver=${KUBE_VERSION#v}; major=${ver%%.*}; minor=${ver#*.}; minor=${minor%%.*}
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done
for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
  log "building $cmd $KUBE_VERSION"
  (cd "$here/kube" && go build -trimpath -ldflags "$ldflags" -o "$bin/$cmd" "k8s.io/kubernetes/cmd/$cmd")
done
touch "$dir/.complete"
echo "$bin"
