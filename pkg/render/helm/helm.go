package helm

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"
	release "helm.sh/helm/v4/pkg/release/v1"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/render"
)

var _ render.Renderer = (*Renderer)(nil)

// Request is render.Request, named here for brevity.
type Request = render.Request

// Options configure a Renderer. Zero values take the defaults.
type Options struct {
	// Source fetches charts from Helm and OCI repositories. Default: NewChartSource(SourceOptions{}).
	Source *ChartSource
	// Credentials returns the credentials of a chart repository (the source's repoURL and dependency
	// repositories). Default: anonymous.
	Credentials CredentialsFunc
	// AllowRemoteValueFiles lets valueFiles name http(s) URLs. Off by default: a render then reads only
	// the trees it was given and the chart repository.
	AllowRemoteValueFiles bool
	// MaxChartBytes caps a chart's decompressed size, its subcharts included. Default 64 MiB.
	MaxChartBytes int64
	// MaxChartFiles caps a chart's file count, its subcharts included. Default 10,000.
	MaxChartFiles int
}

// Renderer renders Helm charts in-process with the Helm v4 SDK, like `helm template --include-crds`.
type Renderer struct {
	opts   Options
	source *ChartSource
}

// New returns a Renderer.
func New(opts Options) *Renderer {
	if opts.MaxChartBytes <= 0 {
		opts.MaxChartBytes = 64 << 20
	}
	if opts.MaxChartFiles <= 0 {
		opts.MaxChartFiles = 10_000
	}
	src := opts.Source
	if src == nil {
		src = NewChartSource(SourceOptions{})
	}
	return &Renderer{opts: opts, source: src}
}

func (r *Renderer) creds(repoURL string) Creds {
	if r.opts.Credentials == nil {
		return Creds{}
	}
	return r.opts.Credentials(repoURL)
}

// Render renders the chart at req.Path of req.FS, or, when req.FS is nil, the chart req.Source names in a
// Helm or OCI repository. It runs the render on its own goroutine so that the deadline holds even inside
// a template that runs long, and turns a panic in Helm into an error.
func (r *Renderer) Render(ctx context.Context, req *render.Request) (*render.Result, error) {
	if req == nil || req.Source == nil {
		return nil, errors.New("render helm chart: no source")
	}
	limits := req.Limits.WithDefaults()
	ctx, cancel := context.WithTimeout(ctx, limits.Timeout)
	defer cancel()

	type outcome struct {
		res *render.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- outcome{err: fmt.Errorf("render helm chart: helm panicked: %v", p)}
			}
		}()
		res, err := r.render(ctx, req, limits)
		done <- outcome{res, err}
	}()
	select {
	case o := <-done:
		if o.err != nil {
			return nil, fmt.Errorf("render helm chart %s: %w", chartLabel(req), o.err)
		}
		return o.res, nil
	case <-ctx.Done():
		// The render goroutine finishes on its own (Helm's engine does not stop mid-template) and its
		// result is dropped.
		return nil, fmt.Errorf("render helm chart %s: %w", chartLabel(req), ctx.Err())
	}
}

func chartLabel(req *render.Request) string {
	if req.FS != nil {
		return req.Path
	}
	return ChartRef{RepoURL: req.Source.RepoURL, Chart: req.Source.Chart}.String()
}

