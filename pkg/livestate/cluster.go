package livestate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// ErrStarted is returned by a second call to Start.
var ErrStarted = errors.New("live-state cache already started")

// crdKind is watched like any other kind; its events also trigger discovery so new custom types are watched.
var crdKind = schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}

// rediscoverDelay batches the CRD events of one install (a chart often brings dozens) into one discovery.
const rediscoverDelay = 500 * time.Millisecond

// rediscoverFollowUp is when discovery runs again after a CRD-triggered one.
const rediscoverFollowUp = 3 * time.Second

// Cluster is the live-state cache of one destination cluster.
type Cluster struct {
	opts    Options
	dynamic dynamic.Interface
	disc    discovery.DiscoveryInterface
	prune   pruner
	idx     *index

	started    atomic.Bool
	discovered atomic.Bool
	rediscover chan struct{}

	mu      sync.Mutex
	watches map[schema.GroupKind]*watch

	listenersMu sync.RWMutex
	listeners   []func(Change)
}

// watch is the informer of one API type.
type watch struct {
	gvr        schema.GroupVersionResource
	gvk        schema.GroupVersionKind
	namespaced bool
	informer   cache.SharedIndexInformer
	cancel     context.CancelFunc
	// failed is set when the type cannot be listed (forbidden, gone); it then no longer holds back HasSynced.
	failed atomic.Bool
	// stopped is guarded by the index lock, so no event lands in the index after the type was removed.
	stopped bool
}

// New builds the cache for the cluster cfg points to. Nothing is read before Start.
func New(cfg *rest.Config, opts Options) (*Cluster, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("live-state cache options: %w", err)
	}
	opts.setDefaults()
	cfg = rest.CopyConfig(cfg)
	cfg.WarningHandler = rest.NoWarnings{} // deprecation notices of watched types would repeat on every relist
	if cfg.QPS == 0 {
		// One list per type at start; client-go's default of 5 per second would take most of a minute.
		cfg.QPS, cfg.Burst = 50, 100
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("discovery client: %w", err)
	}
	return &Cluster{
		opts:    opts,
		dynamic: dyn,
		disc:    disc,
		prune: pruner{
			tracker:           tracker{method: opts.Tracking, labelKey: opts.InstanceLabelKey, installationID: opts.InstallationID},
			keepManagedFields: opts.KeepManagedFields,
		},
		idx:        newIndex(),
		rediscover: make(chan struct{}, 1),
		watches:    map[schema.GroupKind]*watch{},
	}, nil
}

// Start discovers the cluster's types, watches them, and keeps the set of watched types current until ctx
// ends. It blocks; a failed discovery is logged and retried, so Start only returns once ctx is done.
func (c *Cluster) Start(ctx context.Context) error {
	if !c.started.CompareAndSwap(false, true) {
		return ErrStarted
	}
	log := c.opts.Logger
	defer c.stopAll()
	timer := time.NewTimer(0)
	defer timer.Stop()
	followUp := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-c.rediscover:
			timer.Reset(rediscoverDelay)
			followUp = true
			continue
		case <-timer.C:
		}
		next := c.opts.RediscoveryInterval
		if followUp {
			// The API server changes its discovery a moment after a CRD event (established, or finally
			// deleted): look once more shortly so the change is not left to the periodic discovery.
			next, followUp = min(next, rediscoverFollowUp), false
		}
		if err := c.sync(ctx); err != nil {
			log.ErrorContext(ctx, "discover API resources", "server", c.opts.Server, "error", err)
			next = min(next, 5*time.Second)
		}
		timer.Reset(next)
	}
}

// HasSynced reports whether discovery ran and every watched type finished its first list.
func (c *Cluster) HasSynced() bool {
	if !c.discovered.Load() {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.watches {
		if !w.failed.Load() && !w.informer.HasSynced() {
			return false
		}
	}
	return true
}

// WaitForSync blocks until HasSynced or ctx ends.
func (c *Cluster) WaitForSync(ctx context.Context) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for !c.HasSynced() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for live-state cache sync: %w", ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// Watched lists the types currently watched.
func (c *Cluster) Watched() []schema.GroupVersionResource {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]schema.GroupVersionResource, 0, len(c.watches))
	for _, w := range c.watches {
		out = append(out, w.gvr)
	}
	return out
}

