package server

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	reposerverv1 "github.com/moorcd/moor/pkg/api/moor/reposerver/v1"
	"github.com/moorcd/moor/pkg/git"
	"github.com/moorcd/moor/pkg/rbac"
	"github.com/moorcd/moor/pkg/repoclient"
	"github.com/moorcd/moor/pkg/repocreds"
)

// RepositoryServer serves moor.api.v1.RepositoryService: repository Secrets through repocreds.Store, and
// questions about a repository's content through the repo-server. Write repositories, OCI tags and Helm
// chart listings answer Unimplemented.
type RepositoryServer struct {
	apiv1.UnimplementedRepositoryServiceServer
	*core
	repoProbes ttlCache[repoProbe]
}

// repoServerTimeout bounds one call to the repo-server made on behalf of a request.
const repoServerTimeout = 2 * time.Minute

func (s *RepositoryServer) store() *repocreds.Store {
	return repocreds.NewStore(s.d.Kube, s.d.Namespace)
}

// repoObject is the RBAC object of a repository or credential template: "<project>/<url>" when it is
// project-scoped, else the URL (Argo CD's form).
func repoObject(project, url string) string {
	if project != "" {
		return project + "/" + url
	}
	return url
}

// repoStatus maps the errors of repocreds to gRPC codes; the rest goes through toStatus.
func (c *core) repoStatus(ctx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, repocreds.ErrInvalidRepository):
		return status.Error(codes.InvalidArgument, oneLine(err))
	case errors.Is(err, repocreds.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, repocreds.ErrAlreadyExists):
		return status.Error(codes.AlreadyExists, err.Error())
	case errors.Is(err, repocreds.ErrInvalidSecret):
		return status.Error(codes.FailedPrecondition, oneLine(err))
	}
	return toStatus(ctx, c.d.Log, err)
}

// oneLine joins the lines of an errors.Join into one message.
func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

// ListRepositories returns the repositories the caller may get, without secrets.
func (s *RepositoryServer) ListRepositories(ctx context.Context, req *apiv1.RepositoryServiceListRepositoriesRequest) (*apiv1.RepositoryServiceListRepositoriesResponse, error) {
	list, err := s.listRepositories(ctx, req.GetRepo(), req.GetForceRefresh())
	if err != nil {
		return nil, err
	}
	return &apiv1.RepositoryServiceListRepositoriesResponse{List: list}, nil
}

// List is the deprecated twin of ListRepositories.
func (s *RepositoryServer) List(ctx context.Context, req *apiv1.RepositoryServiceListRequest) (*apiv1.RepositoryServiceListResponse, error) {
	list, err := s.listRepositories(ctx, req.GetRepo(), req.GetForceRefresh())
	if err != nil {
		return nil, err
	}
	return &apiv1.RepositoryServiceListResponse{List: list}, nil
}

func (s *RepositoryServer) listRepositories(ctx context.Context, only string, force bool) (*apiv1.RepositoryList, error) {
	secrets, err := s.repoSecrets(ctx)
	if err != nil {
		return nil, s.repoStatus(ctx, err)
	}
	repos, err := s.store().List(ctx, repocreds.SecretTypeRepository)
	if err != nil {
		return nil, s.repoStatus(ctx, err)
	}
	out := &apiv1.RepositoryList{Metadata: &apiv1.ListMeta{}, Items: []*apiv1.Repository{}}
	var shown []*repocreds.Repository
	for _, r := range repos {
		if only != "" && git.NormalizeURL(only) != git.NormalizeURL(r.URL) {
			continue
		}
		if !s.allowed(ctx, rbac.ResourceRepositories, rbac.ActionGet, repoObject(r.Project, r.URL)) {
			continue
		}
		item := repositoryToAPI(r)
		item.InheritedCreds = inheritsCreds(secrets, r)
		out.Items = append(out.Items, item)
		shown = append(shown, r)
	}
	s.withConnectionState(ctx, secrets, shown, out.Items, force)
	return out, nil
}

// Get returns one repository, without secrets. A missing repository answers NotFound only to callers who
// could get it if it existed.
func (s *RepositoryServer) Get(ctx context.Context, req *apiv1.RepositoryServiceGetRequest) (*apiv1.RepositoryServiceGetResponse, error) {
	r, err := s.stored(ctx, repocreds.SecretTypeRepository, req.GetRepo(), rbac.ActionGet)
	if err != nil {
		return nil, err
	}
	item := repositoryToAPI(r)
	secrets, err := s.repoSecrets(ctx)
	if err == nil {
		item.InheritedCreds = inheritsCreds(secrets, r)
		s.withConnectionState(ctx, secrets, []*repocreds.Repository{r}, []*apiv1.Repository{item}, req.GetForceRefresh())
	}
	return &apiv1.RepositoryServiceGetResponse{Repository: item}, nil
}

