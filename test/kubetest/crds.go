package kubetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/moorcd/moor/test/stack"
)

// fieldManager is the server-side apply manager of objects the test helpers install.
const fieldManager = "moor-kubetest"

// InstallCRDs applies Moor's CRDs (deploy/crds) with server-side apply and waits until they are established.
// CRDs are cluster-wide and shared by every test; applying them again is a no-op.
func (c *Cluster) InstallCRDs(t testing.TB) {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ApplyCRDFiles(t.Context(), filepath.Join(root, "deploy", "crds")); err != nil {
		t.Fatal(err)
	}
}

// ApplyCRDFiles applies every CustomResourceDefinition YAML file in dir and waits until each is established.
func (c *Cluster) ApplyCRDFiles(ctx context.Context, dir string) error {
	return stack.ApplyCRDs(ctx, c.Config, dir, fieldManager)
}
