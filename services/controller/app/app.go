// Package app wires the controller: informers over Applications, AppProjects, settings and Secrets, one
// live-state cache and diff engine per destination cluster, a work queue, and the reconciler.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/appstate"
	moorcache "github.com/moorcd/moor/pkg/cache"
	"github.com/moorcd/moor/pkg/client/clientset/versioned"
	moorinformers "github.com/moorcd/moor/pkg/client/informers/externalversions"
	"github.com/moorcd/moor/pkg/clusters"
	"github.com/moorcd/moor/pkg/diff"
	"github.com/moorcd/moor/pkg/health"
	"github.com/moorcd/moor/pkg/livestate"
	"github.com/moorcd/moor/pkg/project"
	"github.com/moorcd/moor/pkg/refresh"
	"github.com/moorcd/moor/pkg/repoclient"
	"github.com/moorcd/moor/pkg/service"
	"github.com/moorcd/moor/pkg/session"
	"github.com/moorcd/moor/pkg/settings"
	moorsync "github.com/moorcd/moor/pkg/sync"
	"github.com/moorcd/moor/pkg/version"
	"github.com/moorcd/moor/services/controller/reconcile"
)

// Controller is a wired controller.
type Controller struct {
	opts     *Options
	log      *slog.Logger
	cfg      *rest.Config
	kube     kubernetes.Interface
	client   versioned.Interface
	registry *prometheus.Registry
	repo     *repoclient.Client

	moorInf moorinformers.SharedInformerFactory
	kubeInf informers.SharedInformerFactory
	cmInf   informers.SharedInformerFactory
	reqInf  informers.SharedInformerFactory // refresh requests (pkg/refresh)

	appState *appstate.Store

	queue      workqueue.TypedRateLimitingInterface[string]
	opQueue    workqueue.TypedRateLimitingInterface[string] // apps with an operation or a deletion to run
	reqQueue   workqueue.TypedRateLimitingInterface[string] // refresh request ConfigMaps to carry out
	levels     sync.Map                                     // app name -> reconcile.Level (the strongest pending)
	nextResync sync.Map                                     // app name -> time.Time of its planned periodic refresh
	clusters   atomic.Pointer[clusterCache]                 // the destinations, built from the cluster Secrets
	clusterGen atomic.Int64                                 // incremented when a cluster Secret changes
	rec        *reconcile.Reconciler

	mu       sync.Mutex
	settings *settings.Settings
	assessor *health.Assessor
	conns    map[string]*connection
	runCtx   context.Context

	keyMu  sync.Mutex
	key    []byte
	keyErr error
	keyAt  time.Time

	reconciles *prometheus.HistogramVec
	operations *prometheus.HistogramVec
}

// connection is one destination cluster's live state.
type connection struct {
	ready chan struct{}
	err   error
	c     *reconcile.Cluster
}

