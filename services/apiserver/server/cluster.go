package server

import apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"

// ClusterServer serves moor.api.v1.ClusterService.
type ClusterServer struct {
	apiv1.UnimplementedClusterServiceServer
	*core
}
