package app_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/moorcd/moor/services/controller/app"
	"github.com/moorcd/moor/test/kubetest"
)

// TestLeaderElection: two replicas in one namespace, one leads; when it stops, the other takes over.
func TestLeaderElection(t *testing.T) {
	kc := kubetest.Start(t)
	kc.InstallCRDs(t)
	ns := kc.Namespace(t)
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	startReplica := func(id string) (context.CancelFunc, chan error) {
		opts := app.NewOptions()
		opts.Namespace, opts.RepoServer, opts.LeaderID, opts.Resync = ns, "127.0.0.1:1", id, 0
		c, err := app.New(opts, kc.Config, discard)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- c.Start(ctx, nil) }()
		return cancel, done
	}
	holder := func() string {
		l, err := kc.Kube.CoordinationV1().Leases(ns).Get(t.Context(), app.LeaseName, metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil {
			return ""
		}
		return *l.Spec.HolderIdentity
	}
	waitHolder := func(want string) {
		t.Helper()
		if err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
			h := holder()
			return h != "" && (want == "" || h == want), nil
		}); err != nil {
			t.Fatalf("lease holder %q, want %q", holder(), want)
		}
	}
	stopA, doneA := startReplica("replica-a")
	waitHolder("replica-a")
	stopB, doneB := startReplica("replica-b")
	defer func() { stopB(); <-doneB }()
	time.Sleep(3 * time.Second)
	if h := holder(); h != "replica-a" {
		t.Fatalf("the lease moved to %q while replica-a was alive", h)
	}
	stopA()
	if err := <-doneA; err != nil {
		t.Fatalf("replica-a: %v", err)
	}
	waitHolder("replica-b") // released on shutdown: taken over without waiting for expiry
}
