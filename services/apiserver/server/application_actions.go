package server

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/rbac"
)

// Resource actions are the built-in ones Argo CD users reach for most, written in Go: restart of a
// Deployment, StatefulSet or DaemonSet (as `kubectl rollout restart`), pause and resume of a Deployment, and
// create-job of a CronJob. Running one needs the RBAC action action/<group>/<kind>/<action> on the app.
// Lua actions from resource.customizations.actions are not run.

// resourceAction is one built-in action.
type resourceAction struct {
	name string
	// disabled reports whether the action does not apply to the object as it is now.
	disabled func(u *unstructured.Unstructured) bool
	run      func(ctx context.Context, d *destination, rc dynamic.ResourceInterface, u *unstructured.Unstructured) error
}

func never(*unstructured.Unstructured) bool { return false }

func paused(u *unstructured.Unstructured) bool {
	p, _, _ := unstructured.NestedBool(u.Object, "spec", "paused")
	return p
}

// builtinActions lists the actions of each group/kind.
var builtinActions = map[string][]resourceAction{
	"apps/Deployment": {
		{name: "restart", disabled: never, run: restart},
		{name: "pause", disabled: paused, run: setPaused(true)},
		{name: "resume", disabled: func(u *unstructured.Unstructured) bool { return !paused(u) }, run: setPaused(false)},
	},
	"apps/StatefulSet": {{name: "restart", disabled: never, run: restart}},
	"apps/DaemonSet":   {{name: "restart", disabled: never, run: restart}},
	"batch/CronJob":    {{name: "create-job", disabled: never, run: createJob}},
}

// restart changes the pod template's restartedAt annotation, which rolls every pod, as kubectl does.
func restart(ctx context.Context, _ *destination, rc dynamic.ResourceInterface, u *unstructured.Unstructured) error {
	patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"template": map[string]any{"metadata": map[string]any{
		"annotations": map[string]string{"kubectl.kubernetes.io/restartedAt": time.Now().UTC().Format(time.RFC3339)}}}}})
	_, err := rc.Patch(ctx, u.GetName(), types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}

func setPaused(p bool) func(context.Context, *destination, dynamic.ResourceInterface, *unstructured.Unstructured) error {
	return func(ctx context.Context, _ *destination, rc dynamic.ResourceInterface, u *unstructured.Unstructured) error {
		patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"paused": p}})
		_, err := rc.Patch(ctx, u.GetName(), types.MergePatchType, patch, metav1.PatchOptions{})
		return err
	}
}

// ListResourceActions lists the built-in actions of one of the application's resources.
func (s *ApplicationServer) ListResourceActions(ctx context.Context, req *apiv1.ApplicationServiceListResourceActionsRequest) (*apiv1.ApplicationServiceListResourceActionsResponse, error) {
	app, err := s.cachedApp(ctx, req.GetName(), req.GetProject(), rbac.ActionGet)
	if err != nil {
		return nil, err
	}
	ref := &resourceRef{group: req.GetGroup(), version: req.GetVersion(), kind: req.GetKind(), namespace: req.GetNamespace(), name: req.GetResourceName()}
	_, u, err := s.liveResource(ctx, app, ref)
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	out := &apiv1.ApplicationServiceListResourceActionsResponse{}
	for _, a := range builtinActions[req.GetGroup()+"/"+req.GetKind()] {
		out.Actions = append(out.Actions, &apiv1.ResourceAction{Name: a.name, Disabled: a.disabled(u)})
	}
	return out, nil
}

// RunResourceAction runs a built-in action on one of the application's resources.
func (s *ApplicationServer) RunResourceAction(ctx context.Context, req *apiv1.ApplicationServiceRunResourceActionRequest) (*apiv1.ApplicationServiceRunResourceActionResponse, error) {
	ref := &resourceRef{group: req.GetGroup(), version: req.GetVersion(), kind: req.GetKind(), namespace: req.GetNamespace(), name: req.GetResourceName()}
	if err := s.runAction(ctx, req.GetName(), req.GetProject(), ref, req.GetAction()); err != nil {
		return nil, err
	}
	return &apiv1.ApplicationServiceRunResourceActionResponse{}, nil
}

// RunResourceActionV2 is RunResourceAction with parameters; the built-in actions take none.
func (s *ApplicationServer) RunResourceActionV2(ctx context.Context, req *apiv1.ApplicationServiceRunResourceActionV2Request) (*apiv1.ApplicationServiceRunResourceActionV2Response, error) {
	if len(req.GetResourceActionParameters()) > 0 {
		return nil, invalidStatus(invalid("resourceActionParameters", "action %s takes no parameters", req.GetAction()))
	}
	ref := &resourceRef{group: req.GetGroup(), version: req.GetVersion(), kind: req.GetKind(), namespace: req.GetNamespace(), name: req.GetResourceName()}
	if err := s.runAction(ctx, req.GetName(), req.GetProject(), ref, req.GetAction()); err != nil {
		return nil, err
	}
	return &apiv1.ApplicationServiceRunResourceActionV2Response{}, nil
}

func (s *ApplicationServer) runAction(ctx context.Context, appName, project string, ref *resourceRef, action string) error {
	app, err := s.appForAction(ctx, appName, project, rbac.ResourceAction(ref.group, ref.kind, action))
	if err != nil {
		return err
	}
	var found *resourceAction
	for _, a := range builtinActions[ref.group+"/"+ref.kind] {
		if a.name == action {
			found = &a
		}
	}
	if found == nil {
		return invalidStatus(invalid("action", "%s has no action %q", ref, action))
	}
	rc, u, err := s.liveResource(ctx, app, ref)
	if err != nil {
		return toStatus(ctx, s.d.Log, err)
	}
	if found.disabled(u) {
		return status.Errorf(codes.FailedPrecondition, "action %s does not apply to %s as it is now", action, ref)
	}
	d, err := s.destinationOf(app)
	if err != nil {
		return toStatus(ctx, s.d.Log, err)
	}
	if err := found.run(ctx, d, rc, u); err != nil {
		return toStatus(ctx, s.d.Log, fmt.Errorf("run %s on %s: %w", action, ref, err))
	}
	s.d.Log.InfoContext(ctx, "resource action", "app", app.Name, "project", projectOf(app), "resource", ref.String(),
		"action", action, "user", initiator(ctx).Username)
	return nil
}

// createJob creates a Job from the CronJob's jobTemplate, owned by the CronJob, as `kubectl create job
// --from=cronjob/...` does.
func createJob(ctx context.Context, d *destination, _ dynamic.ResourceInterface, u *unstructured.Unstructured) error {
	var cj batchv1.CronJob
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &cj); err != nil {
		return err
	}
	t := cj.Spec.JobTemplate
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: cj.Name + "-",
			Namespace:    cj.Namespace,
			Labels:       t.Labels,
			Annotations:  map[string]string{"cronjob.kubernetes.io/instantiate": "manual"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: cj.Name, UID: cj.UID,
				Controller: new(true), BlockOwnerDeletion: new(true)}},
		},
		Spec: t.Spec,
	}
	maps.Copy(job.Annotations, t.Annotations)
	_, err := d.kube.BatchV1().Jobs(cj.Namespace).Create(ctx, job, metav1.CreateOptions{})
	return err
}
