// Package app wires the api-server: informers over Applications, AppProjects and the settings, the RBAC
// enforcer (rebuilt when the policy changes), sessions, the gRPC services and the one listener that serves
// gRPC, the REST gateway, /swagger.json and /api/webhook.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/moorcd/moor/pkg/appstate"
	moorcache "github.com/moorcd/moor/pkg/cache"
	"github.com/moorcd/moor/pkg/client/clientset/versioned"
	moorinformers "github.com/moorcd/moor/pkg/client/informers/externalversions"
	"github.com/moorcd/moor/pkg/clusters"
	"github.com/moorcd/moor/pkg/diff"
	"github.com/moorcd/moor/pkg/grpcutil"
	"github.com/moorcd/moor/pkg/rbac"
	"github.com/moorcd/moor/pkg/repoclient"
	"github.com/moorcd/moor/pkg/repocreds"
	"github.com/moorcd/moor/pkg/service"
	"github.com/moorcd/moor/pkg/session"
	"github.com/moorcd/moor/pkg/version"
	"github.com/moorcd/moor/pkg/webhook"
	"github.com/moorcd/moor/services/apiserver/auth"
	"github.com/moorcd/moor/services/apiserver/server"
)

// RBACConfigMapName is the ConfigMap of the RBAC policy, Argo CD's name.
const RBACConfigMapName = "argocd-rbac-cm"

// KeyAnonymousEnabled in argocd-cm lets callers without a token in, with policy.default only.
const KeyAnonymousEnabled = "users.anonymous.enabled"

// App is a wired api-server.
type App struct {
	opts     *Options
	log      *slog.Logger
	kube     kubernetes.Interface
	client   versioned.Interface
	registry *prometheus.Registry
	grpc     *grpcutil.Server
	authn    *auth.Authenticator
	apps     *server.ApplicationServer
	repo     *repoclient.Client
	store    *session.Store
	sessions *session.Manager
	webhook  *server.Webhook

	moorInf moorinformers.SharedInformerFactory
	kubeInf informers.SharedInformerFactory

	enforcer atomic.Pointer[rbac.Enforcer]
	rebuild  chan struct{}
}

// New wires an api-server against the cluster cfg points at.
func New(opts *Options, cfg *rest.Config, log *slog.Logger) (*App, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = opts.KubeQPS, opts.KubeBurst
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	client, err := versioned.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	repo, err := repoclient.Dial(opts.RepoServer, repoclient.Options{Timeout: 30 * time.Second, Attempts: 2})
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a := &App{
		opts: opts, log: log, kube: kube, client: client, registry: reg, repo: repo,
		store:   session.NewStore(kube, opts.Namespace),
		moorInf: moorinformers.NewSharedInformerFactoryWithOptions(client, 0, moorinformers.WithNamespace(opts.Namespace)),
		kubeInf: informers.NewSharedInformerFactoryWithOptions(kube, 0, informers.WithNamespace(opts.Namespace)),
		rebuild: make(chan struct{}, 1),
	}
	a.sessions = session.NewManager(a.store, session.Options{})

	apps := a.moorInf.Argoproj().V1alpha1().Applications()
	projects := a.moorInf.Argoproj().V1alpha1().AppProjects()
	configMaps := a.kubeInf.Core().V1().ConfigMaps()
	secrets := a.kubeInf.Core().V1().Secrets()
	_ = apps.Informer()
	_ = secrets.Informer()
	policyChanged := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { a.requestRebuild() },
		UpdateFunc: func(any, any) { a.requestRebuild() },
		DeleteFunc: func(any) { a.requestRebuild() },
	}
	if _, err := projects.Informer().AddEventHandler(policyChanged); err != nil {
		return nil, err
	}
	if _, err := configMaps.Informer().AddEventHandler(cache.FilteringResourceEventHandler{
		FilterFunc: func(obj any) bool {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			cm, ok := obj.(*corev1.ConfigMap)
			return ok && cm.Name == RBACConfigMapName
		},
		Handler: policyChanged,
	}); err != nil {
		return nil, err
	}

	settingsData := func() map[string]string {
		cm, err := configMaps.Lister().ConfigMaps(opts.Namespace).Get(session.ConfigMapName)
		if err != nil {
			return nil
		}
		return cm.Data
	}
	authn := &auth.Authenticator{
		// Project role tokens are refused once deleted from their project (the session manager checks accounts).
		Verifier:         &server.ProjectTokenVerifier{Verifier: a.sessions, Projects: projects.Lister().AppProjects(opts.Namespace)},
		AnonymousEnabled: func() bool { return settingsData()[KeyAnonymousEnabled] == "true" },
		Log:              log,
	}
	a.grpc = grpcutil.NewServer(log, grpcutil.NewMetrics(reg, "apiserver"),
		grpc.ChainUnaryInterceptor(authn.UnaryInterceptor()),
		grpc.ChainStreamInterceptor(authn.StreamInterceptor()),
		grpc.MaxRecvMsgSize(16<<20), grpc.MaxSendMsgSize(256<<20))
	repoSecrets := func() ([]corev1.Secret, error) {
		list, err := secrets.Lister().Secrets(opts.Namespace).List(labels.Everything())
		out := make([]corev1.Secret, 0, len(list))
		for _, s := range list {
			if s.Labels[repocreds.LabelSecretType] != "" {
				out = append(out, *s)
			}
		}
		return out, err
	}
	stateCache, err := moorcache.New(opts.Cache, reg, log)
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	masker, err := diff.New(diff.Options{CacheSize: -1})
	if err != nil {
		return nil, err
	}
	var state appstate.Reader = appstate.New(stateCache)
	if opts.Cache.RedisAddr == "" && opts.Controller != "" {
		// No Redis to share: ask the controller for what it published.
		state = &appstate.Remote{Base: "http://" + opts.Controller, Key: a.store.SigningKey}
	}
	a.authn = authn
	a.apps = server.Register(a.grpc.Server, server.Deps{
		Namespace: opts.Namespace,
		Client:    client,
		Kube:      kube,
		AppState:  state,
		Apps:      apps.Lister().Applications(opts.Namespace),
		Projects:  projects.Lister().AppProjects(opts.Namespace),
		AppSets:   a.moorInf.Argoproj().V1alpha1().ApplicationSets().Lister().ApplicationSets(opts.Namespace),
		Enforcer:  a.enforcer.Load,
		Sessions:  a.sessions,
		Accounts:  a.store,
		Settings:  settingsData,
		Revisions: &server.RepoRevisions{Repo: repo, Secrets: repoSecrets},
		Log:       log,

		// Live resources of apps, rendered manifests and commit metadata.
		RepoServer:  repo,
		RepoSecrets: repoSecrets,
		Clusters: func() (*clusters.Set, error) {
			list, err := secrets.Lister().Secrets(opts.Namespace).List(labels.SelectorFromSet(labels.Set{clusters.SecretTypeLabel: clusters.SecretTypeValue}))
			out := make([]corev1.Secret, 0, len(list))
			for _, s := range list {
				out = append(out, *s)
			}
			set, _ := clusters.NewSet(clusters.InCluster(cfg), out)
			return set, err
		},
		Masker: masker,
	})
	a.webhook = &server.Webhook{
		Namespace: opts.Namespace,
		Kube:      kube,
		Apps:      apps.Lister().Applications(opts.Namespace),
		Secrets: func() webhook.Secrets {
			s, err := secrets.Lister().Secrets(opts.Namespace).Get(session.SecretName)
			if err != nil {
				return webhook.Secrets{}
			}
			return server.WebhookSecrets(s.Data)
		},
		MaxBytes: opts.WebhookMaxBytes,
		Limit:    rate.Limit(opts.WebhookRate),
		Burst:    opts.WebhookBurst,
		Log:      log,
	}
	return a, nil
}