func (r *Renderer) render(ctx context.Context, req *render.Request, limits render.Limits) (*render.Result, error) {
	h := req.Source.Helm
	if h == nil {
		h = &v1alpha1.ApplicationSourceHelm{}
	}
	b := &budget{maxFileBytes: limits.MaxFileBytes, maxBytes: r.opts.MaxChartBytes, maxFiles: r.opts.MaxChartFiles}

	c, files, err := r.loadRequestedChart(ctx, req, h, b)
	if err != nil {
		return nil, err
	}

	vals, err := r.composeValues(ctx, req, h, limits.MaxFileBytes)
	if err != nil {
		return nil, err
	}
	caps, err := capabilities(firstNonEmpty(h.KubeVersion, req.KubeVersion), req.APIVersions, h.APIVersions)
	if err != nil {
		return nil, err
	}
	if err := chartutil.ProcessDependencies(c, vals); err != nil {
		return nil, &render.Error{File: files.chartFile("Chart.yaml"), Err: fmt.Errorf("process dependencies: %w", err)}
	}
	if kv := c.Metadata.KubeVersion; kv != "" && !chartutil.IsCompatibleRange(kv, caps.KubeVersion.String()) {
		return nil, &render.Error{File: files.chartFile("Chart.yaml"), Err: fmt.Errorf("chart requires kubeVersion %s, which is incompatible with Kubernetes %s", kv, caps.KubeVersion.Version)}
	}
	opts := common.ReleaseOptions{
		Name:      firstNonEmpty(h.ReleaseName, req.AppName),
		Namespace: firstNonEmpty(h.Namespace, req.Namespace),
		Revision:  1,
		IsInstall: true,
	}
	skipSchema := h.SkipSchemaValidation != nil && *h.SkipSchemaValidation
	renderVals, err := util.ToRenderValuesWithSchemaValidation(c, vals, opts, caps, skipSchema)
	if err != nil {
		return nil, &render.Error{File: files.chartFile("values.yaml"), Err: err}
	}

	var eng engine.Engine // no Kubernetes client: `lookup` returns empty maps, as in `helm template`
	rendered, err := eng.RenderWithContext(ctx, c, renderVals)
	if err != nil {
		return nil, templateError(err, files)
	}
	for name := range rendered {
		if strings.HasSuffix(name, "NOTES.txt") {
			delete(rendered, name)
		}
	}
	hooks, manifests, err := releaseutil.SortManifests(rendered, nil, releaseutil.InstallOrder)
	if err != nil {
		return nil, templateError(err, files)
	}

	// The order of `helm template --include-crds`: crds/ files, then resources in install order, then hooks.
	type doc struct{ file, content string }
	var docs []doc
	if h.SkipCrds == nil || !*h.SkipCrds {
		for _, crd := range c.CRDObjects() {
			docs = append(docs, doc{crd.Filename, string(crd.File.Data)})
		}
	}
	for _, m := range manifests {
		docs = append(docs, doc{m.Name, m.Content})
	}
	skipTests := h.SkipTests != nil && *h.SkipTests
	for _, hk := range hooks {
		if skipTests && isTestHook(hk) {
			continue
		}
		docs = append(docs, doc{hk.Path, hk.Manifest})
	}

	var total int64
	res := &render.Result{SourceType: render.SourceTypeHelm}
	for _, d := range docs {
		if total += int64(len(d.content)); total > limits.MaxManifestBytes {
			return nil, fmt.Errorf("rendered manifests are over %d bytes: %w", limits.MaxManifestBytes, render.ErrTooLarge)
		}
		objs, err := parseObjects(d.content)
		if err != nil {
			return nil, &render.Error{File: files.templateFile(d.file), Err: err}
		}
		res.Objects = append(res.Objects, objs...)
	}
	return res, nil
}

// loadRequestedChart loads the chart of the request (from the tree or a repository) with its
// dependencies.
func (r *Renderer) loadRequestedChart(ctx context.Context, req *render.Request, h *v1alpha1.ApplicationSourceHelm, b *budget) (*chart.Chart, chartPaths, error) {
	if req.FS != nil {
		dir, err := joinInside(".", firstNonEmpty(req.Path, "."))
		if err != nil {
			return nil, chartPaths{}, err
		}
		if _, err := readInside(req.FS, path.Join(dir, "Chart.yaml"), b.maxFileBytes); err != nil {
			if errors.Is(err, render.ErrNotFound) {
				return nil, chartPaths{}, fmt.Errorf("no Chart.yaml in %s: %w", dir, render.ErrNotFound)
			}
			return nil, chartPaths{}, err
		}
		files, err := chartFiles(req.FS, dir, b)
		if err != nil {
			return nil, chartPaths{}, err
		}
		c, err := loadChart(files, path.Join(dir, "Chart.yaml"))
		if err != nil {
			return nil, chartPaths{}, err
		}
		if err := r.ensureDependencies(ctx, c, req.FS, dir, b); err != nil {
			return nil, chartPaths{}, err
		}
		return c, chartPaths{dir: dir}, nil
	}

	src := req.Source
	if src.RepoURL == "" {
		return nil, chartPaths{}, &render.Error{Err: errors.New("no repoURL")}
	}
	passCreds := h.PassCredentials != nil && *h.PassCredentials
	ref := ChartRef{RepoURL: src.RepoURL, Chart: src.Chart, Version: src.TargetRevision, PassCredentials: passCreds}
	arc, err := r.source.Fetch(ctx, ref, r.creds(src.RepoURL))
	if err != nil {
		return nil, chartPaths{}, err
	}
	files, err := untarChart(arc.Data, b)
	if err != nil {
		return nil, chartPaths{}, fmt.Errorf("chart archive %s: %w", arc.URL, err)
	}
	c, err := loadChart(files, arc.URL)
	if err != nil {
		return nil, chartPaths{}, err
	}
	if err := r.ensureDependencies(ctx, c, nil, ".", b); err != nil {
		return nil, chartPaths{}, err
	}
	return c, chartPaths{}, nil
}