// stored reads the Secret of kind for url and authorizes action on it.
func (c *core) stored(ctx context.Context, kind, url, action string) (*repocreds.Repository, error) {
	if strings.TrimSpace(url) == "" {
		return nil, status.Error(codes.InvalidArgument, "repo: required")
	}
	r, err := repocreds.NewStore(c.d.Kube, c.d.Namespace).Get(ctx, kind, url)
	if errors.Is(err, repocreds.ErrNotFound) {
		if err := c.authorize(ctx, rbac.ResourceRepositories, action, url); err != nil {
			return nil, err
		}
	}
	if err != nil {
		return nil, c.repoStatus(ctx, err)
	}
	if err := c.authorize(ctx, rbac.ResourceRepositories, action, repoObject(r.Project, r.URL)); err != nil {
		return nil, err
	}
	return r, nil
}

// CreateRepository stores a repository; with upsert it replaces an existing one. The connection is not
// tested here: ValidateAccess does that.
func (s *RepositoryServer) CreateRepository(ctx context.Context, req *apiv1.RepositoryServiceCreateRepositoryRequest) (*apiv1.RepositoryServiceCreateRepositoryResponse, error) {
	r, err := s.create(ctx, req.GetRepo(), req.GetUpsert())
	if err != nil {
		return nil, err
	}
	return &apiv1.RepositoryServiceCreateRepositoryResponse{Repository: r}, nil
}

// Create is the deprecated twin of CreateRepository.
func (s *RepositoryServer) Create(ctx context.Context, req *apiv1.RepositoryServiceCreateRequest) (*apiv1.RepositoryServiceCreateResponse, error) {
	r, err := s.create(ctx, req.GetRepo(), req.GetUpsert())
	if err != nil {
		return nil, err
	}
	return &apiv1.RepositoryServiceCreateResponse{Repository: r}, nil
}

func (s *RepositoryServer) create(ctx context.Context, in *apiv1.Repository, upsert bool) (*apiv1.Repository, error) {
	r, err := repositoryFromAPI(in)
	if err != nil {
		return nil, s.repoStatus(ctx, err)
	}
	if err := s.authorize(ctx, rbac.ResourceRepositories, rbac.ActionCreate, repoObject(r.Project, r.URL)); err != nil {
		return nil, err
	}
	if upsert {
		// Replacing a repository of another project changes that project's repository too.
		if old, err := s.store().Get(ctx, repocreds.SecretTypeRepository, r.URL); err == nil && old.Project != r.Project {
			if err := s.authorize(ctx, rbac.ResourceRepositories, rbac.ActionUpdate, repoObject(old.Project, old.URL)); err != nil {
				return nil, err
			}
		}
	}
	created, err := s.store().Create(ctx, repocreds.SecretTypeRepository, r, upsert)
	if err != nil {
		return nil, s.repoStatus(ctx, err)
	}
	return repositoryToAPI(created), nil
}

// UpdateRepository replaces the stored fields of a repository.
func (s *RepositoryServer) UpdateRepository(ctx context.Context, req *apiv1.RepositoryServiceUpdateRepositoryRequest) (*apiv1.RepositoryServiceUpdateRepositoryResponse, error) {
	r, err := s.update(ctx, req.GetRepo())
	if err != nil {
		return nil, err
	}
	return &apiv1.RepositoryServiceUpdateRepositoryResponse{Repository: r}, nil
}

// Update is the deprecated twin of UpdateRepository.
func (s *RepositoryServer) Update(ctx context.Context, req *apiv1.RepositoryServiceUpdateRequest) (*apiv1.RepositoryServiceUpdateResponse, error) {
	r, err := s.update(ctx, req.GetRepo())
	if err != nil {
		return nil, err
	}
	return &apiv1.RepositoryServiceUpdateResponse{Repository: r}, nil
}

