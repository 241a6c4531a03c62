package server

import (
	"context"
	"slices"

	"google.golang.org/grpc"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/rbac"
	"github.com/moorcd/moor/services/apiserver/auth"
)

// Watch streams changes of the sets that match the filters and that the caller may get, as Application
// Watch does: without a resourceVersion it starts with an ADDED event for every such set; a set that stops
// being visible (its template moved to another project, or the caller lost access) is sent as DELETED, one
// that becomes visible as ADDED; an expired resourceVersion lists again. The stream ends when the client
// goes away.
func (s *ApplicationSetServer) Watch(req *apiv1.ApplicationSetServiceWatchRequest, stream grpc.ServerStreamingServer[apiv1.ApplicationSetServiceWatchResponse]) error {
	ctx := stream.Context()
	if err := s.checkNamespace("appsetNamespace", req.GetAppsetNamespace()); err != nil {
		return invalidStatus(err)
	}
	opts, err := watchOptions(req.GetSelector(), req.GetName())
	if err != nil {
		return err
	}
	sets := s.d.Client.ArgoprojV1alpha1().ApplicationSets(s.d.Namespace)
	w := &objectWatch[*v1alpha1.ApplicationSet]{
		resource: "applicationsets",
		log:      s.d.Log,
		list: func(ctx context.Context, opts metav1.ListOptions) ([]*v1alpha1.ApplicationSet, string, error) {
			list, err := sets.List(ctx, opts)
			if err != nil {
				return nil, "", err
			}
			out := make([]*v1alpha1.ApplicationSet, len(list.Items))
			for i := range list.Items {
				out[i] = &list.Items[i]
			}
			return out, list.ResourceVersion, nil
		},
		watch: sets.Watch,
		visible: func(ctx context.Context, set *v1alpha1.ApplicationSet) bool {
			if projects := req.GetProjects(); len(projects) > 0 && !slices.Contains(projects, appSetProject(set)) {
				return false
			}
			e := s.d.Enforcer()
			return e != nil && e.Enforce(auth.FromContext(ctx).Subjects(), rbac.ResourceApplicationSets, rbac.ActionGet, appSetObject(set))
		},
		emit: func(typ string, set *v1alpha1.ApplicationSet) error {
			msg, err := appSetMessage(set)
			if err != nil {
				return err
			}
			return stream.Send(&apiv1.ApplicationSetServiceWatchResponse{Type: typ, ApplicationSet: msg})
		},
		gone: func(name string) *v1alpha1.ApplicationSet {
			return &v1alpha1.ApplicationSet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.d.Namespace}}
		},
	}
	return w.run(ctx, opts, req.GetResourceVersion())
}
