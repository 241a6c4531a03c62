package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/clusters"
	"github.com/moorcd/moor/pkg/kubeproto"
	"github.com/moorcd/moor/pkg/project"
	"github.com/moorcd/moor/pkg/rbac"
)

// Patch types of ApplicationService.Patch.
const (
	patchTypeMerge = "merge"
	patchTypeJSON  = "json"
)

// Create creates an application after validating it against its project; with upsert an existing one whose
// spec differs is replaced. Status and operation in the request are ignored: only the controller and Sync
// write them.
func (s *ApplicationServer) Create(ctx context.Context, req *apiv1.ApplicationServiceCreateRequest) (*apiv1.ApplicationServiceCreateResponse, error) {
	want, err := s.appFromRequest(req.GetApplication())
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	if err := s.authorize(ctx, rbac.ResourceApplications, rbac.ActionCreate, rbac.AppObject(projectOf(want), want.Name)); err != nil {
		return nil, err
	}
	if err := s.validateApp(ctx, want, req.Validate == nil || req.GetValidate()); err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	apps := s.d.Client.ArgoprojV1alpha1().Applications(s.d.Namespace)
	for attempt := 1; ; attempt++ {
		cur, err := apps.Get(ctx, want.Name, getOpts)
		if apierrors.IsNotFound(err) {
			out, err := apps.Create(ctx, want, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) && attempt < maxWriteAttempts {
				continue
			}
			if err != nil {
				return nil, toStatus(ctx, s.d.Log, err)
			}
			s.d.Log.InfoContext(ctx, "application created", "app", out.Name, "project", projectOf(out))
			return createResponse(ctx, s, out)
		}
		if err != nil {
			return nil, toStatus(ctx, s.d.Log, err)
		}
		if sameWritable(cur, want) {
			return createResponse(ctx, s, cur)
		}
		if !req.GetUpsert() {
			return nil, status.Errorf(codes.AlreadyExists, "application %q already exists with a different spec; use upsert to replace it", want.Name)
		}
		if err := s.authorize(ctx, rbac.ResourceApplications, rbac.ActionUpdate, rbac.AppObject(projectOf(cur), cur.Name)); err != nil {
			return nil, err
		}
		next := cur.DeepCopy()
		copyWritable(next, want)
		out, err := apps.Update(ctx, next, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) && attempt < maxWriteAttempts {
			continue
		}
		if err != nil {
			return nil, toStatus(ctx, s.d.Log, err)
		}
		s.d.Log.InfoContext(ctx, "application updated", "app", out.Name, "project", projectOf(out))
		return createResponse(ctx, s, out)
	}
}

func createResponse(ctx context.Context, s *ApplicationServer, app *v1alpha1.Application) (*apiv1.ApplicationServiceCreateResponse, error) {
	msg, err := appMessage(app)
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	return &apiv1.ApplicationServiceCreateResponse{Application: msg}, nil
}

// Update replaces the spec, labels, annotations and finalizers of an application. A resourceVersion in the
// request makes the write conditional on it.
func (s *ApplicationServer) Update(ctx context.Context, req *apiv1.ApplicationServiceUpdateRequest) (*apiv1.ApplicationServiceUpdateResponse, error) {
	want, err := s.appFromRequest(req.GetApplication())
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	out, err := s.updateApp(ctx, want.Name, req.GetProject(), req.Validate == nil || req.GetValidate(), req.GetApplication().GetMetadata().GetResourceVersion(),
		func(cur *v1alpha1.Application) (*v1alpha1.Application, error) {
			next := cur.DeepCopy()
			copyWritable(next, want)
			return next, nil
		})
	if err != nil {
		return nil, err
	}
	msg, err := appMessage(out)
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	return &apiv1.ApplicationServiceUpdateResponse{Application: msg}, nil
}

// UpdateSpec replaces the spec of an application and returns the spec stored.
func (s *ApplicationServer) UpdateSpec(ctx context.Context, req *apiv1.ApplicationServiceUpdateSpecRequest) (*apiv1.ApplicationServiceUpdateSpecResponse, error) {
	if err := s.checkAppNamespace(req.GetAppNamespace()); err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	if req.GetSpec() == nil {
		return nil, toStatus(ctx, s.d.Log, invalid("spec", "is required"))
	}
	var spec v1alpha1.ApplicationSpec
	if err := kubeproto.FromStruct(req.GetSpec(), &spec); err != nil {
		return nil, toStatus(ctx, s.d.Log, invalid("spec", "%v", err))
	}
	out, err := s.updateApp(ctx, req.GetName(), req.GetProject(), req.Validate == nil || req.GetValidate(), "",
		func(cur *v1alpha1.Application) (*v1alpha1.Application, error) {
			next := cur.DeepCopy()
			next.Spec = *spec.DeepCopy()
			return next, nil
		})
	if err != nil {
		return nil, err
	}
	st, err := kubeproto.ToStruct(out.Spec)
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	return &apiv1.ApplicationServiceUpdateSpecResponse{Spec: st}, nil
}