func (s *RepositoryServer) update(ctx context.Context, in *apiv1.Repository) (*apiv1.Repository, error) {
	r, err := repositoryFromAPI(in)
	if err != nil {
		return nil, s.repoStatus(ctx, err)
	}
	old, err := s.stored(ctx, repocreds.SecretTypeRepository, r.URL, rbac.ActionUpdate)
	if err != nil {
		return nil, err
	}
	if old.Project != r.Project {
		if err := s.authorize(ctx, rbac.ResourceRepositories, rbac.ActionUpdate, repoObject(r.Project, r.URL)); err != nil {
			return nil, err
		}
	}
	updated, err := s.store().Update(ctx, repocreds.SecretTypeRepository, r)
	if err != nil {
		return nil, s.repoStatus(ctx, err)
	}
	return repositoryToAPI(updated), nil
}

// DeleteRepository removes a repository's Secret.
func (s *RepositoryServer) DeleteRepository(ctx context.Context, req *apiv1.RepositoryServiceDeleteRepositoryRequest) (*apiv1.RepositoryServiceDeleteRepositoryResponse, error) {
	if err := s.delete(ctx, req.GetRepo()); err != nil {
		return nil, err
	}
	return &apiv1.RepositoryServiceDeleteRepositoryResponse{}, nil
}

// Delete is the deprecated twin of DeleteRepository.
func (s *RepositoryServer) Delete(ctx context.Context, req *apiv1.RepositoryServiceDeleteRequest) (*apiv1.RepositoryServiceDeleteResponse, error) {
	if err := s.delete(ctx, req.GetRepo()); err != nil {
		return nil, err
	}
	return &apiv1.RepositoryServiceDeleteResponse{}, nil
}

func (s *RepositoryServer) delete(ctx context.Context, url string) error {
	r, err := s.stored(ctx, repocreds.SecretTypeRepository, url, rbac.ActionDelete)
	if err != nil {
		return err
	}
	return s.repoStatus(ctx, s.store().Delete(ctx, repocreds.SecretTypeRepository, r.URL))
}

// ValidateAccess asks the repo-server to read the repository with the given credentials, without storing
// them. A failure answers FailedPrecondition with the repo-server's reason, which never quotes a credential.
func (s *RepositoryServer) ValidateAccess(ctx context.Context, req *apiv1.RepositoryServiceValidateAccessRequest) (*apiv1.RepositoryServiceValidateAccessResponse, error) {
	r, err := repositoryFromAPI(&apiv1.Repository{
		Repo: req.GetRepo(), Username: req.GetUsername(), Password: req.GetPassword(), SshPrivateKey: req.GetSshPrivateKey(),
		Insecure: req.GetInsecure(), TlsClientCertData: req.GetTlsClientCertData(), TlsClientCertKey: req.GetTlsClientCertKey(),
		Type: req.GetType(), Name: req.GetName(), EnableOci: req.GetEnableOci(), GithubAppPrivateKey: req.GetGithubAppPrivateKey(),
		GithubAppId: req.GetGithubAppId(), GithubAppInstallationId: req.GetGithubAppInstallationId(),
		GithubAppEnterpriseBaseUrl: req.GetGithubAppEnterpriseBaseUrl(), Proxy: req.GetProxy(), Project: req.GetProject(),
		GcpServiceAccountKey: req.GetGcpServiceAccountKey(), ForceHttpBasicAuth: req.GetForceHttpBasicAuth(),
		NoProxy: req.GetNoProxy(), UseAzureWorkloadIdentity: req.GetUseAzureWorkloadIdentity(), BearerToken: req.GetBearerToken(),
		InsecureOciForceHttp: req.GetInsecureOciForceHttp(),
	})
	if err != nil {
		return nil, s.repoStatus(ctx, err)
	}
	if err := s.authorize(ctx, rbac.ResourceRepositories, rbac.ActionCreate, repoObject(r.Project, r.URL)); err != nil {
		return nil, err
	}
	// Host trust (known hosts, CA bundles) comes from the install's ConfigMaps, as for stored repositories.
	trust, err := (&repocreds.Resolver{Secrets: noSecrets{}, ConfigMaps: kubeConfigMaps{ctx: ctx, c: s.core}}).Resolve(ctx, r.URL, r.Project)
	if err != nil {
		return nil, s.repoStatus(ctx, err)
	}
	r.Git.KnownHosts, r.Git.CAData = trust.Git.KnownHosts, trust.Git.CAData
	rs, err := s.repoServer()
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, repoServerTimeout)
	defer cancel()
	resp, err := rs.TestRepository(cctx, &reposerverv1.TestRepositoryRequest{Repo: repoclient.Repository(r)})
	if err != nil {
		return nil, repoServerStatus(err)
	}
	if !resp.GetOk() {
		return nil, status.Errorf(codes.FailedPrecondition, "unable to access repository %s: %s", git.RedactURL(r.URL), resp.GetMessage())
	}
	return &apiv1.RepositoryServiceValidateAccessResponse{}, nil
}

