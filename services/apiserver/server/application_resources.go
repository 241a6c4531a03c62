package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/clusters"
	"github.com/moorcd/moor/pkg/kubeproto"
	"github.com/moorcd/moor/pkg/livestate"
	"github.com/moorcd/moor/pkg/rbac"
)

// SecretMasker hides the values of a Secret; other objects come back unchanged (diff.Differ implements it).
type SecretMasker interface {
	MaskSecret(u *unstructured.Unstructured) *unstructured.Unstructured
}

// destinationTimeout bounds each request to a destination cluster, so an unreachable cluster fails a call
// instead of holding it.
const destinationTimeout = 30 * time.Second

// maxEventOwners bounds the objects ListResourceEvents looks up to decide whether events belong to the app.
const maxEventOwners = 20

// resourceRef names one live resource of an application, as the resource RPCs take it.
type resourceRef struct {
	group, version, kind, namespace, name string
}

func (r resourceRef) String() string {
	gk := r.kind
	if r.group != "" {
		gk += "." + r.group
	}
	if r.namespace == "" {
		return gk + " " + r.name
	}
	return gk + " " + r.namespace + "/" + r.name
}

// destination is a client of an application's destination cluster.
type destination struct {
	server string
	kube   kubernetes.Interface
	dyn    dynamic.Interface
}

