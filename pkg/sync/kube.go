package sync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	gosync "sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/jsonmergepatch"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/moorcd/moor/pkg/diff"
)

// FieldManager is Moor's server-side apply field manager. It is the differ's, so the compare predicts exactly
// the managed fields a sync will own.
const FieldManager = diff.DefaultFieldManager

// lastAppliedAnnotation is where client-side apply keeps what it applied last, as kubectl does, so that a
// field removed from Git can be told apart from a field another writer added.
const lastAppliedAnnotation = corev1.LastAppliedConfigAnnotation

// ErrLastAppliedTooLarge refuses a client-side apply whose last-applied annotation would push the object's
// annotations over the API server's limit. It is checked before any request, so Force never deletes an object
// that could not be written back.
var ErrLastAppliedTooLarge = errors.New("the last-applied-configuration annotation is too large for client-side apply")

// ApplyOptions say how one object is written.
type ApplyOptions struct {
	DryRun     bool // server-side dry run (dryRun=All); nothing persisted
	ClientSide bool // ServerSideApply=false: kubectl-style client-side apply with the last-applied-configuration annotation
	Replace    bool // Replace=true: update (PUT) the whole object, or create it when missing
	Force      bool // Force=true: when the write is refused as invalid/immutable/conflicting, delete the object and create it again (with Replace: always delete and create)
	// Validate true sends fieldValidation=Strict, false (Validate=false) sends Ignore. Server-side apply rejects
	// fields the schema does not declare either way: the API server types applied objects.
	Validate bool
}

func (o ApplyOptions) fieldValidation() string {
	if o.Validate {
		return metav1.FieldValidationStrict
	}
	return metav1.FieldValidationIgnore
}

func dryRun(on bool) []string {
	if on {
		return []string{metav1.DryRunAll}
	}
	return nil
}

// Kube writes objects to one cluster. It is safe for concurrent use: the engine applies a wave in parallel.
type Kube struct {
	dyn    dynamic.Interface
	mapper meta.ResettableRESTMapper

	// pollInterval and goneTimeout bound the wait for a deleted object to disappear before Force creates it
	// again: foreground deletion returns while dependents are still being collected.
	pollInterval time.Duration
	goneTimeout  time.Duration

	// resets counts mapper resets, so that parallel lookups missing the same new kind reset discovery once
	// rather than once each.
	mu     gosync.Mutex
	resets uint64
}

// NewKube returns a client writing through dyn, resolving kinds with mapper.
func NewKube(dyn dynamic.Interface, mapper meta.ResettableRESTMapper) *Kube {
	return &Kube{dyn: dyn, mapper: mapper, pollInterval: 100 * time.Millisecond, goneTimeout: 60 * time.Second}
}

// IsUnknownKind reports whether err says the cluster does not serve the object's kind (no CRD, or an API
// version it no longer has).
func IsUnknownKind(err error) bool {
	return meta.IsNoMatchError(err)
}

// ResetMapper forgets discovery (after CRDs were created).
func (k *Kube) ResetMapper() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.mapper.Reset()
	k.resets++
}

// Known reports whether the cluster serves gvk, resetting the mapper once on a miss (a CRD applied moments ago).
func (k *Kube) Known(gvk schema.GroupVersionKind) bool {
	_, err := k.mapping(gvk)
	return err == nil
}

// Namespaced reports whether the kind is namespaced; ok=false when the cluster does not serve it (yet).
func (k *Kube) Namespaced(gvk schema.GroupVersionKind) (namespaced, ok bool) {
	m, err := k.mapping(gvk)
	if err != nil {
		return false, false
	}
	return m.Scope.Name() == meta.RESTScopeNameNamespace, true
}

// mapping resolves gvk, resetting discovery once when it misses: kinds appear while a sync runs.
func (k *Kube) mapping(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	k.mu.Lock()
	seen := k.resets
	k.mu.Unlock()
	m, err := k.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err == nil || !meta.IsNoMatchError(err) {
		return m, err
	}
	k.mu.Lock()
	if k.resets == seen { // nobody refreshed discovery since this lookup began
		k.mapper.Reset()
		k.resets++
	}
	k.mu.Unlock()
	return k.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
}

