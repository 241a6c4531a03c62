package server

import (
	"context"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	reposerverv1 "github.com/moorcd/moor/pkg/api/moor/reposerver/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/git"
	"github.com/moorcd/moor/pkg/kubeproto"
	"github.com/moorcd/moor/pkg/render"
	"github.com/moorcd/moor/services/reposerver/manifests"
)

// Engine is what the handlers need of the manifests engine.
type Engine interface {
	Generate(ctx context.Context, req *manifests.GenerateRequest) (*manifests.GenerateResult, error)
	Resolve(ctx context.Context, repo manifests.Repository, revision, chart string, noCache bool) (*manifests.Resolution, error)
	ListRefs(ctx context.Context, repo manifests.Repository) (*git.Refs, error)
	ListApps(ctx context.Context, repo manifests.Repository, revision string, noCache bool) (map[string]string, string, error)
	AppDetails(ctx context.Context, repo manifests.Repository, src *v1alpha1.ApplicationSource, revision string, noCache bool) (*manifests.AppDetails, error)
	RevisionMetadata(ctx context.Context, repo manifests.Repository, revision string) (*git.RevisionMetadata, error)
	TestRepository(ctx context.Context, repo manifests.Repository) error
	GitFiles(ctx context.Context, repo manifests.Repository, revision, pattern string, noCache bool) (map[string][]byte, string, error)
	GitDirectories(ctx context.Context, repo manifests.Repository, revision string, noCache bool) ([]string, string, error)
}

var _ Engine = (*manifests.Service)(nil)

// Server implements moor.reposerver.v1.RepoServerService.
type Server struct {
	reposerverv1.UnimplementedRepoServerServiceServer
	engine Engine
}

var _ reposerverv1.RepoServerServiceServer = (*Server)(nil)

// New returns a Server.
func New(engine Engine) *Server { return &Server{engine: engine} }

