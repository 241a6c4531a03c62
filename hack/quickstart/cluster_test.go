package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStartClusterReportsProgress runs startCluster against a stand-in up.sh whose build takes a while:
// the first-run notice comes before the build, each step is printed, a long step is reported as still
// running, and the kubeconfig up.sh prints last is returned.
func TestStartClusterReportsProgress(t *testing.T) {
	root := t.TempDir()
	for path, content := range map[string]string{
		"hack/versions.env": "KUBE_VERSION=v9.9.9\nETCD_VERSION=v1.0.0\nKWOK_VERSION=v0.1.0\n",
		"hack/cluster/up.sh": "#!/usr/bin/env bash\n" +
			"echo 'cluster-build: building kube-apiserver v9.9.9' >&2\nsleep 0.5\n" +
			"echo 'cluster-up: ready' >&2\necho /tmp/kubeconfig\n",
	} {
		full := filepath.Join(root, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("MOOR_CACHE_DIR", t.TempDir()) // no finished build there: a first run
	defer func(d time.Duration) { progressEvery = d }(progressEvery)
	progressEvery = 100 * time.Millisecond

	var out strings.Builder
	kubeconfig, err := startCluster(t.Context(), root, &out)
	if err != nil {
		t.Fatal(err)
	}
	if kubeconfig != "/tmp/kubeconfig" {
		t.Errorf("kubeconfig %q", kubeconfig)
	}
	got := out.String()
	notice := strings.Index(got, "15 to 20 minutes")
	step := strings.Index(got, "cluster-build: building kube-apiserver")
	still := strings.Index(got, "... still building kube-apiserver v9.9.9")
	if notice < 0 || step < notice || still < step || !strings.Contains(got, "cluster-up: ready") {
		t.Errorf("progress output:\n%s", got)
	}
}