// New wires a controller against the cluster cfg points at.
func New(opts *Options, cfg *rest.Config, log *slog.Logger) (*Controller, error) {
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
	repo, err := repoclient.Dial(opts.RepoServer, repoclient.Options{})
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	c := &Controller{
		opts: opts, log: log, cfg: cfg, kube: kube, client: client, registry: reg, repo: repo,
		moorInf: moorinformers.NewSharedInformerFactoryWithOptions(client, 0, moorinformers.WithNamespace(opts.Namespace)),
		kubeInf: informers.NewSharedInformerFactoryWithOptions(kube, 0, informers.WithNamespace(opts.Namespace),
			informers.WithTweakListOptions(func(lo *metav1.ListOptions) {
				lo.LabelSelector = clusters.SecretTypeLabel + " in (repository,repo-creds,cluster)"
			})),
		cmInf: informers.NewSharedInformerFactoryWithOptions(kube, 0, informers.WithNamespace(opts.Namespace),
			informers.WithTweakListOptions(func(lo *metav1.ListOptions) {
				lo.FieldSelector = "metadata.name=" + settings.ConfigMapName
			})),
		reqInf: informers.NewSharedInformerFactoryWithOptions(kube, 0, informers.WithNamespace(opts.Namespace),
			informers.WithTweakListOptions(func(lo *metav1.ListOptions) { lo.LabelSelector = refresh.Label + "=true" })),
		reqQueue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "refresh-requests"}),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "applications"}),
		// A failed operation step (most often a write conflict) is retried soon, per app, without the overall
		// token bucket of the default limiter: a burst of syncs must not queue behind 10 retries per second.
		opQueue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](50*time.Millisecond, 30*time.Second),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "operations"}),
		settings: settings.Defaults(),
		conns:    map[string]*connection{},
		reconciles: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "moor", Subsystem: "controller", Name: "reconcile_duration_seconds",
			Help:    "Time to reconcile one Application, by refresh level and result.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}, []string{"level", "result"}),
	}
	c.operations = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "moor", Subsystem: "controller", Name: "operation_step_duration_seconds",
		Help:    "Time to run one step of an Application's sync or deletion, by result.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
	}, []string{"result"})
	reg.MustRegister(c.reconciles, c.operations)
	stateCache, err := moorcache.New(opts.Cache, reg, log)
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	c.appState = appstate.New(stateCache)
	c.assessor, _ = health.New(health.Options{})

	apps := c.moorInf.Argoproj().V1alpha1().Applications()
	projects := c.moorInf.Argoproj().V1alpha1().AppProjects()
	secrets := c.kubeInf.Core().V1().Secrets()
	c.rec = reconcile.New(reconcile.Deps{
		Namespace: opts.Namespace,
		Client:    client,
		App: func(name string) (*v1alpha1.Application, error) {
			return apps.Lister().Applications(opts.Namespace).Get(name)
		},
		Project: func(name string) (*v1alpha1.AppProject, error) {
			return projects.Lister().AppProjects(opts.Namespace).Get(name)
		},
		Secrets: func() ([]corev1.Secret, error) {
			list, err := secrets.Lister().Secrets(opts.Namespace).List(labels.Everything())
			out := make([]corev1.Secret, 0, len(list))
			for _, s := range list {
				out = append(out, *s)
			}
			return out, err
		},
		Clusters:  c.clusterSet,
		Connect:   c.connect,
		Repo:      repo,
		Assessor:  func() *health.Assessor { c.mu.Lock(); defer c.mu.Unlock(); return c.assessor },
		Settings:  func() *settings.Settings { c.mu.Lock(); defer c.mu.Unlock(); return c.settings },
		Log:       log,
		Publisher: c.appState,
		Requeue: func(name string, level reconcile.Level, after time.Duration) {
			c.enqueueName(name, level, after)
		},
	})

	if _, err := apps.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			c.enqueue(obj, reconcile.LevelNormal, 0)
			c.enqueueOperation(obj.(*v1alpha1.Application), 0)
		},
		UpdateFunc: func(oldObj, newObj any) {
			o, n := oldObj.(*v1alpha1.Application), newObj.(*v1alpha1.Application)
			if n.Operation != nil && o.Operation == nil || n.DeletionTimestamp != nil && o.DeletionTimestamp == nil ||
				operationPhase(n) == v1alpha1.OperationTerminating && operationPhase(o) != v1alpha1.OperationTerminating ||
				n.Annotations["argocd.argoproj.io/deletion-approved"] != o.Annotations["argocd.argoproj.io/deletion-approved"] {
				c.enqueueOperation(n, 0)
			}
			switch {
			case n.Annotations[reconcile.AnnotationRefresh] != "" && o.Annotations[reconcile.AnnotationRefresh] == "":
				c.enqueue(n, reconcile.LevelNormal, 0)
			case o.Generation != n.Generation:
				c.enqueue(n, reconcile.LevelNormal, 0)
			}
			// Status-only updates are the controller's own writes: no reconcile.
		},
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if a, ok := obj.(*v1alpha1.Application); ok {
				c.rec.Forget(a.Name)
				c.nextResync.Delete(a.Name)
				c.appState.Delete(context.Background(), a.Namespace, a.Name)
			}
		},
	}); err != nil {
		return nil, err
	}
	if _, err := projects.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.enqueueProject(obj.(*v1alpha1.AppProject).Name) },
		UpdateFunc: func(_, obj any) { c.enqueueProject(obj.(*v1alpha1.AppProject).Name) },
	}); err != nil {
		return nil, err
	}
	if _, err := c.cmInf.Core().V1().ConfigMaps().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.loadSettings(obj.(*corev1.ConfigMap)) },
		UpdateFunc: func(_, obj any) { c.loadSettings(obj.(*corev1.ConfigMap)) },
		DeleteFunc: func(any) { c.loadSettings(nil) },
	}); err != nil {
		return nil, err
	}
	invalidate := func(obj any) {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		if sec, ok := obj.(*corev1.Secret); ok && sec.Labels[clusters.SecretTypeLabel] == clusters.SecretTypeValue {
			c.clusterGen.Add(1)
		}
	}
	if _, err := secrets.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: invalidate, UpdateFunc: func(_, obj any) { invalidate(obj) }, DeleteFunc: invalidate,
	}); err != nil {
		return nil, err
	}
	if err := c.watchRefreshRequests(); err != nil {
		return nil, err
	}
	return c, nil
}

