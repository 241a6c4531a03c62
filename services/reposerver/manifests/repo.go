package manifests

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/git"
	"github.com/moorcd/moor/pkg/render"
	"github.com/moorcd/moor/pkg/render/helm"
)

// Resolution is a revision resolved to a commit or chart version.
type Resolution struct {
	Revision string // commit SHA or chart version
	Kind     string // branch, tag, commit, semver, chart-version
	Ref      string
}

// Resolve resolves a Git revision, or a chart version (constraint) when chart is set.
func (s *Service) Resolve(ctx context.Context, repo Repository, revision, chart string, noCache bool) (*Resolution, error) {
	if chart != "" || repo.Type == RepoTypeHelm || repo.Type == RepoTypeOCI {
		arc, err := s.opts.Charts.Fetch(ctx, helm.ChartRef{RepoURL: repo.Git.URL, Chart: chart, Version: revision}, chartCreds(&repo))
		if err != nil {
			return nil, fmt.Errorf("resolve chart %s version %q: %w", chart, revision, err)
		}
		return &Resolution{Revision: arc.Version, Kind: "chart-version"}, nil
	}
	res, err := s.opts.Git.Resolve(ctx, repo.Git, revision, git.ResolveOptions{NoCache: noCache})
	if err != nil {
		return nil, fmt.Errorf("resolve revision %q of %s: %w", revision, repo.Git.RedactedURL(), err)
	}
	return &Resolution{Revision: res.SHA, Kind: string(res.Kind), Ref: res.Ref}, nil
}

// tree resolves revision and returns the commit's tree.
func (s *Service) tree(ctx context.Context, repo Repository, revision string, noCache bool) (*git.TreeFS, error) {
	res, err := s.opts.Git.Resolve(ctx, repo.Git, revision, git.ResolveOptions{NoCache: noCache})
	if err != nil {
		return nil, fmt.Errorf("resolve revision %q of %s: %w", revision, repo.Git.RedactedURL(), err)
	}
	t, err := s.opts.Git.Tree(ctx, repo.Git, res.SHA)
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", res.SHA, err)
	}
	return t, nil
}

// ListRefs lists branches and tags.
func (s *Service) ListRefs(ctx context.Context, repo Repository) (*git.Refs, error) {
	return s.opts.Git.ListRefs(ctx, repo.Git)
}

// ListApps finds the charts and kustomizations in a commit, by path.
func (s *Service) ListApps(ctx context.Context, repo Repository, revision string, noCache bool) (map[string]string, string, error) {
	t, err := s.tree(ctx, repo, revision, noCache)
	if err != nil {
		return nil, "", err
	}
	apps, err := render.ListApps(t, ".")
	return apps, t.Commit(), err
}

// AppDetails describes an app: its type and what a user can override.
type AppDetails struct {
	SourceType string
	Revision   string
	Helm       *HelmDetails
	Kustomize  *KustomizeDetails
}

// HelmDetails are a chart's name, value files and default values.
type HelmDetails struct {
	Name       string
	ValueFiles []string
	Values     string
	Parameters []v1alpha1.HelmParameter
}

// KustomizeDetails are a kustomization's images.
type KustomizeDetails struct {
	Images []string
}

// AppDetails inspects the app at source.path.
func (s *Service) AppDetails(ctx context.Context, repo Repository, src *v1alpha1.ApplicationSource, revision string, noCache bool) (*AppDetails, error) {
	appPath, err := cleanAppPath(src.Path)
	if err != nil {
		return nil, err
	}
	t, err := s.tree(ctx, repo, revision, noCache)
	if err != nil {
		return nil, err
	}
	typ, err := render.SourceTypeOf(&render.Request{FS: t, Path: appPath, Source: src})
	if err != nil {
		return nil, err
	}
	out := &AppDetails{SourceType: typ, Revision: t.Commit()}
	switch typ {
	case render.SourceTypeHelm:
		out.Helm, err = helmDetails(t, appPath)
	case render.SourceTypeKustomize:
		out.Kustomize, err = kustomizeDetails(t, appPath)
	}
	return out, err
}

func helmDetails(fsys fs.FS, dir string) (*HelmDetails, error) {
	var chart struct {
		Name string `json:"name"`
	}
	data, err := readCapped(fsys, path.Join(dir, "Chart.yaml"))
	if err != nil {
		return nil, err
	}
	if err := yaml.Unmarshal(data, &chart); err != nil {
		return nil, &render.Error{File: path.Join(dir, "Chart.yaml"), Err: err}
	}
	d := &HelmDetails{Name: chart.Name}
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() && strings.Contains(n, "values") && (strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
			d.ValueFiles = append(d.ValueFiles, n)
		}
	}
	if values, err := readCapped(fsys, path.Join(dir, "values.yaml")); err == nil {
		d.Values = string(values)
		var m map[string]any
		if yaml.Unmarshal(values, &m) == nil {
			d.Parameters = flatten("", m, nil)
			sort.Slice(d.Parameters, func(i, j int) bool { return d.Parameters[i].Name < d.Parameters[j].Name })
		}
	}
	return d, nil
}

