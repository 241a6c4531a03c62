package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strings"
	gosync "sync"
	"time"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/health"
)

// Cluster is what the engine needs of the destination cluster; *Kube implements it.
type Cluster interface {
	Apply(ctx context.Context, obj *unstructured.Unstructured, o ApplyOptions) (*unstructured.Unstructured, error)
	Create(ctx context.Context, obj *unstructured.Unstructured, dryRun bool) (*unstructured.Unstructured, error)
	Delete(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string, uid types.UID, propagation metav1.DeletionPropagation) error
	Get(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, error)
	Known(gvk schema.GroupVersionKind) bool
	ResetMapper()
}

var _ Cluster = (*Kube)(nil)

// HealthFunc assesses one live object; "" means the kind has no health check.
type HealthFunc func(u *unstructured.Unstructured) (health.Status, string)

// Resource is one object of the app as the compare saw it.
type Resource struct {
	// Desired is the rendered object with its namespace and tracking metadata set; nil for a live object the
	// app tracks that Git no longer has (a prune candidate).
	Desired *unstructured.Unstructured
	// Live is the object in the cluster, nil when missing.
	Live *unstructured.Unstructured
	// Status is the compare's verdict.
	Status v1alpha1.SyncStatusCode
	// TrackedBy is the app whose tracking id the live object carries, when it is another app's.
	TrackedBy string
}

// Request is one step of an operation: what to sync, how, and what earlier steps did.
type Request struct {
	// OpID identifies this run of the operation (its start time and retry); hooks carry it.
	OpID      string
	Namespace string // destination namespace
	Resources []Resource
	Options   Options
	// NamespaceMetadata goes on the namespace CreateNamespace=true makes.
	NamespaceMetadata *v1alpha1.ManagedNamespaceMetadata
	Prune             bool
	DryRun            bool
	Force             bool // syncStrategy.apply.force
	// Selected limits the sync to these resources (selective sync: no hooks run).
	Selected []v1alpha1.SyncOperationResource
	// AllowEmpty permits pruning every resource when the render is empty.
	AllowEmpty bool
	// DeletionApproved is set when the app carries argocd.argoproj.io/deletion-approved (Prune=confirm).
	DeletionApproved bool
	// Previous is what earlier steps of this run recorded (status.operationState.syncResult.resources).
	Previous []v1alpha1.ResourceResult
	// Live looks an object up in the controller's cache; nil or a miss falls back to the API server.
	Live func(gvk schema.GroupVersionKind, namespace, name string) *unstructured.Unstructured
	// Health assesses live objects (waves wait for health; hooks without a Job/Pod status use it).
	Health HealthFunc
}

// Result is where the operation stands after a step.
type Result struct {
	Phase     v1alpha1.OperationPhase // Running, Succeeded or Failed
	Message   string
	Resources []v1alpha1.ResourceResult
	// RequeueAfter is when the next step is due while Running.
	RequeueAfter time.Duration
}

// Engine runs sync steps against one cluster.
type Engine struct {
	Cluster Cluster
	// Parallelism bounds concurrent writes in one wave (default 20).
	Parallelism int
	Log         *slog.Logger
}

// ErrEmptyRender refuses a prune of every resource because the render came back empty.
var ErrEmptyRender = errors.New("refusing to prune every resource of the app: the render came back empty " +
	"(set syncPolicy.automated.allowEmpty=true to allow it)")

// waitPoll is how soon a waiting step looks again; live changes wake it sooner.
const waitPoll = 2 * time.Second

// run is the state of one step.
type run struct {
	e       *Engine
	req     *Request
	tasks   []*task
	results map[string]*v1alpha1.ResourceResult
	order   []string                              // result keys in the order they were first recorded
	fresh   map[string]*unstructured.Unstructured // objects written in this step, newer than the cache
	mu      gosync.Mutex
}

