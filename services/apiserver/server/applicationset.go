package server

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/kubeproto"
	"github.com/moorcd/moor/pkg/project"
	"github.com/moorcd/moor/pkg/rbac"
	"github.com/moorcd/moor/services/apiserver/auth"
)

// kindApplicationSet is the kind of an ApplicationSet, as owner references and events name it.
const kindApplicationSet = "ApplicationSet"

// ApplicationSetServer implements moor.api.v1.ApplicationSetService. RBAC is Argo CD's: the resource
// "applicationsets" with the object "<project>/<name>", where the project is the one of the set's template
// (spec.template.spec.project, "default" when empty). Sets are served from the control namespace only.
//
// Create and Generate also require that the caller may create Applications in every project the set's
// templates name: the sets' Applications are created by the controller, so a set must not let its author
// create what they could not create themselves. A templated project cannot be authorized and is refused.
type ApplicationSetServer struct {
	apiv1.UnimplementedApplicationSetServiceServer
	*core
}

// appSetProject returns the project of set's template, "default" when empty.
func appSetProject(set *v1alpha1.ApplicationSet) string {
	if p := set.Spec.Template.Spec.Project; p != "" {
		return p
	}
	return project.DefaultName
}

func appSetObject(set *v1alpha1.ApplicationSet) string {
	return rbac.AppObject(appSetProject(set), set.Name)
}

// appSetMessage converts a set (possibly from a cache, without its type meta) to its API envelope.
func appSetMessage(set *v1alpha1.ApplicationSet) (*apiv1.ApplicationSet, error) {
	c := *set
	c.APIVersion, c.Kind = v1alpha1.SchemeGroupVersion.String(), kindApplicationSet
	msg := &apiv1.ApplicationSet{}
	return msg, kubeproto.ToEnvelope(&c, msg)
}

func (s *ApplicationSetServer) checkNamespace(field, ns string) error {
	if ns != "" && ns != s.d.Namespace {
		return invalid(field, "applicationsets are served from namespace %s only", s.d.Namespace)
	}
	return nil
}

// appSetForAction reads the named set from the informer cache (from the API server when fresh, for writes)
// and authorizes action on it. A missing set answers NotFound only to callers who could act on
// it if it existed; others get PermissionDenied, so existence does not leak.
func (s *ApplicationSetServer) appSetForAction(ctx context.Context, name, action string, fresh bool) (*v1alpha1.ApplicationSet, error) {
	if name == "" {
		return nil, invalidStatus(invalid("name", "is required"))
	}
	var set *v1alpha1.ApplicationSet
	var err error
	if fresh || s.d.AppSets == nil {
		set, err = s.d.Client.ArgoprojV1alpha1().ApplicationSets(s.d.Namespace).Get(ctx, name, getOpts)
	} else {
		set, err = s.d.AppSets.Get(name)
	}
	if apierrors.IsNotFound(err) {
		if err := s.authorize(ctx, rbac.ResourceApplicationSets, action, rbac.AppObject("", name)); err != nil {
			return nil, err
		}
		return nil, status.Errorf(codes.NotFound, "applicationset %q not found", name)
	}
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	if err := s.authorize(ctx, rbac.ResourceApplicationSets, action, appSetObject(set)); err != nil {
		return nil, err
	}
	return set, nil
}

// Get returns one ApplicationSet.
func (s *ApplicationSetServer) Get(ctx context.Context, req *apiv1.ApplicationSetServiceGetRequest) (*apiv1.ApplicationSetServiceGetResponse, error) {
	if err := s.checkNamespace("appsetNamespace", req.GetAppsetNamespace()); err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	set, err := s.appSetForAction(ctx, req.GetName(), rbac.ActionGet, false)
	if err != nil {
		return nil, err
	}
	msg, err := appSetMessage(set)
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	return &apiv1.ApplicationSetServiceGetResponse{ApplicationSet: msg}, nil
}