// destinationOf connects to the cluster an application deploys to.
func (s *ApplicationServer) destinationOf(app *v1alpha1.Application) (*destination, error) {
	if s.d.Clusters == nil {
		return nil, status.Error(codes.Unavailable, "no destination clusters are configured on this server")
	}
	set, err := s.d.Clusters()
	if err != nil {
		return nil, fmt.Errorf("read clusters: %w", err)
	}
	dest := app.Spec.Destination
	c, err := set.Lookup(dest.Server, dest.Name)
	if errors.Is(err, clusters.ErrNotFound) {
		return nil, status.Errorf(codes.FailedPrecondition, "destination of application %s: %v", app.Name, err)
	}
	if err != nil {
		return nil, err
	}
	cfg := c.RESTConfig()
	if cfg.Timeout == 0 {
		cfg.Timeout = destinationTimeout
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("client of cluster %s: %w", c.Server, err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("client of cluster %s: %w", c.Server, err)
	}
	return &destination{server: c.Server, kube: kube, dyn: dyn}, nil
}

// resourceClient finds the API resource of ref in the destination (discovery of its group version; the
// version defaults to the one in the app's status, else the group's preferred one) and fills in the
// namespace of a namespaced resource from the app's destination when the request left it empty.
func (s *ApplicationServer) resourceClient(app *v1alpha1.Application, d *destination, ref *resourceRef) (dynamic.ResourceInterface, error) {
	if ref.kind == "" || ref.name == "" {
		return nil, invalid("kind", "a resource needs a kind and a resourceName")
	}
	if ref.version == "" {
		for _, r := range app.Status.Resources {
			if r.Group == ref.group && r.Kind == ref.kind && r.Version != "" {
				ref.version = r.Version
				break
			}
		}
	}
	if ref.version == "" {
		groups, err := d.kube.Discovery().ServerGroups()
		if err != nil {
			return nil, fmt.Errorf("discover API groups of %s: %w", d.server, err)
		}
		for _, g := range groups.Groups {
			if g.Name == ref.group {
				ref.version = g.PreferredVersion.Version
			}
		}
		if ref.version == "" {
			return nil, status.Errorf(codes.NotFound, "API group %q is not served by %s", ref.group, d.server)
		}
	}
	gv := schema.GroupVersion{Group: ref.group, Version: ref.version}
	list, err := d.kube.Discovery().ServerResourcesForGroupVersion(gv.String())
	if apierrors.IsNotFound(err) {
		return nil, status.Errorf(codes.NotFound, "API %s is not served by %s", gv, d.server)
	}
	if err != nil {
		return nil, fmt.Errorf("discover API %s of %s: %w", gv, d.server, err)
	}
	for _, r := range list.APIResources {
		if r.Kind != ref.kind || strings.Contains(r.Name, "/") {
			continue
		}
		res := d.dyn.Resource(gv.WithResource(r.Name))
		if !r.Namespaced {
			ref.namespace = ""
			return res, nil
		}
		if ref.namespace == "" {
			ref.namespace = app.Spec.Destination.Namespace
		}
		if ref.namespace == "" {
			return nil, invalid("namespace", "%s is namespaced: name its namespace", ref.kind)
		}
		return res.Namespace(ref.namespace), nil
	}
	return nil, status.Errorf(codes.NotFound, "kind %s is not served in API %s by %s", ref.kind, gv, d.server)
}

// liveResource reads ref from the app's destination and returns it only when it belongs to the app; any
// other object (missing or not the app's) answers the same NotFound, so callers learn nothing about objects
// outside their apps.
func (s *ApplicationServer) liveResource(ctx context.Context, app *v1alpha1.Application, ref *resourceRef) (dynamic.ResourceInterface, *unstructured.Unstructured, error) {
	d, err := s.destinationOf(app)
	if err != nil {
		return nil, nil, err
	}
	rc, err := s.resourceClient(app, d, ref)
	if err != nil {
		return nil, nil, err
	}
	notFound := status.Errorf(codes.NotFound, "%s is not a resource of application %s", ref, app.Name)
	u, err := rc.Get(ctx, ref.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil, notFound
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", ref, err)
	}
	if !s.belongs(ctx, app, u) {
		return nil, nil, notFound
	}
	return rc, u, nil
}

// belongs says whether u is a resource of app: listed in its status, in the resource tree the controller
// published (which holds the children too, such as Pods), or carrying the app's tracking id.
func (s *ApplicationServer) belongs(ctx context.Context, app *v1alpha1.Application, u *unstructured.Unstructured) bool {
	gvk := u.GroupVersionKind()
	for _, r := range app.Status.Resources {
		if r.Group == gvk.Group && r.Kind == gvk.Kind && r.Namespace == u.GetNamespace() && r.Name == u.GetName() {
			return true
		}
	}
	if trackedBy(u, s.settings()) == app.Name {
		return true
	}
	if s.d.AppState == nil {
		return false
	}
	tree, ok, err := s.d.AppState.Tree(ctx, s.d.Namespace, app.Name)
	if err != nil || !ok {
		return false
	}
	for _, n := range tree.GetNodes() {
		if n.GetGroup() == gvk.Group && n.GetKind() == gvk.Kind && n.GetNamespace() == u.GetNamespace() && n.GetName() == u.GetName() &&
			(n.GetUid() == "" || n.GetUid() == string(u.GetUID())) {
			return true
		}
	}
	return false
}

func (s *ApplicationServer) settings() map[string]string {
	if s.d.Settings == nil {
		return nil
	}
	return s.d.Settings()
}

// trackedBy returns the app that tracks u by Argo CD's tracking annotation (or its instance label when
// argocd-cm sets application.resourceTrackingMethod: label), "" for none. An id copied onto another object
// does not count.
func trackedBy(u *unstructured.Unstructured, settings map[string]string) string {
	if settings["application.resourceTrackingMethod"] == "label" {
		key := settings["application.instanceLabelKey"]
		if key == "" {
			key = "app.kubernetes.io/instance"
		}
		return u.GetLabels()[key]
	}
	id, ok := livestate.ParseTrackingID(u.GetAnnotations()[livestate.AnnotationTrackingID])
	gvk := u.GroupVersionKind()
	if !ok || id.Group != gvk.Group || id.Kind != gvk.Kind || id.Name != u.GetName() {
		return ""
	}
	if ns := u.GetNamespace(); ns != "" && id.Namespace != ns {
		return ""
	}
	return id.App
}

// mask hides a Secret's values before an object leaves the server.
func (s *ApplicationServer) mask(u *unstructured.Unstructured) *unstructured.Unstructured {
	if s.d.Masker != nil {
		return s.d.Masker.MaskSecret(u)
	}
	gvk := u.GroupVersionKind()
	if gvk.Group != "" || gvk.Kind != "Secret" {
		return u
	}
	c := u.DeepCopy()
	for _, field := range []string{"data", "stringData"} {
		if m, ok := c.Object[field].(map[string]any); ok {
			for k := range m {
				m[k] = "++++++++"
			}
		}
	}
	if ann := c.GetAnnotations(); ann != nil {
		if _, ok := ann[corev1.LastAppliedConfigAnnotation]; ok {
			ann[corev1.LastAppliedConfigAnnotation] = "++++++++"
			c.SetAnnotations(ann)
		}
	}
	return c
}

// manifestOf is the masked JSON of u.
func (s *ApplicationServer) manifestOf(u *unstructured.Unstructured) (string, error) {
	b, err := json.Marshal(s.mask(u).Object)
	return string(b), err
}

// GetResource returns the live manifest of one resource of the application, Secret values masked.
func (s *ApplicationServer) GetResource(ctx context.Context, req *apiv1.ApplicationServiceGetResourceRequest) (*apiv1.ApplicationServiceGetResourceResponse, error) {
	app, err := s.cachedApp(ctx, req.GetName(), req.GetProject(), rbac.ActionGet)
	if err != nil {
		return nil, err
	}
	ref := &resourceRef{group: req.GetGroup(), version: req.GetVersion(), kind: req.GetKind(), namespace: req.GetNamespace(), name: req.GetResourceName()}
	_, u, err := s.liveResource(ctx, app, ref)
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	m, err := s.manifestOf(u)
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	return &apiv1.ApplicationServiceGetResourceResponse{Manifest: m}, nil
}

// PatchResource patches one live resource of the application (json, merge or strategic patch); the caller
// needs update on the application.
func (s *ApplicationServer) PatchResource(ctx context.Context, req *apiv1.ApplicationServicePatchResourceRequest) (*apiv1.ApplicationServicePatchResourceResponse, error) {
	app, err := s.appForAction(ctx, req.GetName(), req.GetProject(), rbac.ActionUpdate)
	if err != nil {
		return nil, err
	}
	var pt types.PatchType
	switch strings.ToLower(req.GetPatchType()) {
	case "json", string(types.JSONPatchType):
		pt = types.JSONPatchType
	case "merge", string(types.MergePatchType):
		pt = types.MergePatchType
	case "strategic", string(types.StrategicMergePatchType):
		pt = types.StrategicMergePatchType
	default:
		return nil, invalidStatus(invalid("patchType", "want json, merge or strategic, not %q", req.GetPatchType()))
	}
	if !json.Valid([]byte(req.GetPatch())) {
		return nil, invalidStatus(invalid("patch", "not a JSON document"))
	}
	ref := &resourceRef{group: req.GetGroup(), version: req.GetVersion(), kind: req.GetKind(), namespace: req.GetNamespace(), name: req.GetResourceName()}
	rc, _, err := s.liveResource(ctx, app, ref)
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	out, err := rc.Patch(ctx, ref.name, pt, []byte(req.GetPatch()), metav1.PatchOptions{})
	if apierrors.IsUnsupportedMediaType(err) {
		return nil, invalidStatus(invalid("patchType", "%s does not take a %s patch", ref, req.GetPatchType()))
	}
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	s.d.Log.InfoContext(ctx, "resource patched", "app", app.Name, "project", projectOf(app), "resource", ref.String(),
		"user", initiator(ctx).Username)
	m, err := s.manifestOf(out)
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	return &apiv1.ApplicationServicePatchResourceResponse{Manifest: m}, nil
}

// DeleteResource deletes one live resource of the application; the caller needs delete on the application.
// force deletes without a grace period; orphan leaves the dependents, which are otherwise deleted first.
func (s *ApplicationServer) DeleteResource(ctx context.Context, req *apiv1.ApplicationServiceDeleteResourceRequest) (*apiv1.ApplicationServiceDeleteResourceResponse, error) {
	app, err := s.appForAction(ctx, req.GetName(), req.GetProject(), rbac.ActionDelete)
	if err != nil {
		return nil, err
	}
	ref := &resourceRef{group: req.GetGroup(), version: req.GetVersion(), kind: req.GetKind(), namespace: req.GetNamespace(), name: req.GetResourceName()}
	rc, u, err := s.liveResource(ctx, app, ref)
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	policy := metav1.DeletePropagationForeground
	if req.GetOrphan() {
		policy = metav1.DeletePropagationOrphan
	}
	uid := u.GetUID()
	// The UID precondition deletes exactly the object that was checked, not one re-created under its name.
	opts := metav1.DeleteOptions{PropagationPolicy: &policy, Preconditions: &metav1.Preconditions{UID: &uid}}
	if req.GetForce() {
		var zero int64
		opts.GracePeriodSeconds = &zero
	}
	if err := rc.Delete(ctx, ref.name, opts); err != nil && !apierrors.IsNotFound(err) {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	s.d.Log.InfoContext(ctx, "resource deleted", "app", app.Name, "project", projectOf(app), "resource", ref.String(),
		"user", initiator(ctx).Username, "force", req.GetForce(), "orphan", req.GetOrphan())
	return &apiv1.ApplicationServiceDeleteResourceResponse{}, nil
}

// ListResourceEvents returns the core/v1 Events of the application (in the control namespace) or, when a
// resource is named, those of that resource in the destination cluster, provided it belongs to the app.
func (s *ApplicationServer) ListResourceEvents(ctx context.Context, req *apiv1.ApplicationServiceListResourceEventsRequest) (*apiv1.ApplicationServiceListResourceEventsResponse, error) {
	app, err := s.cachedApp(ctx, req.GetName(), req.GetProject(), rbac.ActionGet)
	if err != nil {
		return nil, err
	}
	var events []corev1.Event
	if req.GetResourceName() == "" && req.GetResourceUid() == "" {
		sel := fields.Set{"involvedObject.name": app.Name, "involvedObject.kind": "Application", "involvedObject.uid": string(app.UID)}
		list, err := s.d.Kube.CoreV1().Events(s.d.Namespace).List(ctx, metav1.ListOptions{FieldSelector: sel.AsSelector().String()})
		if err != nil {
			return nil, toStatus(ctx, s.d.Log, fmt.Errorf("list events of application %s: %w", app.Name, err))
		}
		events = list.Items
	} else {
		if events, err = s.resourceEvents(ctx, app, req); err != nil {
			return nil, toStatus(ctx, s.d.Log, err)
		}
	}
	items := make([]*structpb.Struct, 0, len(events))
	for i := range events {
		ev := &events[i]
		ev.APIVersion, ev.Kind = "v1", "Event"
		st, err := kubeproto.ToStruct(ev)
		if err != nil {
			return nil, toStatus(ctx, s.d.Log, err)
		}
		items = append(items, st)
	}
	return &apiv1.ApplicationServiceListResourceEventsResponse{List: &apiv1.EventList{
		ApiVersion: "v1", Kind: "EventList", Metadata: &apiv1.ListMeta{}, Items: items,
	}}, nil
}

// resourceEvents lists the events of the named resource in the destination and keeps those whose object
// belongs to the app.
func (s *ApplicationServer) resourceEvents(ctx context.Context, app *v1alpha1.Application, req *apiv1.ApplicationServiceListResourceEventsRequest) ([]corev1.Event, error) {
	d, err := s.destinationOf(app)
	if err != nil {
		return nil, err
	}
	ns := req.GetResourceNamespace()
	sel := fields.Set{}
	if req.GetResourceName() != "" {
		sel["involvedObject.name"] = req.GetResourceName()
	}
	if req.GetResourceUid() != "" {
		sel["involvedObject.uid"] = req.GetResourceUid()
	}
	if ns != "" {
		sel["involvedObject.namespace"] = ns
	}
	list, err := d.kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: sel.AsSelector().String()})
	if err != nil {
		return nil, fmt.Errorf("list events in %s: %w", d.server, err)
	}
	// Events name their object by kind and name: decide once per object whether it is the app's.
	verdicts := map[corev1.ObjectReference]bool{}
	out := list.Items[:0]
	for _, ev := range list.Items {
		o := ev.InvolvedObject
		key := corev1.ObjectReference{APIVersion: o.APIVersion, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name, UID: o.UID}
		ok, seen := verdicts[key]
		if !seen {
			if len(verdicts) >= maxEventOwners {
				continue
			}
			ok = s.ownsEventObject(ctx, app, d, key)
			verdicts[key] = ok
		}
		if ok {
			out = append(out, ev)
		}
	}
	return out, nil
}

// ownsEventObject says whether the object an event names belongs to app; it reads the object when the
// status does not list it.
func (s *ApplicationServer) ownsEventObject(ctx context.Context, app *v1alpha1.Application, d *destination, o corev1.ObjectReference) bool {
	gv, err := schema.ParseGroupVersion(o.APIVersion)
	if err != nil {
		return false
	}
	ref := &resourceRef{group: gv.Group, version: gv.Version, kind: o.Kind, namespace: o.Namespace, name: o.Name}
	rc, err := s.resourceClient(app, d, ref)
	if err != nil {
		return false
	}
	u, err := rc.Get(ctx, o.Name, metav1.GetOptions{})
	if err != nil {
		// A deleted object: only the status can still vouch for it.
		for _, r := range app.Status.Resources {
			if r.Group == gv.Group && r.Kind == o.Kind && r.Namespace == o.Namespace && r.Name == o.Name {
				return true
			}
		}
		return false
	}
	return (o.UID == "" || o.UID == u.GetUID()) && s.belongs(ctx, app, u)
}