// ListRefs returns the branches and tags of a repository, read with its stored credentials.
func (s *RepositoryServer) ListRefs(ctx context.Context, req *apiv1.RepositoryServiceListRefsRequest) (*apiv1.RepositoryServiceListRefsResponse, error) {
	repo, rs, err := s.resolveForRead(ctx, req.GetRepo(), req.GetAppProject())
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, repoServerTimeout)
	defer cancel()
	resp, err := rs.ListRefs(cctx, &reposerverv1.ListRefsRequest{Repo: repoclient.Repository(repo)})
	if err != nil {
		return nil, repoServerStatus(err)
	}
	return &apiv1.RepositoryServiceListRefsResponse{Branches: resp.GetBranches(), Tags: resp.GetTags()}, nil
}

// ListApps returns the directories of a revision that look like applications.
func (s *RepositoryServer) ListApps(ctx context.Context, req *apiv1.RepositoryServiceListAppsRequest) (*apiv1.RepositoryServiceListAppsResponse, error) {
	repo, rs, err := s.resolveForRead(ctx, req.GetRepo(), req.GetAppProject())
	if err != nil {
		return nil, err
	}
	revision := req.GetRevision()
	if revision == "" {
		revision = "HEAD"
	}
	cctx, cancel := context.WithTimeout(ctx, repoServerTimeout)
	defer cancel()
	resp, err := rs.ListApps(cctx, &reposerverv1.ListAppsRequest{Repo: repoclient.Repository(repo), Revision: revision})
	if err != nil {
		return nil, repoServerStatus(err)
	}
	out := &apiv1.RepositoryServiceListAppsResponse{Items: make([]*apiv1.AppInfo, 0, len(resp.GetApps()))}
	for path, typ := range resp.GetApps() {
		out.Items = append(out.Items, &apiv1.AppInfo{Path: path, Type: typ})
	}
	sort.Slice(out.Items, func(i, j int) bool { return out.Items[i].Path < out.Items[j].Path })
	return out, nil
}

// GetAppDetails describes the application at a source: its type and its Helm or Kustomize parameters.
func (s *RepositoryServer) GetAppDetails(ctx context.Context, req *apiv1.RepositoryServiceGetAppDetailsRequest) (*apiv1.RepositoryServiceGetAppDetailsResponse, error) {
	src := req.GetSource()
	if src == nil {
		return nil, status.Error(codes.InvalidArgument, "source: required")
	}
	repo, rs, err := s.resolveForRead(ctx, src.GetRepoURL(), req.GetAppProject())
	if err != nil {
		return nil, err
	}
	source, err := sourceStruct(src)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, "source: "+err.Error())
	}
	cctx, cancel := context.WithTimeout(ctx, repoServerTimeout)
	defer cancel()
	resp, err := rs.GetAppDetails(cctx, &reposerverv1.GetAppDetailsRequest{
		Repo: repoclient.Repository(repo), Source: source, Revision: src.GetTargetRevision(), AppName: req.GetAppName(),
	})
	if err != nil {
		return nil, repoServerStatus(err)
	}
	out := &apiv1.RepositoryServiceGetAppDetailsResponse{Type: resp.GetSourceType()}
	if h := resp.GetHelm(); h != nil {
		spec := &apiv1.HelmAppSpec{Name: h.GetName(), ValueFiles: h.GetValueFiles(), Values: h.GetValues()}
		for _, p := range h.GetParameters() {
			spec.Parameters = append(spec.Parameters, &apiv1.HelmParameter{Name: p.GetName(), Value: p.GetValue(), ForceString: p.GetForceString()})
		}
		for _, p := range h.GetFileParameters() {
			spec.FileParameters = append(spec.FileParameters, &apiv1.HelmFileParameter{Name: p.GetName(), Path: p.GetPath()})
		}
		out.Helm = spec
	}
	if k := resp.GetKustomize(); k != nil {
		out.Kustomize = &apiv1.KustomizeAppSpec{Images: k.GetImages()}
	}
	switch resp.GetSourceType() {
	case "Directory":
		out.Directory = &apiv1.DirectoryAppSpec{}
	case "Plugin":
		out.Plugin = &apiv1.PluginAppSpec{}
	}
	return out, nil
}