// Step advances the operation as far as it can without waiting and says where it stands. It is stateless
// between calls: the tasks are planned again from the request, and what earlier steps did is read from
// Previous and from the live objects, so a controller restarted at any point picks up where it stopped.
func (e *Engine) Step(ctx context.Context, req *Request) Result {
	if e.Parallelism <= 0 {
		e.Parallelism = 20
	}
	r := e.newRun(req)
	tasks, err := plan(req)
	if err != nil {
		return r.finish(v1alpha1.OperationFailed, err.Error())
	}
	r.tasks = tasks

	if len(req.Previous) == 0 || req.DryRun {
		if msg := r.dryRun(ctx); msg != "" {
			return r.finish(v1alpha1.OperationFailed, msg)
		}
		if req.DryRun {
			return r.finish(v1alpha1.OperationSucceeded, "successfully synced (dry run)")
		}
	}
	return r.advance(ctx)
}

// newRun starts a step from what earlier steps recorded.
func (e *Engine) newRun(req *Request) *run {
	r := &run{e: e, req: req, results: map[string]*v1alpha1.ResourceResult{}, fresh: map[string]*unstructured.Unstructured{}}
	for i := range req.Previous {
		p := req.Previous[i]
		k := resultKey(p.SyncPhase, p.Group, p.Kind, p.Namespace, p.Name)
		if _, dup := r.results[k]; !dup {
			r.order = append(r.order, k)
		}
		r.results[k] = &p
	}
	return r
}

// advance walks the groups of tasks (phase, wave) in order: a finished group lets the next start; the first
// unfinished one is started or waited for.
func (r *run) advance(ctx context.Context) Result {
	failing := r.failure()
	var groups [][]*task
	for _, t := range r.tasks {
		if (t.phase == PhaseSyncFail) != (failing != "") {
			continue
		}
		if n := len(groups); n > 0 && groups[n-1][0].phase == t.phase && groups[n-1][0].wave == t.wave {
			groups[n-1] = append(groups[n-1], t)
		} else {
			groups = append(groups, []*task{t})
		}
	}
	for i := 0; i < len(groups); i++ {
		g := groups[i]
		last := i == len(groups)-1
		started, waiting := r.check(ctx, g, !last)
		if f := r.failure(); f != "" && failing == "" {
			return r.advance(ctx) // a task failed: run the SyncFail hooks
		}
		if len(started) < len(g) {
			if msg := r.start(ctx, g, started); msg != "" {
				return r.finish(v1alpha1.OperationRunning, msg)
			}
			if f := r.failure(); f != "" && failing == "" {
				return r.advance(ctx)
			}
			i-- // look at the group again with what was just written
			continue
		}
		if waiting != "" {
			return r.finish(v1alpha1.OperationRunning, waiting)
		}
	}
	if failing != "" {
		r.cleanupHooks(ctx)
		return r.finish(v1alpha1.OperationFailed, failing)
	}
	r.cleanupHooks(ctx)
	for _, k := range r.order {
		if res := r.results[k]; res.Status == v1alpha1.ResultCodePruneSkipped {
			return r.finish(v1alpha1.OperationSucceeded, "successfully synced; some resources need pruning (prune is off or Prune=false)")
		}
	}
	return r.finish(v1alpha1.OperationSucceeded, "successfully synced (all tasks run)")
}

// failure returns the message of the first failed task outside SyncFail, or "".
func (r *run) failure() string {
	for _, k := range r.order {
		res := r.results[k]
		if res.SyncPhase == string(PhaseSyncFail) {
			continue
		}
		if res.Status == v1alpha1.ResultCodeSyncFailed || res.HookPhase == v1alpha1.OperationFailed || res.HookPhase == v1alpha1.OperationError {
			return fmt.Sprintf("one or more objects failed to apply, reason: %s %s: %s", res.Kind, res.Name, res.Message)
		}
	}
	return ""
}