// loadSettings applies a new argocd-cm. A bad one is logged and the previous settings stay.
func (c *Controller) loadSettings(cm *corev1.ConfigMap) {
	s, err := settings.Parse(cm)
	if err != nil {
		c.log.Error("settings rejected; keeping the previous ones", "error", err)
		return
	}
	a, err := health.New(health.Options{Lua: s.HealthLua})
	if err != nil {
		c.log.Error("health customizations rejected; keeping the previous ones", "error", err)
		c.mu.Lock()
		c.settings = s
		c.mu.Unlock()
		return
	}
	c.mu.Lock()
	c.settings, c.assessor = s, a
	c.mu.Unlock()
}

func (c *Controller) enqueue(obj any, level reconcile.Level, after time.Duration) {
	a, ok := obj.(*v1alpha1.Application)
	if !ok {
		return
	}
	c.enqueueName(a.Name, level, after)
}

func (c *Controller) enqueueName(name string, level reconcile.Level, after time.Duration) {
	for {
		prev, loaded := c.levels.LoadOrStore(name, level)
		if !loaded || prev.(reconcile.Level) >= level || c.levels.CompareAndSwap(name, prev, level) {
			break
		}
	}
	if after > 0 {
		c.queue.AddAfter(name, after)
	} else {
		c.queue.Add(name)
	}
}

// enqueueOperation queues an app whose operation or deletion needs running.
func (c *Controller) enqueueOperation(a *v1alpha1.Application, after time.Duration) {
	if a.Operation == nil && a.DeletionTimestamp == nil && operationPhase(a) != v1alpha1.OperationTerminating {
		return
	}
	if after > 0 {
		c.opQueue.AddAfter(a.Name, after)
	} else {
		c.opQueue.Add(a.Name)
	}
}

func operationPhase(a *v1alpha1.Application) v1alpha1.OperationPhase {
	if a.Status.OperationState == nil {
		return ""
	}
	return a.Status.OperationState.Phase
}

// operationWorker runs operation steps. A step that must wait returns when to look again; live changes of
// the app's resources wake it sooner.
func (c *Controller) operationWorker(ctx context.Context) {
	for {
		name, shutdown := c.opQueue.Get()
		if shutdown {
			return
		}
		start := time.Now()
		after, err := c.rec.Operate(ctx, name)
		result := "ok"
		switch {
		case err != nil:
			result = "error"
			c.log.Warn("operation step failed; retrying", "app", name, "error", err)
			c.opQueue.AddRateLimited(name)
		case after > 0:
			c.opQueue.Forget(name)
			c.opQueue.AddAfter(name, after)
		default:
			c.opQueue.Forget(name)
		}
		c.operations.WithLabelValues(result).Observe(time.Since(start).Seconds())
		c.opQueue.Done(name)
	}
}

func (c *Controller) enqueueProject(name string) {
	apps, _ := c.moorInf.Argoproj().V1alpha1().Applications().Lister().Applications(c.opts.Namespace).List(labels.Everything())
	for _, a := range apps {
		if a.Spec.Project == name || (a.Spec.Project == "" && name == project.DefaultName) {
			c.enqueueName(a.Name, reconcile.LevelNormal, 0)
		}
	}
}

