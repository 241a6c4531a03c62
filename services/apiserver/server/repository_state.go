package server

import (
	"context"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	reposerverv1 "github.com/moorcd/moor/pkg/api/moor/reposerver/v1"
	"github.com/moorcd/moor/pkg/repoclient"
	"github.com/moorcd/moor/pkg/repocreds"
)

// A repository's connection state (Successful or Failed, with the repo-server's message) is tested through
// the repo-server with the credentials the repository resolves to, at most once a minute per repository
// unless forceRefresh asks for a new test.
const (
	repoProbeTTL     = time.Minute
	repoProbeTimeout = 5 * time.Second
	repoProbes       = 8 // in parallel
)

type repoProbe struct {
	at      time.Time
	ok      bool
	message string
}

// withConnectionState fills the connection state of items (items[i] is of repos[i]); secrets are the
// repository and credential Secrets the caller read, which resolve each repository's credentials.
func (s *RepositoryServer) withConnectionState(ctx context.Context, secrets []corev1.Secret, repos []*repocreds.Repository, items []*apiv1.Repository, force bool) {
	rs, err := s.repoServer()
	if err != nil {
		return // no repo-server: the state stays unknown
	}
	ctx = context.WithoutCancel(ctx) // a client that gives up must not leave a cached "context canceled"
	resolver := &repocreds.Resolver{Secrets: secretSlice(secrets), ConfigMaps: kubeConfigMaps{ctx: ctx, c: s.core}}
	var g errgroup.Group
	g.SetLimit(repoProbes)
	for i, r := range repos {
		g.Go(func() error {
			pr := s.probeRepo(ctx, rs, resolver, r, force)
			state := &apiv1.ConnectionState{Status: "Successful", AttemptedAt: pr.at.UTC().Format(time.RFC3339)}
			if !pr.ok {
				state.Status, state.Message = "Failed", pr.message
			}
			items[i].ConnectionState = state
			return nil
		})
	}
	_ = g.Wait()
}

func (s *RepositoryServer) probeRepo(ctx context.Context, rs reposerverv1.RepoServerServiceClient, resolver *repocreds.Resolver,
	r *repocreds.Repository, force bool) repoProbe {
	key := r.Project + "|" + r.URL
	if pr, ok := s.repoProbes.get(key, repoProbeTTL); ok && !force {
		return pr
	}
	pr := repoProbe{at: time.Now()}
	repo, err := resolver.Resolve(ctx, r.URL, r.Project)
	if err == nil {
		cctx, cancel := context.WithTimeout(ctx, repoProbeTimeout)
		var resp *reposerverv1.TestRepositoryResponse
		resp, err = rs.TestRepository(cctx, &reposerverv1.TestRepositoryRequest{Repo: repoclient.Repository(repo)})
		cancel()
		if err == nil {
			pr.ok, pr.message = resp.GetOk(), resp.GetMessage()
		}
	}
	if err != nil {
		pr.message = oneLine(repoServerStatus(err))
	}
	s.repoProbes.put(key, pr)
	return pr
}
