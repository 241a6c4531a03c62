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
	err := cli.NewRootCommand().ExecuteContext(ctx)
	stop()
	if err != nil {
		msg, code := cli.Explain(err)
		fmt.Fprintln(os.Stderr, "moor:", msg)
		os.Exit(code)
	}
}
