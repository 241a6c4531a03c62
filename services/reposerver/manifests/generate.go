package manifests

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/moorcd/moor/pkg/cache"
	"github.com/moorcd/moor/pkg/git"
	"github.com/moorcd/moor/pkg/render"
	"github.com/moorcd/moor/pkg/render/helm"
)

// renderRecord is an app's index entry: what its last render at Commit read, and where the result is.
type renderRecord struct {
	Commit string            `json:"commit"`
	Hashes map[string]string `json:"hashes"`
	Key    string            `json:"key"`
}

// Generate renders one source, from the cache when it can.
func (s *Service) Generate(ctx context.Context, req *GenerateRequest) (*GenerateResult, error) {
	if req.Repo.Git.URL == "" {
		return nil, fmt.Errorf("%w: repository URL is empty", ErrInvalidRequest)
	}
	appPath, err := cleanAppPath(req.Source.Path)
	if err != nil {
		return nil, err
	}
	req.Limits = s.limits(req.Limits)
	if isChartRepo(req.Repo, &req.Source) {
		return s.generateChart(ctx, req)
	}

	res, err := s.opts.Git.Resolve(ctx, req.Repo.Git, req.Revision, git.ResolveOptions{NoCache: req.NoCache})
	if err != nil {
		return nil, fmt.Errorf("resolve revision %q of %s: %w", req.Revision, req.Repo.Git.RedactedURL(), err)
	}
	refs, err := s.resolveRefs(ctx, req)
	if err != nil {
		return nil, err
	}
	appKey, err := s.appKey(req, appPath, refs)
	if err != nil {
		return nil, err
	}
	key := "gen:" + hashOf(appKey, res.SHA)

	out, err := s.cached(ctx, key, req.NoCache, func(ctx context.Context) ([]byte, bool, error) {
		if !req.NoCache {
			if b, ok := s.reuse(ctx, req, appKey, res.SHA); ok {
				return b, false, nil
			}
		}
		b, err := s.renderGit(ctx, req, appPath, appKey, key, res.SHA, refs)
		return b, true, err
	})
	if err != nil {
		return nil, err
	}
	out.Revision = res.SHA
	return out, nil
}

// cached answers key from the cache, or runs load (coalesced with identical requests) and caches its result.
// load says whether it rendered; a reused earlier render counts as cached.
func (s *Service) cached(ctx context.Context, key string, noCache bool, load func(context.Context) ([]byte, bool, error)) (*GenerateResult, error) {
	var rendered bool
	val, hit, err := s.opts.Cache.Do(ctx, key, s.opts.ManifestTTL, cache.DoOptions{Bypass: noCache, ErrorTTL: s.opts.ErrorTTL},
		func(ctx context.Context) ([]byte, error) {
			b, r, err := load(ctx)
			rendered = r
			return b, err
		})
	if err != nil {
		return nil, err
	}
	out, err := decodeResult(val)
	if err != nil {
		return nil, err
	}
	out.Cached = hit || !rendered
	return out, nil
}

// reuse returns the app's earlier render when nothing it read changed between that commit and sha.
func (s *Service) reuse(ctx context.Context, req *GenerateRequest, appKey, sha string) ([]byte, bool) {
	b, ok := s.opts.Cache.Get(ctx, "idx:"+appKey)
	if !ok {
		return nil, false
	}
	var rec renderRecord
	if json.Unmarshal(b, &rec) != nil || rec.Commit == sha {
		return nil, false
	}
	prev, ok := s.opts.Cache.Get(ctx, rec.Key)
	if !ok {
		return nil, false
	}
	tree, err := s.opts.Git.Tree(ctx, req.Repo.Git, sha)
	if err != nil {
		return nil, false
	}
	now, err := tree.TreeHashes(slices.Collect(maps.Keys(rec.Hashes)))
	if err != nil || !maps.Equal(now, rec.Hashes) {
		return nil, false
	}
	s.log.DebugContext(ctx, "render reused", "app", req.AppName, "revision", sha, "from", rec.Commit)
	return prev, true
}

func (s *Service) renderGit(ctx context.Context, req *GenerateRequest, appPath, appKey, key, sha string, refs map[string]fs.FS) ([]byte, error) {
	tree, err := s.opts.Git.Tree(ctx, req.Repo.Git, sha)
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", sha, err)
	}
	rec := tree.Record()
	src, err := applyOverrides(rec, appPath, req.AppName, &req.Source)
	if err != nil {
		return nil, err
	}
	if _, err := fs.Stat(rec, appPath); err != nil {
		return nil, fmt.Errorf("app path %q at %s: %w", appPath, shortSHA(sha), err)
	}
	start := time.Now()
	result, err := s.engine(req).Render(ctx, &render.Request{
		FS: rec, Path: appPath, Source: src, AppName: req.AppName, Namespace: req.Namespace,
		KubeVersion: req.KubeVersion, APIVersions: req.APIVersions, RefSources: refs, Limits: req.Limits,
	})
	s.observe(result, time.Since(start), err)
	if err != nil {
		return nil, err
	}
	val, err := encodeResult(toResult(result, sha))
	if err != nil {
		return nil, err
	}

	// Index what this render depended on, so a later commit that changes none of it reuses val.
	paths := rec.Paths()
	if len(req.GeneratePaths) > 0 {
		paths = generatePaths(appPath, req.GeneratePaths)
	}
	hashes, err := tree.TreeHashes(paths)
	if err == nil {
		idx, _ := json.Marshal(renderRecord{Commit: sha, Hashes: hashes, Key: key})
		s.opts.Cache.Set(ctx, "idx:"+appKey, idx, s.opts.ManifestTTL)
	}
	return val, nil
}

