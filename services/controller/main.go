// Command moor-controller compares Applications' live state with their rendered state and writes status.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/moorcd/moor/services/controller/app"
)

func main() {
	opts := app.NewOptions()
	fs := pflag.NewFlagSet("moor-controller", pflag.ExitOnError)
	opts.BindFlags(fs)
	_ = fs.Parse(os.Args[1:])

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx, opts); err != nil {
		fmt.Fprintln(os.Stderr, "moor-controller:", err)
		os.Exit(1)
	}
}
