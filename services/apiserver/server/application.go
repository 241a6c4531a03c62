package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/kubeproto"
	"github.com/moorcd/moor/pkg/project"
	"github.com/moorcd/moor/pkg/rbac"
	moorsync "github.com/moorcd/moor/pkg/sync"
	"github.com/moorcd/moor/pkg/webhook"
	"github.com/moorcd/moor/services/apiserver/auth"
)

// AnnotationRefresh asks the controller for a refresh ("normal" or "hard").
const AnnotationRefresh = "argocd.argoproj.io/refresh"

// Finalizers that make deleting an application delete its resources (cascade), Argo CD's names.
const (
	finalizerResources           = "resources-finalizer.argocd.argoproj.io"
	finalizerResourcesBackground = "resources-finalizer.argocd.argoproj.io/background"
)

// maxWriteAttempts bounds the retries of an operation write that loses races with other writers.
const maxWriteAttempts = 5

var getOpts = metav1.GetOptions{}

// ApplicationServer implements moor.api.v1.ApplicationService.
type ApplicationServer struct {
	apiv1.UnimplementedApplicationServiceServer
	*core
	cache appCache
}

// List returns the applications that match the filters and that the caller may get, in name order. With a
// limit it returns one page, and metadata.continue (with remainingItemCount) resumes after its last app.
// Pages are read from the current state: an app created or deleted between two pages shows or not, as its
// name falls, but no app is listed twice.
func (s *ApplicationServer) List(ctx context.Context, req *apiv1.ApplicationServiceListRequest) (*apiv1.ApplicationServiceListResponse, error) {
	apps, meta, err := s.list(ctx, req)
	if err != nil {
		return nil, err
	}
	items := make([]*apiv1.Application, 0, len(apps))
	for _, a := range apps {
		msg, err := s.cache.message(a)
		if err != nil {
			return nil, toStatus(ctx, s.d.Log, err)
		}
		items = append(items, msg)
	}
	return &apiv1.ApplicationServiceListResponse{List: &apiv1.ApplicationList{
		ApiVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "ApplicationList",
		Metadata: meta, Items: items,
	}}, nil
}

// list selects the applications of one List page and its list metadata.
func (s *ApplicationServer) list(ctx context.Context, req *apiv1.ApplicationServiceListRequest) ([]*v1alpha1.Application, *apiv1.ListMeta, error) {
	if ns := req.GetAppNamespace(); ns != "" && ns != s.d.Namespace {
		return nil, nil, invalidStatus(invalid("appNamespace", "applications are served from namespace %s only", s.d.Namespace))
	}
	if req.GetLimit() < 0 {
		return nil, nil, invalidStatus(invalid("limit", "must not be negative"))
	}
	after := ""
	if req.GetContinue() != "" {
		var ok bool
		if after, ok = decodeContinue(req.GetContinue()); !ok {
			return nil, nil, invalidStatus(invalid("continue", "not a continue token of this list"))
		}
	}
	sel := labels.Everything()
	if req.GetSelector() != "" {
		var err error
		if sel, err = labels.Parse(req.GetSelector()); err != nil {
			return nil, nil, invalidStatus(invalid("selector", "%v", err))
		}
	}
	var apps []*v1alpha1.Application
	if name := req.GetName(); name != "" {
		// One app by name: no need to list them all.
		a, err := s.d.Apps.Get(name)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return nil, nil, toStatus(ctx, s.d.Log, err)
		case sel.Matches(labels.Set(a.Labels)):
			apps = append(apps, a)
		}
	} else {
		var err error
		if apps, err = s.d.Apps.List(sel); err != nil {
			return nil, nil, toStatus(ctx, s.d.Log, err)
		}
		if sel.Empty() && s.cache.needsSweep() {
			s.cache.sweep(apps)
		}
	}
	projects := append(slices.Clone(req.GetProjects()), req.GetProject()...)
	repo := ""
	if req.GetRepo() != "" {
		repo = webhook.NormalizeURL(req.GetRepo())
	}
	// The lister's objects are shared: sort the slice of pointers, never the apps.
	slices.SortFunc(apps, func(a, b *v1alpha1.Application) int { return strings.Compare(a.Name, b.Name) })
	if after != "" {
		i, found := slices.BinarySearchFunc(apps, after, func(a *v1alpha1.Application, name string) int { return strings.Compare(a.Name, name) })
		if found {
			i++
		}
		apps = apps[i:]
	}
	e := s.d.Enforcer()
	subjects := auth.FromContext(ctx).Subjects()
	visible := func(a *v1alpha1.Application) bool {
		if len(projects) > 0 && !slices.Contains(projects, projectOf(a)) || repo != "" && !usesRepo(a, repo) {
			return false
		}
		return e != nil && e.Enforce(subjects, rbac.ResourceApplications, rbac.ActionGet, rbac.AppObject(projectOf(a), a.Name))
	}
	limit := int(req.GetLimit())
	capacity := len(apps)
	if limit > 0 {
		capacity = min(capacity, limit)
	}
	out := make([]*v1alpha1.Application, 0, capacity)
	meta := &apiv1.ListMeta{}
	for i, a := range apps {
		if !visible(a) {
			continue
		}
		if limit > 0 && len(out) == limit {
			meta.Continue = encodeContinue(out[len(out)-1].Name)
			remaining := int64(1)
			for _, b := range apps[i+1:] {
				if visible(b) {
					remaining++
				}
			}
			meta.RemainingItemCount = &remaining
			break
		}
		out = append(out, a)
	}
	return out, meta, nil
}