func (s *Service) generateChart(ctx context.Context, req *GenerateRequest) (*GenerateResult, error) {
	version := req.Revision
	if version == "" {
		version = req.Source.TargetRevision
	}
	ref := helm.ChartRef{RepoURL: req.Source.RepoURL, Chart: req.Source.Chart, Version: version}
	if ref.RepoURL == "" {
		ref.RepoURL = req.Repo.Git.URL
	}
	arc, err := s.opts.Charts.Fetch(ctx, ref, chartCreds(&req.Repo))
	if err != nil {
		return nil, fmt.Errorf("fetch chart %s from %s: %w", ref.Chart, git.RedactURL(ref.RepoURL), err)
	}
	src := req.Source
	src.TargetRevision = arc.Version
	refs, err := s.resolveRefs(ctx, req)
	if err != nil {
		return nil, err
	}
	r := *req
	r.Source = src
	appKey, err := s.appKey(&r, ".", refs)
	if err != nil {
		return nil, err
	}
	key := "gen:" + hashOf(appKey, arc.Digest)
	return s.cached(ctx, key, req.NoCache, func(ctx context.Context) ([]byte, bool, error) {
		start := time.Now()
		result, err := s.engine(req).Render(ctx, &render.Request{
			Source: &src, AppName: req.AppName, Namespace: req.Namespace, KubeVersion: req.KubeVersion,
			APIVersions: req.APIVersions, RefSources: refs, Limits: req.Limits,
		})
		s.observe(result, time.Since(start), err)
		if err != nil {
			return nil, true, err
		}
		b, err := encodeResult(toResult(result, arc.Version))
		return b, true, err
	})
}

func (s *Service) observe(res *render.Result, d time.Duration, err error) {
	if s.opts.Renders == nil {
		return
	}
	typ := ""
	if res != nil {
		typ = res.SourceType
	}
	s.opts.Renders(typ, d, err)
}

// resolveRefs resolves each ref source to a commit and returns its tree.
func (s *Service) resolveRefs(ctx context.Context, req *GenerateRequest) (map[string]fs.FS, error) {
	if len(req.RefSources) == 0 {
		return nil, nil
	}
	out := make(map[string]fs.FS, len(req.RefSources))
	for name, ref := range req.RefSources {
		res, err := s.opts.Git.Resolve(ctx, ref.Repo.Git, ref.Revision, git.ResolveOptions{NoCache: req.NoCache})
		if err != nil {
			return nil, fmt.Errorf("resolve ref source $%s (%s at %q): %w", name, ref.Repo.Git.RedactedURL(), ref.Revision, err)
		}
		tree, err := s.opts.Git.Tree(ctx, ref.Repo.Git, res.SHA)
		if err != nil {
			return nil, fmt.Errorf("read ref source $%s: %w", name, err)
		}
		out[name] = tree
	}
	return out, nil
}

// appKey identifies an app's render apart from the commit: everything else that changes the output.
func (s *Service) appKey(req *GenerateRequest, appPath string, refs map[string]fs.FS) (string, error) {
	src := req.Source
	src.TargetRevision = ""
	type refKey struct{ URL, Commit string }
	refKeys := map[string]refKey{}
	for name, fsys := range refs {
		commit := ""
		if t, ok := fsys.(*git.TreeFS); ok {
			commit = t.Commit()
		}
		refKeys[name] = refKey{URL: git.NormalizeURL(req.RefSources[name].Repo.Git.URL), Commit: commit}
	}
	b, err := json.Marshal(struct {
		URL, Path, App, Namespace, KubeVersion string
		APIVersions                            []string
		Source                                 any
		Refs                                   map[string]refKey
		Limits                                 render.Limits
		GeneratePaths                          []string
	}{git.NormalizeURL(req.Repo.Git.URL), appPath, req.AppName, req.Namespace, req.KubeVersion,
		req.APIVersions, src, refKeys, req.Limits, req.GeneratePaths})
	if err != nil {
		return "", err
	}
	return hashOf(string(b)), nil
}

func hashOf(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

func toResult(r *render.Result, revision string) *GenerateResult {
	out := &GenerateResult{Revision: revision, SourceType: r.SourceType, Manifests: make([]string, 0, len(r.Objects))}
	for _, o := range r.Objects {
		b, err := o.MarshalJSON()
		if err == nil {
			out.Manifests = append(out.Manifests, string(b))
		}
	}
	return out
}

// cleanAppPath turns a source path into a path inside the tree, refusing any that leaves it.
func cleanAppPath(p string) (string, error) {
	if p == "" || p == "/" {
		return ".", nil
	}
	if strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("app path %q: absolute paths are not allowed: %w", p, render.ErrPathEscape)
	}
	c := path.Clean(p)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("app path %q: %w", p, render.ErrPathEscape)
	}
	return c, nil
}

// generatePaths turns manifest-generate-paths entries into tree paths: relative to the app path, or to the
// repository root when they start with "/". Entries that leave the repository are dropped.
func generatePaths(appPath string, entries []string) []string {
	var out []string
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		var p string
		if strings.HasPrefix(e, "/") {
			p = path.Clean(strings.TrimLeft(e, "/"))
			if p == "" {
				p = "."
			}
		} else {
			p = path.Join(appPath, e)
		}
		if p == ".." || strings.HasPrefix(p, "../") {
			continue
		}
		out = append(out, p)
	}
	return out
}

func shortSHA(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
