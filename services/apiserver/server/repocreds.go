package server

import (
	"context"
	"strings"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/git"
	"github.com/moorcd/moor/pkg/rbac"
	"github.com/moorcd/moor/pkg/repocreds"
)

// RepoCredsServer serves moor.api.v1.RepoCredsService: credential templates stored as repo-creds Secrets,
// under the RBAC resource "repositories" as in Argo CD. Write credential templates answer Unimplemented.
type RepoCredsServer struct {
	apiv1.UnimplementedRepoCredsServiceServer
	*core
}

func (s *RepoCredsServer) store() *repocreds.Store {
	return repocreds.NewStore(s.d.Kube, s.d.Namespace)
}

// ListRepositoryCredentials returns the templates the caller may get, without secrets.
func (s *RepoCredsServer) ListRepositoryCredentials(ctx context.Context, req *apiv1.RepoCredsServiceListRepositoryCredentialsRequest) (*apiv1.RepoCredsServiceListRepositoryCredentialsResponse, error) {
	list, err := s.store().List(ctx, repocreds.SecretTypeRepoCreds)
	if err != nil {
		return nil, s.repoStatus(ctx, err)
	}
	out := &apiv1.RepoCredsList{Metadata: &apiv1.ListMeta{}, Items: []*apiv1.RepoCreds{}}
	for _, r := range list {
		if only := strings.TrimSpace(req.GetUrl()); only != "" && only != r.URL {
			continue
		}
		if !s.allowed(ctx, rbac.ResourceRepositories, rbac.ActionGet, repoObject(r.Project, r.URL)) {
			continue
		}
		out.Items = append(out.Items, repoCredsToAPI(r))
	}
	return &apiv1.RepoCredsServiceListRepositoryCredentialsResponse{List: out}, nil
}

// CreateRepositoryCredentials stores a template; with upsert it replaces an existing one.
func (s *RepoCredsServer) CreateRepositoryCredentials(ctx context.Context, req *apiv1.RepoCredsServiceCreateRepositoryCredentialsRequest) (*apiv1.RepoCredsServiceCreateRepositoryCredentialsResponse, error) {
	r, err := repoCredsFromAPI(req.GetCreds())
	if err != nil {
		return nil, s.repoStatus(ctx, err)
	}
	if err := s.authorize(ctx, rbac.ResourceRepositories, rbac.ActionCreate, r.URL); err != nil {
		return nil, err
	}
	if req.GetUpsert() {
		if old, err := s.store().Get(ctx, repocreds.SecretTypeRepoCreds, r.URL); err == nil && old.Project != "" {
			if err := s.authorize(ctx, rbac.ResourceRepositories, rbac.ActionUpdate, repoObject(old.Project, old.URL)); err != nil {
				return nil, err
			}
			r.Project = old.Project // the message has no project: keep the template's
		}
	}
	created, err := s.store().Create(ctx, repocreds.SecretTypeRepoCreds, r, req.GetUpsert())
	if err != nil {
		return nil, s.repoStatus(ctx, err)
	}
	return &apiv1.RepoCredsServiceCreateRepositoryCredentialsResponse{Creds: repoCredsToAPI(created)}, nil
}

// UpdateRepositoryCredentials replaces the stored fields of a template.
func (s *RepoCredsServer) UpdateRepositoryCredentials(ctx context.Context, req *apiv1.RepoCredsServiceUpdateRepositoryCredentialsRequest) (*apiv1.RepoCredsServiceUpdateRepositoryCredentialsResponse, error) {
	r, err := repoCredsFromAPI(req.GetCreds())
	if err != nil {
		return nil, s.repoStatus(ctx, err)
	}
	old, err := s.stored(ctx, repocreds.SecretTypeRepoCreds, r.URL, rbac.ActionUpdate)
	if err != nil {
		return nil, err
	}
	r.Project = old.Project
	updated, err := s.store().Update(ctx, repocreds.SecretTypeRepoCreds, r)
	if err != nil {
		return nil, s.repoStatus(ctx, err)
	}
	return &apiv1.RepoCredsServiceUpdateRepositoryCredentialsResponse{Creds: repoCredsToAPI(updated)}, nil
}

// DeleteRepositoryCredentials removes a template's Secret.
func (s *RepoCredsServer) DeleteRepositoryCredentials(ctx context.Context, req *apiv1.RepoCredsServiceDeleteRepositoryCredentialsRequest) (*apiv1.RepoCredsServiceDeleteRepositoryCredentialsResponse, error) {
	r, err := s.stored(ctx, repocreds.SecretTypeRepoCreds, req.GetUrl(), rbac.ActionDelete)
	if err != nil {
		return nil, err
	}
	if err := s.store().Delete(ctx, repocreds.SecretTypeRepoCreds, r.URL); err != nil {
		return nil, s.repoStatus(ctx, err)
	}
	return &apiv1.RepoCredsServiceDeleteRepositoryCredentialsResponse{}, nil
}

// repoCredsFromAPI reads a request's template; credentials Moor cannot use are refused rather than dropped.
func repoCredsFromAPI(in *apiv1.RepoCreds) (*repocreds.Repository, error) {
	if in == nil {
		return nil, &repocreds.FieldError{Field: "url", Reason: "required"}
	}
	return repositoryFromAPI(&apiv1.Repository{
		Repo: in.GetUrl(), Username: in.GetUsername(), Password: in.GetPassword(), SshPrivateKey: in.GetSshPrivateKey(),
		TlsClientCertData: in.GetTlsClientCertData(), TlsClientCertKey: in.GetTlsClientCertKey(),
		GithubAppPrivateKey: in.GetGithubAppPrivateKey(), GithubAppId: in.GetGithubAppId(),
		GithubAppInstallationId: in.GetGithubAppInstallationId(), GithubAppEnterpriseBaseUrl: in.GetGithubAppEnterpriseBaseUrl(),
		EnableOci: in.GetEnableOci(), Type: in.GetType(), GcpServiceAccountKey: in.GetGcpServiceAccountKey(),
		Proxy: in.GetProxy(), ForceHttpBasicAuth: in.GetForceHttpBasicAuth(), NoProxy: in.GetNoProxy(),
		UseAzureWorkloadIdentity: in.GetUseAzureWorkloadIdentity(), BearerToken: in.GetBearerToken(),
		InsecureOciForceHttp: in.GetInsecureOciForceHttp(),
	})
}

// repoCredsToAPI is the answer for a template: Redacted, so no secret leaves the server.
func repoCredsToAPI(r *repocreds.Repository) *apiv1.RepoCreds {
	red := repocreds.Redacted(r)
	out := &apiv1.RepoCreds{
		Url: red.URL, Type: red.Type, Username: red.Git.Username, TlsClientCertData: red.Git.TLSClientCertData,
		EnableOci: red.EnableOCI, Proxy: git.RedactURL(red.Git.Proxy), NoProxy: red.Git.NoProxy,
		ForceHttpBasicAuth: red.ForceHTTPBasicAuth,
	}
	if app := red.GitHubApp; app != nil {
		out.GithubAppId, out.GithubAppInstallationId, out.GithubAppEnterpriseBaseUrl = app.ID, app.InstallationID, app.EnterpriseBaseURL
	}
	return out
}
