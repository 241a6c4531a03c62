package server

import (
	"context"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/kubeproto"
	"github.com/moorcd/moor/pkg/rbac"
)

// ProjectServer implements moor.api.v1.ProjectService.
type ProjectServer struct {
	apiv1.UnimplementedProjectServiceServer
	*core
}

// List returns the projects the caller may get.
func (s *ProjectServer) List(ctx context.Context, req *apiv1.ProjectServiceListRequest) (*apiv1.ProjectServiceListResponse, error) {
	projects, err := s.d.Projects.List(labels.Everything())
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	slices.SortFunc(projects, func(a, b *v1alpha1.AppProject) int { return strings.Compare(a.Name, b.Name) })
	items := make([]*apiv1.AppProject, 0, len(projects))
	for _, p := range projects {
		if req.GetName() != "" && p.Name != req.GetName() || !s.allowed(ctx, rbac.ResourceProjects, rbac.ActionGet, p.Name) {
			continue
		}
		msg, err := projectMessage(p)
		if err != nil {
			return nil, toStatus(ctx, s.d.Log, err)
		}
		items = append(items, msg)
	}
	return &apiv1.ProjectServiceListResponse{List: &apiv1.AppProjectList{
		ApiVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "AppProjectList", Metadata: &apiv1.ListMeta{}, Items: items,
	}}, nil
}

// Get returns one project.
func (s *ProjectServer) Get(ctx context.Context, req *apiv1.ProjectServiceGetRequest) (*apiv1.ProjectServiceGetResponse, error) {
	if err := s.authorize(ctx, rbac.ResourceProjects, rbac.ActionGet, req.GetName()); err != nil {
		return nil, err
	}
	p, err := s.d.Projects.Get(req.GetName())
	if apierrors.IsNotFound(err) {
		return nil, status.Errorf(codes.NotFound, "project %q not found", req.GetName())
	}
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	msg, err := projectMessage(p)
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	return &apiv1.ProjectServiceGetResponse{Project: msg}, nil
}

func projectMessage(p *v1alpha1.AppProject) (*apiv1.AppProject, error) {
	c := *p
	c.APIVersion, c.Kind = v1alpha1.SchemeGroupVersion.String(), "AppProject"
	msg := &apiv1.AppProject{}
	return msg, kubeproto.ToEnvelope(&c, msg)
}
