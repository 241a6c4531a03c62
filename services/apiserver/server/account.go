package server

import apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"

// AccountServer serves moor.api.v1.AccountService.
type AccountServer struct {
	apiv1.UnimplementedAccountServiceServer
	*core
}
