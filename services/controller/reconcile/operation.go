package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/health"
	"github.com/moorcd/moor/pkg/project"
	moorsync "github.com/moorcd/moor/pkg/sync"
)

// DefaultRevisionHistoryLimit is how many syncs status.history keeps when revisionHistoryLimit is unset.
const DefaultRevisionHistoryLimit = 10

// Operate runs one step of the app's operation, or of its deletion, and returns when to look again
// (0: nothing pending). Like Reconcile it returns an error only for failures worth a retry.
func (r *Reconciler) Operate(ctx context.Context, name string) (time.Duration, error) {
	app, err := r.opApp(name)
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if app.DeletionTimestamp != nil {
		return r.finalize(ctx, app)
	}
	if app.Operation == nil {
		return 0, nil
	}
	st := app.Status.OperationState
	fresh := st == nil || finished(st.Phase)
	if fresh {
		// A new operation. Its start is recorded before the first hook is created (see step).
		st = &v1alpha1.OperationState{Operation: *app.Operation.DeepCopy(), Phase: v1alpha1.OperationRunning,
			Message: "starting", StartedAt: metav1.NewTime(r.d.Now()).Rfc3339Copy()}
	}
	if st.Phase == v1alpha1.OperationTerminating {
		return r.terminate(ctx, app, st)
	}
	return r.step(ctx, app, st, fresh)
}

func finished(p v1alpha1.OperationPhase) bool {
	return p == v1alpha1.OperationSucceeded || p == v1alpha1.OperationFailed || p == v1alpha1.OperationError
}

// opApp reads the app, preferring what the last operation write returned when the informer has not caught
// up with it yet: a step must see the results the step before recorded.
func (r *Reconciler) opApp(name string) (*v1alpha1.Application, error) {
	app, err := r.d.App(name)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	last := r.written[name]
	r.mu.Unlock()
	if last != nil && last.UID == app.UID && rvLess(app.ResourceVersion, last.ResourceVersion) {
		return last.DeepCopy(), nil
	}
	return app, nil
}

// rvLess compares resourceVersions as etcd revisions; anything unparsable counts as not older.
func rvLess(a, b string) bool {
	x, err1 := strconv.ParseUint(a, 10, 64)
	y, err2 := strconv.ParseUint(b, 10, 64)
	return err1 == nil && err2 == nil && x < y
}

// opID names one run of an operation: a retry is a new run (its hooks run again), a restart is not.
func opID(st *v1alpha1.OperationState) string {
	return fmt.Sprintf("%d-%d", st.StartedAt.Unix(), st.RetryCount)
}