// OnChange registers fn for every add, update and delete of a resource that belongs to an app, directly or
// through its owners. fn runs on the informer's goroutine: it must be quick and must not block (hand the
// change to a work queue).
func (c *Cluster) OnChange(fn func(Change)) {
	c.listenersMu.Lock()
	defer c.listenersMu.Unlock()
	c.listeners = append(c.listeners, fn)
}

// ByApp returns the resources app tracks, in no particular order. It costs O(that app's resources).
func (c *Cluster) ByApp(app string) []Resource { return c.idx.byAppResources(app) }

// Children returns the resources that name uid in their ownerReferences.
func (c *Cluster) Children(uid types.UID) []Resource { return c.idx.childrenOf(uid) }

// GetByUID returns the cached resource with that UID.
func (c *Cluster) GetByUID(uid types.UID) (Resource, bool) { return c.idx.get(uid) }

// Roots returns the objects of a namespace that no other object owns, tracked or not: what an app's
// destination namespace holds besides the app, for orphaned-resource warnings. O(objects in the namespace).
func (c *Cluster) Roots(namespace string) []Resource { return c.idx.rootsIn(namespace) }

// Tree returns app's resources and all their descendants by owner references, each with its parents.
func (c *Cluster) Tree(app string) []Node { return c.idx.tree(app) }

// Get returns the cached object of kind gvk.GroupKind() (in the version the cache watches, whatever
// gvk.Version says) by namespace and name; namespace is ignored for cluster-scoped kinds.
func (c *Cluster) Get(gvk schema.GroupVersionKind, namespace, name string) (Resource, bool) {
	c.mu.Lock()
	w := c.watches[gvk.GroupKind()]
	c.mu.Unlock()
	if w == nil {
		return Resource{}, false
	}
	key := name
	if w.namespaced {
		key = namespace + "/" + name
	}
	obj, ok, err := w.informer.GetStore().GetByKey(key)
	if err != nil || !ok {
		return Resource{}, false
	}
	s, ok := obj.(*stored)
	if !ok {
		return Resource{}, false
	}
	return s.Resource, true
}

// IsNamespaced reports whether a watched kind is namespaced; ok is false for kinds not watched.
func (c *Cluster) IsNamespaced(gk schema.GroupKind) (namespaced, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if w := c.watches[gk]; w != nil {
		return w.namespaced, true
	}
	return false, false
}

