package sync_test

import (
	"testing"

	"github.com/moorcd/moor/test/kubetest"
)

// TestMain stops the private cluster kubetest may have started for this binary.
func TestMain(m *testing.M) { kubetest.Main(m) }