// step prepares the engine's request from the app and runs one step of the sync.
func (r *Reconciler) step(ctx context.Context, app *v1alpha1.Application, st *v1alpha1.OperationState, fresh bool) (time.Duration, error) {
	op := st.Operation.Sync
	if op == nil {
		return r.complete(ctx, app, st, v1alpha1.OperationError, "operation has no sync", nil)
	}
	now := r.d.Now()
	manual := st.Operation.InitiatedBy == nil || !st.Operation.InitiatedBy.Automated
	proj, projName, err := r.appProject(app)
	if err != nil {
		return r.complete(ctx, app, st, v1alpha1.OperationFailed, fmt.Sprintf("Application referencing project %s which does not exist", projName), nil)
	}
	dest := app.Spec.Destination
	cl, err := r.d.Clusters().Lookup(dest.Server, dest.Name)
	if err != nil {
		return r.complete(ctx, app, st, v1alpha1.OperationFailed, fmt.Sprintf("Unable to find destination cluster: %v", err), nil)
	}
	if d := project.SyncMayContinue(proj, app, cl.Server, manual, st.StartedAt.Time, now); !d.Allowed {
		return r.complete(ctx, app, st, v1alpha1.OperationFailed, "Sync operation blocked: "+d.Reason, nil)
	}
	sources := operationSources(app, op)
	pinned, err := r.pinRevisions(ctx, st, op, manual, sources, proj)
	if err != nil {
		return r.retryOrComplete(ctx, app, st, fmt.Sprintf("ComparisonError: %v", err))
	}
	probe := app.DeepCopy()
	if app.Spec.HasMultipleSources() || len(op.Sources) > 0 {
		probe.Spec.Source, probe.Spec.Sources = nil, sources
	} else {
		probe.Spec.Source, probe.Spec.Sources = &sources[0], nil
	}
	if v := project.CheckApplication(proj, probe, cl.Server); len(v) > 0 {
		return r.complete(ctx, app, st, v1alpha1.OperationFailed, violations(v), nil)
	}
	conn, err := r.d.Connect(ctx, cl)
	if err != nil {
		return 0, fmt.Errorf("cluster %s: %w", cl.Server, err)
	}
	if conn.Sync == nil {
		return r.complete(ctx, app, st, v1alpha1.OperationError, "the destination cluster cannot be written to", nil)
	}
	rd, err := r.operationRender(ctx, app, pinned, proj, conn)
	if err != nil {
		// Nothing is applied or pruned from a failed render.
		if st.RetryCount == 0 && len(resultsOf(st)) == 0 {
			return r.retryOrComplete(ctx, app, st, fmt.Sprintf("ComparisonError: %v", err))
		}
		return 0, fmt.Errorf("render for sync: %w", err)
	}
	cs := settingsOf(r.d.Settings)
	assessor := r.d.Assessor()
	cmp := compare(ctx, &compareInput{
		app: app, instance: app.Name, desired: rd.desired, namespace: dest.Namespace,
		live: conn.Live, differ: conn.Differ, readLive: conn.ReadLive, assessor: assessor,
		trackingMode: cs.TrackingMethod, labelKey: cs.InstanceLabelKey,
	})
	var forbidden []string
	for _, m := range cmp.resources {
		if m.desired != nil && !project.ResourceAllowed(proj, m.key.Group, m.key.Kind, m.key.Name, m.key.Namespace != "") {
			forbidden = append(forbidden, fmt.Sprintf("resource %s is not permitted in project %s", m.key, proj.Name))
		}
	}
	if len(forbidden) > 0 {
		return r.complete(ctx, app, st, v1alpha1.OperationFailed, strings.Join(forbidden, "; "), nil)
	}
	opts := moorsync.DefaultOptions()
	var policyOpts []string
	var nsMeta *v1alpha1.ManagedNamespaceMetadata
	allowEmpty := false
	if p := app.Spec.SyncPolicy; p != nil {
		policyOpts = p.SyncOptions
		nsMeta = p.ManagedNamespaceMetadata
		if p.Automated != nil && p.Automated.AllowEmpty != nil {
			allowEmpty = *p.Automated.AllowEmpty
		}
	}
	opts = moorsync.ParseOptions(opts, append(append([]string(nil), policyOpts...), op.SyncOptions...))
	resources := make([]moorsync.Resource, 0, len(cmp.resources))
	for _, m := range cmp.resources {
		res := moorsync.Resource{Desired: m.desired, Live: m.live, Status: m.status}
		if m.liveApp != "" && m.liveApp != app.Name {
			res.TrackedBy = m.liveApp
		}
		if opts.RespectIgnoreDifferences && m.desired != nil && m.live != nil {
			res.Desired = keepIgnored(m.desired, m.live, app.Spec.IgnoreDifferences)
		}
		resources = append(resources, res)
	}
	force := false
	if s := op.SyncStrategy; s != nil {
		force = (s.Apply != nil && s.Apply.Force) || (s.Hook != nil && s.Hook.Force)
	}
	if fresh && !op.DryRun && hasHooks(resources) {
		// Hooks carry the operation's id, made of its start time: record the start before any hook exists,
		// so a controller restarted mid-sync finds the hooks it made instead of running them again.
		written, err := r.writeOperation(ctx, app, st, false, nil)
		if err != nil {
			return 0, err
		}
		app, st = written, written.Status.OperationState
	}
	_, approved := app.Annotations[moorsync.AnnotationDeletionApproved]
	req := &moorsync.Request{
		OpID: opID(st), Namespace: dest.Namespace, Resources: resources, Options: opts, NamespaceMetadata: nsMeta,
		Prune: op.Prune, DryRun: op.DryRun, Force: force, Selected: op.Resources, AllowEmpty: allowEmpty,
		DeletionApproved: approved, Previous: resultsOf(st),
		Live: func(gvk schema.GroupVersionKind, ns, name string) *unstructured.Unstructured {
			if res, ok := conn.Live.Get(gvk, ns, name); ok {
				return res.Object
			}
			return nil
		},
		Health: func(u *unstructured.Unstructured) (health.Status, string) {
			res, err := assessor.Assess(u)
			if err != nil {
				return health.Unknown, err.Error()
			}
			if res == nil {
				return "", ""
			}
			return res.Status, res.Message
		},
	}
	res := conn.Sync.Step(ctx, req)
	sr := &v1alpha1.SyncOperationResult{Resources: res.Resources}
	if app.Spec.HasMultipleSources() || len(op.Sources) > 0 {
		sr.Sources, sr.Revisions = sources, rd.revisions
	} else {
		sr.Source = &sources[0]
		if len(rd.revisions) > 0 {
			sr.Revision = rd.revisions[0]
		}
	}
	if nsMeta != nil && opts.CreateNamespace {
		sr.ManagedNamespaceMetadata = nsMeta
	}
	st = st.DeepCopy()
	st.SyncResult = sr
	switch res.Phase {
	case v1alpha1.OperationRunning:
		st.Message = res.Message
		if _, err := r.writeOperation(ctx, app, st, false, nil); err != nil {
			return 0, err
		}
		return res.RequeueAfter, nil
	case v1alpha1.OperationFailed:
		return r.retryOrComplete(ctx, app, st, res.Message)
	default:
		return r.complete(ctx, app, st, res.Phase, res.Message, sr)
	}
}

