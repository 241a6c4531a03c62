// Command moor-repo-server serves the repo-server contract (moor.reposerver.v1) on gRPC.
package main

import (
	"context"

	"github.com/moorcd/moor/pkg/service"
	"github.com/moorcd/moor/services/reposerver/app"
)

func main() {
	opts := app.NewOptions()
	service.Main("moor-repo-server", opts.BindFlags, func(ctx context.Context) error { return app.Run(ctx, opts) })
}