// sync runs discovery and starts or stops informers so that exactly the discovered, permitted types are watched.
func (c *Cluster) sync(ctx context.Context) error {
	want, err := c.discover()
	if err != nil && len(want) == 0 {
		return err
	}
	if err != nil {
		// Some groups failed (an aggregated API that is down): keep watching what we had of them.
		c.opts.Logger.WarnContext(ctx, "partial API discovery", "server", c.opts.Server, "error", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for gk, w := range c.watches {
		nw, ok := want[gk]
		if ok && nw.gvr == w.gvr {
			continue
		}
		if !ok && err != nil {
			var failed *discovery.ErrGroupDiscoveryFailed
			if errors.As(err, &failed) && failed.Groups[w.gvr.GroupVersion()] != nil {
				continue // its group did not answer; it is not gone
			}
		}
		c.stopLocked(w)
		delete(c.watches, gk)
	}
	for gk, w := range want {
		if _, ok := c.watches[gk]; ok {
			continue
		}
		c.startLocked(ctx, w)
		c.watches[gk] = w
	}
	c.discovered.Store(true)
	return nil
}

// discover returns the types to watch: the preferred version of every kind that can be listed and watched.
func (c *Cluster) discover() (map[schema.GroupKind]*watch, error) {
	lists, err := discovery.ServerPreferredResources(c.disc)
	want := map[schema.GroupKind]*watch{}
	for _, list := range lists {
		gv, perr := schema.ParseGroupVersion(list.GroupVersion)
		if perr != nil {
			continue
		}
		for _, r := range list.APIResources {
			if strings.Contains(r.Name, "/") || !hasVerbs(r.Verbs, "list", "watch") {
				continue
			}
			gk := schema.GroupKind{Group: gv.Group, Kind: r.Kind}
			if _, dup := want[gk]; dup || !c.opts.Watched(gk) {
				continue
			}
			want[gk] = &watch{
				gvr:        gv.WithResource(r.Name),
				gvk:        gv.WithKind(r.Kind),
				namespaced: r.Namespaced,
			}
		}
	}
	return want, err
}

func hasVerbs(verbs metav1.Verbs, need ...string) bool {
	for _, n := range need {
		found := false
		for _, v := range verbs {
			if v == n {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func (c *Cluster) startLocked(ctx context.Context, w *watch) {
	ctx, w.cancel = context.WithCancel(ctx)
	w.informer = dynamicinformer.NewFilteredDynamicInformer(c.dynamic, w.gvr, metav1.NamespaceAll, 0, cache.Indexers{}, nil).Informer()
	gvk := w.gvk
	_ = w.informer.SetTransform(func(obj any) (any, error) {
		if u, ok := obj.(*unstructured.Unstructured); ok {
			return c.prune.prune(u, gvk), nil
		}
		return obj, nil
	})
	_ = w.informer.SetWatchErrorHandlerWithContext(func(ctx context.Context, r *cache.Reflector, err error) {
		if apierrors.IsForbidden(err) || apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
			if !w.failed.Swap(true) {
				c.opts.Logger.WarnContext(ctx, "cannot watch API resource", "server", c.opts.Server, "resource", w.gvr.String(), "error", err)
			}
			if apierrors.IsNotFound(err) {
				c.triggerDiscovery() // the type is probably gone
			}
			return
		}
		cache.DefaultWatchErrorHandler(ctx, r, err)
	})
	_, _ = w.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.handle(w, Added, nil, obj) },
		UpdateFunc: func(old, obj any) { c.handle(w, Updated, old, obj) },
		DeleteFunc: func(obj any) { c.handle(w, Deleted, nil, obj) },
	})
	if gvk.GroupKind() == crdKind {
		_, _ = w.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(any) { c.triggerDiscovery() },
			UpdateFunc: func(any, any) { c.triggerDiscovery() },
			DeleteFunc: func(any) { c.triggerDiscovery() },
		})
	}
	go w.informer.RunWithContext(ctx)
}

func (c *Cluster) triggerDiscovery() {
	if !c.discovered.Load() {
		return // the first discovery is running; it sees the CRDs that exist now
	}
	select {
	case c.rediscover <- struct{}{}:
	default:
	}
}

// stopLocked stops an informer and drops its objects from the indexes.
func (c *Cluster) stopLocked(w *watch) {
	w.cancel()
	c.idx.mu.Lock()
	defer c.idx.mu.Unlock()
	w.stopped = true
	for _, obj := range w.informer.GetStore().List() {
		if s, ok := obj.(*stored); ok {
			c.idx.removeLocked(s)
		}
	}
}

func (c *Cluster) stopAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for gk, w := range c.watches {
		c.stopLocked(w)
		delete(c.watches, gk)
	}
	c.discovered.Store(false)
}

// handle updates the indexes for one informer event and tells the listeners when an app is concerned.
func (c *Cluster) handle(w *watch, typ ChangeType, oldObj, obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	s, ok := obj.(*stored)
	if !ok {
		return
	}
	old, _ := oldObj.(*stored)
	var apps []string
	c.idx.mu.Lock()
	if w.stopped {
		c.idx.mu.Unlock()
		return
	}
	switch typ {
	case Added:
		c.idx.addLocked(s)
		apps = c.idx.appsLocked(s)
	case Updated:
		if old != nil {
			apps = c.idx.appsLocked(old)
			c.idx.removeLocked(old)
		}
		c.idx.addLocked(s)
		for _, a := range c.idx.appsLocked(s) {
			apps = appendUnique(apps, a)
		}
	case Deleted:
		// The deleted object is decoded from the watch event, not the pointer the index holds.
		if cur := c.idx.byUID[s.UID]; cur != nil {
			s = cur
		}
		apps = c.idx.appsLocked(s)
		c.idx.removeLocked(s)
	}
	c.idx.mu.Unlock()
	if len(apps) == 0 {
		return
	}
	ch := Change{Type: typ, Apps: apps, Resource: s.Resource}
	if old != nil {
		ch.Old = &old.Resource
	}
	c.listenersMu.RLock()
	defer c.listenersMu.RUnlock()
	for _, fn := range c.listeners {
		fn(ch)
	}
}