// clusterCache is a built cluster Set and the Secret generation it was built from.
type clusterCache struct {
	set *clusters.Set
	gen int64
}

// clusterSet is the current destinations: this cluster plus the cluster Secrets. It is rebuilt only after a
// cluster Secret changed, not on every reconcile.
func (c *Controller) clusterSet() *clusters.Set {
	gen := c.clusterGen.Load()
	if cached := c.clusters.Load(); cached != nil && cached.gen == gen {
		return cached.set
	}
	list, _ := c.kubeInf.Core().V1().Secrets().Lister().Secrets(c.opts.Namespace).List(
		labels.NewSelector().Add(mustReq(clusters.SecretTypeLabel, selection.Equals, clusters.SecretTypeValue)))
	secrets := make([]corev1.Secret, 0, len(list))
	for _, s := range list {
		secrets = append(secrets, *s)
	}
	set, errs := clusters.NewSet(clusters.InCluster(c.cfg), secrets)
	for _, err := range errs {
		c.log.Warn("cluster secret ignored", "error", err)
	}
	c.clusters.Store(&clusterCache{set: set, gen: gen})
	return set
}

func mustReq(key string, op selection.Operator, vals ...string) labels.Requirement {
	r, err := labels.NewRequirement(key, op, vals)
	if err != nil {
		panic(err) // constant arguments
	}
	return *r
}

// connect returns a destination's live state, starting its cache on first use.
func (c *Controller) connect(ctx context.Context, cl *clusters.Cluster) (*reconcile.Cluster, error) {
	c.mu.Lock()
	conn, ok := c.conns[cl.Server]
	if !ok {
		conn = &connection{ready: make(chan struct{})}
		c.conns[cl.Server] = conn
		go c.startCluster(c.runCtx, cl, conn)
	}
	c.mu.Unlock()
	select {
	case <-conn.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if conn.err != nil {
		c.mu.Lock()
		delete(c.conns, cl.Server) // try again on the next reconcile
		c.mu.Unlock()
		return nil, conn.err
	}
	return conn.c, nil
}

func (c *Controller) startCluster(ctx context.Context, cl *clusters.Cluster, conn *connection) {
	defer close(conn.ready)
	cfg := cl.RESTConfig()
	cfg.QPS, cfg.Burst = c.opts.KubeQPS, c.opts.KubeBurst
	s := func() *settings.Settings { c.mu.Lock(); defer c.mu.Unlock(); return c.settings }()
	var excl, incl []livestate.FilteredResource
	for _, f := range s.Exclusions {
		excl = append(excl, livestate.FilteredResource(f))
	}
	for _, f := range s.Inclusions {
		incl = append(incl, livestate.FilteredResource(f))
	}
	live, err := livestate.New(cfg, livestate.Options{
		Server: cl.Server, Tracking: livestate.TrackingMethod(s.TrackingMethod), InstanceLabelKey: s.InstanceLabelKey,
		InstallationID: s.InstallationID, Exclusions: excl, Inclusions: incl, Logger: c.log,
		// The diff reads what Moor last applied from managedFields, to skip dry runs that would change nothing.
		KeepManagedFields: true,
	})
	if err != nil {
		conn.err = err
		return
	}
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		conn.err = err
		return
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		conn.err = err
		return
	}
	cached := memory.NewMemCacheClient(disco)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(cached)
	differ, err := diff.New(diff.Options{DynamicClient: dyn, RESTMapper: mapper, Discovery: cached,
		SystemIgnoreDifferences: s.SystemIgnoreDifferences()})
	if err != nil {
		conn.err = err
		return
	}
	ver, err := disco.ServerVersion()
	if err != nil {
		conn.err = fmt.Errorf("server version: %w", err)
		return
	}
	live.OnChange(func(ch livestate.Change) {
		for _, app := range ch.Apps {
			c.enqueueName(app, reconcile.LevelCompare, c.opts.Debounce)
			// A running sync waits on live objects (health of a wave, a hook's result): look again soon.
			if a, err := c.moorInf.Argoproj().V1alpha1().Applications().Lister().Applications(c.opts.Namespace).Get(app); err == nil {
				if a.Operation != nil || a.DeletionTimestamp != nil {
					c.opQueue.AddAfter(app, 200*time.Millisecond)
				}
			}
		}
	})
	go func() {
		if err := live.Start(ctx); err != nil {
			c.log.Error("live state cache stopped", "server", cl.Server, "error", err)
		}
	}()
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := live.WaitForSync(wctx); err != nil {
		conn.err = fmt.Errorf("live state of %s did not sync: %w", cl.Server, err)
		return
	}
	var apis []string
	if _, lists, err := disco.ServerGroupsAndResources(); err == nil {
		for _, l := range lists {
			apis = append(apis, l.GroupVersion)
			for _, r := range l.APIResources {
				if !strings.Contains(r.Name, "/") {
					apis = append(apis, l.GroupVersion+"/"+r.Kind)
				}
			}
		}
	}
	conn.c = &reconcile.Cluster{
		Live: live, Differ: differ, Server: cl.Server, Version: strings.TrimPrefix(ver.GitVersion, "v"), APIs: apis,
		Sync: &moorsync.Engine{Cluster: moorsync.NewKube(dyn, mapper), Log: c.log},
		ReadLive: func(ctx context.Context, gvk schema.GroupVersionKind, ns, name string) (*unstructured.Unstructured, error) {
			m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
			if err != nil {
				return nil, err
			}
			return dyn.Resource(m.Resource).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		},
	}
}

