package diff

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// predict asks the API server what live would become if desired were applied by Moor's field manager:
// a server-side apply with dryRun=All and force, so defaulting, admission, quantity normalisation and the
// merge with other managers' fields all happen exactly as in a sync.
func (d *Differ) predict(ctx context.Context, desired, live *unstructured.Unstructured, refresh bool) (*unstructured.Unstructured, bool, error) {
	body := prepareDesired(desired)
	gvk := body.GroupVersionKind()
	mapping, err := d.opts.RESTMapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, false, fmt.Errorf("map %s: %w", gvk, err)
	}
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		if body.GetNamespace() == "" {
			body.SetNamespace(live.GetNamespace())
		}
	} else {
		body.SetNamespace("")
	}
	raw, err := json.Marshal(body.Object)
	if err != nil {
		return nil, false, fmt.Errorf("encode desired: %w", err)
	}
	key := cacheKey{gvk: gvk.String(), namespace: body.GetNamespace(), name: body.GetName()}
	sum := sha256.Sum256(raw)
	rv := live.GetResourceVersion()
	if !refresh && rv != "" {
		if p, ok := d.cache.get(key, sum, rv); ok {
			return p, true, nil
		}
	}
	force := true
	out, err := d.opts.DynamicClient.Resource(mapping.Resource).Namespace(body.GetNamespace()).Patch(ctx, body.GetName(),
		types.ApplyPatchType, raw, metav1.PatchOptions{
			DryRun:       []string{metav1.DryRunAll},
			FieldManager: d.opts.FieldManager,
			Force:        &force,
		})
	if err != nil {
		return nil, false, fmt.Errorf("server-side dry run: %w", err)
	}
	if rv != "" {
		d.cache.put(key, sum, rv, out)
	}
	return out, false, nil
}

// predictFresh is predict, made consistent with the server: the dry run works on the object the API server
// holds now, and a live copy from a watch cache can be older. When the prediction's resourceVersion shows
// that, live is read again (and the dry run repeated if it moved once more), so a change made by another
// controller a moment ago is not reported as a difference. It returns the live object compared against.
func (d *Differ) predictFresh(ctx context.Context, desired, live *unstructured.Unstructured, refresh bool) (predicted, current *unstructured.Unstructured, cached bool, err error) {
	current = live
	for attempt := 0; ; attempt++ {
		predicted, cached, err = d.predict(ctx, desired, current, refresh)
		if err != nil || attempt == 2 || predicted.GetResourceVersion() == current.GetResourceVersion() ||
			current.GetResourceVersion() == "" {
			return predicted, current, cached, err
		}
		fresh, err := d.get(ctx, current)
		if err != nil {
			return nil, nil, false, err
		}
		if fresh == nil { // deleted meanwhile: a creation
			return nil, nil, false, nil
		}
		current = fresh
		if predicted.GetResourceVersion() == current.GetResourceVersion() {
			return predicted, current, false, nil
		}
	}
}

// get reads the object's current state; nil when it no longer exists.
func (d *Differ) get(ctx context.Context, u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	gvk := u.GroupVersionKind()
	mapping, err := d.opts.RESTMapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, fmt.Errorf("map %s: %w", gvk, err)
	}
	out, err := d.opts.DynamicClient.Resource(mapping.Resource).Namespace(u.GetNamespace()).Get(ctx, u.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read live: %w", err)
	}
	return out, nil
}

// prepareDesired returns a copy of desired as the API server would take it: server-owned metadata dropped
// and a Secret's stringData folded into data.
func prepareDesired(desired *unstructured.Unstructured) *unstructured.Unstructured {
	u := desired.DeepCopy()
	for _, f := range []string{"managedFields", "resourceVersion", "uid", "generation", "creationTimestamp", "selfLink"} {
		unstructured.RemoveNestedField(u.Object, "metadata", f)
	}
	if isSecret(u) {
		foldStringData(u.Object)
	}
	return u
}

type cacheKey struct{ gvk, namespace, name string }

// cacheEntry keeps the prediction as JSON: a decoded object costs several times its JSON size in memory,
// and with 10,000 resources the difference is hundreds of MiB against a few ms of decoding on a hit.
type cacheEntry struct {
	desired   [sha256.Size]byte
	liveRV    string
	predicted []byte
}

// predictedCache keeps the last dry-run result per resource: a new desired state or a new live
// resourceVersion makes it stale, so there is never more than one entry per resource.
type predictedCache struct {
	mu      sync.Mutex
	max     int
	entries map[cacheKey]cacheEntry
}

func newPredictedCache(size int) *predictedCache {
	return &predictedCache{max: size, entries: map[cacheKey]cacheEntry{}}
}

func (c *predictedCache) get(k cacheKey, desired [sha256.Size]byte, rv string) (*unstructured.Unstructured, bool) {
	if c.max < 0 {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok || e.desired != desired || e.liveRV != rv {
		return nil, false
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(e.predicted); err != nil {
		return nil, false
	}
	return u, true
}

func (c *predictedCache) put(k cacheKey, desired [sha256.Size]byte, rv string, p *unstructured.Unstructured) {
	if c.max < 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[k]; !ok && len(c.entries) >= c.max {
		for victim := range c.entries { // map order is random: a cheap random eviction
			delete(c.entries, victim)
			break
		}
	}
	data, err := p.MarshalJSON()
	if err != nil {
		return
	}
	c.entries[k] = cacheEntry{desired: desired, liveRV: rv, predicted: data}
}

// Forget drops the cached prediction of one resource, e.g. when it was deleted.
func (d *Differ) Forget(gvk schema.GroupVersionKind, namespace, name string) {
	d.cache.mu.Lock()
	defer d.cache.mu.Unlock()
	delete(d.cache.entries, cacheKey{gvk: gvk.String(), namespace: namespace, name: name})
}
