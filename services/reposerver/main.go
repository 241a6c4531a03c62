// Command moor-repo-server serves the repo-server contract (moor.reposerver.v1) on gRPC.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/moorcd/moor/services/reposerver/app"
)

func main() {
	opts := app.NewOptions()
	fs := pflag.NewFlagSet("moor-repo-server", pflag.ExitOnError)
	opts.BindFlags(fs)
	_ = fs.Parse(os.Args[1:])

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx, opts); err != nil {
		fmt.Fprintln(os.Stderr, "moor-repo-server:", err)
		os.Exit(1)
	}
}