// List returns the sets that match the filters and that the caller may get, in name order.
func (s *ApplicationSetServer) List(ctx context.Context, req *apiv1.ApplicationSetServiceListRequest) (*apiv1.ApplicationSetServiceListResponse, error) {
	if err := s.checkNamespace("appsetNamespace", req.GetAppsetNamespace()); err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	sel := labels.Everything()
	if req.GetSelector() != "" {
		var err error
		if sel, err = labels.Parse(req.GetSelector()); err != nil {
			return nil, invalidStatus(invalid("selector", "%v", err))
		}
	}
	sets, err := s.listAppSets(ctx, sel)
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	projects := req.GetProjects()
	e := s.d.Enforcer()
	subjects := auth.FromContext(ctx).Subjects()
	items := make([]*apiv1.ApplicationSet, 0, len(sets))
	for _, set := range sets {
		if len(projects) > 0 && !slices.Contains(projects, appSetProject(set)) ||
			e == nil || !e.Enforce(subjects, rbac.ResourceApplicationSets, rbac.ActionGet, appSetObject(set)) {
			continue
		}
		msg, err := appSetMessage(set)
		if err != nil {
			return nil, toStatus(ctx, s.d.Log, err)
		}
		items = append(items, msg)
	}
	return &apiv1.ApplicationSetServiceListResponse{List: &apiv1.ApplicationSetList{
		ApiVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "ApplicationSetList",
		Metadata: &apiv1.ListMeta{}, Items: items,
	}}, nil
}

