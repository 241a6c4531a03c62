#!/usr/bin/env bash
# Stops exactly the processes that hack/cluster/up.sh started (by their pid files) and removes the cluster's data.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
dir=${MOOR_CLUSTER_DIR:-$repo/.moor/local}
state="$dir/cluster"
[[ -d "$state" ]] || exit 0
if [[ "${1:-}" != "--keep-lock" ]]; then
  exec 9>"$state/.lock"
  flock 9
fi
for name in kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do
  pidf="$state/$name.pid"
  [[ -f "$pidf" ]] || continue
  pid=$(cat "$pidf")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidf"
done
find "$state" -mindepth 1 -maxdepth 1 ! -name .lock -exec rm -rf {} +
rm -f "$dir/kubeconfig"
echo "cluster-down: stopped and removed $state" >&2