func (a *App) requestRebuild() {
	select {
	case a.rebuild <- struct{}{}:
	default:
	}
}

// buildEnforcer builds the enforcer from argocd-rbac-cm and the AppProjects. A policy that cannot be used
// is logged and the previous enforcer stays (none at start: every call is then denied).
func (a *App) buildEnforcer() {
	var data map[string]string
	if cm, err := a.kubeInf.Core().V1().ConfigMaps().Lister().ConfigMaps(a.opts.Namespace).Get(RBACConfigMapName); err == nil {
		data = cm.Data
	}
	projects, err := a.moorInf.Argoproj().V1alpha1().AppProjects().Lister().AppProjects(a.opts.Namespace).List(labels.Everything())
	if err != nil {
		a.log.Error("list projects for RBAC", "error", err)
		return
	}
	e, err := rbac.New(rbac.ConfigFromConfigMap(data), projects)
	if err != nil {
		a.log.Error("RBAC policy rejected; keeping the previous one", "error", err)
		return
	}
	a.enforcer.Store(e)
}

// runEnforcer rebuilds the enforcer whenever the policy or a project changes, until ctx ends.
func (a *App) runEnforcer(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.rebuild:
			a.buildEnforcer()
		}
	}
}

// Start bootstraps the sessions' Secrets, starts the informers and waits for their caches.
func (a *App) Start(ctx context.Context) error {
	if err := a.store.Bootstrap(ctx); err != nil {
		return err
	}
	a.moorInf.Start(ctx.Done())
	a.kubeInf.Start(ctx.Done())
	sctx, cancel := context.WithTimeout(ctx, a.opts.SyncTimeout)
	defer cancel()
	for typ, ok := range a.moorInf.WaitForCacheSync(sctx.Done()) {
		if !ok {
			return fmt.Errorf("informer cache of %v did not sync", typ)
		}
	}
	for typ, ok := range a.kubeInf.WaitForCacheSync(sctx.Done()) {
		if !ok {
			return fmt.Errorf("informer cache of %v did not sync", typ)
		}
	}
	a.buildEnforcer()
	go a.runEnforcer(ctx)
	return nil
}

// Serve starts the app, then serves gRPC and REST on lis and metrics on metricsLis (nil: none) until ctx ends.
func (a *App) Serve(ctx context.Context, lis, metricsLis net.Listener) error {
	if err := a.Start(ctx); err != nil {
		lis.Close()
		if metricsLis != nil {
			metricsLis.Close()
		}
		return err
	}
	defer a.repo.Close()
	t, err := a.newTransport(ctx)
	if err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.grpc.Serve(ctx, t.inproc, a.opts.ShutdownGrace) })
	g.Go(func() error { return t.serve(ctx, lis) })
	if metricsLis != nil {
		h := promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{})
		g.Go(func() error { return service.ServeHTTP(ctx, metricsLis, h, a.opts.ShutdownGrace) })
	}
	a.grpc.Health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	a.log.Info("api-server serving", "listen", lis.Addr().String(), "tls", !a.opts.Insecure, "version", version.Get().Version)
	return g.Wait()
}

// Run listens on the configured addresses and serves until ctx ends.
func Run(ctx context.Context, opts *Options) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	log := opts.Log.New()
	klog.SetSlogLogger(log)
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = opts.Kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	a, err := New(opts, cfg, log)
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

// Registry is the server's Prometheus registry.
func (a *App) Registry() *prometheus.Registry { return a.registry }

// Store is the account store (tests set passwords through it).
func (a *App) Store() *session.Store { return a.store }