// listAppSets returns the sets matching sel in name order (the cache's objects are shared: never change them).
func (s *ApplicationSetServer) listAppSets(ctx context.Context, sel labels.Selector) ([]*v1alpha1.ApplicationSet, error) {
	var sets []*v1alpha1.ApplicationSet
	if s.d.AppSets != nil {
		var err error
		if sets, err = s.d.AppSets.List(sel); err != nil {
			return nil, err
		}
	} else {
		list, err := s.d.Client.ArgoprojV1alpha1().ApplicationSets(s.d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
		if err != nil {
			return nil, fmt.Errorf("list applicationsets: %w", err)
		}
		for i := range list.Items {
			sets = append(sets, &list.Items[i])
		}
	}
	slices.SortFunc(sets, func(a, b *v1alpha1.ApplicationSet) int { return strings.Compare(a.Name, b.Name) })
	return sets, nil
}

// Create creates a set after validating it; an identical existing set is answered as is, a different one
// is AlreadyExists unless upsert, which replaces its spec, labels, annotations and finalizers (and needs
// update on it). With dryRun the API server validates and defaults the write without persisting it. Status
// in the request is ignored: only the controller writes it.
func (s *ApplicationSetServer) Create(ctx context.Context, req *apiv1.ApplicationSetServiceCreateRequest) (*apiv1.ApplicationSetServiceCreateResponse, error) {
	want, err := s.appSetFromRequest(req.GetApplicationSet())
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	if err := s.authorize(ctx, rbac.ResourceApplicationSets, rbac.ActionCreate, appSetObject(want)); err != nil {
		return nil, err
	}
	if err := s.validateAppSet(ctx, want); err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	var dryRun []string
	if req.GetDryRun() {
		dryRun = []string{metav1.DryRunAll}
	}
	sets := s.d.Client.ArgoprojV1alpha1().ApplicationSets(s.d.Namespace)
	for attempt := 1; ; attempt++ {
		cur, err := sets.Get(ctx, want.Name, getOpts)
		if apierrors.IsNotFound(err) {
			out, err := sets.Create(ctx, want, metav1.CreateOptions{DryRun: dryRun})
			if apierrors.IsAlreadyExists(err) && attempt < maxWriteAttempts {
				continue
			}
			if err != nil {
				return nil, toStatus(ctx, s.d.Log, err)
			}
			if !req.GetDryRun() {
				s.d.Log.InfoContext(ctx, "applicationset created", "appset", out.Name, "project", appSetProject(out), "user", initiator(ctx).Username)
			}
			return s.createResponse(ctx, out)
		}
		if err != nil {
			return nil, toStatus(ctx, s.d.Log, err)
		}
		if sameAppSet(cur, want) {
			return s.createResponse(ctx, cur)
		}
		if !req.GetUpsert() {
			return nil, status.Errorf(codes.AlreadyExists, "applicationset %q already exists with a different spec; use upsert to replace it", want.Name)
		}
		if err := s.authorize(ctx, rbac.ResourceApplicationSets, rbac.ActionUpdate, appSetObject(cur)); err != nil {
			return nil, err
		}
		if appSetProject(cur) != appSetProject(want) {
			if err := s.authorize(ctx, rbac.ResourceApplicationSets, rbac.ActionUpdate, appSetObject(want)); err != nil {
				return nil, err
			}
		}
		next := cur.DeepCopy()
		copyAppSetWritable(next, want)
		out, err := sets.Update(ctx, next, metav1.UpdateOptions{DryRun: dryRun})
		if apierrors.IsConflict(err) && attempt < maxWriteAttempts {
			continue
		}
		if err != nil {
			return nil, toStatus(ctx, s.d.Log, err)
		}
		if !req.GetDryRun() {
			s.d.Log.InfoContext(ctx, "applicationset updated", "appset", out.Name, "project", appSetProject(out), "user", initiator(ctx).Username)
		}
		return s.createResponse(ctx, out)
	}
}

func (s *ApplicationSetServer) createResponse(ctx context.Context, set *v1alpha1.ApplicationSet) (*apiv1.ApplicationSetServiceCreateResponse, error) {
	msg, err := appSetMessage(set)
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	return &apiv1.ApplicationSetServiceCreateResponse{ApplicationSet: msg}, nil
}

// appSetFromRequest decodes the set of a create or generate request, keeping only what a client may write:
// name, labels, annotations, finalizers and spec.
func (s *ApplicationSetServer) appSetFromRequest(msg *apiv1.ApplicationSet) (*v1alpha1.ApplicationSet, error) {
	if msg == nil {
		return nil, invalid("applicationSet", "is required")
	}
	var in v1alpha1.ApplicationSet
	if err := kubeproto.FromEnvelope(msg, &in); err != nil {
		return nil, invalid("applicationSet", "%v", err)
	}
	if in.Name == "" {
		return nil, invalid("metadata.name", "is required")
	}
	if err := s.checkNamespace("metadata.namespace", in.Namespace); err != nil {
		return nil, err
	}
	out := &v1alpha1.ApplicationSet{ObjectMeta: metav1.ObjectMeta{Name: in.Name, Namespace: s.d.Namespace}}
	copyAppSetWritable(out, &in)
	return out, nil
}

// copyAppSetWritable copies the parts of a set that clients write.
func copyAppSetWritable(dst, src *v1alpha1.ApplicationSet) {
	dst.Spec = *src.Spec.DeepCopy()
	dst.Labels = copyMap(src.Labels)
	dst.Annotations = copyMap(src.Annotations)
	dst.Finalizers = slices.Clone(src.Finalizers)
}

// sameAppSet says whether a and b agree on everything clients write (nil and empty count as equal).
func sameAppSet(a, b *v1alpha1.ApplicationSet) bool {
	return equality.Semantic.DeepEqual(a.Spec, b.Spec) &&
		equality.Semantic.DeepEqual(a.Labels, b.Labels) &&
		equality.Semantic.DeepEqual(a.Annotations, b.Annotations) &&
		equality.Semantic.DeepEqual(a.Finalizers, b.Finalizers)
}

// generatorKinds names the generator fields of a generator that are set, in the CRD's order.
func generatorKinds(g *v1alpha1.ApplicationSetGenerator) []string {
	var out []string
	for _, k := range []struct {
		name string
		set  bool
	}{
		{"list", g.List != nil}, {"clusters", g.Clusters != nil}, {"git", g.Git != nil},
		{"scmProvider", g.SCMProvider != nil}, {"clusterDecisionResource", g.ClusterDecisionResource != nil},
		{"pullRequest", g.PullRequest != nil}, {"matrix", g.Matrix != nil}, {"merge", g.Merge != nil},
		{"plugin", g.Plugin != nil},
	} {
		if k.set {
			out = append(out, k.name)
		}
	}
	return out
}

// generatorTemplate returns the template override of a generator, nil when it has none.
func generatorTemplate(g *v1alpha1.ApplicationSetGenerator) *v1alpha1.ApplicationSetGeneratorTemplate {
	switch {
	case g.List != nil:
		return g.List.Template
	case g.Clusters != nil:
		return g.Clusters.Template
	case g.Git != nil:
		return g.Git.Template
	case g.SCMProvider != nil:
		return g.SCMProvider.Template
	case g.ClusterDecisionResource != nil:
		return g.ClusterDecisionResource.Template
	case g.PullRequest != nil:
		return g.PullRequest.Template
	case g.Matrix != nil:
		return g.Matrix.Template
	case g.Merge != nil:
		return g.Merge.Template
	case g.Plugin != nil:
		return g.Plugin.Template
	}
	return nil
}

// templateProject is a project a set's template names, with the field that names it and the name of the
// Applications it would hold (as written, possibly templated).
type templateProject struct {
	field, project, appName string
}

// templateProjects lists the projects of the set's template and of its generators' template overrides.
func templateProjects(set *v1alpha1.ApplicationSet) []templateProject {
	out := []templateProject{{"spec.template.spec.project", appSetProject(set), set.Spec.Template.Name}}
	for i := range set.Spec.Generators {
		g := &set.Spec.Generators[i]
		t := generatorTemplate(g)
		if t == nil || t.Spec == nil || t.Spec.Project == "" {
			continue
		}
		name := set.Spec.Template.Name
		if t.Metadata != nil && t.Metadata.Name != "" {
			name = t.Metadata.Name
		}
		field := fmt.Sprintf("spec.generators[%d].%s.template.spec.project", i, generatorKinds(g)[0])
		out = append(out, templateProject{field, t.Spec.Project, name})
	}
	return out
}

// validateAppSet checks what the CRD schema cannot: the set has generators (each of one kind) and a
// template that names its Applications; every project its templates name is written out (not templated),
// exists, and lets the caller create Applications.
func (s *ApplicationSetServer) validateAppSet(ctx context.Context, set *v1alpha1.ApplicationSet) error {
	spec := &set.Spec
	if len(spec.Generators) == 0 {
		return invalid("spec.generators", "an ApplicationSet needs at least one generator")
	}
	names := spec.Template.Name != ""
	for i := range spec.Generators {
		g := &spec.Generators[i]
		switch kinds := generatorKinds(g); len(kinds) {
		case 0:
			return invalid(fmt.Sprintf("spec.generators[%d]", i), "a generator needs one of list, clusters, git, scmProvider, clusterDecisionResource, pullRequest, matrix, merge or plugin")
		case 1:
		default:
			return invalid(fmt.Sprintf("spec.generators[%d]", i), "a generator has exactly one kind, not %s", strings.Join(kinds, " and "))
		}
		if t := generatorTemplate(g); t != nil && t.Metadata != nil && t.Metadata.Name != "" {
			names = true
		}
	}
	if equality.Semantic.DeepEqual(spec.Template, v1alpha1.ApplicationSetTemplate{}) {
		return invalid("spec.template", "an ApplicationSet needs a template")
	}
	if !names {
		return invalid("spec.template.metadata.name", "is required: it names the generated Applications")
	}
	if st := spec.Strategy; st != nil && st.Type != "" && st.Type != "AllAtOnce" && st.Type != "RollingSync" {
		return invalid("spec.strategy.type", "want AllAtOnce or RollingSync, not %q", st.Type)
	}
	if tp := spec.TemplatePatch; tp != nil && strings.TrimSpace(*tp) != "" &&
		!s.allowed(ctx, rbac.ResourceApplications, rbac.ActionCreate, rbac.AppObject("*", "*")) {
		// A patch can set any field, the project included, after the check below: only a caller who may
		// create Applications in every project may write one.
		return status.Errorf(codes.PermissionDenied, "spec.templatePatch: permission denied: %s, %s, */* (a template patch can change the project of the generated Applications)",
			rbac.ResourceApplications, rbac.ActionCreate)
	}
	for _, tp := range templateProjects(set) {
		if strings.Contains(tp.project, "{{") {
			return invalid(tp.field, "a templated project cannot be authorized: name the project")
		}
		if _, err := s.appProject(tp.project); apierrors.IsNotFound(err) {
			return invalid(tp.field, "project %s does not exist", tp.project)
		} else if err != nil {
			return err
		}
		object := rbac.AppObject(tp.project, tp.appName)
		if !s.allowed(ctx, rbac.ResourceApplications, rbac.ActionCreate, object) {
			return status.Errorf(codes.PermissionDenied, "%s: permission denied: %s, %s, %s (the ApplicationSet would create Applications you may not create)",
				tp.field, rbac.ResourceApplications, rbac.ActionCreate, object)
		}
	}
	return nil
}

// Delete deletes the set. As Kubernetes deletes the dependents of an object in the background, the
// Applications the set owns (by ownerReference) are deleted after it by the garbage collector, each with
// its own finalizers (a cascading app deletion when it carries the resources finalizer).
func (s *ApplicationSetServer) Delete(ctx context.Context, req *apiv1.ApplicationSetServiceDeleteRequest) (*apiv1.ApplicationSetServiceDeleteResponse, error) {
	if err := s.checkNamespace("appsetNamespace", req.GetAppsetNamespace()); err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	set, err := s.appSetForAction(ctx, req.GetName(), rbac.ActionDelete, true)
	if err != nil {
		return nil, err
	}
	policy := metav1.DeletePropagationBackground
	// The UID precondition deletes exactly the set that was authorized, not one re-created under its name.
	opts := metav1.DeleteOptions{PropagationPolicy: &policy, Preconditions: &metav1.Preconditions{UID: &set.UID}}
	if err := s.d.Client.ArgoprojV1alpha1().ApplicationSets(s.d.Namespace).Delete(ctx, set.Name, opts); err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	s.d.Log.InfoContext(ctx, "applicationset deleted", "appset", set.Name, "project", appSetProject(set), "user", initiator(ctx).Username)
	return &apiv1.ApplicationSetServiceDeleteResponse{}, nil
}

// ResourceTree returns the Applications the set owns (by ownerReference) that the caller may get, in name
// order, each a node whose parent is the set, with the app's health and its sync status as the info item
// "Sync Status".
func (s *ApplicationSetServer) ResourceTree(ctx context.Context, req *apiv1.ApplicationSetServiceResourceTreeRequest) (*apiv1.ApplicationSetServiceResourceTreeResponse, error) {
	if err := s.checkNamespace("appsetNamespace", req.GetAppsetNamespace()); err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	set, err := s.appSetForAction(ctx, req.GetName(), rbac.ActionGet, false)
	if err != nil {
		return nil, err
	}
	apps, err := s.d.Apps.List(labels.Everything())
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	slices.SortFunc(apps, func(a, b *v1alpha1.Application) int { return strings.Compare(a.Name, b.Name) })
	gv := v1alpha1.SchemeGroupVersion
	parent := &apiv1.ResourceRef{Group: gv.Group, Version: gv.Version, Kind: kindApplicationSet, Namespace: set.Namespace, Name: set.Name, Uid: string(set.UID)}
	e := s.d.Enforcer()
	subjects := auth.FromContext(ctx).Subjects()
	nodes := []*apiv1.ResourceNode{}
	for _, a := range apps {
		if !ownedBy(a.OwnerReferences, set) ||
			e == nil || !e.Enforce(subjects, rbac.ResourceApplications, rbac.ActionGet, rbac.AppObject(projectOf(a), a.Name)) {
			continue
		}
		n := &apiv1.ResourceNode{
			Group: gv.Group, Version: gv.Version, Kind: "Application", Namespace: a.Namespace, Name: a.Name, Uid: string(a.UID),
			ParentRefs: []*apiv1.ResourceRef{parent}, ResourceVersion: a.ResourceVersion,
			CreatedAt: a.CreationTimestamp.UTC().Format(time.RFC3339),
		}
		if h := a.Status.Health; h.Status != "" {
			n.Health = &apiv1.HealthStatus{Status: string(h.Status), Message: h.Message}
		}
		if st := a.Status.Sync.Status; st != "" {
			n.Info = []*apiv1.InfoItem{{Name: "Sync Status", Value: string(st)}}
		}
		nodes = append(nodes, n)
	}
	return &apiv1.ApplicationSetServiceResourceTreeResponse{Nodes: nodes}, nil
}

// ownedBy says whether refs name set as an owner.
func ownedBy(refs []metav1.OwnerReference, set *v1alpha1.ApplicationSet) bool {
	for _, r := range refs {
		if r.UID == set.UID && r.Kind == kindApplicationSet {
			return true
		}
	}
	return false
}

// ListResourceEvents returns the core/v1 Events of the set.
func (s *ApplicationSetServer) ListResourceEvents(ctx context.Context, req *apiv1.ApplicationSetServiceListResourceEventsRequest) (*apiv1.ApplicationSetServiceListResourceEventsResponse, error) {
	if err := s.checkNamespace("appsetNamespace", req.GetAppsetNamespace()); err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	set, err := s.appSetForAction(ctx, req.GetName(), rbac.ActionGet, false)
	if err != nil {
		return nil, err
	}
	sel := fields.Set{"involvedObject.name": set.Name, "involvedObject.kind": kindApplicationSet, "involvedObject.uid": string(set.UID)}
	list, err := s.d.Kube.CoreV1().Events(s.d.Namespace).List(ctx, metav1.ListOptions{FieldSelector: sel.AsSelector().String()})
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, fmt.Errorf("list events of applicationset %s: %w", set.Name, err))
	}
	items := make([]*structpb.Struct, 0, len(list.Items))
	for i := range list.Items {
		ev := &list.Items[i]
		ev.APIVersion, ev.Kind = "v1", "Event"
		st, err := kubeproto.ToStruct(ev)
		if err != nil {
			return nil, toStatus(ctx, s.d.Log, err)
		}
		items = append(items, st)
	}
	return &apiv1.ApplicationSetServiceListResourceEventsResponse{List: &apiv1.EventList{
		ApiVersion: "v1", Kind: "EventList", Metadata: &apiv1.ListMeta{}, Items: items,
	}}, nil
}