// ensureDefaultProject creates the `default` AppProject when absent.
func (c *Controller) ensureDefaultProject(ctx context.Context) error {
	_, err := c.client.ArgoprojV1alpha1().AppProjects(c.opts.Namespace).Create(ctx, project.Default(c.opts.Namespace), metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create the default project: %w", err)
	}
	// Operations queued at start must find it in the informer's cache.
	lister := c.moorInf.Argoproj().V1alpha1().AppProjects().Lister().AppProjects(c.opts.Namespace)
	return wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		_, err := lister.Get(project.DefaultName)
		return err == nil, nil
	})
}

// resync is the periodic refresh delay: the interval plus a random jitter; 0 disables.
func (c *Controller) resync() time.Duration {
	c.mu.Lock()
	s := c.settings
	c.mu.Unlock()
	period, jitter := s.Reconciliation, s.Jitter
	if c.opts.Resync >= 0 {
		period = c.opts.Resync
	}
	if c.opts.Jitter >= 0 {
		jitter = c.opts.Jitter
	}
	if period <= 0 {
		return 0
	}
	if jitter > 0 {
		period += rand.N(jitter)
	}
	return period
}

func (c *Controller) worker(ctx context.Context) {
	for {
		name, shutdown := c.queue.Get()
		if shutdown {
			return
		}
		level := reconcile.LevelNormal
		if v, ok := c.levels.LoadAndDelete(name); ok {
			level = v.(reconcile.Level)
		}
		start := time.Now()
		err := c.rec.Reconcile(ctx, name, level)
		result := "ok"
		if err != nil {
			result = "error"
			c.log.Warn("reconcile failed; retrying", "app", name, "error", err)
			c.levels.LoadOrStore(name, level)
			c.queue.AddRateLimited(name)
		} else {
			c.queue.Forget(name)
			c.scheduleResync(name)
		}
		c.reconciles.WithLabelValues(levelName(level), result).Observe(time.Since(start).Seconds())
		c.queue.Done(name)
	}
}

// scheduleResync plans the app's next periodic refresh, unless one is already planned: a reconcile for
// any other reason must not add a second timer.
func (c *Controller) scheduleResync(name string) {
	d := c.resync()
	if d <= 0 {
		return
	}
	now := time.Now()
	if prev, ok := c.nextResync.Load(name); ok && prev.(time.Time).After(now) {
		return
	}
	c.nextResync.Store(name, now.Add(d))
	c.queue.AddAfter(name, d) // with no level pending, the worker refreshes at LevelNormal
}

func levelName(l reconcile.Level) string {
	switch l {
	case reconcile.LevelCompare:
		return "compare"
	case reconcile.LevelForce:
		return "force"
	case reconcile.LevelHard:
		return "hard"
	default:
		return "normal"
	}
}