// GenerateManifests renders one application source.
func (s *Server) GenerateManifests(ctx context.Context, req *reposerverv1.GenerateManifestsRequest) (*reposerverv1.GenerateManifestsResponse, error) {
	repo, err := toRepo(req.GetRepo())
	if err != nil {
		return nil, err
	}
	src, err := toSource(req.GetSource())
	if err != nil {
		return nil, err
	}
	refs := map[string]manifests.RefSource{}
	for name, r := range req.GetRefSources() {
		rr, err := toRepo(r.GetRepo())
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "ref source $%s: %v", name, status.Convert(err).Message())
		}
		refs[strings.TrimPrefix(name, "$")] = manifests.RefSource{Repo: rr, Revision: r.GetRevision()}
	}
	var deps []manifests.Repository
	for _, d := range req.GetDependencyRepos() {
		dr, err := toRepo(d)
		if err != nil {
			return nil, err
		}
		deps = append(deps, dr)
	}
	res, err := s.engine.Generate(ctx, &manifests.GenerateRequest{
		Repo: repo, Source: *src, Revision: req.GetRevision(), RefSources: refs,
		AppName: req.GetAppName(), Namespace: req.GetNamespace(),
		KubeVersion: req.GetKubeVersion(), APIVersions: req.GetApiVersions(),
		NoCache: req.GetNoCache(), Limits: toLimits(req.GetLimits()),
		GeneratePaths: req.GetManifestGeneratePaths(), DependencyRepos: deps,
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return &reposerverv1.GenerateManifestsResponse{
		Manifests: res.Manifests, Revision: res.Revision, SourceType: res.SourceType, Cached: res.Cached,
	}, nil
}

// ResolveRevision resolves a ref to a commit, or a chart version constraint to a version.
func (s *Server) ResolveRevision(ctx context.Context, req *reposerverv1.ResolveRevisionRequest) (*reposerverv1.ResolveRevisionResponse, error) {
	repo, err := toRepo(req.GetRepo())
	if err != nil {
		return nil, err
	}
	res, err := s.engine.Resolve(ctx, repo, req.GetRevision(), req.GetChart(), req.GetNoCache())
	if err != nil {
		return nil, toStatus(err)
	}
	return &reposerverv1.ResolveRevisionResponse{Revision: res.Revision, Kind: refKind(res.Kind, req.GetRevision()), ResolvedRef: res.Ref}, nil
}

func refKind(kind, revision string) reposerverv1.RefKind {
	switch {
	case kind == string(git.KindBranch) && (revision == "" || revision == "HEAD"):
		return reposerverv1.RefKind_REF_KIND_HEAD
	case kind == string(git.KindBranch):
		return reposerverv1.RefKind_REF_KIND_BRANCH
	case kind == string(git.KindTag), kind == string(git.KindSemver):
		return reposerverv1.RefKind_REF_KIND_TAG
	case kind == string(git.KindCommit):
		return reposerverv1.RefKind_REF_KIND_COMMIT
	case kind == "chart-version":
		return reposerverv1.RefKind_REF_KIND_CHART_VERSION
	}
	return reposerverv1.RefKind_REF_KIND_UNSPECIFIED
}

// ListRefs lists branches and tags.
func (s *Server) ListRefs(ctx context.Context, req *reposerverv1.ListRefsRequest) (*reposerverv1.ListRefsResponse, error) {
	repo, err := toRepo(req.GetRepo())
	if err != nil {
		return nil, err
	}
	refs, err := s.engine.ListRefs(ctx, repo)
	if err != nil {
		return nil, toStatus(err)
	}
	return &reposerverv1.ListRefsResponse{Branches: refs.Branches, Tags: refs.Tags}, nil
}

// ListApps lists the charts and kustomizations at a revision.
func (s *Server) ListApps(ctx context.Context, req *reposerverv1.ListAppsRequest) (*reposerverv1.ListAppsResponse, error) {
	repo, err := toRepo(req.GetRepo())
	if err != nil {
		return nil, err
	}
	apps, sha, err := s.engine.ListApps(ctx, repo, req.GetRevision(), req.GetNoCache())
	if err != nil {
		return nil, toStatus(err)
	}
	return &reposerverv1.ListAppsResponse{Apps: apps, Revision: sha}, nil
}

// GetAppDetails describes the app at a source's path.
func (s *Server) GetAppDetails(ctx context.Context, req *reposerverv1.GetAppDetailsRequest) (*reposerverv1.GetAppDetailsResponse, error) {
	repo, err := toRepo(req.GetRepo())
	if err != nil {
		return nil, err
	}
	src, err := toSource(req.GetSource())
	if err != nil {
		return nil, err
	}
	d, err := s.engine.AppDetails(ctx, repo, src, req.GetRevision(), req.GetNoCache())
	if err != nil {
		return nil, toStatus(err)
	}
	out := &reposerverv1.GetAppDetailsResponse{SourceType: d.SourceType, Revision: d.Revision}
	if d.Helm != nil {
		h := &reposerverv1.HelmDetails{Name: d.Helm.Name, ValueFiles: d.Helm.ValueFiles, Values: d.Helm.Values}
		for _, p := range d.Helm.Parameters {
			h.Parameters = append(h.Parameters, &reposerverv1.HelmParameter{Name: p.Name, Value: p.Value, ForceString: p.ForceString != nil && *p.ForceString})
		}
		out.Helm = h
	}
	if d.Kustomize != nil {
		out.Kustomize = &reposerverv1.KustomizeDetails{Images: d.Kustomize.Images}
	}
	return out, nil
}

// GetRevisionMetadata returns a commit's author, date, message and tags.
func (s *Server) GetRevisionMetadata(ctx context.Context, req *reposerverv1.GetRevisionMetadataRequest) (*reposerverv1.GetRevisionMetadataResponse, error) {
	repo, err := toRepo(req.GetRepo())
	if err != nil {
		return nil, err
	}
	m, err := s.engine.RevisionMetadata(ctx, repo, req.GetRevision())
	if err != nil {
		return nil, toStatus(err)
	}
	author := m.Author.Name
	if m.Author.Email != "" {
		author += " <" + m.Author.Email + ">"
	}
	return &reposerverv1.GetRevisionMetadataResponse{
		Author: author, Date: timestamppb.New(m.Author.When), Tags: m.Tags, Message: m.Message,
	}, nil
}

// TestRepository checks the repository answers with the given credentials.
func (s *Server) TestRepository(ctx context.Context, req *reposerverv1.TestRepositoryRequest) (*reposerverv1.TestRepositoryResponse, error) {
	repo, err := toRepo(req.GetRepo())
	if err != nil {
		return nil, err
	}
	if err := s.engine.TestRepository(ctx, repo); err != nil {
		if manifests.KindOf(err) == manifests.KindCanceled {
			return nil, toStatus(err)
		}
		return &reposerverv1.TestRepositoryResponse{Ok: false, Message: err.Error()}, nil
	}
	return &reposerverv1.TestRepositoryResponse{Ok: true}, nil
}

// GetGitFiles returns the files matching a glob at a revision.
func (s *Server) GetGitFiles(ctx context.Context, req *reposerverv1.GetGitFilesRequest) (*reposerverv1.GetGitFilesResponse, error) {
	repo, err := toRepo(req.GetRepo())
	if err != nil {
		return nil, err
	}
	files, sha, err := s.engine.GitFiles(ctx, repo, req.GetRevision(), req.GetPath(), req.GetNoCache())
	if err != nil {
		return nil, toStatus(err)
	}
	return &reposerverv1.GetGitFilesResponse{Files: files, Revision: sha}, nil
}

// GetGitDirectories lists every directory at a revision.
func (s *Server) GetGitDirectories(ctx context.Context, req *reposerverv1.GetGitDirectoriesRequest) (*reposerverv1.GetGitDirectoriesResponse, error) {
	repo, err := toRepo(req.GetRepo())
	if err != nil {
		return nil, err
	}
	dirs, sha, err := s.engine.GitDirectories(ctx, repo, req.GetRevision(), req.GetNoCache())
	if err != nil {
		return nil, toStatus(err)
	}
	return &reposerverv1.GetGitDirectoriesResponse{Paths: dirs, Revision: sha}, nil
}

func toRepo(r *reposerverv1.Repository) (manifests.Repository, error) {
	if r.GetUrl() == "" {
		return manifests.Repository{}, status.Error(codes.InvalidArgument, "repo.url is required")
	}
	c := r.GetCredentials()
	out := manifests.Repository{
		Git: git.Repo{
			URL: r.GetUrl(), Username: c.GetUsername(), Password: c.GetPassword(), BearerToken: c.GetBearerToken(),
			SSHPrivateKey: c.GetSshPrivateKey(), KnownHosts: c.GetSshKnownHosts(), InsecureIgnoreHostKey: c.GetInsecureIgnoreHostKey(),
			TLSClientCertData: string(c.GetTlsClientCertData()), TLSClientCertKey: string(c.GetTlsClientCertKey()),
			CAData: string(r.GetCaData()), Insecure: r.GetInsecure(), Proxy: r.GetProxy(), NoProxy: r.GetNoProxy(),
		},
		EnableOCI: r.GetEnableOci(),
	}
	switch r.GetType() {
	case reposerverv1.RepositoryType_REPOSITORY_TYPE_HELM:
		out.Type = manifests.RepoTypeHelm
	case reposerverv1.RepositoryType_REPOSITORY_TYPE_OCI:
		out.Type = manifests.RepoTypeOCI
	default:
		out.Type = manifests.RepoTypeGit
	}
	return out, nil
}

func toSource(s *structpb.Struct) (*v1alpha1.ApplicationSource, error) {
	var src v1alpha1.ApplicationSource
	if s == nil {
		return &src, nil
	}
	if err := kubeproto.FromStruct(s, &src); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "source: %v", err)
	}
	return &src, nil
}

func toLimits(l *reposerverv1.Limits) render.Limits {
	var out render.Limits
	if l == nil {
		return out
	}
	out.MaxManifestBytes = l.GetMaxManifestBytes()
	out.MaxFileBytes = l.GetMaxFileBytes()
	if d := l.GetTimeout(); d != nil {
		out.Timeout = d.AsDuration()
	}
	if out.Timeout > 10*time.Minute {
		out.Timeout = 10 * time.Minute
	}
	return out
}
