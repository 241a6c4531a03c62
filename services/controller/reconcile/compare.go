package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/diff"
	"github.com/moorcd/moor/pkg/health"
	"github.com/moorcd/moor/pkg/livestate"
	moorsync "github.com/moorcd/moor/pkg/sync"
)

// Annotations Moor reads on desired and live objects.
const (
	AnnotationTrackingID = livestate.AnnotationTrackingID
)

// LiveState is what compare needs of a cluster's live-state cache.
type LiveState interface {
	ByApp(app string) []livestate.Resource
	Get(gvk schema.GroupVersionKind, namespace, name string) (livestate.Resource, bool)
	IsNamespaced(gk schema.GroupKind) (namespaced, ok bool)
}

// Differ compares one desired object with its live counterpart.
type Differ interface {
	Diff(ctx context.Context, desired, live *unstructured.Unstructured, opts diff.ResourceOptions) (*diff.Result, error)
}

// LiveReader reads a whole object from the API server when the cache keeps only its identity.
type LiveReader func(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, error)

// managed is one resource of an app: desired, live, or both.
type managed struct {
	key     objKey
	desired *unstructured.Unstructured
	live    *unstructured.Unstructured
	result  *diff.Result
	err     error
	status  v1alpha1.SyncStatusCode
	health  *health.Result
	hook    bool
	wave    int64
	// liveApp is the app a live object is tracked by, when another app tracks it.
	liveApp string
}

type objKey struct {
	Group, Kind, Namespace, Name string
}

func (k objKey) String() string {
	return fmt.Sprintf("%s/%s %s/%s", k.Group, k.Kind, k.Namespace, k.Name)
}

func keyOf(u *unstructured.Unstructured) objKey {
	gvk := u.GroupVersionKind()
	return objKey{Group: gvk.Group, Kind: gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName()}
}

// comparison is the outcome of comparing an app's desired objects with the live ones.
type comparison struct {
	resources []*managed
	sync      v1alpha1.SyncStatusCode
	health    v1alpha1.HealthStatus
	warnings  []v1alpha1.ApplicationCondition
	errors    []v1alpha1.ApplicationCondition
}

// compareInput gathers what one compare reads.
type compareInput struct {
	app          *v1alpha1.Application
	instance     string // the app's name in tracking ids
	desired      []*unstructured.Unstructured
	namespace    string // destination namespace
	live         LiveState
	differ       Differ
	readLive     LiveReader
	assessor     *health.Assessor
	ignoreExtra  bool
	trackingMode string
	labelKey     string
}

