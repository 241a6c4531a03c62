package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/project"
	moorsync "github.com/moorcd/moor/pkg/sync"
)

// SelfHeal is the self-heal backoff: attempt n waits Base·Factor^(n-1) after the last sync finished, at
// most Cap (the reference's defaults: 2s, 3, 5m).
type SelfHeal struct {
	Base   time.Duration
	Factor float64
	Cap    time.Duration
}

// DefaultSelfHeal is Argo CD's default self-heal backoff.
func DefaultSelfHeal() SelfHeal {
	return SelfHeal{Base: 2 * time.Second, Factor: 3, Cap: 5 * time.Minute}
}

func (s SelfHeal) delay(attempt int64) time.Duration {
	if attempt <= 0 || s.Base <= 0 {
		return 0
	}
	d := float64(s.Base) * math.Pow(s.Factor, float64(attempt-1))
	return time.Duration(min(d, float64(s.Cap)))
}

// autoSync starts an automated sync after a compare found the app OutOfSync, following the reference's
// rules: one attempt per revision and source (a failed one is repeated only by its retry policy), re-syncs
// of a revision already synced only with selfHeal and after the self-heal backoff, never inside a closed
// sync window. It returns when to look again when it had to wait.
func (r *Reconciler) autoSync(ctx context.Context, app *v1alpha1.Application, st *v1alpha1.ApplicationStatus,
	proj *v1alpha1.AppProject, server string) (time.Duration, error) {
	pol := app.Spec.SyncPolicy
	if pol == nil || pol.Automated == nil || (pol.Automated.Enabled != nil && !*pol.Automated.Enabled) {
		return 0, nil
	}
	if app.Operation != nil || app.DeletionTimestamp != nil || st.Sync.Status != v1alpha1.SyncStatusCodeOutOfSync {
		return 0, nil
	}
	last := app.Status.OperationState
	if last != nil && !finished(last.Phase) {
		return 0, nil
	}
	for _, c := range st.Conditions {
		if c.Type == v1alpha1.ApplicationConditionComparisonError || c.Type == v1alpha1.ApplicationConditionInvalidSpecError {
			return 0, nil // nothing is synced from a state that could not be computed
		}
	}
	prune := pol.Automated.Prune != nil && *pol.Automated.Prune
	// Resources the last sync deliberately left (Prune=false) keep the app OutOfSync; they are no reason
	// to sync again.
	skipped := map[string]bool{}
	if last != nil && last.SyncResult != nil {
		for _, res := range last.SyncResult.Resources {
			if res.Status == v1alpha1.ResultCodePruneSkipped && strings.Contains(res.Message, "Prune=false") {
				skipped[res.Group+"/"+res.Kind+"/"+res.Namespace+"/"+res.Name] = true
			}
		}
	}
	var outOfSync []v1alpha1.SyncOperationResource
	needApply := false
	for _, res := range st.Resources {
		if res.Status != v1alpha1.SyncStatusCodeOutOfSync || res.Hook {
			continue
		}
		if res.RequiresPruning && skipped[res.Group+"/"+res.Kind+"/"+res.Namespace+"/"+res.Name] {
			continue
		}
		if !res.RequiresPruning {
			needApply = true
		} else if !prune {
			continue
		}
		outOfSync = append(outOfSync, v1alpha1.SyncOperationResource{Group: res.Group, Kind: res.Kind, Namespace: res.Namespace, Name: res.Name})
	}
	if !needApply && !prune {
		return 0, nil // only pruning is needed, and automated prune is off
	}
	if len(outOfSync) == 0 {
		return 0, nil
	}
	revision, revisions := st.Sync.Revision, st.Sync.Revisions
	now := r.d.Now()
	var attempts int64
	selfHeal := false
	if last != nil && last.Operation.Sync != nil && sameTarget(app, last, revision, revisions) {
		if last.Phase != v1alpha1.OperationSucceeded {
			return 0, nil // this revision failed to sync; only its retry policy may try again
		}
		if pol.Automated.SelfHeal == nil || !*pol.Automated.SelfHeal {
			return 0, nil
		}
		selfHeal = true
		attempts = last.Operation.Sync.AutoHealAttemptsCount
		if last.FinishedAt != nil {
			since := now.Sub(last.FinishedAt.Time)
			if since > r.d.SelfHeal.Cap {
				attempts = 0 // calm for long enough: start the backoff over
			}
			if wait := r.d.SelfHeal.delay(attempts+1) - since; wait > 0 {
				return wait, nil
			}
		}
		attempts++
	}
	if d := project.SyncAllowed(proj, app, server, false, now); !d.Allowed {
		if next := project.NextChange(proj, app, server, now); !next.IsZero() {
			return next.Sub(now) + time.Second, nil
		}
		return time.Minute, nil
	}
	retry := pol.Retry
	if retry == nil {
		retry = &v1alpha1.RetryStrategy{Limit: new(int64(5))}
	}
	op := &v1alpha1.Operation{
		Sync: &v1alpha1.SyncOperation{
			Revision: revision, Revisions: revisions, Prune: prune, SyncOptions: pol.SyncOptions,
			AutoHealAttemptsCount: attempts,
		},
		InitiatedBy: &v1alpha1.OperationInitiator{Username: "automated sync", Automated: true},
		Retry:       retry,
	}
	if selfHeal {
		op.Sync.Resources = outOfSync // drift correction: only what drifted, no hooks
	}
	body, err := json.Marshal(map[string]any{
		"metadata":  map[string]any{"resourceVersion": app.ResourceVersion},
		"operation": op,
	})
	if err != nil {
		return 0, err
	}
	if _, err := r.d.Client.ArgoprojV1alpha1().Applications(app.Namespace).Patch(ctx, app.Name, types.MergePatchType, body, metav1.PatchOptions{}); err != nil {
		return 0, fmt.Errorf("start automated sync of %s: %w", app.Name, err)
	}
	r.d.Log.InfoContext(ctx, "automated sync started", "app", app.Name, "revision", revision, "selfHeal", selfHeal)
	return 0, nil
}

