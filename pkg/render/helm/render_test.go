package helm_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/render"
	"github.com/moorcd/moor/pkg/render/helm"
)

func webappRequest(mut ...func(*v1alpha1.ApplicationSourceHelm)) *render.Request {
	src := helmSource(mut...)
	src.Path = "apps/webapp"
	return &render.Request{
		FS:          os.DirFS("testdata/repo"),
		Path:        "apps/webapp",
		Source:      src,
		AppName:     "shop",
		Namespace:   "shop-prod",
		KubeVersion: "1.33.2",
		APIVersions: []string{"monitoring.coreos.com/v1", "monitoring.coreos.com/v1/ServiceMonitor"},
	}
}

func TestRenderWebappGolden(t *testing.T) {
	t.Parallel()
	res, err := helm.New(helm.Options{}).Render(t.Context(), webappRequest())
	if err != nil {
		t.Fatal(err)
	}
	if res.SourceType != render.SourceTypeHelm {
		t.Errorf("source type %q", res.SourceType)
	}
	golden(t, "webapp", res)

	// Order of `helm template --include-crds`: crds/, resources in install order, hooks last.
	got := names(res)
	for _, want := range []string{
		"CustomResourceDefinition/widgets.example.com",
		"ServiceAccount/shop-webapp",
		"Deployment/shop-webapp",
		"ServiceMonitor/shop-webapp",
		"Service/shop-redis",
		"Job/shop-webapp-migrate",
		"Pod/shop-webapp-test-connection",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %s in %s", want, got)
		}
	}
	if strings.Index(got, "CustomResourceDefinition") != 0 || !strings.HasSuffix(got, "Pod/shop-webapp-test-connection, Job/shop-webapp-migrate") {
		t.Errorf("unexpected order: %s", got)
	}
	for _, o := range res.Objects {
		if o.GetKind() == "Job" && o.GetAnnotations()["helm.sh/hook"] != "pre-install,pre-upgrade" {
			t.Errorf("hook annotations lost: %v", o.GetAnnotations())
		}
	}
	if d := data(t, res, "shop-webapp"); d["KUBE_VERSION"] != "v1.33.2" || d["BANNER"] != "Welcome to webapp" {
		t.Errorf("configmap data %v", d)
	}
}

