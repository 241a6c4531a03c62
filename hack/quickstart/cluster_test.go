package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestStartClusterReportsProgress runs startCluster against a stand-in up.sh whose build takes a while:
// the first-run notice comes before the build, each step is printed, a long step is reported as still
// running, and the kubeconfig up.sh prints last is returned.
func TestStartClusterReportsProgress(t *testing.T) {
	root := fakeRepo(t, "echo 'cluster-build: building kube-apiserver v9.9.9' >&2\nsleep 0.5\n"+
		"echo 'cluster-up: ready' >&2\necho /tmp/kubeconfig\n")
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

// TestStartClusterStopsOnCancel cancels startCluster while up.sh runs a child that holds stderr open (as
// build.sh's compilers do): it returns ctx's error instead of waiting for the child.
func TestStartClusterStopsOnCancel(t *testing.T) {
	root := fakeRepo(t, "echo 'cluster-build: building etcd' >&2\nsleep 60 &\nwait\n")
	t.Setenv("MOOR_CACHE_DIR", t.TempDir())
	defer func(d time.Duration) { upWaitDelay = d }(upWaitDelay)
	upWaitDelay = 2 * time.Second

	ctx, cancel := context.WithCancel(t.Context())
	var out syncBuilder
	errc := make(chan error, 1)
	go func() {
		_, err := startCluster(ctx, root, &out)
		errc <- err
	}()
	for !strings.Contains(out.String(), "building etcd") {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("startCluster: %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("startCluster did not return after the cancellation")
	}
}

// fakeRepo makes a repository root with hack/versions.env and a stand-in hack/cluster/up.sh running script.
func fakeRepo(t *testing.T, script string) string {
	t.Helper()
	root := t.TempDir()
	for path, content := range map[string]string{
		"hack/versions.env":  "KUBE_VERSION=v9.9.9\nETCD_VERSION=v1.0.0\nKWOK_VERSION=v0.1.0\n",
		"hack/cluster/up.sh": "#!/usr/bin/env bash\n" + script,
	} {
		full := filepath.Join(root, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// syncBuilder is a strings.Builder safe for one writer and one reader.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