// compare matches desired with live objects, diffs each pair and assesses health.
func compare(ctx context.Context, in *compareInput) *comparison {
	c := &comparison{sync: v1alpha1.SyncStatusCodeSynced}
	byKey := map[objKey]*managed{}
	for _, d := range in.desired {
		d = d.DeepCopy()
		gk := d.GroupVersionKind().GroupKind()
		if namespaced, ok := in.live.IsNamespaced(gk); (ok && namespaced || !ok) && d.GetNamespace() == "" {
			d.SetNamespace(in.namespace)
		} else if ok && !namespaced {
			d.SetNamespace("")
		}
		setTracking(d, in.instance, in.trackingMode, in.labelKey)
		k := keyOf(d)
		if _, dup := byKey[k]; dup {
			c.warnings = append(c.warnings, condition(v1alpha1.ApplicationConditionRepeatedResourceWarning,
				fmt.Sprintf("Resource %s appeared more than once", k)))
			continue
		}
		m := &managed{key: k, desired: d, hook: moorsync.IsHook(d), wave: moorsync.Wave(d)}
		byKey[k] = m
		c.resources = append(c.resources, m)
	}
	// Live objects this app tracks, including those no longer desired (they would be pruned).
	for _, r := range in.live.ByApp(in.instance) {
		k := objKey{Group: r.GVK.Group, Kind: r.GVK.Kind, Namespace: r.Namespace, Name: r.Name}
		if m, ok := byKey[k]; ok {
			m.live = r.Object
			continue
		}
		if len(r.Owners) > 0 {
			continue // created by a tracked object's controller (a copied annotation), not by this app
		}
		if r.Object != nil && moorsync.IsHook(r.Object) {
			continue // a hook a sync created: not part of the desired state, never pruned
		}
		m := &managed{key: k, live: r.Object}
		byKey[k] = m
		c.resources = append(c.resources, m)
	}
	for _, m := range c.resources {
		if m.desired == nil || m.live != nil {
			continue
		}
		// Not tracked by this app: it may still exist (created by hand or by another app).
		r, ok := in.live.Get(m.desired.GroupVersionKind(), m.key.Namespace, m.key.Name)
		if !ok {
			continue
		}
		m.liveApp = r.App
		if r.Object != nil {
			m.live = r.Object
		} else if in.readLive != nil {
			if obj, err := in.readLive(ctx, m.desired.GroupVersionKind(), m.key.Namespace, m.key.Name); err == nil {
				m.live = obj
			}
		}
	}

	ignore := diff.ResourceOptions{IgnoreDifferences: in.app.Spec.IgnoreDifferences}
	for _, m := range c.resources {
		switch {
		case m.desired == nil:
			m.status = v1alpha1.SyncStatusCodeOutOfSync // requires pruning
		case m.hook:
			m.status = v1alpha1.SyncStatusCodeSynced // hooks run during sync; they are not compared
		case m.live == nil:
			m.status = v1alpha1.SyncStatusCodeOutOfSync
		default:
			m.result, m.err = in.differ.Diff(ctx, m.desired, m.live, ignore)
			switch {
			case m.err != nil:
				m.status = v1alpha1.SyncStatusCodeUnknown
				c.errors = append(c.errors, condition(v1alpha1.ApplicationConditionComparisonError,
					fmt.Sprintf("Failed to compare %s: %v", m.key, m.err)))
			case m.result.Modified:
				m.status = v1alpha1.SyncStatusCodeOutOfSync
			default:
				m.status = v1alpha1.SyncStatusCodeSynced
			}
		}
		if m.liveApp != "" && m.liveApp != in.instance {
			c.warnings = append(c.warnings, condition(v1alpha1.ApplicationConditionSharedResourceWarning,
				fmt.Sprintf("%s is part of applications %s and %s", m.key, in.instance, m.liveApp)))
		}
		if m.status == v1alpha1.SyncStatusCodeOutOfSync && !(m.desired == nil && in.ignoreExtra) {
			c.sync = v1alpha1.SyncStatusCodeOutOfSync
		}
		if m.status == v1alpha1.SyncStatusCodeUnknown && c.sync == v1alpha1.SyncStatusCodeSynced {
			c.sync = v1alpha1.SyncStatusCodeUnknown
		}
		if m.live != nil {
			if res, err := in.assessor.Assess(m.live); res != nil || err != nil {
				if res == nil {
					res = &health.Result{Status: health.Unknown, Message: err.Error()}
				}
				m.health = res
			}
		} else if m.desired != nil && !m.hook {
			m.health = &health.Result{Status: health.Missing}
		}
	}
	sort.SliceStable(c.resources, func(i, j int) bool { return lessKey(c.resources[i].key, c.resources[j].key) })

	var hs []health.ResourceHealth
	for _, m := range c.resources {
		if m.health == nil || m.desired == nil {
			continue
		}
		hs = append(hs, health.ResourceHealth{
			Group: m.key.Group, Kind: m.key.Kind, Namespace: m.key.Namespace, Name: m.key.Name,
			Health: m.health, Hook: m.hook, IgnoreHealthCheck: health.IgnoresHealthCheck(m.desired),
		})
	}
	app := health.AppHealth(hs)
	c.health = v1alpha1.HealthStatus{Status: v1alpha1.HealthStatusCode(app.Status), Message: app.Message}
	return c
}

func lessKey(a, b objKey) bool {
	if a.Group != b.Group {
		return a.Group < b.Group
	}
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}

// setTracking marks a desired object as this app's, the way sync will write it, so the diff sees no change
// in the tracking metadata.
func setTracking(u *unstructured.Unstructured, instance, mode, labelKey string) {
	gvk := u.GroupVersionKind()
	if mode != "label" {
		ann := u.GetAnnotations()
		if ann == nil {
			ann = map[string]string{}
		}
		ann[AnnotationTrackingID] = fmt.Sprintf("%s:%s/%s:%s/%s", instance, gvk.Group, gvk.Kind, u.GetNamespace(), u.GetName())
		u.SetAnnotations(ann)
	}
	if mode == "label" || mode == "annotation+label" {
		labels := u.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[labelKey] = instance
		u.SetLabels(labels)
	}
}

// parseManifests decodes the repo-server's JSON documents.
func parseManifests(docs []string) ([]*unstructured.Unstructured, error) {
	out := make([]*unstructured.Unstructured, 0, len(docs))
	for i, d := range docs {
		u := &unstructured.Unstructured{}
		if err := json.Unmarshal([]byte(d), &u.Object); err != nil {
			return nil, fmt.Errorf("manifest %d from the repo-server: %w", i, err)
		}
		out = append(out, u)
	}
	return out, nil
}
