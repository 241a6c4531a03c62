// Package e2e is Moor's black-box suite: moor-repo-server, moor-controller and moor-server run as separate
// processes (test/stack) against the local cluster and a Git server that accepts pushes and sends webhooks,
// and the tests drive them only through moor-server's REST and gRPC APIs, Git pushes, and the cluster
// (kubectl-style edits, what a load balancer would write). BenchmarkPushToLive and BenchmarkSystem measure
// the whole system.
//
// Run: MOOR_KUBECONFIG=.moor/local/kubeconfig go test ./test/e2e/ (skipped under -short). A failed test
// prints the end of each service's log and keeps the log files.
package e2e