func hasHooks(rs []moorsync.Resource) bool {
	for _, r := range rs {
		if r.Desired != nil && moorsync.IsHook(r.Desired) {
			return true
		}
	}
	return false
}

func resultsOf(st *v1alpha1.OperationState) []v1alpha1.ResourceResult {
	if st.SyncResult == nil {
		return nil
	}
	return st.SyncResult.Resources
}

// operationSources are the sources an operation syncs: the app's, or the operation's own (a rollback),
// at the operation's revision(s) when it names them.
func operationSources(app *v1alpha1.Application, op *v1alpha1.SyncOperation) []v1alpha1.ApplicationSource {
	var sources []v1alpha1.ApplicationSource
	switch {
	case len(op.Sources) > 0:
		sources = append(sources, op.Sources...)
	case op.Source != nil && !app.Spec.HasMultipleSources():
		sources = []v1alpha1.ApplicationSource{*op.Source.DeepCopy()}
	default:
		for _, s := range app.Spec.GetSources() {
			sources = append(sources, *s.DeepCopy())
		}
	}
	if op.Revision != "" && len(sources) == 1 {
		sources[0].TargetRevision = op.Revision
	}
	for i, rev := range op.Revisions {
		if i < len(sources) && rev != "" {
			sources[i].TargetRevision = rev
		}
	}
	return sources
}