// resource returns the client for objects of gvk in namespace, and the namespace to use: "" for a
// cluster-scoped kind whatever the manifest says, as the API server ignores it there.
func (k *Kube) resource(gvk schema.GroupVersionKind, namespace string) (dynamic.ResourceInterface, string, error) {
	m, err := k.mapping(gvk)
	if err != nil {
		return nil, "", err
	}
	if m.Scope.Name() != meta.RESTScopeNameNamespace {
		return k.dyn.Resource(m.Resource), "", nil
	}
	if namespace == "" {
		return nil, "", fmt.Errorf("%s is namespaced but the object has no namespace", gvk.Kind)
	}
	return k.dyn.Resource(m.Resource).Namespace(namespace), namespace, nil
}

// Apply writes obj and returns the object the API server returned (or, for a dry run, would store).
func (k *Kube) Apply(ctx context.Context, obj *unstructured.Unstructured, o ApplyOptions) (*unstructured.Unstructured, error) {
	id := identity(obj.GroupVersionKind(), obj.GetNamespace(), obj.GetName())
	ri, ns, err := k.resource(obj.GroupVersionKind(), obj.GetNamespace())
	if err != nil {
		return nil, fmt.Errorf("apply %s: %w", id, err)
	}
	body := writable(obj, ns)
	out, err := k.write(ctx, ri, body, o)
	if err == nil {
		return out, nil
	}
	// Force recreates only after a real write was refused as immutable or conflicting; a dry run must not
	// delete, and Replace with Force already deleted and created.
	if !o.Force || o.DryRun || o.Replace || !(apierrors.IsInvalid(err) || apierrors.IsConflict(err)) {
		return nil, fmt.Errorf("apply %s: %w", id, err)
	}
	deleted, derr := k.deleteAndWait(ctx, ri, body.GetName())
	if derr != nil {
		return nil, fmt.Errorf("force apply %s: %w", id, derr)
	}
	if !deleted { // nothing was in the way: the object itself is refused
		return nil, fmt.Errorf("apply %s: %w", id, err)
	}
	o.Force = false
	out, err = k.write(ctx, ri, body, o)
	if err != nil {
		return nil, fmt.Errorf("force apply %s: create after delete: %w", id, err)
	}
	return out, nil
}

func (k *Kube) write(ctx context.Context, ri dynamic.ResourceInterface, body *unstructured.Unstructured, o ApplyOptions) (*unstructured.Unstructured, error) {
	switch {
	case o.Replace:
		return k.replace(ctx, ri, body, o)
	case o.ClientSide:
		return k.applyClientSide(ctx, ri, body, o)
	default:
		return k.applyServerSide(ctx, ri, body, o)
	}
}

func (k *Kube) applyServerSide(ctx context.Context, ri dynamic.ResourceInterface, body *unstructured.Unstructured, o ApplyOptions) (*unstructured.Unstructured, error) {
	data, err := body.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	// Force takes over fields other managers own, as `kubectl apply --server-side --force-conflicts`: Git is
	// the source of truth for every field it sets.
	out, err := ri.Patch(ctx, body.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{
		FieldManager:    FieldManager,
		Force:           ptr.To(true),
		FieldValidation: o.fieldValidation(),
		DryRun:          dryRun(o.DryRun),
	})
	// The API server types every applied object against its schema, so fieldValidation=Ignore cannot let an
	// undeclared field through; users who set Validate=false expect it to, so say what works instead.
	if err != nil && strings.Contains(err.Error(), "field not declared in schema") {
		return nil, fmt.Errorf("%w (server-side apply rejects fields the schema does not declare, even with "+
			"Validate=false: remove the field, or sync this resource with ServerSideApply=false,Validate=false)", err)
	}
	return out, err
}