// serverKey returns argocd-secret's server.secretkey, which authenticates readers of the published app
// state (moor-server without Redis), read at most every 30 seconds.
func (c *Controller) serverKey(ctx context.Context) ([]byte, error) {
	c.keyMu.Lock()
	defer c.keyMu.Unlock()
	if time.Since(c.keyAt) < 30*time.Second && (c.key != nil || c.keyErr != nil) {
		return c.key, c.keyErr // a failure too, so unauthenticated callers cannot make a GET each
	}
	sec, err := c.kube.CoreV1().Secrets(c.opts.Namespace).Get(ctx, session.SecretName, metav1.GetOptions{})
	c.keyAt, c.key, c.keyErr = time.Now(), nil, err
	if err == nil {
		c.key = sec.Data[session.SigningKeyKey]
	}
	return c.key, c.keyErr
}

// AppState is where the controller publishes resource trees and managed resources.
func (c *Controller) AppState() *appstate.Store { return c.appState }

// Registry is the controller's metrics registry.
func (c *Controller) Registry() *prometheus.Registry { return c.registry }

// Start runs the controller until ctx ends.
func (c *Controller) Start(ctx context.Context, metricsLis net.Listener) error {
	c.runCtx = ctx
	defer c.queue.ShutDown()
	defer c.repo.Close()
	c.moorInf.Start(ctx.Done())
	c.kubeInf.Start(ctx.Done())
	c.cmInf.Start(ctx.Done())
	c.reqInf.Start(ctx.Done())
	defer c.reqQueue.ShutDown()
	for _, synced := range []map[any]bool{
		anyMap(c.moorInf.WaitForCacheSync(ctx.Done())), anyMap(c.kubeInf.WaitForCacheSync(ctx.Done())),
		anyMap(c.cmInf.WaitForCacheSync(ctx.Done())), anyMap(c.reqInf.WaitForCacheSync(ctx.Done())),
	} {
		for typ, ok := range synced {
			if !ok {
				return fmt.Errorf("informer for %v did not sync", typ)
			}
		}
	}
	defer c.opQueue.ShutDown()
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return c.lead(ctx, func(ctx context.Context) error {
			if err := c.ensureDefaultProject(ctx); err != nil {
				return err
			}
			wg, ctx := errgroup.WithContext(ctx)
			for range c.opts.StatusProcessors {
				wg.Go(func() error { c.worker(ctx); return nil })
			}
			for range c.opts.OperationProcessors {
				wg.Go(func() error { c.operationWorker(ctx); return nil })
			}
			wg.Go(func() error { c.refreshRequestWorker(ctx); return nil })
			wg.Go(func() error {
				<-ctx.Done()
				c.queue.ShutDown()
				c.opQueue.ShutDown()
				c.reqQueue.ShutDown()
				return nil
			})
			c.log.Info("controller running", "namespace", c.opts.Namespace, "repoServer", c.opts.RepoServer, "version", version.Get().Version)
			return wg.Wait()
		})
	})
	if metricsLis != nil {
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(c.registry, promhttp.HandlerOpts{}))
		mux.Handle(appstate.HandlerPath, appstate.Handler(c.appState, c.serverKey))
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		g.Go(func() error { return service.ServeHTTP(ctx, metricsLis, mux, 5*time.Second) })
	}
	return g.Wait()
}

func anyMap[K comparable](m map[K]bool) map[any]bool {
	out := make(map[any]bool, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Run builds the controller from opts and runs it until ctx ends.
func Run(ctx context.Context, opts *Options) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	log := opts.Log.New()
	klog.SetSlogLogger(log) // client-go's leader election and reflectors log through klog
	if opts.MemoryLimit != "" {
		q := resource.MustParse(opts.MemoryLimit) // validated above
		debug.SetMemoryLimit(q.Value())
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = opts.Kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	c, err := New(opts, cfg, log)
	if err != nil {
		return err
	}
	var lis net.Listener
	if opts.MetricsAddress != "" {
		if lis, err = net.Listen("tcp", opts.MetricsAddress); err != nil {
			return fmt.Errorf("listen %s: %w", opts.MetricsAddress, err)
		}
	}
	return c.Start(ctx, lis)
}