// sameTarget reports whether the last operation synced the same revision(s) of the same sources.
func sameTarget(app *v1alpha1.Application, last *v1alpha1.OperationState, revision string, revisions []string) bool {
	sr := last.SyncResult
	if sr == nil {
		return false
	}
	if app.Spec.HasMultipleSources() {
		if !slices.Equal(sr.Revisions, revisions) {
			return false
		}
		x, _ := json.Marshal(sr.Sources)
		y, _ := json.Marshal(app.Spec.Sources)
		return string(x) == string(y)
	}
	if sr.Revision != revision || sr.Source == nil || app.Spec.Source == nil {
		return false
	}
	return sameSourcesAt([]v1alpha1.ApplicationSource{*app.Spec.Source}, []v1alpha1.ApplicationSource{*sr.Source}, []string{revision})
}

// keepIgnored returns desired with the fields ignoreDifferences names (by JSON pointer) taken from live, so
// RespectIgnoreDifferences=true leaves them as they are in the cluster.
func keepIgnored(desired, live *unstructured.Unstructured, rules []v1alpha1.ResourceIgnoreDifferences) *unstructured.Unstructured {
	var out *unstructured.Unstructured
	gvk := desired.GroupVersionKind()
	for _, rule := range rules {
		if rule.Group != gvk.Group || (rule.Kind != gvk.Kind && rule.Kind != "*") ||
			(rule.Name != "" && rule.Name != desired.GetName()) || (rule.Namespace != "" && rule.Namespace != desired.GetNamespace()) {
			continue
		}
		for _, p := range rule.JSONPointers {
			path := pointerPath(p)
			if len(path) == 0 {
				continue
			}
			if out == nil {
				out = desired.DeepCopy()
			}
			if v, ok, _ := unstructured.NestedFieldCopy(live.Object, path...); ok {
				_ = unstructured.SetNestedField(out.Object, v, path...)
			} else {
				unstructured.RemoveNestedField(out.Object, path...)
			}
		}
	}
	if out == nil {
		return desired
	}
	return out
}

// pointerPath splits a JSON pointer into map keys; a pointer through a list index is not supported here.
func pointerPath(p string) []string {
	if !strings.HasPrefix(p, "/") {
		return nil
	}
	parts := strings.Split(p[1:], "/")
	for i, s := range parts {
		s = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
		if _, err := strconv.Atoi(s); err == nil {
			return nil
		}
		parts[i] = s
	}
	return parts
}