// check looks at a group's tasks: which have started, and what the group still waits for. A group other
// than the last must also be healthy before the next one starts.
func (r *run) check(ctx context.Context, g []*task, needHealthy bool) (started map[*task]bool, waiting string) {
	started = map[*task]bool{}
	var waits []string
	for _, t := range g {
		res, ok := r.results[t.key()]
		if !ok {
			continue
		}
		started[t] = true
		switch t.kind {
		case kindHook:
			if res.HookPhase == v1alpha1.OperationRunning || res.HookPhase == "" {
				r.observeHook(ctx, t, res)
			}
			if res.HookPhase == v1alpha1.OperationRunning {
				waits = append(waits, fmt.Sprintf("waiting for completion of hook %s", t))
			}
		case kindApply:
			if res.Status != v1alpha1.ResultCodeSynced {
				continue
			}
			if t.gvk().Kind == "CustomResourceDefinition" {
				if live := r.current(ctx, t); live == nil || !established(live) {
					waits = append(waits, fmt.Sprintf("waiting for %s to be established", t))
				}
				continue
			}
			if !needHealthy || health.IgnoresHealthCheck(t.desired) || r.req.Health == nil {
				continue
			}
			live := r.current(ctx, t)
			if live == nil {
				waits = append(waits, fmt.Sprintf("waiting for %s to appear", t))
				continue
			}
			if st, msg := r.req.Health(live); st != "" && st != health.Healthy && st != health.Suspended {
				w := fmt.Sprintf("waiting for healthy state of %s (%s", t, st)
				if msg != "" {
					w += ": " + msg
				}
				waits = append(waits, w+")")
			}
		}
	}
	if len(waits) > 0 {
		waiting = waits[0]
		if len(waits) > 1 {
			waiting += fmt.Sprintf(" and %d more", len(waits)-1)
		}
	}
	return started, waiting
}

// current is the newest copy of a task's object: written in this step, else the cache, else the API server.
func (r *run) current(ctx context.Context, t *task) *unstructured.Unstructured {
	o := t.obj()
	r.mu.Lock()
	f := r.fresh[t.key()]
	r.mu.Unlock()
	var cached *unstructured.Unstructured
	if r.req.Live != nil {
		cached = r.req.Live(o.GroupVersionKind(), o.GetNamespace(), o.GetName())
	}
	if f != nil && (cached == nil || cached.GetResourceVersion() == f.GetResourceVersion() || !newer(cached, f)) {
		return f
	}
	if cached != nil {
		return cached
	}
	u, err := r.e.Cluster.Get(ctx, o.GroupVersionKind(), o.GetNamespace(), o.GetName())
	if err != nil {
		return nil
	}
	return u
}

// newer guesses whether a is a later state than b: the cache lags the write that produced b, so only a
// strictly higher generation or observed generation is taken as newer.
func newer(a, b *unstructured.Unstructured) bool {
	og := func(u *unstructured.Unstructured) int64 {
		v, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
		return v
	}
	return a.GetGeneration() > b.GetGeneration() || og(a) > og(b)
}

// observeHook updates a running hook's phase from its live object.
func (r *run) observeHook(ctx context.Context, t *task, res *v1alpha1.ResourceResult) {
	o := t.desired
	live, err := r.e.Cluster.Get(ctx, o.GroupVersionKind(), o.GetNamespace(), o.GetName())
	if err != nil {
		return // try again next step
	}
	if live == nil || live.GetAnnotations()[AnnotationOperation] != r.req.OpID {
		// Gone before its result was read: a finished Job removed by its ttlSecondsAfterFinished, or deleted
		// by hand. Nothing can be learned any more; waiting would hang the sync forever.
		res.HookPhase = v1alpha1.OperationSucceeded
		res.Message = "hook object was removed before its result was read (for example by ttlSecondsAfterFinished); assumed complete"
		return
	}
	res.HookPhase, res.Message = hookOutcome(live, r.req.Health)
	if res.HookPhase == v1alpha1.OperationFailed && res.Message == "" {
		res.Message = "hook failed"
	}
}