func usesRepo(a *v1alpha1.Application, normalized string) bool {
	for _, src := range a.Spec.GetSources() {
		if webhook.NormalizeURL(src.RepoURL) == normalized {
			return true
		}
	}
	return false
}

// Get returns one application; with refresh it first asks the controller to refresh it.
func (s *ApplicationServer) Get(ctx context.Context, req *apiv1.ApplicationServiceGetRequest) (*apiv1.ApplicationServiceGetResponse, error) {
	app, err := s.cachedApp(ctx, req.GetName(), req.GetProject(), rbac.ActionGet)
	if err != nil {
		return nil, err
	}
	if r := req.GetRefresh(); r != "" {
		if r != "normal" && r != "hard" {
			return nil, invalidStatus(invalid("refresh", "want normal or hard, not %q", r))
		}
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{AnnotationRefresh: r}}})
		if app, err = s.d.Client.ArgoprojV1alpha1().Applications(s.d.Namespace).Patch(ctx, app.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			return nil, toStatus(ctx, s.d.Log, err)
		}
	}
	msg, err := s.cache.message(app)
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	if s.cache.needsSweep() {
		if all, err := s.d.Apps.List(labels.Everything()); err == nil {
			s.cache.sweep(all)
		}
	}
	return &apiv1.ApplicationServiceGetResponse{Application: msg}, nil
}

// Sync validates the request and writes it as the application's operation.
func (s *ApplicationServer) Sync(ctx context.Context, req *apiv1.ApplicationServiceSyncRequest) (*apiv1.ApplicationServiceSyncResponse, error) {
	app, err := s.writeOperation(ctx, req.GetName(), req.GetProject(), func(app *v1alpha1.Application) (*v1alpha1.Operation, error) {
		if len(req.GetManifests()) > 0 {
			if err := s.authorize(ctx, rbac.ResourceApplications, rbac.ActionOverride, rbac.AppObject(projectOf(app), app.Name)); err != nil {
				return nil, err
			}
		}
		op, err := syncOperation(app, req)
		if err != nil {
			return nil, err
		}
		if err := s.validateSync(ctx, app, op); err != nil {
			return nil, err
		}
		return op, nil
	})
	if err != nil {
		return nil, err
	}
	msg, err := appMessage(app)
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	return &apiv1.ApplicationServiceSyncResponse{Application: msg}, nil
}

// Rollback writes an operation that syncs the application back to one of its history entries.
func (s *ApplicationServer) Rollback(ctx context.Context, req *apiv1.ApplicationServiceRollbackRequest) (*apiv1.ApplicationServiceRollbackResponse, error) {
	app, err := s.writeOperation(ctx, req.GetName(), req.GetProject(), func(app *v1alpha1.Application) (*v1alpha1.Operation, error) {
		op, err := moorsync.RollbackOperation(app, req.GetId(), req.GetPrune(), req.GetDryRun(), initiator(ctx))
		switch {
		case errors.Is(err, moorsync.ErrRollbackAutomated):
			return nil, err
		case err != nil:
			return nil, invalid("id", "%v", err)
		}
		if err := s.validateSync(ctx, app, nil); err != nil {
			return nil, err
		}
		return op, nil
	})
	if err != nil {
		return nil, err
	}
	msg, err := appMessage(app)
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	return &apiv1.ApplicationServiceRollbackResponse{Application: msg}, nil
}

