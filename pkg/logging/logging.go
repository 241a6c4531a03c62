// Package logging builds each service's slog logger from its flags and carries it in contexts.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/pflag"
)

// Options are the logging flags every service takes.
type Options struct {
	Level  string
	Format string
}

// BindFlags registers --log-level and --log-format.
func (o *Options) BindFlags(fs *pflag.FlagSet) {
	if o.Level == "" {
		o.Level = "info"
	}
	if o.Format == "" {
		o.Format = "json"
	}
	fs.StringVar(&o.Level, "log-level", o.Level, "log level: debug, info, warn or error")
	fs.StringVar(&o.Format, "log-format", o.Format, "log format: json or text")
}

// Validate checks the flag values.
func (o *Options) Validate() error {
	if _, err := o.level(); err != nil {
		return err
	}
	if o.Format != "json" && o.Format != "text" {
		return fmt.Errorf("--log-format %q: want json or text", o.Format)
	}
	return nil
}

func (o *Options) level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(o.Level)); err != nil {
		return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", o.Level)
	}
	return l, nil
}

// New returns a logger writing to stderr.
func (o *Options) New() *slog.Logger { return o.NewTo(os.Stderr) }

// NewTo returns a logger writing to w.
func (o *Options) NewTo(w io.Writer) *slog.Logger {
	l, _ := o.level()
	ho := &slog.HandlerOptions{Level: l}
	if o.Format == "text" {
		return slog.New(slog.NewTextHandler(w, ho))
	}
	return slog.New(slog.NewJSONHandler(w, ho))
}

type ctxKey struct{}

// Into returns ctx carrying logger.
func Into(ctx context.Context, logger *slog.Logger) context.Context {
	return context.WithValue(ctx, ctxKey{}, logger)
}

// From returns the context's logger, or slog.Default.
func From(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(ctxKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}