// start writes the tasks of a group that have not started. It returns a waiting message when a task cannot
// start yet (a hook's previous object still being deleted, a kind whose CRD is not established, a prune
// waiting for confirmation).
func (r *run) start(ctx context.Context, g []*task, started map[*task]bool) string {
	var todo []*task
	var waits []string
	crdsPending := false
	for _, t := range g {
		if !started[t] && t.kind == kindApply && t.gvk().Kind == "CustomResourceDefinition" {
			crdsPending = true
		}
	}
	for _, t := range g {
		if started[t] {
			continue
		}
		if t.kind != kindPrune && t.gvk().Kind != "CustomResourceDefinition" && !r.e.Cluster.Known(t.gvk()) && (crdsPending || r.crdInFlight(g)) {
			waits = append(waits, fmt.Sprintf("waiting for the CustomResourceDefinition of %s", t))
			continue
		}
		todo = append(todo, t)
	}
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(r.e.Parallelism)
	var mu gosync.Mutex
	for _, t := range todo {
		eg.Go(func() error {
			if w := r.startTask(ectx, t); w != "" {
				mu.Lock()
				waits = append(waits, w)
				mu.Unlock()
			}
			return nil
		})
	}
	_ = eg.Wait()
	if len(waits) > 0 {
		sort.Strings(waits)
		return waits[0]
	}
	return ""
}

// crdInFlight reports whether a CRD of the group was applied but is not yet served.
func (r *run) crdInFlight(g []*task) bool {
	for _, t := range g {
		if t.kind == kindApply && t.gvk().Kind == "CustomResourceDefinition" {
			if res, ok := r.results[t.key()]; ok && res.Status == v1alpha1.ResultCodeSynced {
				r.e.Cluster.ResetMapper()
				return true
			}
		}
	}
	return false
}

func (r *run) startTask(ctx context.Context, t *task) string {
	switch t.kind {
	case kindPrune:
		return r.prune(ctx, t)
	case kindHook:
		return r.runHook(ctx, t)
	default:
		r.apply(ctx, t)
		return ""
	}
}

func (r *run) apply(ctx context.Context, t *task) {
	opts := ApplyOptions{ClientSide: !t.opts.ServerSideApply, Replace: t.opts.Replace,
		Force: t.opts.Force || r.req.Force, Validate: t.opts.Validate}
	out, err := r.applyObject(ctx, t.desired, opts)
	if err != nil {
		r.record(t, v1alpha1.ResultCodeSyncFailed, err.Error(), "")
		return
	}
	msg := "created"
	if t.live != nil {
		msg = "configured"
		if t.status == v1alpha1.SyncStatusCodeSynced {
			msg = "unchanged"
		}
	}
	r.mu.Lock()
	r.fresh[t.key()] = out
	r.mu.Unlock()
	r.record(t, v1alpha1.ResultCodeSynced, msg, "")
}

// applyObject applies one object. With Validate=false, an object whose fields the schema does not declare
// (which server-side apply always rejects) is applied client-side, as kubectl apply --validate=false would.
func (r *run) applyObject(ctx context.Context, obj *unstructured.Unstructured, opts ApplyOptions) (*unstructured.Unstructured, error) {
	out, err := r.e.Cluster.Apply(ctx, obj, opts)
	if err != nil && !opts.Validate && !opts.ClientSide && strings.Contains(err.Error(), "field not declared in schema") {
		opts.ClientSide = true
		return r.e.Cluster.Apply(ctx, obj, opts)
	}
	return out, err
}