// resolveForRead authorizes reading url (Argo CD's "repositories get" on the stored repository, or on the
// URL when none is stored) and resolves its credentials as project sees them.
func (s *RepositoryServer) resolveForRead(ctx context.Context, url, project string) (*repocreds.Repository, reposerverv1.RepoServerServiceClient, error) {
	if strings.TrimSpace(url) == "" {
		return nil, nil, status.Error(codes.InvalidArgument, "repo: required")
	}
	stored, err := s.store().Get(ctx, repocreds.SecretTypeRepository, url)
	switch {
	case err == nil:
		if project == "" {
			project = stored.Project
		}
		err = s.authorize(ctx, rbac.ResourceRepositories, rbac.ActionGet, repoObject(stored.Project, stored.URL))
	case errors.Is(err, repocreds.ErrNotFound):
		err = s.authorize(ctx, rbac.ResourceRepositories, rbac.ActionGet, repoObject(project, url))
	default:
		err = s.repoStatus(ctx, err)
	}
	if err != nil {
		return nil, nil, err
	}
	repo, err := (&repocreds.Resolver{Secrets: kubeSecrets{ctx: ctx, c: s.core}, ConfigMaps: kubeConfigMaps{ctx: ctx, c: s.core}}).Resolve(ctx, url, project)
	if err != nil {
		return nil, nil, s.repoStatus(ctx, err)
	}
	rs, err := s.repoServer()
	if err != nil {
		return nil, nil, err
	}
	return repo, rs, nil
}

// repoServer is the repo-server client of the install, reached through the revision checker it serves.
func (c *core) repoServer() (reposerverv1.RepoServerServiceClient, error) {
	if rr, ok := c.d.Revisions.(*RepoRevisions); ok && rr.Repo != nil {
		return rr.Repo.RPC(), nil
	}
	return nil, status.Error(codes.Unavailable, "no repo-server is configured")
}

// repoServerStatus passes the repo-server's answer on; an unreachable repo-server says so plainly.
func repoServerStatus(err error) error {
	st, ok := status.FromError(err)
	switch {
	case !ok:
		return status.Error(codes.Internal, "repo-server call failed")
	case st.Code() == codes.Unavailable:
		return status.Error(codes.Unavailable, "repo-server unavailable: "+st.Message())
	}
	return status.Error(st.Code(), "repo-server: "+st.Message())
}

// repoSecrets lists the repository and credential-template Secrets, read fresh.
func (c *core) repoSecrets(ctx context.Context) ([]corev1.Secret, error) {
	list, err := c.d.Kube.CoreV1().Secrets(c.d.Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: repocreds.LabelSecretType + " in (" + repocreds.SecretTypeRepository + "," + repocreds.SecretTypeRepoCreds + ")",
	})
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

// inheritsCreds reports whether r gets its credentials from a credential template.
func inheritsCreds(secrets []corev1.Secret, r *repocreds.Repository) bool {
	resolved, err := repocreds.Resolve(secrets, r.URL, r.Project)
	return err == nil && resolved.CredsSecretName != ""
}

// kubeSecrets is a repocreds.SecretLister reading the API server directly, so a write is seen at once.
type kubeSecrets struct {
	ctx context.Context
	c   *core
}

func (k kubeSecrets) List(selector labels.Selector) ([]*corev1.Secret, error) {
	list, err := k.c.d.Kube.CoreV1().Secrets(k.c.d.Namespace).List(k.ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return nil, err
	}
	out := make([]*corev1.Secret, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, &list.Items[i])
	}
	return out, nil
}

// secretSlice is a repocreds.SecretLister over Secrets already read.
type secretSlice []corev1.Secret

func (s secretSlice) List(selector labels.Selector) ([]*corev1.Secret, error) {
	var out []*corev1.Secret
	for i := range s {
		if selector.Matches(labels.Set(s[i].Labels)) {
			out = append(out, &s[i])
		}
	}
	return out, nil
}

// noSecrets resolves no stored credentials: ValidateAccess tests only what it is given.
type noSecrets struct{}

func (noSecrets) List(labels.Selector) ([]*corev1.Secret, error) { return nil, nil }

