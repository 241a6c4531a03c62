// Package kubetest hands tests a real Kubernetes API server: the local cluster that `make cluster-up` starts.
//
// The cluster is found once per test binary: $MOOR_KUBECONFIG, else the repository's .moor/local/kubeconfig when
// that cluster answers. If none runs, a private cluster is started in a temporary directory on free loopback
// ports (hack/cluster/up.sh) and stopped by Main when the binary ends. Each test gets a fresh namespace,
// deleted when the test ends. Tests are skipped under -short or with MOOR_SKIP_CLUSTER=1.
//
// Known limits: a private cluster needs the cached control-plane binaries (hack/cluster/build.sh builds them,
// 15 to 20 minutes cold), so `make test` starts the shared cluster first.
package kubetest
