// Package integration holds tests of Moor's contracts against the real local cluster: the CRDs and the
// manifest corpus in test/testdata/manifests round-trip through the API server without loss, invalid specs
// are rejected with a message that names the field, and the cluster itself runs workloads.
package integration
