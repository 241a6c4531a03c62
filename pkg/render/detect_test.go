package render

import (
	"errors"
	"maps"
	"os"
	"testing"
	"testing/fstest"
)

func TestDetectSourceType(t *testing.T) {
	t.Parallel()
	tree := fstest.MapFS{
		"chart/Chart.yaml":         {},
		"chart/kustomization.yaml": {},
		"k1/kustomization.yaml":    {},
		"k2/kustomization.yml":     {},
		"k3/Kustomization":         {},
		"plain/a.yaml":             {},
		"jsonnet/main.jsonnet":     {},
		"odd/Chart.yaml/x":         {}, // a directory named Chart.yaml is not a chart
		"file.yaml":                {},
	}
	cases := []struct {
		path string
		want string
		err  error
	}{
		{path: "chart", want: SourceTypeHelm},
		{path: "k1", want: SourceTypeKustomize},
		{path: "k2", want: SourceTypeKustomize},
		{path: "k3", want: SourceTypeKustomize},
		{path: "plain", want: SourceTypeDirectory},
		{path: "jsonnet", want: SourceTypeDirectory},
		{path: "odd", want: SourceTypeDirectory},
		{path: ".", want: SourceTypeDirectory},
		{path: "", want: SourceTypeDirectory},
		{path: "missing", err: ErrNotFound},
		{path: "../k1", err: ErrPathEscape},
		{path: "file.yaml", err: &Error{}},
	}
	for _, tc := range cases {
		got, err := DetectSourceType(tree, tc.path)
		switch {
		case tc.err == nil && (err != nil || got != tc.want):
			t.Errorf("DetectSourceType(%q) = %q, %v; want %q", tc.path, got, err, tc.want)
		case tc.err != nil:
			var re *Error
			if _, isRenderErr := tc.err.(*Error); isRenderErr && !errors.As(err, &re) || !isRenderErr && !errors.Is(err, tc.err) {
				t.Errorf("DetectSourceType(%q) error %v, want %v", tc.path, err, tc.err)
			}
		}
	}
}

func TestListApps(t *testing.T) {
	t.Parallel()
	t.Run("fixture repository", func(t *testing.T) {
		t.Parallel()
		got, err := ListApps(os.DirFS("testdata/repo"), ".")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"helm/guestbook":                  SourceTypeHelm, // not its charts/sub
			"kustomize/base-a":                SourceTypeKustomize,
			"kustomize/base-b":                SourceTypeKustomize,
			"kustomize/overlay":               SourceTypeKustomize,
			"kustomize/remote":                SourceTypeKustomize,
			"kustomize/components/monitoring": SourceTypeKustomize,
		}
		if !maps.Equal(got, want) {
			t.Errorf("ListApps = %v, want %v", got, want)
		}
	})
	t.Run("skips .git and below detected apps, from a subdirectory", func(t *testing.T) {
		t.Parallel()
		tree := fstest.MapFS{
			".git/x/Chart.yaml":                  {},
			"apps/a/kustomization.yaml":          {},
			"apps/a/overlays/kustomization.yaml": {},
			"apps/b/Chart.yaml":                  {},
			"apps/b/charts/dep/Chart.yaml":       {},
			"apps/plain/cm.yaml":                 {},
			"other/Chart.yaml":                   {},
		}
		got, err := ListApps(tree, "apps")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"apps/a": SourceTypeKustomize, "apps/b": SourceTypeHelm}
		if !maps.Equal(got, want) {
			t.Errorf("ListApps = %v, want %v", got, want)
		}
		if _, err := ListApps(tree, "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("ListApps(nope) error %v, want ErrNotFound", err)
		}
		if _, err := ListApps(tree, "../x"); !errors.Is(err, ErrPathEscape) {
			t.Errorf("ListApps(../x) error %v, want ErrPathEscape", err)
		}
	})
}
