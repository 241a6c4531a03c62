package render

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

// rendererFunc adapts a function to Renderer, standing in for the Helm renderer.
type rendererFunc func(ctx context.Context, req *Request) (*Result, error)

func (f rendererFunc) Render(ctx context.Context, req *Request) (*Result, error) { return f(ctx, req) }

func fakeHelm(objs ...*unstructured.Unstructured) Renderer {
	return rendererFunc(func(context.Context, *Request) (*Result, error) { return &Result{Objects: objs}, nil })
}

func TestEngineSelectsRenderer(t *testing.T) {
	t.Parallel()
	tree := fstest.MapFS{
		"chart/Chart.yaml":        {},
		"kust/kustomization.yaml": {Data: []byte("resources: [cm.yaml]\n")},
		"kust/cm.yaml":            cm("from-kustomize"),
		"plain/cm.yaml":           cm("from-directory"),
		"both/kustomization.yaml": {Data: []byte("resources: [cm.yaml]\n")},
		"both/cm.yaml":            cm("both"),
	}
	helmObj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "from-helm"}}}
	e := New(Options{Helm: fakeHelm(helmObj)})
	cases := []struct {
		name, path string
		src        *v1alpha1.ApplicationSource
		fs         bool
		wantType   string
		wantName   string
		err        string
	}{
		{name: "detected chart", path: "chart", fs: true, wantType: SourceTypeHelm, wantName: "from-helm"},
		{name: "detected kustomization", path: "kust", fs: true, wantType: SourceTypeKustomize, wantName: "from-kustomize"},
		{name: "detected directory", path: "plain", fs: true, wantType: SourceTypeDirectory, wantName: "from-directory"},
		{name: "explicit directory wins over a kustomization", path: "both", fs: true,
			src: &v1alpha1.ApplicationSource{Directory: &v1alpha1.ApplicationSourceDirectory{Include: "cm.yaml"}}, wantType: SourceTypeDirectory, wantName: "both"},
		{name: "chart from a Helm repository, no tree", src: &v1alpha1.ApplicationSource{Chart: "nginx"}, wantType: SourceTypeHelm, wantName: "from-helm"},
		{name: "two explicit types", path: "both", fs: true,
			src: &v1alpha1.ApplicationSource{Directory: &v1alpha1.ApplicationSourceDirectory{}, Kustomize: &v1alpha1.ApplicationSourceKustomize{}}, err: "more than one"},
		{name: "plugin", path: "plain", fs: true, src: &v1alpha1.ApplicationSource{Plugin: &v1alpha1.ApplicationSourcePlugin{}}, err: "plugins are not supported"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := &Request{Path: tc.path, Source: tc.src}
			if tc.fs {
				req.FS = tree
			}
			res, err := e.Render(t.Context(), req)
			if tc.err != "" {
				var re *Error
				if !errors.As(err, &re) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want a *render.Error saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if res.SourceType != tc.wantType || len(res.Objects) != 1 || res.Objects[0].GetName() != tc.wantName {
				t.Errorf("Render = %s %v, want %s [%s]", res.SourceType, names(res), tc.wantType, tc.wantName)
			}
		})
	}
}

func TestEngineGuards(t *testing.T) {
	t.Parallel()
	tree := fstest.MapFS{"chart/Chart.yaml": {}}
	big := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "data": map[string]any{"k": strings.Repeat("x", 4096)}}}
	cases := []struct {
		name   string
		helm   Renderer
		limits Limits
		is     error
		msg    string
	}{
		{name: "no Helm renderer", is: ErrNoHelm},
		{name: "panic becomes an error", helm: rendererFunc(func(context.Context, *Request) (*Result, error) { panic("chart exploded") }), msg: "chart exploded"},
		{name: "timeout applies to a renderer that ignores its context", limits: Limits{Timeout: 50 * time.Millisecond}, is: context.DeadlineExceeded,
			helm: rendererFunc(func(context.Context, *Request) (*Result, error) { time.Sleep(2 * time.Second); return &Result{}, nil })},
		{name: "output over MaxManifestBytes", helm: fakeHelm(big), limits: Limits{MaxManifestBytes: 1024}, is: ErrTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			_, err := New(Options{Helm: tc.helm}).Render(t.Context(), &Request{FS: tree, Path: "chart", Limits: tc.limits})
			if err == nil {
				t.Fatal("Render succeeded, want an error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v, want %v", err, tc.is)
			}
			if tc.msg != "" && !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
			if time.Since(start) > time.Second {
				t.Errorf("Render took %v", time.Since(start))
			}
		})
	}
}