func (r *run) runHook(ctx context.Context, t *task) string {
	o := t.desired
	live, err := r.e.Cluster.Get(ctx, o.GroupVersionKind(), o.GetNamespace(), o.GetName())
	if err != nil {
		return fmt.Sprintf("reading hook %s: %v", t, err)
	}
	if live != nil {
		if live.GetAnnotations()[AnnotationOperation] == r.req.OpID {
			r.record(t, v1alpha1.ResultCodeSynced, "adopted after a restart", v1alpha1.OperationRunning)
			return ""
		}
		if !t.deletePolicies[PolicyBeforeHookCreation] {
			r.record(t, v1alpha1.ResultCodeSyncFailed, fmt.Sprintf("%s already exists from an earlier sync; "+
				"add the hook-delete-policy BeforeHookCreation to replace it", t), v1alpha1.OperationFailed)
			return ""
		}
		if live.GetDeletionTimestamp() == nil {
			if err := r.e.Cluster.Delete(ctx, live.GroupVersionKind(), live.GetNamespace(), live.GetName(), live.GetUID(), metav1.DeletePropagationBackground); err != nil {
				return fmt.Sprintf("deleting the previous hook %s: %v", t, err)
			}
		}
		return fmt.Sprintf("waiting for the previous hook %s to be deleted", t)
	}
	out, err := r.e.Cluster.Create(ctx, o, false)
	if apierrors.IsAlreadyExists(err) {
		return fmt.Sprintf("waiting for the previous hook %s to be deleted", t)
	}
	if err != nil {
		r.record(t, v1alpha1.ResultCodeSyncFailed, err.Error(), v1alpha1.OperationFailed)
		return ""
	}
	r.mu.Lock()
	r.fresh[t.key()] = out
	r.mu.Unlock()
	r.record(t, v1alpha1.ResultCodeSynced, "created", v1alpha1.OperationRunning)
	return ""
}

func (r *run) prune(ctx context.Context, t *task) string {
	switch {
	case t.opts.PruneDisabled:
		r.record(t, v1alpha1.ResultCodePruneSkipped, "ignored (Prune=false)", "")
		return ""
	case !r.req.Prune:
		r.record(t, v1alpha1.ResultCodePruneSkipped, "ignored (requires pruning)", "")
		return ""
	case t.opts.PruneConfirm && !r.req.DeletionApproved:
		return fmt.Sprintf("waiting for pruning confirmation of %s: annotate the app with %s", t, AnnotationDeletionApproved)
	}
	l := t.live
	err := r.e.Cluster.Delete(ctx, l.GroupVersionKind(), l.GetNamespace(), l.GetName(), l.GetUID(), t.opts.PrunePropagationPolicy)
	if err != nil && !apierrors.IsConflict(err) { // a UID mismatch: the object was replaced, not ours to delete
		r.record(t, v1alpha1.ResultCodeSyncFailed, err.Error(), "")
		return ""
	}
	r.record(t, v1alpha1.ResultCodePruned, "pruned", "")
	return ""
}

// cleanupHooks deletes finished hooks their delete policy says to remove.
func (r *run) cleanupHooks(ctx context.Context) {
	for _, t := range r.tasks {
		if t.kind != kindHook {
			continue
		}
		res, ok := r.results[t.key()]
		if !ok {
			continue
		}
		ok = res.HookPhase == v1alpha1.OperationSucceeded && t.deletePolicies[PolicyHookSucceeded] ||
			(res.HookPhase == v1alpha1.OperationFailed || res.HookPhase == v1alpha1.OperationError) && t.deletePolicies[PolicyHookFailed]
		if !ok {
			continue
		}
		o := t.desired
		if err := r.e.Cluster.Delete(ctx, o.GroupVersionKind(), o.GetNamespace(), o.GetName(), "", metav1.DeletePropagationBackground); err != nil && r.e.Log != nil {
			r.e.Log.WarnContext(ctx, "hook not deleted", "resource", t.String(), "error", err)
		}
	}
}

// Terminate stops a running operation: hooks still running are deleted.
func (e *Engine) Terminate(ctx context.Context, req *Request) Result {
	r := e.newRun(req)
	for _, k := range r.order {
		res := r.results[k]
		if res.HookPhase != v1alpha1.OperationRunning {
			continue
		}
		gvk := schema.GroupVersionKind{Group: res.Group, Version: res.Version, Kind: res.Kind}
		if err := e.Cluster.Delete(ctx, gvk, res.Namespace, res.Name, "", metav1.DeletePropagationBackground); err != nil {
			return r.finish(v1alpha1.OperationRunning, fmt.Sprintf("terminating: deleting hook %s/%s: %v", res.Kind, res.Name, err))
		}
		res.HookPhase = v1alpha1.OperationFailed
		res.Message = "terminated"
	}
	return r.finish(v1alpha1.OperationFailed, "Operation terminated")
}

