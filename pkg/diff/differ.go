package diff

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

// DefaultFieldManager is the server-side apply field manager Moor's controller syncs with.
const DefaultFieldManager = "moor-controller"

// ErrNoObject is returned when a comparison is given neither a desired nor a live object.
var ErrNoObject = errors.New("diff: neither desired nor live object given")

// Options configure a Differ.
type Options struct {
	// DynamicClient and RESTMapper reach the destination cluster for the server-side dry run. When DynamicClient
	// is nil the Differ runs offline (see doc.go): desired is overlaid on live without the API server.
	DynamicClient dynamic.Interface
	RESTMapper    meta.RESTMapper
	// Discovery, when set, tells which kinds have a status subresource. Without it every kind is assumed to
	// have one, so status is never compared.
	Discovery discovery.DiscoveryInterface
	// FieldManager is the apply manager of the dry run; DefaultFieldManager when empty. It must be the manager
	// sync applies with, or fields Moor stopped setting would not show as removed.
	FieldManager string
	// Concurrency bounds DiffAll's parallel dry runs; 8 when zero.
	Concurrency int
	// JQTimeout bounds one jqPathExpression on one object; 1 s when zero.
	JQTimeout time.Duration
	// SystemIgnoreDifferences apply to every resource, before the per-call rules (Argo CD's
	// resource.customizations.ignoreDifferences.<group>_<kind> and .all, the latter as group and kind "*").
	SystemIgnoreDifferences []v1alpha1.ResourceIgnoreDifferences
	// CacheSize bounds the predicted-live cache in entries (one per resource); 100000 when zero, negative
	// disables it.
	CacheSize int
}

// ResourceOptions apply to one comparison (or every comparison of a DiffAll).
type ResourceOptions struct {
	// IgnoreDifferences are the application's rules (spec.ignoreDifferences).
	IgnoreDifferences []v1alpha1.ResourceIgnoreDifferences
	// Refresh bypasses the predicted-live cache (a hard refresh).
	Refresh bool
}

// Result is the outcome of one comparison. Every object in it, and Diff, has Secret values masked.
type Result struct {
	// Modified reports that applying desired would change live (or that one of them is missing).
	Modified bool
	// PredictedLive is what live would become after a sync, normalised for comparison; nil when desired is nil.
	PredictedLive *unstructured.Unstructured
	// NormalizedLive is live normalised the same way; nil when live is nil.
	NormalizedLive *unstructured.Unstructured
	// Diff is a unified diff of the two as YAML ("-" live, "+" predicted); empty when not Modified.
	Diff string
	// Paths lists the changed fields, e.g. "spec.template.spec.containers[name=app].image".
	Paths []string
	// Cached reports that the predicted live object came from the cache rather than a dry run.
	Cached bool
	// LiveRefreshed reports that the live object given was older than the API server's and a fresh read was
	// compared instead (NormalizedLive is that read); the caller's cache will catch up through its watch.
	LiveRefreshed bool
}

// Pair is one resource to compare. Desired is nil for a live resource Git no longer has; Live is nil for a
// resource that does not exist yet.
type Pair struct {
	Desired *unstructured.Unstructured
	Live    *unstructured.Unstructured
}

// ResourceError names the resource a comparison failed for, e.g. a dry run rejected by validation.
type ResourceError struct {
	GroupKind schema.GroupKind
	Namespace string
	Name      string
	Err       error
}

func (e *ResourceError) Error() string {
	return fmt.Sprintf("diff %s %s/%s: %v", e.GroupKind, e.Namespace, e.Name, e.Err)
}

func (e *ResourceError) Unwrap() error { return e.Err }

// Differ compares desired with live objects. It is safe for concurrent use.
type Differ struct {
	opts   Options
	masker *masker
	jq     *jqCache
	cache  *predictedCache

	statusMu  sync.Mutex
	statusSub map[schema.GroupVersionKind]bool
}