// pinRevisions makes every step of one operation sync the same commits. The sources are pinned to the
// revisions the first step recorded in syncResult, so a push in the middle of a sync (or between retries)
// does not mix two commits. The first step of a manual sync that names no revision resolves the target afresh (no cached
// ls-remote): a sync asked for right after a push deploys that push.
func (r *Reconciler) pinRevisions(ctx context.Context, st *v1alpha1.OperationState, op *v1alpha1.SyncOperation, manual bool,
	sources []v1alpha1.ApplicationSource, proj *v1alpha1.AppProject) ([]v1alpha1.ApplicationSource, error) {
	sources = slices.Clone(sources) // the history records the sources as asked for
	// A retry syncs the same commits too, unless retry.refresh asked for what the target points at by then.
	refresh := st.Operation.Retry != nil && st.Operation.Retry.Refresh != nil && *st.Operation.Retry.Refresh
	if sr := st.SyncResult; sr != nil && (len(sr.Resources) > 0 || st.RetryCount > 0 && !refresh) {
		revs := sr.Revisions
		if len(revs) == 0 && sr.Revision != "" {
			revs = []string{sr.Revision}
		}
		if len(revs) == len(sources) {
			for i := range sources {
				if revs[i] != "" {
					sources[i].TargetRevision = revs[i]
				}
			}
		}
		return sources, nil
	}
	if !manual || op.Revision != "" || len(op.Revisions) > 0 || op.Source != nil || len(op.Sources) > 0 {
		return sources, nil
	}
	secrets, err := r.d.Secrets()
	if err != nil {
		return nil, fmt.Errorf("list repository secrets: %w", err)
	}
	revs, err := r.resolveRevisions(ctx, sources, proj, secrets, true)
	if err != nil {
		return nil, err
	}
	for i := range sources {
		if i < len(revs) && revs[i] != "" {
			sources[i].TargetRevision = revs[i]
		}
	}
	return sources, nil
}

// operationRender renders the operation's sources, reusing the app's last render when it is of the same
// sources at the same commits (an automated sync of what the compare just rendered).
func (r *Reconciler) operationRender(ctx context.Context, app *v1alpha1.Application, sources []v1alpha1.ApplicationSource,
	proj *v1alpha1.AppProject, conn *Cluster) (*render, error) {
	r.mu.Lock()
	last := r.renders[app.Name]
	r.mu.Unlock()
	if last != nil && last.specHash == specHash(app) && sameSourcesAt(app.Spec.GetSources(), sources, last.revisions) {
		return last, nil
	}
	secrets, err := r.d.Secrets()
	if err != nil {
		return nil, fmt.Errorf("list repository secrets: %w", err)
	}
	return r.renderSources(ctx, app, sources, proj, conn, secrets, false)
}

// sameSourcesAt reports whether want is spec at exactly the rendered revisions.
func sameSourcesAt(spec, want []v1alpha1.ApplicationSource, revisions []string) bool {
	if len(spec) != len(want) || len(revisions) != len(want) {
		return false
	}
	for i := range spec {
		a, b := spec[i], want[i]
		if b.TargetRevision != revisions[i] && b.TargetRevision != a.TargetRevision {
			return false
		}
		if b.TargetRevision == a.TargetRevision && revisions[i] != "" && b.TargetRevision != revisions[i] {
			return false // a branch or tag: it may have moved since the render
		}
		a.TargetRevision, b.TargetRevision = "", ""
		x, _ := json.Marshal(a)
		y, _ := json.Marshal(b)
		if string(x) != string(y) {
			return false
		}
	}
	return true
}

// retryOrComplete ends a failed run: another run after the retry backoff when the retry policy allows,
// else the operation fails.
func (r *Reconciler) retryOrComplete(ctx context.Context, app *v1alpha1.Application, st *v1alpha1.OperationState, msg string) (time.Duration, error) {
	limit, backoff := retryPolicy(st.Operation.Retry)
	if limit < 0 || st.RetryCount < limit {
		wait := backoff(st.RetryCount)
		st = st.DeepCopy()
		st.RetryCount++
		st.Phase = v1alpha1.OperationRunning
		st.Message = fmt.Sprintf("Retrying attempt #%d at %s: %s", st.RetryCount,
			r.d.Now().Add(wait).UTC().Format(time.Kitchen), msg)
		if rs := st.Operation.Retry; rs != nil && rs.Refresh != nil && *rs.Refresh && st.Operation.Sync != nil &&
			st.Operation.Sync.Source == nil && len(st.Operation.Sync.Sources) == 0 {
			// retry.refresh: the next attempt syncs what the target revision points at by then.
			st.Operation.Sync.Revision, st.Operation.Sync.Revisions = "", nil
		}
		if st.SyncResult != nil {
			st.SyncResult.Resources = nil
		}
		if _, err := r.writeOperation(ctx, app, st, false, nil); err != nil {
			return 0, err
		}
		return wait, nil
	}
	return r.complete(ctx, app, st, v1alpha1.OperationFailed, msg, nil)
}