// dryRun validates every write of the sync with the API server before the first one is made. It returns
// the failure, or "".
func (r *run) dryRun(ctx context.Context) string {
	// Kinds a CRD of this sync introduces, and namespaces this sync creates: objects of those cannot be
	// dry-run before the CRD or namespace exists.
	newKinds, newNamespaces := map[string]bool{}, map[string]bool{}
	for _, t := range r.tasks {
		if t.kind == kindPrune {
			continue
		}
		if g, k, ok := crdDefines(t.desired); ok {
			newKinds[g+"/"+k] = true
		}
		if t.gvk().Kind == "Namespace" && t.gvk().Group == "" {
			newNamespaces[t.desired.GetName()] = true
		}
	}
	var (
		mu    gosync.Mutex
		fails []string
	)
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(r.e.Parallelism)
	for _, t := range r.tasks {
		if t.kind == kindPrune {
			if r.req.DryRun {
				if t.opts.PruneDisabled || !r.req.Prune {
					r.record(t, v1alpha1.ResultCodePruneSkipped, "ignored (requires pruning)", "")
				} else {
					r.record(t, v1alpha1.ResultCodePruned, "pruned (dry run)", "")
				}
			}
			continue
		}
		if t.kind == kindHook || (t.status == v1alpha1.SyncStatusCodeSynced && t.live != nil && !r.req.DryRun) {
			continue // hooks are created, not applied; a Synced object was just dry-run by the compare
		}
		gvk := t.gvk()
		if !r.e.Cluster.Known(gvk) && (newKinds[gvk.Group+"/"+gvk.Kind] || t.opts.SkipDryRunOnMissingResource) {
			if r.req.DryRun {
				r.record(t, v1alpha1.ResultCodeSynced, "skipped dry run: the kind is not served yet", "")
			}
			continue
		}
		eg.Go(func() error {
			opts := ApplyOptions{DryRun: true, ClientSide: !t.opts.ServerSideApply, Replace: t.opts.Replace, Validate: t.opts.Validate}
			_, err := r.applyObject(ectx, t.desired, opts)
			if err != nil && apierrors.IsNotFound(err) && newNamespaces[t.desired.GetNamespace()] {
				err = nil // its namespace is created by this sync
			}
			if err != nil && (t.opts.Force || r.req.Force) && (apierrors.IsInvalid(err) || apierrors.IsConflict(err)) {
				err = nil // an immutable field: Force deletes and re-creates the object
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				fails = append(fails, fmt.Sprintf("%s: %v", t, err))
				r.record(t, v1alpha1.ResultCodeSyncFailed, err.Error(), "")
			} else if r.req.DryRun {
				r.record(t, v1alpha1.ResultCodeSynced, "validated (dry run)", "")
			}
			return nil
		})
	}
	_ = eg.Wait()
	if len(fails) == 0 {
		return ""
	}
	sort.Strings(fails)
	msg := "dry run failed, nothing was applied: " + fails[0]
	if len(fails) > 1 {
		msg += fmt.Sprintf(" (and %d more)", len(fails)-1)
	}
	return msg
}

func (r *run) record(t *task, code v1alpha1.ResultCode, msg string, hookPhase v1alpha1.OperationPhase) {
	o := t.obj()
	gvk := o.GroupVersionKind()
	res := &v1alpha1.ResourceResult{
		Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: o.GetNamespace(), Name: o.GetName(),
		Status: code, Message: msg, HookPhase: hookPhase, SyncPhase: string(t.phase),
	}
	if t.kind == kindHook {
		res.HookType = string(t.phase)
	}
	k := t.key()
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.results[k]; !ok {
		r.order = append(r.order, k)
	}
	r.results[k] = res
}

