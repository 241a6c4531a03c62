package repocreds_test

import (
	"testing"

	"github.com/moorcd/moor/test/kubetest"
)

func TestMain(m *testing.M) { kubetest.Main(m) }