// retryPolicy reads a retry strategy with the reference's defaults: no retry unless asked; backoff 5s,
// factor 2, at most 3m.
func retryPolicy(rs *v1alpha1.RetryStrategy) (limit int64, backoff func(n int64) time.Duration) {
	duration, factor, maxDur := 5*time.Second, int64(2), 3*time.Minute
	if rs != nil {
		if rs.Limit != nil {
			limit = *rs.Limit
		}
		if b := rs.Backoff; b != nil {
			if d, err := parseDuration(b.Duration); err == nil && d > 0 {
				duration = d
			}
			if b.Factor != nil && *b.Factor > 0 {
				factor = *b.Factor
			}
			if d, err := parseDuration(b.MaxDuration); err == nil && d > 0 {
				maxDur = d
			}
		}
	}
	return limit, func(n int64) time.Duration {
		d := duration
		for range n {
			d *= time.Duration(factor)
			if d >= maxDur {
				return maxDur
			}
		}
		return min(d, maxDur)
	}
}

// parseDuration reads "5s", "3m" or a bare number of seconds.
func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("empty")
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(s)
}

// complete ends the operation: final phase, finishedAt, the operation field cleared, and on success a
// history entry.
func (r *Reconciler) complete(ctx context.Context, app *v1alpha1.Application, st *v1alpha1.OperationState,
	phase v1alpha1.OperationPhase, msg string, sr *v1alpha1.SyncOperationResult) (time.Duration, error) {
	st = st.DeepCopy()
	now := metav1.NewTime(r.d.Now()).Rfc3339Copy()
	st.Phase, st.Message, st.FinishedAt = phase, msg, &now
	if sr != nil {
		st.SyncResult = sr
	}
	var history v1alpha1.RevisionHistories
	if phase == v1alpha1.OperationSucceeded && st.Operation.Sync != nil && !st.Operation.Sync.DryRun && st.SyncResult != nil {
		history = appendHistory(app, st, now)
	}
	if _, err := r.writeOperation(ctx, app, st, true, history); err != nil {
		return 0, err
	}
	if r.d.Requeue != nil {
		r.d.Requeue(app.Name, LevelNormal, 0) // the status reflects the sync at once
	}
	return 0, nil
}

func appendHistory(app *v1alpha1.Application, st *v1alpha1.OperationState, now metav1.Time) v1alpha1.RevisionHistories {
	// Ids count from 0, as Argo CD's.
	var id int64
	for _, h := range app.Status.History {
		id = max(id, h.ID+1)
	}
	started := st.StartedAt
	sr := st.SyncResult
	entry := v1alpha1.RevisionHistory{
		ID: id, Revision: sr.Revision, Revisions: sr.Revisions, Source: sr.Source, Sources: sr.Sources,
		DeployedAt: now, DeployStartedAt: &started, InitiatedBy: st.Operation.InitiatedBy,
	}
	h := append(append(v1alpha1.RevisionHistories(nil), app.Status.History...), entry)
	limit := int64(DefaultRevisionHistoryLimit)
	if app.Spec.RevisionHistoryLimit != nil {
		limit = max(*app.Spec.RevisionHistoryLimit, 1)
	}
	if int64(len(h)) > limit {
		h = h[int64(len(h))-limit:]
	}
	return h
}