// Finalizers that cascade an Application's deletion to its resources.
const (
	FinalizerResources           = "resources-finalizer.argocd.argoproj.io"
	FinalizerResourcesForeground = "resources-finalizer.argocd.argoproj.io/foreground"
	FinalizerResourcesBackground = "resources-finalizer.argocd.argoproj.io/background"
)

// finalize deletes a deleting app's resources when it carries the resources finalizer, then releases it.
// What blocks it is written as a DeletionError condition, never left to hang silently.
func (r *Reconciler) finalize(ctx context.Context, app *v1alpha1.Application) (time.Duration, error) {
	propagation := metav1.DeletePropagationForeground
	var ours []string
	for _, f := range app.Finalizers {
		switch f {
		case FinalizerResources, FinalizerResourcesForeground:
			ours = append(ours, f)
		case FinalizerResourcesBackground:
			ours = append(ours, f)
			propagation = metav1.DeletePropagationBackground
		}
	}
	if len(ours) == 0 {
		r.Forget(app.Name)
		return 0, nil
	}
	fail := func(msg string) (time.Duration, error) {
		now := metav1.NewTime(r.d.Now())
		st := app.Status.DeepCopy()
		st.Conditions = mergeConditions(app.Status.Conditions, append(withoutType(app.Status.Conditions, v1alpha1.ApplicationConditionDeletionError),
			condition(v1alpha1.ApplicationConditionDeletionError, msg)), now)
		if _, err := r.writeStatus(ctx, app, st); err != nil {
			return 0, err
		}
		return 10 * time.Second, nil
	}
	dest := app.Spec.Destination
	cl, err := r.d.Clusters().Lookup(dest.Server, dest.Name)
	if err != nil {
		return fail(fmt.Sprintf("cannot delete the application's resources: destination cluster: %v", err))
	}
	conn, err := r.d.Connect(ctx, cl)
	if err != nil {
		return fail(fmt.Sprintf("cannot delete the application's resources: cluster %s is not reachable: %v", cl.Server, err))
	}
	if conn.Sync == nil {
		return fail("cannot delete the application's resources: the destination cluster cannot be written to")
	}
	var remaining, failed []string
	for _, res := range conn.Live.ByApp(app.Name) {
		if len(res.Owners) > 0 {
			continue // its owner's deletion takes it
		}
		if res.Object != nil {
			o := moorsync.ResourceOptions(moorsync.Options{}, res.Object.GetAnnotations())
			if o.DeleteDisabled {
				continue // Delete=false: kept when the app goes
			}
			if res.Object.GetDeletionTimestamp() != nil {
				remaining = append(remaining, res.Name)
				continue
			}
		}
		remaining = append(remaining, res.Name)
		if err := conn.Sync.Cluster.Delete(ctx, res.GVK, res.Namespace, res.Name, res.UID, propagation); err != nil {
			failed = append(failed, fmt.Sprintf("%s %s: %v", res.GVK.Kind, res.Name, err))
		}
	}
	if len(failed) > 0 {
		return fail("cannot delete the application's resources: " + strings.Join(failed, "; "))
	}
	if len(remaining) > 0 {
		return 2 * time.Second, nil // deleted; released once the cache sees them gone
	}
	keep := slices.DeleteFunc(slices.Clone(app.Finalizers), func(f string) bool { return slices.Contains(ours, f) })
	body, err := json.Marshal(map[string]any{"metadata": map[string]any{"finalizers": keep, "resourceVersion": app.ResourceVersion}})
	if err != nil {
		return 0, err
	}
	if _, err := r.d.Client.ArgoprojV1alpha1().Applications(app.Namespace).Patch(ctx, app.Name, types.MergePatchType, body, metav1.PatchOptions{}); err != nil {
		return 0, fmt.Errorf("release the finalizer of %s: %w", app.Name, err)
	}
	r.Forget(app.Name)
	return 0, nil
}

func withoutType(cs []v1alpha1.ApplicationCondition, typ v1alpha1.ApplicationConditionType) []v1alpha1.ApplicationCondition {
	var out []v1alpha1.ApplicationCondition
	for _, c := range cs {
		if c.Type != typ {
			out = append(out, c)
		}
	}
	return out
}
