package manifests

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/cache"
	"github.com/moorcd/moor/pkg/git"
	"github.com/moorcd/moor/pkg/render"
	"github.com/moorcd/moor/pkg/render/helm"
)

// Repository types.
const (
	RepoTypeGit  = "git"
	RepoTypeHelm = "helm"
	RepoTypeOCI  = "oci"
)

// Repository is a repository and the credentials to read it.
type Repository struct {
	Git       git.Repo
	Type      string // git (default), helm or oci
	EnableOCI bool
}

// isChartRepo says whether source names a chart in a Helm or OCI repository rather than a path in Git.
func isChartRepo(repo Repository, src *v1alpha1.ApplicationSource) bool {
	return repo.Type == RepoTypeHelm || repo.Type == RepoTypeOCI || src.Chart != ""
}

// RefSource is another source whose files a Helm source reads as `$ref/...`.
type RefSource struct {
	Repo     Repository
	Revision string
}

// GenerateRequest asks for the manifests of one application source.
type GenerateRequest struct {
	Repo            Repository
	Source          v1alpha1.ApplicationSource
	Revision        string // a ref or commit for Git; a version or constraint for charts
	RefSources      map[string]RefSource
	AppName         string
	Namespace       string
	KubeVersion     string
	APIVersions     []string
	NoCache         bool
	Limits          render.Limits
	GeneratePaths   []string
	DependencyRepos []Repository
}

// GenerateResult is a render's output.
type GenerateResult struct {
	Manifests  []string `json:"manifests"` // one JSON document per object
	Revision   string   `json:"revision"`  // the commit SHA or chart version rendered
	SourceType string   `json:"sourceType"`
	Cached     bool     `json:"-"`
}

// Options configure a Service.
type Options struct {
	Git    *git.Store
	Cache  *cache.Cache
	Charts *helm.ChartSource
	// ManifestTTL is how long a render is kept (default 24 h); ErrorTTL how long a failure is (default 10 s).
	ManifestTTL time.Duration
	ErrorTTL    time.Duration
	// Limits are the server's caps: a request's zero limits take them, and larger ones are cut to them.
	Limits render.Limits
	// AllowRemoteBases lets kustomizations fetch remote bases.
	AllowRemoteBases bool
	Logger           *slog.Logger
	// Renders, when set, is called once per actual render (not for cache hits or reuse); for metrics.
	Renders func(sourceType string, d time.Duration, err error)
}

// Service is the repo-server engine.
type Service struct {
	opts Options
	log  *slog.Logger
}

// New returns a Service.
func New(opts Options) (*Service, error) {
	if opts.Git == nil || opts.Cache == nil || opts.Charts == nil {
		return nil, fmt.Errorf("manifests: Git, Cache and Charts are required")
	}
	if opts.ManifestTTL <= 0 {
		opts.ManifestTTL = 24 * time.Hour
	}
	if opts.ErrorTTL <= 0 {
		opts.ErrorTTL = 10 * time.Second
	}
	opts.Limits = opts.Limits.WithDefaults()
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Service{opts: opts, log: log}, nil
}

// ErrorCodec is how the service's errors survive the failure cache; pass it to cache.New.
func ErrorCodec() cache.ErrorCodec { return errorCodec{} }

// engine builds a renderer whose Helm part sees this request's credentials.
func (s *Service) engine(req *GenerateRequest) render.Renderer {
	repos := append([]Repository{req.Repo}, req.DependencyRepos...)
	for _, r := range req.RefSources {
		repos = append(repos, r.Repo)
	}
	h := helm.New(helm.Options{Source: s.opts.Charts, Credentials: func(url string) helm.Creds {
		return chartCreds(matchRepo(repos, url))
	}})
	return render.New(render.Options{Helm: h, AllowRemoteBases: s.opts.AllowRemoteBases})
}

func chartCreds(r *Repository) helm.Creds {
	if r == nil {
		return helm.Creds{}
	}
	return helm.Creds{
		Username: r.Git.Username, Password: r.Git.Password, BearerToken: r.Git.BearerToken,
		CAData: []byte(r.Git.CAData), CertData: []byte(r.Git.TLSClientCertData), KeyData: []byte(r.Git.TLSClientCertKey),
		InsecureSkipVerify: r.Git.Insecure, EnableOCI: r.EnableOCI || r.Type == RepoTypeOCI,
	}
}

// matchRepo picks the repository whose URL is the longest prefix of url.
func matchRepo(repos []Repository, url string) *Repository {
	want := git.NormalizeURL(url)
	var best *Repository
	bestLen := -1
	for i := range repos {
		u := git.NormalizeURL(repos[i].Git.URL)
		if u != "" && len(u) > bestLen && (want == u || len(want) > len(u) && want[:len(u)] == u && want[len(u)] == '/') {
			best, bestLen = &repos[i], len(u)
		}
	}
	return best
}

// limits applies the server's caps to a request's limits.
func (s *Service) limits(l render.Limits) render.Limits {
	capTo := func(v, max int64) int64 {
		if v <= 0 || v > max {
			return max
		}
		return v
	}
	l.MaxManifestBytes = capTo(l.MaxManifestBytes, s.opts.Limits.MaxManifestBytes)
	l.MaxFileBytes = capTo(l.MaxFileBytes, s.opts.Limits.MaxFileBytes)
	l.Timeout = time.Duration(capTo(int64(l.Timeout), int64(s.opts.Limits.Timeout)))
	return l
}

func encodeResult(r *GenerateResult) ([]byte, error) { return json.Marshal(r) }

func decodeResult(b []byte) (*GenerateResult, error) {
	var r GenerateResult
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode cached render: %w", err)
	}
	return &r, nil
}