// Patch applies a JSON merge patch ("merge", the default) or a JSON patch (RFC 6902, "json") to the
// application's JSON. Of the result only spec, labels, annotations and finalizers are written.
func (s *ApplicationServer) Patch(ctx context.Context, req *apiv1.ApplicationServicePatchRequest) (*apiv1.ApplicationServicePatchResponse, error) {
	if err := s.checkAppNamespace(req.GetAppNamespace()); err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	apply, err := patcher(req.GetPatchType(), []byte(req.GetPatch()))
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	out, err := s.updateApp(ctx, req.GetName(), req.GetProject(), true, "",
		func(cur *v1alpha1.Application) (*v1alpha1.Application, error) {
			c := cur.DeepCopy()
			c.APIVersion, c.Kind = v1alpha1.SchemeGroupVersion.String(), "Application"
			doc, err := json.Marshal(c)
			if err != nil {
				return nil, err
			}
			patched, err := apply(doc)
			if err != nil {
				return nil, invalid("patch", "%v", err)
			}
			var want v1alpha1.Application
			if err := json.Unmarshal(patched, &want); err != nil {
				return nil, invalid("patch", "the patched application is not valid: %v", err)
			}
			next := cur.DeepCopy()
			copyWritable(next, &want)
			return next, nil
		})
	if err != nil {
		return nil, err
	}
	msg, err := appMessage(out)
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	return &apiv1.ApplicationServicePatchResponse{Application: msg}, nil
}

// patcher returns the function that applies patch of patchType to a JSON document.
func patcher(patchType string, patch []byte) (func([]byte) ([]byte, error), error) {
	if len(patch) == 0 {
		return nil, invalid("patch", "is required")
	}
	switch patchType {
	case "", patchTypeMerge:
		if !json.Valid(patch) {
			return nil, invalid("patch", "not a JSON document")
		}
		return func(doc []byte) ([]byte, error) { return jsonpatch.MergePatch(doc, patch) }, nil
	case patchTypeJSON:
		p, err := jsonpatch.DecodePatch(patch)
		if err != nil {
			return nil, invalid("patch", "not a JSON patch: %v", err)
		}
		return p.Apply, nil
	}
	return nil, invalid("patchType", "want %s or %s, not %q", patchTypeMerge, patchTypeJSON, patchType)
}

// updateApp reads the named app, authorizes an update (on both projects when it moves), builds the new
// object with change, validates it and writes it, retrying on conflicts unless the caller gave a
// resourceVersion. It answers with gRPC status errors.
func (s *ApplicationServer) updateApp(ctx context.Context, name, wantProject string, validate bool, resourceVersion string,
	change func(cur *v1alpha1.Application) (*v1alpha1.Application, error)) (*v1alpha1.Application, error) {
	apps := s.d.Client.ArgoprojV1alpha1().Applications(s.d.Namespace)
	for attempt := 1; ; attempt++ {
		cur, err := s.appForAction(ctx, name, wantProject, rbac.ActionUpdate)
		if err != nil {
			return nil, err
		}
		next, err := change(cur)
		if err != nil {
			return nil, toStatus(ctx, s.d.Log, err)
		}
		// Whatever change produced, only the writable parts differ from what was read.
		fixed := cur.DeepCopy()
		copyWritable(fixed, next)
		next = fixed
		if projectOf(next) != projectOf(cur) {
			if err := s.authorize(ctx, rbac.ResourceApplications, rbac.ActionUpdate, rbac.AppObject(projectOf(next), next.Name)); err != nil {
				return nil, err
			}
		}
		if err := s.validateApp(ctx, next, validate); err != nil {
			return nil, toStatus(ctx, s.d.Log, err)
		}
		if resourceVersion != "" {
			next.ResourceVersion = resourceVersion
		}
		if sameWritable(cur, next) && (resourceVersion == "" || resourceVersion == cur.ResourceVersion) {
			return cur, nil
		}
		out, err := apps.Update(ctx, next, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) && resourceVersion == "" && attempt < maxWriteAttempts {
			continue
		}
		if err != nil {
			return nil, toStatus(ctx, s.d.Log, err)
		}
		s.d.Log.InfoContext(ctx, "application updated", "app", out.Name, "project", projectOf(out))
		return out, nil
	}
}

