package server

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/kubeproto"
	"github.com/moorcd/moor/pkg/project"
	"github.com/moorcd/moor/pkg/rbac"
)

// GetApplicationSyncWindows returns the project sync windows that apply to the application (assigned), those
// of them active now, and whether a manual sync may start now.
func (s *ApplicationServer) GetApplicationSyncWindows(ctx context.Context, req *apiv1.ApplicationServiceGetApplicationSyncWindowsRequest) (*apiv1.ApplicationServiceGetApplicationSyncWindowsResponse, error) {
	app, err := s.cachedApp(ctx, req.GetName(), req.GetProject(), rbac.ActionGet)
	if err != nil {
		return nil, err
	}
	p, err := s.appProject(projectOf(app))
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	server := app.Spec.Destination.Server
	if server == "" && s.d.Clusters != nil {
		if set, err := s.d.Clusters(); err == nil && set != nil {
			if c, err := set.Lookup("", app.Spec.Destination.Name); err == nil {
				server = c.Server
			}
		}
	}
	now := time.Now()
	out := &apiv1.ApplicationServiceGetApplicationSyncWindowsResponse{
		CanSync: project.SyncAllowed(p, app, server, true, now).Allowed,
	}
	for _, w := range p.Spec.SyncWindows {
		if !project.WindowMatches(w, app, server) {
			continue
		}
		st, err := windowStruct(w)
		if err != nil {
			return nil, toStatus(ctx, s.d.Log, err)
		}
		out.AssignedWindows = append(out.AssignedWindows, st)
		if active, _, err := project.WindowActive(w, now); err == nil && active {
			out.ActiveWindows = append(out.ActiveWindows, st)
		}
	}
	return out, nil
}

// windowStruct is a sync window as the API carries it (an empty window is {}, never null).
func windowStruct(w v1alpha1.SyncWindow) (*structpb.Struct, error) {
	st, err := kubeproto.ToStruct(w)
	if st == nil && err == nil {
		st = &structpb.Struct{}
	}
	return st, err
}
