package app

import (
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"github.com/moorcd/moor/pkg/cache"
	"github.com/moorcd/moor/pkg/logging"
)

// Options are the repo-server's settings, one group per concern.
type Options struct {
	Log   logging.Options
	Cache cache.Options

	ListenAddress  string
	MetricsAddress string
	DataDir        string

	FetchTimeout     time.Duration
	MaxRepoBytes     int64
	ResolveTTL       time.Duration
	RenderTimeout    time.Duration
	MaxManifestBytes int64
	MaxChartBytes    int64
	ManifestTTL      time.Duration
	ErrorTTL         time.Duration
	AllowRemoteBases bool
	MaxRecvBytes     int
	ShutdownGrace    time.Duration
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	return &Options{
		Log:              logging.Options{Level: "info", Format: "json"},
		Cache:            *cache.NewOptions(),
		ListenAddress:    ":8081",
		MetricsAddress:   ":8084",
		DataDir:          filepath.Join(os.TempDir(), "moor-repo-server"),
		FetchTimeout:     5 * time.Minute,
		MaxRepoBytes:     2 << 30,
		ResolveTTL:       3 * time.Minute,
		RenderTimeout:    90 * time.Second,
		MaxManifestBytes: 64 << 20,
		MaxChartBytes:    20 << 20,
		ManifestTTL:      24 * time.Hour,
		ErrorTTL:         10 * time.Second,
		MaxRecvBytes:     16 << 20,
		ShutdownGrace:    10 * time.Second,
	}
}

// BindFlags registers every option's flag.
func (o *Options) BindFlags(fs *pflag.FlagSet) {
	o.Log.BindFlags(fs)
	o.Cache.BindFlags(fs)
	fs.StringVar(&o.ListenAddress, "listen", o.ListenAddress, "gRPC listen address")
	fs.StringVar(&o.MetricsAddress, "metrics-listen", o.MetricsAddress, "Prometheus metrics listen address (empty: off)")
	fs.StringVar(&o.DataDir, "data-dir", o.DataDir, "directory for Git object stores and chart archives")
	fs.DurationVar(&o.FetchTimeout, "git-fetch-timeout", o.FetchTimeout, "timeout of one Git fetch")
	fs.Int64Var(&o.MaxRepoBytes, "git-max-repo-bytes", o.MaxRepoBytes, "largest repository (pack bytes) fetched")
	fs.DurationVar(&o.ResolveTTL, "revision-cache-ttl", o.ResolveTTL, "how long a branch or tag resolution is reused (a hard refresh bypasses it)")
	fs.DurationVar(&o.RenderTimeout, "render-timeout", o.RenderTimeout, "timeout of one render")
	fs.Int64Var(&o.MaxManifestBytes, "max-manifest-bytes", o.MaxManifestBytes, "largest rendered output of one app")
	fs.Int64Var(&o.MaxChartBytes, "max-chart-bytes", o.MaxChartBytes, "largest chart archive downloaded")
	fs.DurationVar(&o.ManifestTTL, "manifest-cache-ttl", o.ManifestTTL, "how long a render is cached")
	fs.DurationVar(&o.ErrorTTL, "error-cache-ttl", o.ErrorTTL, "how long a failed render is cached, so a broken commit is not rendered in a loop")
	fs.BoolVar(&o.AllowRemoteBases, "kustomize-allow-remote-bases", o.AllowRemoteBases, "let kustomizations fetch remote bases")
	fs.IntVar(&o.MaxRecvBytes, "grpc-max-recv-bytes", o.MaxRecvBytes, "largest gRPC request accepted")
}

// Validate checks the options.
func (o *Options) Validate() error {
	var errs []error
	errs = append(errs, o.Log.Validate(), o.Cache.Validate())
	if o.ListenAddress == "" {
		errs = append(errs, errors.New("--listen is required"))
	}
	if o.DataDir == "" {
		errs = append(errs, errors.New("--data-dir is required"))
	}
	if o.FetchTimeout <= 0 || o.RenderTimeout <= 0 {
		errs = append(errs, errors.New("--git-fetch-timeout and --render-timeout must be positive"))
	}
	return errors.Join(errs...)
}