// chartPaths turns Helm's chart-relative names ("mychart/templates/x.yaml") into repository paths
// ("apps/mychart/templates/x.yaml") for errors, when the chart came from the tree.
type chartPaths struct{ dir string }

func (p chartPaths) chartFile(name string) string {
	if p.dir == "" {
		return name
	}
	return path.Join(p.dir, name)
}

func (p chartPaths) templateFile(helmName string) string {
	if p.dir == "" {
		return helmName
	}
	_, rest, ok := strings.Cut(helmName, "/")
	if !ok {
		return helmName
	}
	return path.Join(p.dir, rest)
}

// capabilities builds .Capabilities: Helm's defaults, the kube version asked for, and the API versions of
// the request and of the source added to Helm's built-in set.
func capabilities(kubeVersion string, apiVersions ...[]string) (*common.Capabilities, error) {
	caps := common.DefaultCapabilities.Copy()
	if kubeVersion != "" {
		kv, err := common.ParseKubeVersion(kubeVersion)
		if err != nil {
			return nil, &render.Error{File: "spec.source.helm.kubeVersion", Err: fmt.Errorf("kube version %q: %w", kubeVersion, err)}
		}
		caps.KubeVersion = *kv
	}
	seen := make(map[string]bool, len(caps.APIVersions))
	set := make(common.VersionSet, 0, len(caps.APIVersions)+8)
	for _, list := range append([][]string{caps.APIVersions}, apiVersions...) {
		for _, v := range list {
			if v != "" && !seen[v] {
				seen[v] = true
				set = append(set, v)
			}
		}
	}
	caps.APIVersions = set
	return caps, nil
}

func isTestHook(h *release.Hook) bool {
	for _, e := range h.Events {
		if e == release.HookTest {
			return true
		}
	}
	return false
}

// parseObjects decodes the YAML documents of one rendered file; List kinds are flattened.
func parseObjects(content string) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, raw := range releaseutil.SplitManifests(content) {
		js, err := yaml.YAMLToJSON([]byte(raw))
		if err != nil {
			return nil, fmt.Errorf("rendered YAML: %w", err)
		}
		if s := strings.TrimSpace(string(js)); s == "null" || s == "{}" || s == "" {
			continue
		}
		obj, _, err := unstructured.UnstructuredJSONScheme.Decode(js, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("rendered object: %w", err)
		}
		switch o := obj.(type) {
		case *unstructured.Unstructured:
			out = append(out, o)
		case *unstructured.UnstructuredList:
			err := o.EachListItem(func(item runtime.Object) error {
				out = append(out, item.(*unstructured.Unstructured))
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// templateLocation finds "file:line" in Helm's template error messages, e.g.
// "execution error at (mychart/templates/cm.yaml:5:3): ..." or "parse error at (mychart/templates/x.yaml:12): ...".
var templateLocation = regexp.MustCompile(`([^\s():"]+\.(?:yaml|yml|tpl|txt|json)):(\d+)`)

// yamlFileInError finds the file in Helm's "YAML parse error on mychart/templates/x.yaml: ..." message.
var yamlFileInError = regexp.MustCompile(`(?:parse error on|error on) ([^\s:]+):`)

// templateError turns an error of Helm's engine or manifest sorter into a render.Error naming the template
// (as a repository path for charts from the tree) and line where Helm reports them.
func templateError(err error, files chartPaths) error {
	msg := err.Error()
	if m := templateLocation.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[2])
		return &render.Error{File: files.templateFile(m[1]), Line: line, Err: err}
	}
	if m := yamlFileInError.FindStringSubmatch(msg); m != nil {
		return &render.Error{File: files.templateFile(m[1]), Err: err}
	}
	return &render.Error{Err: err}
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// yamlErrorLine extracts the line of a YAML parse error; 0 when unknown.
func yamlErrorLine(err error) int {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
