// Command moor-controller compares Applications' live state with their rendered state and writes status.
package main

import (
	"context"

	"github.com/moorcd/moor/pkg/service"
	"github.com/moorcd/moor/services/controller/app"
)

func main() {
	opts := app.NewOptions()
	service.Main("moor-controller", opts.BindFlags, func(ctx context.Context) error { return app.Run(ctx, opts) })
}