// flatten turns values into --set style parameters (a.b.c=value), as the UI's parameter list shows them.
func flatten(prefix string, v any, out []v1alpha1.HelmParameter) []v1alpha1.HelmParameter {
	switch t := v.(type) {
	case map[string]any:
		for k, c := range t {
			name := k
			if prefix != "" {
				name = prefix + "." + k
			}
			out = flatten(name, c, out)
		}
	case []any:
		for i, c := range t {
			out = flatten(fmt.Sprintf("%s[%d]", prefix, i), c, out)
		}
	case nil:
		out = append(out, v1alpha1.HelmParameter{Name: prefix})
	default:
		out = append(out, v1alpha1.HelmParameter{Name: prefix, Value: fmt.Sprint(t)})
	}
	return out
}

func kustomizeDetails(fsys fs.FS, dir string) (*KustomizeDetails, error) {
	for _, n := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		data, err := readCapped(fsys, path.Join(dir, n))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var k struct {
			Images []struct {
				Name    string `json:"name"`
				NewName string `json:"newName"`
				NewTag  string `json:"newTag"`
				Digest  string `json:"digest"`
			} `json:"images"`
		}
		if err := yaml.Unmarshal(data, &k); err != nil {
			return nil, &render.Error{File: path.Join(dir, n), Err: err}
		}
		d := &KustomizeDetails{}
		for _, im := range k.Images {
			img := im.Name
			if im.NewName != "" {
				img = im.NewName
			}
			switch {
			case im.Digest != "":
				img += "@" + im.Digest
			case im.NewTag != "":
				img += ":" + im.NewTag
			}
			d.Images = append(d.Images, img)
		}
		return d, nil
	}
	return &KustomizeDetails{}, nil
}

// RevisionMetadata returns a commit's author, date, message and tags.
func (s *Service) RevisionMetadata(ctx context.Context, repo Repository, revision string) (*git.RevisionMetadata, error) {
	t, err := s.tree(ctx, repo, revision, false)
	if err != nil {
		return nil, err
	}
	return s.opts.Git.RevisionMetadata(ctx, repo.Git, t.Commit())
}

// TestRepository checks the repository answers with these credentials.
func (s *Service) TestRepository(ctx context.Context, repo Repository) error {
	if repo.Type == RepoTypeHelm || repo.Type == RepoTypeOCI {
		return s.opts.Charts.Check(ctx, repo.Git.URL, chartCreds(&repo))
	}
	return s.opts.Git.TestRepository(ctx, repo.Git)
}

// maxGitFilesBytes caps what GetGitFiles returns in one answer.
const maxGitFilesBytes = 32 << 20

// GitFiles returns the files matching a glob (path.Match syntax per segment, "**" for any depth).
func (s *Service) GitFiles(ctx context.Context, repo Repository, revision, pattern string, noCache bool) (map[string][]byte, string, error) {
	t, err := s.tree(ctx, repo, revision, noCache)
	if err != nil {
		return nil, "", err
	}
	pattern = strings.TrimPrefix(pattern, "/")
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, "", fmt.Errorf("%w: file pattern %q: %v", ErrInvalidRequest, pattern, err)
	}
	files := map[string][]byte{}
	var total int
	err = fs.WalkDir(t, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !globMatch(pattern, p) {
			return nil
		}
		data, err := readCapped(t, p)
		if err != nil {
			return err
		}
		if total += len(data); total > maxGitFilesBytes {
			return fmt.Errorf("files matching %q: %w", pattern, render.ErrTooLarge)
		}
		files[p] = data
		return nil
	})
	return files, t.Commit(), err
}

// GitDirectories lists every directory of a commit (not .git), for the ApplicationSet git generator.
func (s *Service) GitDirectories(ctx context.Context, repo Repository, revision string, noCache bool) ([]string, string, error) {
	t, err := s.tree(ctx, repo, revision, noCache)
	if err != nil {
		return nil, "", err
	}
	var dirs []string
	err = fs.WalkDir(t, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() || p == "." {
			return nil
		}
		if d.Name() == ".git" {
			return fs.SkipDir
		}
		dirs = append(dirs, p)
		return nil
	})
	return dirs, t.Commit(), err
}

// globMatch matches slash-separated paths segment by segment; "**" matches any number of segments.
func globMatch(pattern, name string) bool {
	return matchSegments(strings.Split(pattern, "/"), strings.Split(name, "/"))
}

func matchSegments(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(name); i++ {
				if matchSegments(pat[1:], name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], name[0]); !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}

func readCapped(fsys fs.FS, name string) ([]byte, error) {
	fi, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, err
	}
	if fi.Size() > render.DefaultMaxFileBytes {
		return nil, fmt.Errorf("%s: %w", name, render.ErrTooLarge)
	}
	return fs.ReadFile(fsys, name)
}
