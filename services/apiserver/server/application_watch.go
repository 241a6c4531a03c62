package server

import (
	"context"
	"slices"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/rbac"
	"github.com/moorcd/moor/services/apiserver/auth"
)

// treePollInterval is how often WatchResourceTree looks for a newly published tree.
const treePollInterval = 2 * time.Second

// Watch streams changes of the applications that match the filters and that the caller may get. Without a
// resourceVersion it starts with an ADDED event for every such application. An application that stops being
// visible (moved to another project, or the caller lost access) is sent as DELETED; one that becomes visible
// as ADDED. The stream ends when the client goes away.
func (s *ApplicationServer) Watch(req *apiv1.ApplicationServiceWatchRequest, stream grpc.ServerStreamingServer[apiv1.ApplicationServiceWatchResponse]) error {
	ctx := stream.Context()
	if ns := req.GetAppNamespace(); ns != "" && ns != s.d.Namespace {
		return invalidStatus(invalid("appNamespace", "applications are served from namespace %s only", s.d.Namespace))
	}
	opts, err := watchOptions(req.GetSelector(), req.GetName())
	if err != nil {
		return err
	}
	apps := s.d.Client.ArgoprojV1alpha1().Applications(s.d.Namespace)
	w := &objectWatch[*v1alpha1.Application]{
		resource: "applications",
		log:      s.d.Log,
		list: func(ctx context.Context, opts metav1.ListOptions) ([]*v1alpha1.Application, string, error) {
			list, err := apps.List(ctx, opts)
			if err != nil {
				return nil, "", err
			}
			out := make([]*v1alpha1.Application, len(list.Items))
			for i := range list.Items {
				out[i] = &list.Items[i]
			}
			return out, list.ResourceVersion, nil
		},
		watch: apps.Watch,
		visible: func(ctx context.Context, app *v1alpha1.Application) bool {
			if projects := req.GetProjects(); len(projects) > 0 && !slices.Contains(projects, projectOf(app)) {
				return false
			}
			e := s.d.Enforcer()
			return e != nil && e.Enforce(auth.FromContext(ctx).Subjects(), rbac.ResourceApplications, rbac.ActionGet, rbac.AppObject(projectOf(app), app.Name))
		},
		emit: func(typ string, app *v1alpha1.Application) error {
			msg, err := appMessage(app)
			if err != nil {
				return err
			}
			return stream.Send(&apiv1.ApplicationServiceWatchResponse{Type: typ, Application: msg})
		},
		gone: func(name string) *v1alpha1.Application {
			return &v1alpha1.Application{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.d.Namespace}}
		},
	}
	return w.run(ctx, opts, req.GetResourceVersion())
}

// WatchResourceTree streams the application's resource tree: the current one first, then each newly
// published one (checked every couple of seconds). Access is checked again at every look, so the stream
// ends with an error when the app is deleted or the caller loses access.
func (s *ApplicationServer) WatchResourceTree(req *apiv1.ApplicationServiceWatchResourceTreeRequest, stream grpc.ServerStreamingServer[apiv1.ApplicationServiceWatchResourceTreeResponse]) error {
	ctx := stream.Context()
	var last *apiv1.ApplicationTree
	tick := time.NewTicker(treePollInterval)
	defer tick.Stop()
	for {
		tree, err := s.resourceTree(ctx, req.GetApplicationName(), req.GetProject(), req.GetAppNamespace())
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		if last == nil || !proto.Equal(last, tree) {
			if err := stream.Send(&apiv1.ApplicationServiceWatchResourceTreeResponse{Tree: tree}); err != nil {
				return err
			}
			last = tree
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
