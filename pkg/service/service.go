// Package service holds what every Moor binary's main and wiring share: flag parsing with a signal-bound
// context, and an HTTP server (metrics, pprof) that stops with the context.
package service

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/pflag"
)

// Main parses the command line into the flags bind registers, then runs run with a context that ends on
// SIGINT or SIGTERM. It exits 1 with the error when run fails.
func Main(name string, bind func(*pflag.FlagSet), run func(context.Context) error) {
	fs := pflag.NewFlagSet(name, pflag.ExitOnError)
	bind(fs)
	_ = fs.Parse(os.Args[1:])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		stop()
		os.Exit(1)
	}
}

// ServeHTTP serves h on lis until ctx ends, then shuts down within grace.
func ServeHTTP(ctx context.Context, lis net.Listener, h http.Handler, grace time.Duration) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	return srv.Shutdown(sctx)
}