// applyClientSide is kubectl's client-side apply: a three-way patch from what was applied last (the
// annotation), what is applied now and what is live, so fields other writers added survive while fields
// removed from Git are removed.
func (k *Kube) applyClientSide(ctx context.Context, ri dynamic.ResourceInterface, body *unstructured.Unstructured, o ApplyOptions) (*unstructured.Unstructured, error) {
	if err := setLastApplied(body); err != nil {
		return nil, err
	}
	live, err := ri.Get(ctx, body.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return ri.Create(ctx, body, metav1.CreateOptions{
			FieldManager: FieldManager, FieldValidation: o.fieldValidation(), DryRun: dryRun(o.DryRun),
		})
	}
	if err != nil {
		return nil, fmt.Errorf("read live object: %w", err)
	}
	modified, err := body.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	current, err := live.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encode live object: %w", err)
	}
	var original []byte
	if s, ok := live.GetAnnotations()[lastAppliedAnnotation]; ok {
		original = []byte(s)
	}
	var (
		patch     []byte
		patchType types.PatchType
	)
	if typed, err := scheme.Scheme.New(body.GroupVersionKind()); err == nil {
		// Built-in kinds merge lists by their keys (containers by name), as kubectl does.
		lookup, err := strategicpatch.NewPatchMetaFromStruct(typed)
		if err != nil {
			return nil, fmt.Errorf("read patch metadata: %w", err)
		}
		patch, err = strategicpatch.CreateThreeWayMergePatch(original, modified, current, lookup, true)
		if err != nil {
			return nil, fmt.Errorf("compute strategic merge patch: %w", err)
		}
		patchType = types.StrategicMergePatchType
	} else {
		// Kinds outside client-go's scheme (custom resources) have no patch strategy: lists are replaced whole.
		patch, err = jsonmergepatch.CreateThreeWayJSONMergePatch(original, modified, current)
		if err != nil {
			return nil, fmt.Errorf("compute merge patch: %w", err)
		}
		patchType = types.MergePatchType
	}
	if string(patch) == "{}" {
		return live, nil
	}
	return ri.Patch(ctx, body.GetName(), patchType, patch, metav1.PatchOptions{
		FieldManager: FieldManager, FieldValidation: o.fieldValidation(), DryRun: dryRun(o.DryRun),
	})
}

// setLastApplied sets the last-applied annotation on body to body's own JSON without that annotation, as
// kubectl writes it. It refuses when the annotations would exceed the API server's limit, with a message
// saying what to do instead.
func setLastApplied(body *unstructured.Unstructured) error {
	ann := body.GetAnnotations()
	delete(ann, lastAppliedAnnotation)
	if len(ann) == 0 {
		ann = nil
	}
	body.SetAnnotations(ann)
	data, err := body.MarshalJSON()
	if err != nil {
		return fmt.Errorf("encode last-applied configuration: %w", err)
	}
	if ann == nil {
		ann = map[string]string{}
	}
	ann[lastAppliedAnnotation] = string(data)
	size := 0
	for k, v := range ann {
		size += len(k) + len(v)
	}
	if limit := apivalidation.TotalAnnotationSizeLimitB; size > limit {
		return fmt.Errorf("%w: the object's annotations would be %d bytes with it, over the API server's "+
			"limit of %d bytes; use server-side apply (remove ServerSideApply=false) or Replace=true",
			ErrLastAppliedTooLarge, size, limit)
	}
	body.SetAnnotations(ann)
	return nil
}

