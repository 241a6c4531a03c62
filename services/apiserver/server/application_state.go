package server

import (
	"context"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/rbac"
)

// ManagedResources returns the managed resources the controller last published for the application
// (none until it has), filtered by group, kind, namespace and name when the request gives them.
func (s *ApplicationServer) ManagedResources(ctx context.Context, req *apiv1.ApplicationServiceManagedResourcesRequest) (*apiv1.ApplicationServiceManagedResourcesResponse, error) {
	if err := s.checkAppNamespace(req.GetAppNamespace()); err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	app, err := s.cachedApp(ctx, req.GetApplicationName(), req.GetProject(), rbac.ActionGet)
	if err != nil {
		return nil, err
	}
	out := &apiv1.ApplicationServiceManagedResourcesResponse{Items: []*apiv1.ResourceDiff{}}
	if s.d.AppState == nil {
		return out, nil
	}
	items, _, err := s.d.AppState.Managed(ctx, s.d.Namespace, app.Name)
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	for _, it := range items {
		if matches(req.GetGroup(), it.GetGroup()) && matches(req.GetKind(), it.GetKind()) &&
			matches(req.GetNamespace(), it.GetNamespace()) && matches(req.GetName(), it.GetName()) {
			out.Items = append(out.Items, it)
		}
	}
	return out, nil
}

// matches says whether a request filter (empty: any) accepts value.
func matches(filter, value string) bool { return filter == "" || filter == value }

// ResourceTree returns the resource tree the controller last published for the application; an empty tree
// until it has.
func (s *ApplicationServer) ResourceTree(ctx context.Context, req *apiv1.ApplicationServiceResourceTreeRequest) (*apiv1.ApplicationServiceResourceTreeResponse, error) {
	tree, err := s.resourceTree(ctx, req.GetApplicationName(), req.GetProject(), req.GetAppNamespace())
	if err != nil {
		return nil, err
	}
	return &apiv1.ApplicationServiceResourceTreeResponse{Tree: tree}, nil
}

// resourceTree authorizes a get of the app and reads its published tree (empty when none is).
func (s *ApplicationServer) resourceTree(ctx context.Context, name, wantProject, appNamespace string) (*apiv1.ApplicationTree, error) {
	if err := s.checkAppNamespace(appNamespace); err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	app, err := s.cachedApp(ctx, name, wantProject, rbac.ActionGet)
	if err != nil {
		return nil, err
	}
	if s.d.AppState == nil {
		return &apiv1.ApplicationTree{}, nil
	}
	tree, ok, err := s.d.AppState.Tree(ctx, s.d.Namespace, app.Name)
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	if !ok {
		return &apiv1.ApplicationTree{}, nil
	}
	return tree, nil
}
