package server

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	reposerverv1 "github.com/moorcd/moor/pkg/api/moor/reposerver/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/repoclient"
	"github.com/moorcd/moor/pkg/repocreds"
)

// RepoRevisions checks revisions through the repo-server, with the repository credentials of the
// install's repository Secrets.
type RepoRevisions struct {
	Repo    *repoclient.Client
	Secrets func() ([]corev1.Secret, error)
}

var _ RevisionChecker = (*RepoRevisions)(nil)

// CheckRevision resolves revision for the source at sourceIndex of app.
func (r *RepoRevisions) CheckRevision(ctx context.Context, app *v1alpha1.Application, proj *v1alpha1.AppProject, sourceIndex int, revision string) error {
	sources := app.Spec.GetSources()
	if sourceIndex >= len(sources) {
		return fmt.Errorf("the application has no source %d", sourceIndex)
	}
	src := sources[sourceIndex]
	secrets, err := r.Secrets()
	if err != nil {
		return err
	}
	repo, err := repocreds.Resolve(secrets, src.RepoURL, proj.Name)
	if err != nil {
		return err
	}
	if _, err := r.Repo.ResolveRevision(ctx, &reposerverv1.ResolveRevisionRequest{
		Repo: repoclient.Repository(repo), Revision: revision, Chart: src.Chart}); err != nil {
		return fmt.Errorf("revision %q of %s does not resolve: %w", revision, src.RepoURL, err)
	}
	return nil
}