func (r *run) finish(phase v1alpha1.OperationPhase, msg string) Result {
	out := Result{Phase: phase, Message: msg}
	for _, k := range r.order {
		out.Resources = append(out.Resources, *r.results[k])
	}
	if phase == v1alpha1.OperationRunning {
		out.RequeueAfter = waitPoll
		if strings.HasPrefix(msg, "waiting for pruning confirmation") {
			out.RequeueAfter = 10 * time.Second
		}
	}
	return out
}

// plan turns the request into ordered tasks.
func plan(req *Request) ([]*task, error) {
	selected := map[string]bool{}
	for _, s := range req.Selected {
		selected[s.Group+"/"+s.Kind+"/"+s.Namespace+"/"+s.Name] = true
	}
	isSelected := func(u *unstructured.Unstructured) bool {
		if len(selected) == 0 {
			return true
		}
		gvk := u.GroupVersionKind()
		return selected[gvk.Group+"/"+gvk.Kind+"/"+u.GetNamespace()+"/"+u.GetName()] ||
			selected[gvk.Group+"/"+gvk.Kind+"//"+u.GetName()]
	}
	var tasks []*task
	desiredCount, nsDesired := 0, false
	for _, res := range req.Resources {
		if res.Desired == nil {
			continue
		}
		d := res.Desired
		if phases, hook := hookPhases(d); hook {
			if len(selected) > 0 {
				continue // hooks do not run in a selective sync
			}
			for _, p := range phases {
				h := d.DeepCopy()
				h.SetName(hookName(d, req.OpID, p))
				ann := h.GetAnnotations()
				if ann == nil {
					ann = map[string]string{}
				}
				ann[AnnotationOperation] = req.OpID
				h.SetAnnotations(ann)
				tasks = append(tasks, &task{kind: kindHook, phase: p, wave: Wave(d), desired: h,
					opts: ResourceOptions(req.Options, d.GetAnnotations()), deletePolicies: deletePolicies(d)})
			}
			continue
		}
		desiredCount++
		if d.GetKind() == "Namespace" && d.GroupVersionKind().Group == "" && d.GetName() == req.Namespace {
			nsDesired = true
		}
		if !isSelected(d) {
			continue
		}
		if req.Options.FailOnSharedResource && res.TrackedBy != "" {
			return nil, fmt.Errorf("%s is already tracked by application %s (FailOnSharedResource=true)",
				(&task{desired: d}).String(), res.TrackedBy)
		}
		t := &task{kind: kindApply, phase: PhaseSync, wave: Wave(d), desired: d, live: res.Live, status: res.Status,
			opts: ResourceOptions(req.Options, d.GetAnnotations())}
		if t.opts.ApplyOutOfSyncOnly && res.Status == v1alpha1.SyncStatusCodeSynced && res.Live != nil {
			continue
		}
		tasks = append(tasks, t)
	}
	prunes := 0
	for _, res := range req.Resources {
		if res.Desired != nil || res.Live == nil || IsHook(res.Live) || !isSelected(res.Live) {
			continue
		}
		prunes++
		tasks = append(tasks, &task{kind: kindPrune, phase: PhaseSync, wave: Wave(res.Live), live: res.Live,
			opts: ResourceOptions(req.Options, res.Live.GetAnnotations())})
	}
	if req.Prune && prunes > 0 && desiredCount == 0 && len(selected) == 0 && !req.AllowEmpty {
		return nil, ErrEmptyRender
	}
	if req.Options.CreateNamespace && req.Namespace != "" && !nsDesired {
		ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace",
			"metadata": map[string]any{"name": req.Namespace}}}
		if m := req.NamespaceMetadata; m != nil {
			if len(m.Labels) > 0 {
				ns.SetLabels(m.Labels)
			}
			if len(m.Annotations) > 0 {
				ns.SetAnnotations(m.Annotations)
			}
		}
		tasks = append(tasks, &task{kind: kindApply, phase: PhasePreSync, wave: math.MinInt32, desired: ns,
			opts: req.Options, namespaceTask: true})
	}
	placePrunes(tasks)
	sortTasks(tasks)
	return tasks, nil
}
