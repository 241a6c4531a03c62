// Command quickstart runs Moor end to end on the local cluster (`make quickstart`): it builds the binaries
// when missing, starts the local cluster (building it once), serves examples/ from a Git server on
// loopback that accepts pushes and calls moor-server's webhook, starts moor-repo-server, moor-controller
// and moor-server as three processes, creates the guestbook Application through the REST API, waits until
// it is Synced and Healthy, prints how to use it, and stops what it started on Ctrl-C.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"
)

func main() {
	opts := defaultOptions()
	fs := pflag.NewFlagSet("quickstart", pflag.ExitOnError)
	opts.bindFlags(fs)
	_ = fs.Parse(os.Args[1:])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first Ctrl-C starts a clean stop (up to a few seconds per service); unregister then, so that a
	// second one kills the quickstart at once.
	go func() {
		<-ctx.Done()
		stop()
	}()
	if err := run(ctx, opts); err != nil {
		fmt.Fprintf(os.Stderr, "quickstart: %v\n", err)
		stop()
		os.Exit(1)
	}
}
