// Package reposervertest runs a moor-repo-server in the test's process, on a loopback port.
package reposervertest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/moorcd/moor/services/reposerver/app"
)

// Start serves a repo-server with default options and its own data directory until the test ends, and
// returns its address.
func Start(t testing.TB) string {
	t.Helper()
	opts := app.NewOptions()
	opts.DataDir = t.TempDir()
	opts.ShutdownGrace = 0
	rs, err := app.New(opts, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rs.Serve(ctx, lis, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("repo-server: %v", err)
		}
	})
	return lis.Addr().String()
}
