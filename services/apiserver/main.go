// Command moor-server is Moor's API server: gRPC and the REST gateway on one port, login, RBAC and Git webhooks.
package main

import (
	"context"

	"github.com/moorcd/moor/pkg/service"
	"github.com/moorcd/moor/services/apiserver/app"
)

func main() {
	opts := app.NewOptions()
	service.Main("moor-server", opts.BindFlags, func(ctx context.Context) error { return app.Run(ctx, opts) })
}
