// Command moor is Moor's command-line client.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/moorcd/moor/cmd/moor/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cli.NewRootCommand().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "moor:", err)
		os.Exit(20) // Argo CD's CLI uses 20 for a generic error; scripts may test for it.
	}
}