// terminate stops a running operation at the user's request.
func (r *Reconciler) terminate(ctx context.Context, app *v1alpha1.Application, st *v1alpha1.OperationState) (time.Duration, error) {
	dest := app.Spec.Destination
	cl, err := r.d.Clusters().Lookup(dest.Server, dest.Name)
	if err != nil {
		return r.complete(ctx, app, st, v1alpha1.OperationFailed, "Operation terminated", nil)
	}
	conn, err := r.d.Connect(ctx, cl)
	if err != nil || conn.Sync == nil {
		return r.complete(ctx, app, st, v1alpha1.OperationFailed, "Operation terminated", nil)
	}
	res := conn.Sync.Terminate(ctx, &moorsync.Request{OpID: opID(st), Previous: resultsOf(st)})
	if res.Phase == v1alpha1.OperationRunning {
		return 0, fmt.Errorf("%s", res.Message)
	}
	st = st.DeepCopy()
	if st.SyncResult == nil {
		st.SyncResult = &v1alpha1.SyncOperationResult{}
	}
	st.SyncResult.Resources = res.Resources
	return r.complete(ctx, app, st, v1alpha1.OperationFailed, res.Message, nil)
}

// writeOperation patches status.operationState (and history, and clears the operation when done). The merge
// patch is computed from the app as read, so fields that became empty are removed.
func (r *Reconciler) writeOperation(ctx context.Context, app *v1alpha1.Application, st *v1alpha1.OperationState,
	done bool, history v1alpha1.RevisionHistories) (*v1alpha1.Application, error) {
	type doc struct {
		Operation *v1alpha1.Operation `json:"operation"`
		Status    map[string]any      `json:"status"`
	}
	oldStatus := map[string]any{"operationState": app.Status.OperationState}
	newStatus := map[string]any{"operationState": st}
	if history != nil {
		oldStatus["history"], newStatus["history"] = app.Status.History, history
	}
	op := app.Operation
	if done {
		op = nil
	}
	oldDoc, err := json.Marshal(doc{Operation: app.Operation, Status: oldStatus})
	if err != nil {
		return nil, err
	}
	newDoc, err := json.Marshal(doc{Operation: op, Status: newStatus})
	if err != nil {
		return nil, err
	}
	body, err := jsonpatch.CreateMergePatch(oldDoc, newDoc)
	if err != nil {
		return nil, err
	}
	patchType := types.MergePatchType
	if done && app.Operation != nil && app.Status.ReconciledAt != nil {
		// Clear the operation only if it is still the one that ran (a new one written meanwhile stays): a
		// JSON patch that tests the operation, so concurrent status writes do not conflict with it.
		ops := []map[string]any{
			{"op": "test", "path": "/operation", "value": app.Operation},
			{"op": "remove", "path": "/operation"},
			{"op": "add", "path": "/status/operationState", "value": st},
		}
		if history != nil {
			ops = append(ops, map[string]any{"op": "add", "path": "/status/history", "value": history})
		}
		if body, err = json.Marshal(ops); err != nil {
			return nil, err
		}
		patchType = types.JSONPatchType
	} else if done {
		var p map[string]any
		if err := json.Unmarshal(body, &p); err != nil {
			return nil, err
		}
		p["metadata"] = map[string]any{"resourceVersion": app.ResourceVersion}
		if body, err = json.Marshal(p); err != nil {
			return nil, err
		}
	}
	out, err := r.d.Client.ArgoprojV1alpha1().Applications(app.Namespace).Patch(ctx, app.Name, patchType, body, metav1.PatchOptions{})
	if err != nil && patchType == types.JSONPatchType && (apierrors.IsInvalid(err) || apierrors.IsBadRequest(err)) {
		// The stored operation does not read back exactly as typed (fields Moor does not know): guard the
		// whole object instead.
		var p map[string]any
		if body, err = jsonpatch.CreateMergePatch(oldDoc, newDoc); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(body, &p); err != nil {
			return nil, err
		}
		p["metadata"] = map[string]any{"resourceVersion": app.ResourceVersion}
		if body, err = json.Marshal(p); err != nil {
			return nil, err
		}
		out, err = r.d.Client.ArgoprojV1alpha1().Applications(app.Namespace).Patch(ctx, app.Name, types.MergePatchType, body, metav1.PatchOptions{})
	}
	if err != nil {
		return nil, fmt.Errorf("write operation state of %s: %w", app.Name, err)
	}
	r.mu.Lock()
	r.written[app.Name] = out
	r.mu.Unlock()
	return out, nil
}