// writeOperation authorizes a sync of the named app, builds its operation with build and writes it with a
// merge patch guarded by the resourceVersion that was read, retrying when another writer got there first.
func (s *ApplicationServer) writeOperation(ctx context.Context, name, wantProject string,
	build func(*v1alpha1.Application) (*v1alpha1.Operation, error)) (*v1alpha1.Application, error) {
	apps := s.d.Client.ArgoprojV1alpha1().Applications(s.d.Namespace)
	for attempt := 1; ; attempt++ {
		app, err := s.appForAction(ctx, name, wantProject, rbac.ActionSync)
		if err != nil {
			return nil, err
		}
		if app.Operation != nil {
			return nil, toStatus(ctx, s.d.Log, ErrOperationInProgress)
		}
		op, err := build(app)
		if err != nil {
			return nil, toStatus(ctx, s.d.Log, err)
		}
		if op.InitiatedBy == nil {
			op.InitiatedBy = initiator(ctx)
		}
		patch, err := json.Marshal(map[string]any{
			"metadata":  map[string]any{"resourceVersion": app.ResourceVersion},
			"operation": op,
		})
		if err != nil {
			return nil, toStatus(ctx, s.d.Log, err)
		}
		out, err := apps.Patch(ctx, app.Name, types.MergePatchType, patch, metav1.PatchOptions{})
		if apierrors.IsConflict(err) && attempt < maxWriteAttempts {
			continue
		}
		if err != nil {
			return nil, toStatus(ctx, s.d.Log, err)
		}
		s.d.Log.InfoContext(ctx, "operation requested", "app", app.Name, "project", projectOf(app), "user", op.InitiatedBy.Username)
		return out, nil
	}
}

// validateSync checks that the project allows the app and, when op names revisions, that they resolve.
func (s *ApplicationServer) validateSync(ctx context.Context, app *v1alpha1.Application, op *v1alpha1.Operation) error {
	proj, err := s.appProject(projectOf(app))
	if err != nil {
		if apierrors.IsNotFound(err) {
			return invalid("spec.project", "application references project %s which does not exist", projectOf(app))
		}
		return err
	}
	if v := project.CheckApplication(proj, app, ""); len(v) > 0 {
		return invalid(v[0].Field, "%s", v[0].Message)
	}
	if op == nil || op.Sync == nil || s.d.Revisions == nil {
		return nil
	}
	if op.Sync.Revision != "" && !app.Spec.HasMultipleSources() {
		if err := s.d.Revisions.CheckRevision(ctx, app, proj, 0, op.Sync.Revision); err != nil {
			return invalid("revision", "%v", err)
		}
	}
	for i, rev := range op.Sync.Revisions {
		if rev == "" || i >= len(app.Spec.Sources) {
			continue
		}
		if err := s.d.Revisions.CheckRevision(ctx, app, proj, i, rev); err != nil {
			return invalid(fmt.Sprintf("revisions[%d]", i), "%v", err)
		}
	}
	return nil
}

// syncOperation turns a sync request into the operation the controller runs.
func syncOperation(app *v1alpha1.Application, req *apiv1.ApplicationServiceSyncRequest) (*v1alpha1.Operation, error) {
	so := &v1alpha1.SyncOperation{
		Revision:    req.GetRevision(),
		Prune:       req.GetPrune(),
		DryRun:      req.GetDryRun(),
		Manifests:   req.GetManifests(),
		SyncOptions: req.GetSyncOptions().GetItems(),
	}
	if st := req.GetStrategy(); st != nil {
		switch {
		case st.GetHook() != nil:
			so.SyncStrategy = &v1alpha1.SyncStrategy{Hook: &v1alpha1.SyncStrategyHook{SyncStrategyApply: v1alpha1.SyncStrategyApply{Force: st.GetHook().GetForce()}}}
		case st.GetApply() != nil:
			so.SyncStrategy = &v1alpha1.SyncStrategy{Apply: &v1alpha1.SyncStrategyApply{Force: st.GetApply().GetForce()}}
		}
	}
	for _, r := range req.GetResources() {
		if r.GetKind() == "" || r.GetName() == "" {
			return nil, invalid("resources", "every resource needs a kind and a name")
		}
		so.Resources = append(so.Resources, v1alpha1.SyncOperationResource{Group: r.GetGroup(), Kind: r.GetKind(), Name: r.GetName(), Namespace: r.GetNamespace()})
	}
	if revs := req.GetRevisions(); len(revs) > 0 {
		if !app.Spec.HasMultipleSources() {
			return nil, invalid("revisions", "the application has a single source: use revision")
		}
		positions := req.GetSourcePositions()
		switch {
		case len(positions) == 0 && len(revs) == len(app.Spec.Sources):
			so.Revisions = slices.Clone(revs)
		case len(positions) == len(revs):
			so.Revisions = make([]string, len(app.Spec.Sources))
			for i, src := range app.Spec.Sources {
				so.Revisions[i] = src.TargetRevision
			}
			for i, pos := range positions {
				if pos < 1 || int(pos) > len(app.Spec.Sources) {
					return nil, invalid("sourcePositions", "position %d is not between 1 and %d", pos, len(app.Spec.Sources))
				}
				so.Revisions[pos-1] = revs[i]
			}
		default:
			return nil, invalid("sourcePositions", "give one position per revision, or one revision per source")
		}
	}
	op := &v1alpha1.Operation{Sync: so}
	for _, info := range req.GetInfos() {
		op.Info = append(op.Info, v1alpha1.Info{Name: info.GetName(), Value: info.GetValue()})
	}
	if rs := req.GetRetryStrategy(); rs != nil {
		op.Retry = &v1alpha1.RetryStrategy{}
		if err := kubeproto.FromStruct(rs, op.Retry); err != nil {
			return nil, invalid("retryStrategy", "%v", err)
		}
	}
	return op, nil
}

