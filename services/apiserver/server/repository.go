package server

import apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"

// RepositoryServer serves moor.api.v1.RepositoryService.
type RepositoryServer struct {
	apiv1.UnimplementedRepositoryServiceServer
	*core
}