// replace writes the whole object (PUT), creating it when missing; with Force it deletes and creates.
func (k *Kube) replace(ctx context.Context, ri dynamic.ResourceInterface, body *unstructured.Unstructured, o ApplyOptions) (*unstructured.Unstructured, error) {
	create := func() (*unstructured.Unstructured, error) {
		return ri.Create(ctx, body, metav1.CreateOptions{
			FieldManager: FieldManager, FieldValidation: o.fieldValidation(), DryRun: dryRun(o.DryRun),
		})
	}
	var out *unstructured.Unstructured
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		live, err := ri.Get(ctx, body.GetName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			out, err = create()
			return err
		}
		if err != nil {
			return fmt.Errorf("read live object: %w", err)
		}
		if o.Force && !o.DryRun {
			if _, err := k.deleteAndWait(ctx, ri, body.GetName()); err != nil {
				return err
			}
			out, err = create()
			return err
		}
		// The resourceVersion makes the PUT fail rather than overwrite a write made since the read; the
		// retry reads again.
		put := body.DeepCopy()
		put.SetResourceVersion(live.GetResourceVersion())
		out, err = ri.Update(ctx, put, metav1.UpdateOptions{
			FieldManager: FieldManager, FieldValidation: o.fieldValidation(), DryRun: dryRun(o.DryRun),
		})
		return err
	})
	return out, err
}

// deleteAndWait deletes name in the foreground and waits until it is gone, so that the create that follows
// does not meet the old object. deleted is false when there was nothing to delete.
func (k *Kube) deleteAndWait(ctx context.Context, ri dynamic.ResourceInterface, name string) (deleted bool, err error) {
	err = ri.Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("delete: %w", err)
	}
	err = wait.PollUntilContextTimeout(ctx, k.pollInterval, k.goneTimeout, true, func(ctx context.Context) (bool, error) {
		_, err := ri.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
	if err != nil {
		return true, fmt.Errorf("wait for deletion: %w", err)
	}
	return true, nil
}

// Create creates obj (used for hooks; AlreadyExists is returned as is so the caller can decide).
func (k *Kube) Create(ctx context.Context, obj *unstructured.Unstructured, dryRunOnly bool) (*unstructured.Unstructured, error) {
	id := identity(obj.GroupVersionKind(), obj.GetNamespace(), obj.GetName())
	ri, ns, err := k.resource(obj.GroupVersionKind(), obj.GetNamespace())
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", id, err)
	}
	out, err := ri.Create(ctx, writable(obj, ns), metav1.CreateOptions{FieldManager: FieldManager, DryRun: dryRun(dryRunOnly)})
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", id, err)
	}
	return out, nil
}

// Delete deletes one object with the propagation policy; NotFound is not an error. uid, when non-empty, is a
// precondition (never delete a re-created object of the same name): a mismatch is a Conflict error.
func (k *Kube) Delete(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string, uid types.UID, propagation metav1.DeletionPropagation) error {
	id := identity(gvk, namespace, name)
	ri, _, err := k.resource(gvk, namespace)
	if err != nil {
		return fmt.Errorf("delete %s: %w", id, err)
	}
	opts := metav1.DeleteOptions{}
	if propagation != "" {
		opts.PropagationPolicy = &propagation
	}
	if uid != "" {
		opts.Preconditions = &metav1.Preconditions{UID: &uid}
	}
	if err := ri.Delete(ctx, name, opts); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete %s: %w", id, err)
	}
	return nil
}

// Get reads one object; (nil, nil) when it does not exist.
func (k *Kube) Get(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, error) {
	id := identity(gvk, namespace, name)
	ri, _, err := k.resource(gvk, namespace)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", id, err)
	}
	out, err := ri.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", id, err)
	}
	return out, nil
}

// writable copies obj without the metadata the server owns (an applied resourceVersion would turn every
// write into an optimistic-concurrency check against a stale read) and with namespace set as the scope wants.
func writable(obj *unstructured.Unstructured, namespace string) *unstructured.Unstructured {
	u := obj.DeepCopy()
	u.SetNamespace(namespace)
	for _, f := range []string{"resourceVersion", "uid", "creationTimestamp", "managedFields", "generation", "selfLink"} {
		unstructured.RemoveNestedField(u.Object, "metadata", f)
	}
	return u
}

// identity names an object in errors: apps/Deployment ns/name, ConfigMap ns/name, Namespace name.
func identity(gvk schema.GroupVersionKind, namespace, name string) string {
	kind := gvk.Kind
	if gvk.Group != "" {
		kind = gvk.Group + "/" + kind
	}
	if namespace != "" {
		name = namespace + "/" + name
	}
	return kind + " " + name
}