// New builds a Differ.
func New(opts Options) (*Differ, error) {
	if opts.DynamicClient != nil && opts.RESTMapper == nil {
		return nil, errors.New("diff: a RESTMapper is required with a DynamicClient")
	}
	if opts.FieldManager == "" {
		opts.FieldManager = DefaultFieldManager
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.JQTimeout <= 0 {
		opts.JQTimeout = time.Second
	}
	if opts.CacheSize == 0 {
		opts.CacheSize = 100_000
	}
	m, err := newMasker()
	if err != nil {
		return nil, err
	}
	return &Differ{
		opts:      opts,
		masker:    m,
		jq:        &jqCache{},
		cache:     newPredictedCache(opts.CacheSize),
		statusSub: map[schema.GroupVersionKind]bool{},
	}, nil
}

// Diff compares one desired object with its live counterpart. Either may be nil, not both. The arguments are
// not modified.
func (d *Differ) Diff(ctx context.Context, desired, live *unstructured.Unstructured, opts ResourceOptions) (*Result, error) {
	if desired == nil && live == nil {
		return nil, ErrNoObject
	}
	res, err := d.diff(ctx, desired, live, opts)
	if err != nil {
		return nil, resourceError(desired, live, err)
	}
	return res, nil
}

// DiffAll compares every pair with at most Options.Concurrency dry runs in flight. results[i] belongs to
// pairs[i] and is nil when that comparison failed; the error joins one *ResourceError per failure, or is the
// context's error when ctx ended.
func (d *Differ) DiffAll(ctx context.Context, pairs []Pair, opts ResourceOptions) ([]*Result, error) {
	results := make([]*Result, len(pairs))
	errs := make([]error, len(pairs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(min(d.opts.Concurrency, max(len(pairs), 1)))
	for i, p := range pairs {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			results[i], errs[i] = d.Diff(gctx, p.Desired, p.Live, opts)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return results, err
	}
	if err := ctx.Err(); err != nil {
		return results, err
	}
	return results, errors.Join(errs...)
}

func (d *Differ) diff(ctx context.Context, desired, live *unstructured.Unstructured, opts ResourceOptions) (*Result, error) {
	rules, err := d.rulesFor(firstNonNil(desired, live), opts)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	var predicted *unstructured.Unstructured
	switch {
	case desired == nil:
		// Extraneous: nothing to predict.
	case live == nil:
		// A creation: no dry run, the resource is missing.
		predicted = prepareDesired(desired)
	case d.opts.DynamicClient == nil:
		predicted = overlay(live, prepareDesired(desired))
	case !opts.Refresh && appliedInSync(desired, live, d.opts.FieldManager):
		// What Moor last applied is still exactly desired: applying it again changes nothing.
		predicted = live
		res.Cached = true
	default:
		var current *unstructured.Unstructured
		predicted, current, res.Cached, err = d.predictFresh(ctx, desired, live, opts.Refresh)
		if err != nil {
			return nil, err
		}
		res.LiveRefreshed = current != live
		if current == nil {
			live, predicted = nil, prepareDesired(desired)
		} else {
			live = current
		}
	}

	compareStatus := desired != nil && hasStatus(desired) && !d.hasStatusSubresource(desired.GroupVersionKind())
	var owned ownedFields
	if live != nil {
		owned = managerFields(live, predicted, rules.managers)
	}
	var p, l map[string]any
	if predicted != nil {
		if p, err = d.normalize(ctx, predicted, rules, owned, compareStatus); err != nil {
			return nil, err
		}
	}
	if live != nil {
		if l, err = d.normalize(ctx, live, rules, owned, compareStatus); err != nil {
			return nil, err
		}
	}
	if p != nil && l != nil {
		shapes := listShapes(predicted, live)
		p = sortAssociative(p, shapes, "").(map[string]any)
		l = sortAssociative(l, shapes, "").(map[string]any)
	}
	res.Modified = p == nil || l == nil || !equalValues(p, l)
	if p != nil {
		res.PredictedLive = &unstructured.Unstructured{Object: p}
	}
	if l != nil {
		res.NormalizedLive = &unstructured.Unstructured{Object: l}
	}
	d.masker.maskPair(res.PredictedLive, res.NormalizedLive)
	if res.Modified {
		res.Paths = changedPaths(objectOf(res.NormalizedLive), objectOf(res.PredictedLive))
		text, err := unifiedYAML(res.NormalizedLive, res.PredictedLive)
		if err != nil {
			return nil, err
		}
		res.Diff = text
	}
	return res, nil
}

func objectOf(u *unstructured.Unstructured) map[string]any {
	if u == nil {
		return nil
	}
	return u.Object
}

func firstNonNil(a, b *unstructured.Unstructured) *unstructured.Unstructured {
	if a != nil {
		return a
	}
	return b
}

func resourceError(desired, live *unstructured.Unstructured, err error) error {
	u := firstNonNil(desired, live)
	ns := u.GetNamespace()
	if ns == "" && live != nil {
		ns = live.GetNamespace()
	}
	return &ResourceError{GroupKind: u.GroupVersionKind().GroupKind(), Namespace: ns, Name: u.GetName(), Err: err}
}

// hasStatusSubresource reports whether the kind's status is written through /status (then apply ignores it
// and comparing it is meaningless). Unknown kinds count as having one.
func (d *Differ) hasStatusSubresource(gvk schema.GroupVersionKind) bool {
	if d.opts.Discovery == nil || d.opts.RESTMapper == nil {
		return true
	}
	d.statusMu.Lock()
	defer d.statusMu.Unlock()
	if v, ok := d.statusSub[gvk]; ok {
		return v
	}
	v := true
	if m, err := d.opts.RESTMapper.RESTMapping(gvk.GroupKind(), gvk.Version); err == nil {
		if list, err := d.opts.Discovery.ServerResourcesForGroupVersion(gvk.GroupVersion().String()); err == nil {
			v = false
			for _, r := range list.APIResources {
				if r.Name == m.Resource.Resource+"/status" {
					v = true
				}
			}
		}
	}
	d.statusSub[gvk] = v
	return v
}
