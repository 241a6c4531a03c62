package server

import apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"

// RepoCredsServer serves moor.api.v1.RepoCredsService.
type RepoCredsServer struct {
	apiv1.UnimplementedRepoCredsServiceServer
	*core
}