// kubeConfigMaps is a repocreds.ConfigMapGetter reading the API server directly.
type kubeConfigMaps struct {
	ctx context.Context
	c   *core
}

func (k kubeConfigMaps) Get(name string) (*corev1.ConfigMap, error) {
	return k.c.d.Kube.CoreV1().ConfigMaps(k.c.d.Namespace).Get(k.ctx, name, metav1.GetOptions{})
}

// repositoryFromAPI reads a request's repository. Credentials Moor cannot use are refused rather than
// dropped.
func repositoryFromAPI(in *apiv1.Repository) (*repocreds.Repository, error) {
	if in == nil {
		return nil, &repocreds.FieldError{Field: "url", Reason: "required"}
	}
	var errs []error
	unsupported := func(set bool, field string) {
		if set {
			errs = append(errs, &repocreds.FieldError{Field: field, Reason: "not supported by Moor"})
		}
	}
	unsupported(in.GetGcpServiceAccountKey() != "", "gcpServiceAccountKey")
	unsupported(in.GetUseAzureWorkloadIdentity(), "useAzureWorkloadIdentity")
	unsupported(in.GetInsecureOciForceHttp(), "insecureOCIForceHttp")
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	r := &repocreds.Repository{
		URL: strings.TrimSpace(in.GetRepo()), Type: in.GetType(), Name: in.GetName(), Project: in.GetProject(),
		Git: git.Repo{
			Username: in.GetUsername(), Password: in.GetPassword(), BearerToken: in.GetBearerToken(),
			SSHPrivateKey: in.GetSshPrivateKey(), InsecureIgnoreHostKey: in.GetInsecureIgnoreHostKey(),
			TLSClientCertData: in.GetTlsClientCertData(), TLSClientCertKey: in.GetTlsClientCertKey(),
			Insecure: in.GetInsecure(), Proxy: in.GetProxy(), NoProxy: in.GetNoProxy(),
		},
		EnableLFS: in.GetEnableLfs(), EnableOCI: in.GetEnableOci(), ForceHTTPBasicAuth: in.GetForceHttpBasicAuth(),
		Depth: in.GetDepth(),
	}
	r.Git.URL = r.URL
	if in.GetGithubAppId() != 0 || in.GetGithubAppInstallationId() != 0 || in.GetGithubAppPrivateKey() != "" {
		r.GitHubApp = &repocreds.GitHubApp{
			ID: in.GetGithubAppId(), InstallationID: in.GetGithubAppInstallationId(),
			PrivateKey: in.GetGithubAppPrivateKey(), EnterpriseBaseURL: in.GetGithubAppEnterpriseBaseUrl(),
		}
	}
	return r, nil
}

// repositoryToAPI is the answer for r: Redacted, so no secret leaves the server.
func repositoryToAPI(r *repocreds.Repository) *apiv1.Repository {
	red := repocreds.Redacted(r)
	out := &apiv1.Repository{
		Repo: red.URL, Type: red.Type, Name: red.Name, Project: red.Project, Username: red.Git.Username,
		Insecure: red.Git.Insecure, InsecureIgnoreHostKey: red.Git.InsecureIgnoreHostKey,
		TlsClientCertData: red.Git.TLSClientCertData, Proxy: red.Git.Proxy, NoProxy: red.Git.NoProxy,
		EnableLfs: red.EnableLFS, EnableOci: red.EnableOCI, ForceHttpBasicAuth: red.ForceHTTPBasicAuth, Depth: red.Depth,
	}
	if app := red.GitHubApp; app != nil {
		out.GithubAppId, out.GithubAppInstallationId, out.GithubAppEnterpriseBaseUrl = app.ID, app.InstallationID, app.EnterpriseBaseURL
	}
	return out
}

// sourceStruct is src in the Kubernetes JSON form the repo-server takes.
func sourceStruct(src *apiv1.ApplicationSource) (*structpb.Struct, error) {
	m := map[string]any{"repoURL": src.GetRepoURL()}
	str := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	str("path", src.GetPath())
	str("targetRevision", src.GetTargetRevision())
	str("chart", src.GetChart())
	str("ref", src.GetRef())
	str("name", src.GetName())
	for k, v := range map[string]*structpb.Struct{"helm": src.GetHelm(), "kustomize": src.GetKustomize(), "directory": src.GetDirectory(), "plugin": src.GetPlugin()} {
		if v != nil {
			m[k] = v.AsMap()
		}
	}
	return structpb.NewStruct(m)
}
