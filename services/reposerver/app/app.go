// Package app wires the repo-server: Git store, chart source, cache, render engine and the gRPC server.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	reposerverv1 "github.com/moorcd/moor/pkg/api/moor/reposerver/v1"
	"github.com/moorcd/moor/pkg/cache"
	"github.com/moorcd/moor/pkg/git"
	"github.com/moorcd/moor/pkg/grpcutil"
	"github.com/moorcd/moor/pkg/render"
	"github.com/moorcd/moor/pkg/render/helm"
	"github.com/moorcd/moor/pkg/service"
	"github.com/moorcd/moor/pkg/version"
	"github.com/moorcd/moor/services/reposerver/manifests"
	"github.com/moorcd/moor/services/reposerver/server"
)

// App is a wired repo-server.
type App struct {
	opts     *Options
	log      *slog.Logger
	registry *prometheus.Registry
	grpc     *grpcutil.Server
	Engine   *manifests.Service
}

// New wires a repo-server from opts.
func New(opts *Options, log *slog.Logger) (*App, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	store, err := git.NewStore(git.Options{
		Root: filepath.Join(opts.DataDir, "git"), FetchTimeout: opts.FetchTimeout, MaxRepoBytes: opts.MaxRepoBytes,
		ResolveTTL: opts.ResolveTTL, Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("git store: %w", err)
	}
	charts := helm.NewChartSource(helm.SourceOptions{CacheDir: filepath.Join(opts.DataDir, "charts"), MaxArchiveBytes: opts.MaxChartBytes})
	copts := opts.Cache
	copts.Codec = manifests.ErrorCodec()
	c, err := cache.New(copts, reg, log)
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	renders := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "moor", Subsystem: "reposerver", Name: "render_duration_seconds",
		Help:    "Time to render one application source (cache hits and reuses are not renders), by source type and result.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
	}, []string{"source_type", "result"})
	reg.MustRegister(renders)
	engine, err := manifests.New(manifests.Options{
		Git: store, Cache: c, Charts: charts, ManifestTTL: opts.ManifestTTL, ErrorTTL: opts.ErrorTTL,
		AllowRemoteBases: opts.AllowRemoteBases, Logger: log,
		Limits: render.Limits{MaxManifestBytes: opts.MaxManifestBytes, Timeout: opts.RenderTimeout},
		Renders: func(typ string, d time.Duration, err error) {
			result := "ok"
			if err != nil {
				result = string(manifests.KindOf(err))
			}
			renders.WithLabelValues(typ, result).Observe(d.Seconds())
		},
	})
	if err != nil {
		return nil, err
	}
	gs := grpcutil.NewServer(log, grpcutil.NewMetrics(reg, "reposerver"), grpc.MaxRecvMsgSize(opts.MaxRecvBytes), grpc.MaxSendMsgSize(256<<20))
	reposerverv1.RegisterRepoServerServiceServer(gs.Server, server.New(engine))
	gs.Health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	gs.Health.SetServingStatus(reposerverv1.RepoServerService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	return &App{opts: opts, log: log, registry: reg, grpc: gs, Engine: engine}, nil
}

// Serve serves gRPC on lis and metrics on metricsLis (nil: none) until ctx ends.
func (a *App) Serve(ctx context.Context, lis, metricsLis net.Listener) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.grpc.Serve(ctx, lis, a.opts.ShutdownGrace) })
	if metricsLis != nil {
		h := promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{})
		g.Go(func() error { return service.ServeHTTP(ctx, metricsLis, h, a.opts.ShutdownGrace) })
	}
	a.log.Info("repo-server serving", "grpc", lis.Addr().String(), "version", version.Get().Version)
	return g.Wait()
}

// Run listens on the configured addresses and serves until ctx ends.
func Run(ctx context.Context, opts *Options) error {
	if err := opts.Log.Validate(); err != nil {
		return err
	}
	log := opts.Log.New()
	a, err := New(opts, log)
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", opts.ListenAddress)
	if err != nil {
		return fmt.Errorf("listen %s: %w", opts.ListenAddress, err)
	}
	var mlis net.Listener
	if opts.MetricsAddress != "" {
		if mlis, err = net.Listen("tcp", opts.MetricsAddress); err != nil {
			lis.Close()
			return fmt.Errorf("listen %s: %w", opts.MetricsAddress, err)
		}
	}
	return a.Serve(ctx, lis, mlis)
}

// Registry is the server's Prometheus registry (tests read render counts from it).
func (a *App) Registry() *prometheus.Registry { return a.registry }