// TerminateOperation asks the controller to stop the running operation.
func (s *ApplicationServer) TerminateOperation(ctx context.Context, req *apiv1.ApplicationServiceTerminateOperationRequest) (*apiv1.ApplicationServiceTerminateOperationResponse, error) {
	app, err := s.appForAction(ctx, req.GetName(), req.GetProject(), rbac.ActionSync)
	if err != nil {
		return nil, err
	}
	if app.Operation == nil {
		return nil, toStatus(ctx, s.d.Log, ErrNoOperation)
	}
	// An operation the controller has not started yet is simply withdrawn; a running one is marked, and the
	// controller stops it.
	change := map[string]any{"operation": nil}
	if st := app.Status.OperationState; st != nil && st.Phase == v1alpha1.OperationRunning {
		change = map[string]any{"status": map[string]any{"operationState": map[string]any{"phase": v1alpha1.OperationTerminating}}}
	}
	change["metadata"] = map[string]any{"resourceVersion": app.ResourceVersion}
	patch, _ := json.Marshal(change)
	if _, err := s.d.Client.ArgoprojV1alpha1().Applications(s.d.Namespace).Patch(ctx, app.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	return &apiv1.ApplicationServiceTerminateOperationResponse{}, nil
}

// Delete deletes the application; with cascade (the default) the controller deletes its resources first.
func (s *ApplicationServer) Delete(ctx context.Context, req *apiv1.ApplicationServiceDeleteRequest) (*apiv1.ApplicationServiceDeleteResponse, error) {
	app, err := s.appForAction(ctx, req.GetName(), req.GetProject(), rbac.ActionDelete)
	if err != nil {
		return nil, err
	}
	cascade := req.Cascade == nil || req.GetCascade()
	policy := strings.ToLower(req.GetPropagationPolicy())
	if policy != "" && policy != "foreground" && policy != "background" {
		return nil, invalidStatus(invalid("propagationPolicy", "want foreground or background, not %q", req.GetPropagationPolicy()))
	}
	finalizers := slices.DeleteFunc(slices.Clone(app.Finalizers), func(f string) bool {
		return strings.HasPrefix(f, finalizerResources)
	})
	if cascade {
		f := finalizerResources
		if policy == "background" {
			f = finalizerResourcesBackground
		}
		finalizers = append(finalizers, f)
	}
	apps := s.d.Client.ArgoprojV1alpha1().Applications(s.d.Namespace)
	if !slices.Equal(finalizers, app.Finalizers) {
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"resourceVersion": app.ResourceVersion, "finalizers": finalizers}})
		if _, err := apps.Patch(ctx, app.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			return nil, toStatus(ctx, s.d.Log, err)
		}
	}
	if err := apps.Delete(ctx, app.Name, metav1.DeleteOptions{}); err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	s.d.Log.InfoContext(ctx, "application deleted", "app", app.Name, "project", projectOf(app), "cascade", cascade)
	return &apiv1.ApplicationServiceDeleteResponse{}, nil
}

// initiator names the caller as the operation's initiator.
func initiator(ctx context.Context) *v1alpha1.OperationInitiator {
	id := auth.FromContext(ctx)
	if id.Anonymous {
		return &v1alpha1.OperationInitiator{Username: "anonymous"}
	}
	return &v1alpha1.OperationInitiator{Username: id.Subject}
}

// appMessage converts an application (possibly from a cache, without its type meta) to its API envelope.
func appMessage(a *v1alpha1.Application) (*apiv1.Application, error) {
	c := *a
	c.APIVersion, c.Kind = v1alpha1.SchemeGroupVersion.String(), "Application"
	msg := &apiv1.Application{}
	return msg, kubeproto.ToEnvelope(&c, msg)
}

func invalidStatus(err error) error { return toStatus(context.Background(), nil, err) }