func TestRenderWebappOptions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		mut     func(*v1alpha1.ApplicationSourceHelm)
		req     func(*render.Request)
		present []string
		absent  []string
		check   func(t *testing.T, res *render.Result)
	}{
		{
			name:    "skipCrds omits crds/",
			mut:     func(h *v1alpha1.ApplicationSourceHelm) { h.SkipCrds = boolPtr(true) },
			present: []string{"Deployment/shop-webapp"},
			absent:  []string{"CustomResourceDefinition/"},
		},
		{
			name:    "skipTests omits test hooks but keeps other hooks",
			mut:     func(h *v1alpha1.ApplicationSourceHelm) { h.SkipTests = boolPtr(true) },
			present: []string{"Job/shop-webapp-migrate"},
			absent:  []string{"Pod/shop-webapp-test-connection"},
		},
		{
			name:    "releaseName and namespace override the app's",
			mut:     func(h *v1alpha1.ApplicationSourceHelm) { h.ReleaseName = "webapp"; h.Namespace = "other" },
			present: []string{"Deployment/webapp", "Service/webapp-redis"},
			check: func(t *testing.T, res *render.Result) {
				if cm := data(t, res, "webapp"); cm == nil {
					t.Fatal("no configmap")
				}
				for _, o := range res.Objects {
					if o.GetKind() == "ConfigMap" && o.GetNamespace() != "other" {
						t.Errorf("namespace %q", o.GetNamespace())
					}
				}
			},
		},
		{
			name:    "without the monitoring API the ServiceMonitor is not rendered",
			req:     func(r *render.Request) { r.APIVersions = nil },
			present: []string{"Deployment/shop-webapp"},
			absent:  []string{"ServiceMonitor/"},
		},
		{
			name: "source apiVersions add to the request's",
			req:  func(r *render.Request) { r.APIVersions = []string{"example.com/v1"} },
			mut: func(h *v1alpha1.ApplicationSourceHelm) {
				h.APIVersions = []string{"monitoring.coreos.com/v1"}
			},
			present: []string{"ServiceMonitor/shop-webapp"},
		},
		{
			name: "source kubeVersion wins over the request's",
			mut:  func(h *v1alpha1.ApplicationSourceHelm) { h.KubeVersion = "1.35.0" },
			check: func(t *testing.T, res *render.Result) {
				if v := data(t, res, "shop-webapp")["KUBE_VERSION"]; v != "v1.35.0" {
					t.Errorf("KubeVersion %q", v)
				}
			},
		},
		{
			name: "value file relative to the app path, parameters over it",
			mut: func(h *v1alpha1.ApplicationSourceHelm) {
				h.ValueFiles = []string{"values-prod.yaml"}
				h.Parameters = []v1alpha1.HelmParameter{{Name: "config.logLevel", Value: "debug"}}
			},
			check: func(t *testing.T, res *render.Result) {
				d := data(t, res, "shop-webapp")
				if d["REPLICAS"] != "5" || d["LOG_LEVEL"] != "debug" {
					t.Errorf("data %v", d)
				}
			},
		},
		{
			name:    "dependency condition disables the vendored subchart",
			mut:     func(h *v1alpha1.ApplicationSourceHelm) { h.Values = "redis:\n  enabled: false\n" },
			present: []string{"Deployment/shop-webapp"},
			absent:  []string{"Service/shop-redis"},
		},
	}
	r := helm.New(helm.Options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var muts []func(*v1alpha1.ApplicationSourceHelm)
			if tc.mut != nil {
				muts = append(muts, tc.mut)
			}
			req := webappRequest(muts...)
			if tc.req != nil {
				tc.req(req)
			}
			res, err := r.Render(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			got := names(res)
			for _, p := range tc.present {
				if !strings.Contains(got, p) {
					t.Errorf("missing %s in %s", p, got)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(got, a) {
					t.Errorf("unexpected %s in %s", a, got)
				}
			}
			if tc.check != nil {
				tc.check(t, res)
			}
		})
	}
}

