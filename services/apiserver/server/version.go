package server

import (
	"context"
	"runtime"
	"runtime/debug"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/version"
)

// VersionServer implements moor.api.v1.VersionService.
type VersionServer struct {
	apiv1.UnimplementedVersionServiceServer
}

// Version reports the build, with the versions of the renderers linked in.
func (VersionServer) Version(context.Context, *apiv1.VersionServiceVersionRequest) (*apiv1.VersionServiceVersionResponse, error) {
	v := version.Get()
	out := &apiv1.VersionServiceVersionResponse{
		Version: v.Version, GitCommit: v.Commit, GoVersion: v.GoVersion, Compiler: runtime.Compiler, Platform: v.Platform,
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			switch d.Path {
			case "helm.sh/helm/v4":
				out.HelmVersion = d.Version
			case "sigs.k8s.io/kustomize/api":
				out.KustomizeVersion = d.Version
			case "github.com/google/go-jsonnet":
				out.JsonnetVersion = d.Version
			case "k8s.io/client-go":
				out.KubectlVersion = d.Version
			}
		}
	}
	return out, nil
}