// appFromRequest decodes the application of a create or update request, keeping only what a client may
// write: name, labels, annotations, finalizers and spec.
func (s *ApplicationServer) appFromRequest(msg *apiv1.Application) (*v1alpha1.Application, error) {
	if msg == nil {
		return nil, invalid("application", "is required")
	}
	var in v1alpha1.Application
	if err := kubeproto.FromEnvelope(msg, &in); err != nil {
		return nil, invalid("application", "%v", err)
	}
	if in.Name == "" {
		return nil, invalid("metadata.name", "is required")
	}
	if err := s.checkAppNamespace(in.Namespace); err != nil {
		return nil, err
	}
	out := &v1alpha1.Application{ObjectMeta: metav1.ObjectMeta{Name: in.Name, Namespace: s.d.Namespace}}
	copyWritable(out, &in)
	return out, nil
}

func (s *ApplicationServer) checkAppNamespace(ns string) error {
	if ns != "" && ns != s.d.Namespace {
		return invalid("metadata.namespace", "applications are served from namespace %s only", s.d.Namespace)
	}
	return nil
}

// copyWritable copies the parts of an application that clients write.
func copyWritable(dst, src *v1alpha1.Application) {
	dst.Spec = *src.Spec.DeepCopy()
	dst.Labels = copyMap(src.Labels)
	dst.Annotations = copyMap(src.Annotations)
	dst.Finalizers = append([]string(nil), src.Finalizers...)
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// sameWritable says whether a and b agree on everything clients write (nil and empty count as equal).
func sameWritable(a, b *v1alpha1.Application) bool {
	return equality.Semantic.DeepEqual(a.Spec, b.Spec) &&
		equality.Semantic.DeepEqual(a.Labels, b.Labels) &&
		equality.Semantic.DeepEqual(a.Annotations, b.Annotations) &&
		equality.Semantic.DeepEqual(a.Finalizers, b.Finalizers)
}

// validateApp checks what the API server cannot: the spec has sources and a destination, the project
// exists and allows them. With checkCluster the destination must also be a known cluster.
func (s *ApplicationServer) validateApp(ctx context.Context, app *v1alpha1.Application, checkCluster bool) error {
	sources := app.Spec.GetSources()
	if len(sources) == 0 {
		return invalid("spec.source", "an application needs a source (or sources)")
	}
	for i, src := range sources {
		if src.RepoURL == "" {
			field := "spec.source.repoURL"
			if app.Spec.HasMultipleSources() {
				field = fmt.Sprintf("spec.sources[%d].repoURL", i)
			}
			return invalid(field, "is required")
		}
	}
	d := app.Spec.Destination
	switch {
	case d.Server == "" && d.Name == "":
		return invalid("spec.destination", "give a server or a name")
	case d.Server != "" && d.Name != "":
		return invalid("spec.destination", "give a server or a name, not both")
	}
	proj, err := s.appProject(projectOf(app))
	if apierrors.IsNotFound(err) {
		return invalid("spec.project", "project %s does not exist", projectOf(app))
	}
	if err != nil {
		return err
	}
	server := d.Server
	if checkCluster {
		c, err := s.destinationCluster(ctx, d)
		if err != nil {
			return err
		}
		server = c.Server
	}
	if v := project.CheckApplication(proj, app, server); len(v) > 0 {
		return invalid(v[0].Field, "%s", v[0].Message)
	}
	return nil
}

// destinationCluster resolves a destination among the in-cluster entry and the cluster Secrets.
func (s *ApplicationServer) destinationCluster(ctx context.Context, d v1alpha1.ApplicationDestination) (*clusters.Cluster, error) {
	list, err := s.d.Kube.CoreV1().Secrets(s.d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: clusters.SecretTypeLabel + "=" + clusters.SecretTypeValue})
	if err != nil {
		return nil, fmt.Errorf("list cluster secrets: %w", err)
	}
	set, _ := clusters.NewSet(clusters.InCluster(nil), list.Items) // invalid Secrets are simply not clusters
	c, err := set.Lookup(d.Server, d.Name)
	if errors.Is(err, clusters.ErrNotFound) {
		if d.Server != "" {
			return nil, invalid("spec.destination.server", "%v", err)
		}
		return nil, invalid("spec.destination.name", "%v", err)
	}
	return c, err
}