func TestValuesPrecedence(t *testing.T) {
	t.Parallel()
	tree := mapFS(map[string]chartFiles{
		"chart": simpleChart("demo", "1.0.0", "a: chart\nb: chart\nc: chart\nd: chart\ne: chart\n"),
		"chart/env": {
			"one.yaml": "a: file1\nb: file1\n",
			"two.yaml": "a: file2\n",
			"cfg.txt":  "from-file",
		},
	})
	refs := map[string]fstest.MapFS{"values": mapFS(map[string]chartFiles{"env": {"prod.yaml": "a: ref\nc: ref\n"}})}
	obj := func(js string) *runtime.RawExtension { return &runtime.RawExtension{Raw: []byte(js)} }
	cases := []struct {
		name string
		h    v1alpha1.ApplicationSourceHelm
		want map[string]string
	}{
		{"chart defaults", v1alpha1.ApplicationSourceHelm{}, map[string]string{"a": "chart (string)"}},
		{"value files in order", v1alpha1.ApplicationSourceHelm{ValueFiles: []string{"env/one.yaml", "env/two.yaml"}},
			map[string]string{"a": "file2 (string)", "b": "file1 (string)"}},
		{"$ref value file", v1alpha1.ApplicationSourceHelm{ValueFiles: []string{"env/one.yaml", "$values/env/prod.yaml"}},
			map[string]string{"a": "ref (string)", "b": "file1 (string)", "c": "ref (string)"}},
		{"values over value files", v1alpha1.ApplicationSourceHelm{ValueFiles: []string{"env/two.yaml"}, Values: "a: inline\n"},
			map[string]string{"a": "inline (string)"}},
		{"valuesObject wins over values", v1alpha1.ApplicationSourceHelm{Values: "a: inline\nb: inline\n", ValuesObject: obj(`{"a":"object"}`)},
			map[string]string{"a": "object (string)", "b": "chart (string)"}},
		{"parameters over valuesObject", v1alpha1.ApplicationSourceHelm{ValuesObject: obj(`{"a":"object"}`), Parameters: []v1alpha1.HelmParameter{{Name: "a", Value: "param"}}},
			map[string]string{"a": "param (string)"}},
		{"parameter types and forceString", v1alpha1.ApplicationSourceHelm{Parameters: []v1alpha1.HelmParameter{
			{Name: "a", Value: "123"}, {Name: "b", Value: "0123", ForceString: boolPtr(true)}, {Name: "c", Value: "true"}, {Name: "d", Value: "true", ForceString: boolPtr(true)},
		}}, map[string]string{"a": "123 (int64)", "b": "0123 (string)", "c": "true (bool)", "d": "true (string)"}},
		{"forceString applies after plain parameters", v1alpha1.ApplicationSourceHelm{Parameters: []v1alpha1.HelmParameter{
			{Name: "a", Value: "s", ForceString: boolPtr(true)}, {Name: "a", Value: "1"},
		}}, map[string]string{"a": "s (string)"}},
		{"a comma stays in one value", v1alpha1.ApplicationSourceHelm{Parameters: []v1alpha1.HelmParameter{{Name: "a", Value: "x,b=y"}}},
			map[string]string{"a": "x,b=y (string)", "b": "chart (string)"}},
		{"list syntax", v1alpha1.ApplicationSourceHelm{Parameters: []v1alpha1.HelmParameter{{Name: "e", Value: "{x,y}"}}},
			map[string]string{"e": "[x y] (slice)"}},
		{"fileParameters over parameters", v1alpha1.ApplicationSourceHelm{
			Parameters:     []v1alpha1.HelmParameter{{Name: "a", Value: "param"}},
			FileParameters: []v1alpha1.HelmFileParameter{{Name: "a", Path: "env/cfg.txt"}},
		}, map[string]string{"a": "from-file (string)"}},
		{"ignoreMissingValueFiles", v1alpha1.ApplicationSourceHelm{ValueFiles: []string{"env/missing.yaml", "env/two.yaml"}, IgnoreMissingValueFiles: boolPtr(true)},
			map[string]string{"a": "file2 (string)"}},
	}
	r := helm.New(helm.Options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := tc.h
			req := &render.Request{FS: tree, Path: "chart", Source: helmSource(func(x *v1alpha1.ApplicationSourceHelm) { *x = h }), AppName: "app", Namespace: "ns",
				RefSources: map[string]fs.FS{"values": refs["values"]}}
			res, err := r.Render(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			d := data(t, res, "app-demo")
			for k, v := range tc.want {
				if d[k] != v {
					t.Errorf("%s = %q, want %q", k, d[k], v)
				}
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	t.Parallel()
	good := simpleChart("demo", "1.0.0", "a: chart\n")
	badTemplate := simpleChart("demo", "1.0.0", "")
	badTemplate["templates/fail.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels:\n    a: {{ required \"image.tag is required\" .Values.image }}\n"
	parseError := simpleChart("demo", "1.0.0", "")
	parseError["templates/parse.yaml"] = "kind: ConfigMap\n\n{{ if }}\n"
	missingDep := simpleChart("demo", "1.0.0", "")
	missingDep["Chart.yaml"] += "dependencies:\n  - name: postgres\n    version: 1.0.0\n"
	bomb := simpleChart("demo", "1.0.0", "")
	tree := mapFS(map[string]chartFiles{"chart": good, "bad": badTemplate, "parse": parseError, "dep": missingDep, "bomb": bomb, "other": {"secret.yaml": "a: b\n"}})
	tree["bomb/charts/sub-0.1.0.tgz"] = &fstest.MapFile{Data: zipBomb(t, "sub", 8<<20)}

	cases := []struct {
		name     string
		path     string
		h        v1alpha1.ApplicationSourceHelm
		opts     helm.Options
		is       error
		file     string
		line     int
		contains string
	}{
		{name: "value file climbing out of the repo", path: "chart", h: v1alpha1.ApplicationSourceHelm{ValueFiles: []string{"../../etc/passwd"}}, is: render.ErrPathEscape},
		{name: "absolute value file", path: "chart", h: v1alpha1.ApplicationSourceHelm{ValueFiles: []string{"/etc/passwd"}}, is: render.ErrPathEscape},
		{name: "value file in another app is fine", path: "chart", h: v1alpha1.ApplicationSourceHelm{ValueFiles: []string{"../other/secret.yaml"}}},
		{name: "file parameter climbing out", path: "chart", h: v1alpha1.ApplicationSourceHelm{FileParameters: []v1alpha1.HelmFileParameter{{Name: "a", Path: "../../x"}}}, is: render.ErrPathEscape},
		{name: "$ref climbing out of its source", path: "chart", h: v1alpha1.ApplicationSourceHelm{ValueFiles: []string{"$values/../x.yaml"}}, is: render.ErrPathEscape},
		{name: "unknown $ref", path: "chart", h: v1alpha1.ApplicationSourceHelm{ValueFiles: []string{"$nope/x.yaml"}}, contains: `no source with ref "nope"`},
		{name: "missing value file", path: "chart", h: v1alpha1.ApplicationSourceHelm{ValueFiles: []string{"missing.yaml"}}, is: render.ErrNotFound, contains: "missing.yaml"},
		{name: "remote value files are off by default", path: "chart", h: v1alpha1.ApplicationSourceHelm{ValueFiles: []string{"https://example.com/v.yaml"}}, contains: "remote value files are disabled"},
		{name: "no chart at the path", path: "other", is: render.ErrNotFound, contains: "Chart.yaml"},
		{name: "app path escaping", path: "../x", is: render.ErrPathEscape},
		{name: "template failure names file and line", path: "bad", file: "bad/templates/fail.yaml", line: 6, contains: "image.tag is required"},
		{name: "template parse error names file and line", path: "parse", file: "parse/templates/parse.yaml", line: 3},
		{name: "dependency missing from charts/", path: "dep", contains: `dependency "postgres"`},
		{name: "vendored zip bomb", path: "bomb", opts: helm.Options{MaxChartBytes: 1 << 20}, is: render.ErrTooLarge},
		{name: "too many files", path: "chart", opts: helm.Options{MaxChartFiles: 1}, is: render.ErrTooLarge},
		{name: "bad kube version", path: "chart", h: v1alpha1.ApplicationSourceHelm{KubeVersion: "banana"}, contains: "banana"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := tc.h
			req := &render.Request{FS: tree, Path: tc.path, Source: helmSource(func(x *v1alpha1.ApplicationSourceHelm) { *x = h }), AppName: "app",
				RefSources: map[string]fs.FS{"values": fstest.MapFS{"x.yaml": {Data: []byte("a: 1\n")}}}}
			_, err := helm.New(tc.opts).Render(t.Context(), req)
			if tc.is == nil && tc.file == "" && tc.contains == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			if tc.contains != "" && !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("error %q does not mention %q", err, tc.contains)
			}
			if tc.file != "" {
				var rerr *render.Error
				if !errors.As(err, &rerr) {
					t.Fatalf("error %v is not a *render.Error", err)
				}
				if rerr.File != tc.file || rerr.Line != tc.line {
					t.Errorf("error at %s:%d, want %s:%d (%v)", rerr.File, rerr.Line, tc.file, tc.line, err)
				}
			}
		})
	}
}

func TestSymlinkEscapeRefused(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.yaml"), []byte("a: stolen\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for n, body := range simpleChart("demo", "1.0.0", "a: chart\n") {
		p := filepath.Join(root, "chart", n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(outside, "secret.yaml"), filepath.Join(root, "chart", "leak.yaml")); err != nil {
		t.Skip("no symlinks:", err)
	}
	if err := os.Symlink("values.yaml", filepath.Join(root, "chart", "inside.yaml")); err != nil {
		t.Fatal(err)
	}
	r := helm.New(helm.Options{})
	req := func(vf string) *render.Request {
		return &render.Request{FS: os.DirFS(root), Path: "chart", AppName: "app",
			Source: helmSource(func(h *v1alpha1.ApplicationSourceHelm) { h.ValueFiles = []string{vf} })}
	}
	// The escaping link is refused twice: as a value file and as a chart file the loader walks over.
	if _, err := r.Render(t.Context(), req("leak.yaml")); !errors.Is(err, render.ErrPathEscape) {
		t.Errorf("leak.yaml: error %v, want ErrPathEscape", err)
	}
	if err := os.Remove(filepath.Join(root, "chart", "leak.yaml")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Render(t.Context(), req("inside.yaml")); err != nil {
		t.Errorf("a link inside the tree: %v", err)
	}
}

func TestRenderTimeout(t *testing.T) {
	t.Parallel()
	slow := simpleChart("slow", "1.0.0", "")
	slow["templates/slow.yaml"] = "{{ range until 3000 }}{{ range until 3000 }}{{ end }}{{ end }}"
	req := &render.Request{FS: mapFS(map[string]chartFiles{"slow": slow}), Path: "slow", AppName: "app", Source: helmSource(),
		Limits: render.Limits{Timeout: 20 * time.Millisecond}}
	start := time.Now()
	_, err := helm.New(helm.Options{}).Render(t.Context(), req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("returned after %v", d)
	}
}

func TestVendoredAndLocalDependencies(t *testing.T) {
	t.Parallel()
	parent := simpleChart("parent", "1.0.0", "a: parent\n")
	parent["Chart.yaml"] += "dependencies:\n  - name: packed\n    version: 0.2.0\n  - name: local\n    version: 0.1.0\n    repository: file://../../libs/local\n"
	tree := mapFS(map[string]chartFiles{"apps/parent": parent, "libs/local": simpleChart("local", "0.1.0", "a: local\n")})
	tree["apps/parent/charts/packed-0.2.0.tgz"] = &fstest.MapFile{Data: tgz(t, "packed", simpleChart("packed", "0.2.0", "a: packed\n"))}
	res, err := helm.New(helm.Options{}).Render(t.Context(), &render.Request{FS: tree, Path: "apps/parent", AppName: "app", Source: helmSource()})
	if err != nil {
		t.Fatal(err)
	}
	for cm, want := range map[string]string{"app-parent": "parent (string)", "app-packed": "packed (string)", "app-local": "local (string)"} {
		if got := data(t, res, cm)["a"]; got != want {
			t.Errorf("%s: a = %q, want %q", cm, got, want)
		}
	}

	// A file:// dependency may not leave the repository.
	parent["Chart.yaml"] = strings.Replace(parent["Chart.yaml"], "file://../../libs/local", "file://../../../outside", 1)
	tree = mapFS(map[string]chartFiles{"apps/parent": parent})
	tree["apps/parent/charts/packed-0.2.0.tgz"] = &fstest.MapFile{Data: tgz(t, "packed", simpleChart("packed", "0.2.0", ""))}
	_, err = helm.New(helm.Options{}).Render(t.Context(), &render.Request{FS: tree, Path: "apps/parent", AppName: "app", Source: helmSource()})
	if !errors.Is(err, render.ErrPathEscape) {
		t.Errorf("error %v, want ErrPathEscape", err)
	}
}
