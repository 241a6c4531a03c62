package render

import (
	"errors"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/api/types"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

func find(res *Result, kind string) *unstructured.Unstructured {
	for _, o := range res.Objects {
		if o.GetKind() == kind {
			return o
		}
	}
	return nil
}

func containerImages(t *testing.T, d *unstructured.Unstructured) []string {
	t.Helper()
	cs, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	var out []string
	for _, c := range cs {
		out = append(out, c.(map[string]any)["image"].(string))
	}
	return out
}

// TestKustomizeOverrides applies each source.kustomize override to the fixture overlay (two bases) or a
// base and checks what it changed.
func TestKustomizeOverrides(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		path  string
		k     v1alpha1.ApplicationSourceKustomize
		check func(t *testing.T, res *Result)
		err   string
	}{
		{name: "namePrefix replaces the file's prefix", path: "kustomize/overlay", k: v1alpha1.ApplicationSourceKustomize{NamePrefix: "staging-"},
			check: func(t *testing.T, res *Result) {
				if got := find(res, "Deployment").GetName(); got != "staging-api" {
					t.Errorf("name %q, want staging-api", got)
				}
			}},
		{name: "nameSuffix", path: "kustomize/overlay", k: v1alpha1.ApplicationSourceKustomize{NameSuffix: "-blue"},
			check: func(t *testing.T, res *Result) {
				if got := find(res, "Service").GetName(); got != "prod-api-blue" {
					t.Errorf("name %q, want prod-api-blue", got)
				}
			}},
		{name: "namespace", path: "kustomize/overlay", k: v1alpha1.ApplicationSourceKustomize{Namespace: "team-a"},
			check: func(t *testing.T, res *Result) {
				for _, o := range res.Objects {
					if o.GetNamespace() != "team-a" {
						t.Errorf("%s namespace %q, want team-a", o.GetName(), o.GetNamespace())
					}
				}
			}},
		{name: "images: name:tag replaces the file's tag, name@digest", path: "kustomize/overlay",
			k: v1alpha1.ApplicationSourceKustomize{Images: v1alpha1.KustomizeImages{"ghcr.io/example/api:9.9.9", "busybox@sha256:abc"}},
			check: func(t *testing.T, res *Result) {
				got := strings.Join(containerImages(t, find(res, "Deployment")), " ")
				if want := "ghcr.io/example/api:9.9.9 busybox@sha256:abc"; got != want {
					t.Errorf("images %q, want %q", got, want)
				}
			}},
		{name: "images: name=newName keeps the file's tag", path: "kustomize/overlay",
			k: v1alpha1.ApplicationSourceKustomize{Images: v1alpha1.KustomizeImages{"ghcr.io/example/api=mirror.local:5000/api"}},
			check: func(t *testing.T, res *Result) {
				if got := containerImages(t, find(res, "Deployment"))[0]; got != "mirror.local:5000/api:1.1.0" {
					t.Errorf("image %q, want mirror.local:5000/api:1.1.0", got)
				}
			}},
		{name: "replicas with a string count", path: "kustomize/overlay",
			k: v1alpha1.ApplicationSourceKustomize{Replicas: v1alpha1.KustomizeReplicas{{Name: "api", Count: intstr.FromString("7")}}},
			check: func(t *testing.T, res *Result) {
				if n, _, _ := unstructured.NestedInt64(find(res, "Deployment").Object, "spec", "replicas"); n != 7 {
					t.Errorf("replicas %d, want 7", n)
				}
			}},
		{name: "replicas with a bad count", path: "kustomize/overlay",
			k:   v1alpha1.ApplicationSourceKustomize{Replicas: v1alpha1.KustomizeReplicas{{Name: "api", Count: intstr.FromString("many")}}},
			err: "not a number"},
		{name: "commonLabels go to selectors", path: "kustomize/overlay", k: v1alpha1.ApplicationSourceKustomize{CommonLabels: map[string]string{"tier": "backend"}},
			check: func(t *testing.T, res *Result) {
				if v, _, _ := unstructured.NestedString(find(res, "Deployment").Object, "spec", "selector", "matchLabels", "tier"); v != "backend" {
					t.Errorf("selector tier %q, want backend", v)
				}
			}},
		{name: "commonLabels conflict without force", path: "kustomize/base-a", k: v1alpha1.ApplicationSourceKustomize{CommonLabels: map[string]string{"app": "other"}},
			err: "forceCommonLabels"},
		{name: "forceCommonLabels overrides", path: "kustomize/base-a",
			k: v1alpha1.ApplicationSourceKustomize{CommonLabels: map[string]string{"app": "other"}, ForceCommonLabels: ptr(true)},
			check: func(t *testing.T, res *Result) {
				if got := find(res, "Deployment").GetLabels()["app"]; got != "other" {
					t.Errorf("label app %q, want other", got)
				}
			}},
		{name: "labelWithoutSelector leaves selectors and templates", path: "kustomize/overlay",
			k: v1alpha1.ApplicationSourceKustomize{CommonLabels: map[string]string{"tier": "backend"}, LabelWithoutSelector: ptr(true)},
			check: func(t *testing.T, res *Result) {
				d := find(res, "Deployment")
				if d.GetLabels()["tier"] != "backend" {
					t.Errorf("labels %v, want tier=backend", d.GetLabels())
				}
				if _, ok, _ := unstructured.NestedString(d.Object, "spec", "selector", "matchLabels", "tier"); ok {
					t.Error("selector got the label")
				}
				if _, ok, _ := unstructured.NestedString(d.Object, "spec", "template", "metadata", "labels", "tier"); ok {
					t.Error("template got the label")
				}
			}},
		{name: "labelIncludeTemplates", path: "kustomize/overlay",
			k: v1alpha1.ApplicationSourceKustomize{CommonLabels: map[string]string{"tier": "backend"}, LabelWithoutSelector: ptr(true), LabelIncludeTemplates: ptr(true)},
			check: func(t *testing.T, res *Result) {
				if v, _, _ := unstructured.NestedString(find(res, "Deployment").Object, "spec", "template", "metadata", "labels", "tier"); v != "backend" {
					t.Errorf("template label %q, want backend", v)
				}
			}},
		{name: "commonAnnotations with envsubst", path: "kustomize/overlay",
			k: v1alpha1.ApplicationSourceKustomize{CommonAnnotations: map[string]string{"app": "${ARGOCD_APP_NAME}/$UNKNOWN/$$"}, CommonAnnotationsEnvsubst: ptr(true)},
			check: func(t *testing.T, res *Result) {
				if got := find(res, "Service").GetAnnotations()["app"]; got != "guestbook//$" {
					t.Errorf("annotation %q, want guestbook//$", got)
				}
			}},
		{name: "commonAnnotations without envsubst are literal", path: "kustomize/overlay",
			k: v1alpha1.ApplicationSourceKustomize{CommonAnnotations: map[string]string{"app": "${ARGOCD_APP_NAME}"}},
			check: func(t *testing.T, res *Result) {
				if got := find(res, "Service").GetAnnotations()["app"]; got != "${ARGOCD_APP_NAME}" {
					t.Errorf("annotation %q, want it unchanged", got)
				}
			}},
		{name: "inline patch with a target", path: "kustomize/overlay",
			k: v1alpha1.ApplicationSourceKustomize{Patches: v1alpha1.KustomizePatches{{
				Target: &v1alpha1.KustomizeSelector{KustomizeResID: v1alpha1.KustomizeResID{KustomizeGVK: v1alpha1.KustomizeGVK{Kind: "Service"}, Name: "api"}},
				Patch:  "- op: add\n  path: /metadata/labels\n  value: {patched: \"yes\"}\n",
			}}},
			check: func(t *testing.T, res *Result) {
				if got := find(res, "Service").GetLabels()["patched"]; got != "yes" {
					t.Errorf("label patched %q, want yes", got)
				}
			}},
		{name: "component", path: "kustomize/overlay", k: v1alpha1.ApplicationSourceKustomize{Components: []string{"../components/monitoring"}},
			check: func(t *testing.T, res *Result) {
				if got := find(res, "Service").GetAnnotations()["monitoring"]; got != "enabled" {
					t.Errorf("annotation monitoring %q, want enabled", got)
				}
			}},
		{name: "missing component fails", path: "kustomize/overlay", k: v1alpha1.ApplicationSourceKustomize{Components: []string{"../components/missing"}},
			err: "components/missing"},
		{name: "missing component ignored", path: "kustomize/overlay",
			k: v1alpha1.ApplicationSourceKustomize{Components: []string{"../components/missing"}, IgnoreMissingComponents: ptr(true)},
			check: func(t *testing.T, res *Result) {
				if len(res.Objects) != 3 {
					t.Errorf("%d objects, want 3", len(res.Objects))
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := testRepo()
			req.Path, req.Source = tc.path, &v1alpha1.ApplicationSource{Kustomize: &tc.k}
			res, err := (&KustomizeRenderer{}).Render(t.Context(), req)
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
			tc.check(t, res)
		})
	}
}

func TestKustomizeRefusals(t *testing.T) {
	t.Parallel()
	kust := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	tree := fstest.MapFS{
		"base/kustomization.yaml":              kust("resources: [cm.yaml]\n"),
		"base/cm.yaml":                         cm("base"),
		"apps/remote-http/kustomization.yaml":  kust("resources:\n- https://raw.githubusercontent.com/example/repo/main/cm.yaml\n"),
		"apps/remote-git/kustomization.yaml":   kust("resources:\n- ../../base\n- github.com/example/repo//deploy?ref=v1\n"),
		"apps/remote-deep/kustomization.yaml":  kust("resources: [../remote-git]\n"),
		"apps/remote-patch/kustomization.yaml": kust("resources: [../../base]\npatches:\n- path: https://example.com/p.yaml\n"),
		"apps/escape/kustomization.yaml":       kust("resources: [../../../outside]\n"),
		"apps/escape-file/kustomization.yaml":  kust("resources: [../../base]\npatches:\n- path: ../../../../etc/passwd\n"),
		"apps/file-above/kustomization.yaml":   kust("resources: [../../base/cm.yaml]\n"),
		"apps/helm/kustomization.yaml":         kust("helmCharts:\n- name: x\n  repo: https://charts.example.com\n  version: 1.0.0\n"),
		"apps/bad/kustomization.yaml":          kust("resources: [cm.yaml]\nnot_a_field: 1\n"),
		"apps/ok/kustomization.yaml":           kust("resources: [../../base]\n"),
	}
	cases := []struct {
		name, path string
		is         error
		file       string
		msg        string
	}{
		{name: "http resource", path: "apps/remote-http", is: ErrRemoteBaseDisabled, file: "apps/remote-http/kustomization.yaml"},
		{name: "git base", path: "apps/remote-git", is: ErrRemoteBaseDisabled, file: "apps/remote-git/kustomization.yaml"},
		{name: "git base in a local base", path: "apps/remote-deep", is: ErrRemoteBaseDisabled, file: "apps/remote-git/kustomization.yaml"},
		{name: "http patch", path: "apps/remote-patch", is: ErrRemoteBaseDisabled},
		{name: "base outside the repository", path: "apps/escape", is: ErrPathEscape},
		{name: "patch outside the repository", path: "apps/escape-file", is: ErrPathEscape},
		{name: "file above the kustomization (root-only loads)", path: "apps/file-above", msg: "security"},
		{name: "helm charts are off", path: "apps/helm", msg: "helm"},
		{name: "invalid kustomization", path: "apps/bad", file: "apps/bad/kustomization.yaml", msg: "not_a_field"},
		{name: "app path escape", path: "../apps/ok", is: ErrPathEscape},
		{name: "no kustomization", path: "base/..", is: ErrNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := (&KustomizeRenderer{}).Render(t.Context(), &Request{FS: tree, Path: tc.path})
			if err == nil {
				t.Fatal("Render succeeded, want an error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v, want %v", err, tc.is)
			}
			var re *Error
			if tc.file != "" && (!errors.As(err, &re) || re.File != tc.file) {
				t.Errorf("error %v, want a *render.Error naming %s", err, tc.file)
			}
			if tc.msg != "" && !strings.Contains(strings.ToLower(err.Error()), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
		})
	}
	t.Run("local base renders", func(t *testing.T) {
		t.Parallel()
		res, err := (&KustomizeRenderer{}).Render(t.Context(), &Request{FS: tree, Path: "apps/ok"})
		if err != nil || len(res.Objects) != 1 {
			t.Fatalf("Render = %v, %v; want one object", res, err)
		}
	})
}

func TestParseKustomizeImage(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want types.Image
		err  bool
	}{
		{in: "nginx:1.27", want: types.Image{Name: "nginx", NewTag: "1.27"}},
		{in: "nginx@sha256:abc", want: types.Image{Name: "nginx", Digest: "sha256:abc"}},
		{in: "nginx=registry.local/nginx:1.27", want: types.Image{Name: "nginx", NewName: "registry.local/nginx", NewTag: "1.27"}},
		{in: "nginx=registry.local/nginx", want: types.Image{Name: "nginx", NewName: "registry.local/nginx"}},
		{in: "nginx=nginx:1.27", want: types.Image{Name: "nginx", NewTag: "1.27"}},
		{in: "localhost:5000/app:v2", want: types.Image{Name: "localhost:5000/app", NewTag: "v2"}},
		{in: "a=b@sha256:123", want: types.Image{Name: "a", NewName: "b", Digest: "sha256:123"}},
		{in: "nginx", err: true},
		{in: "=x:1", err: true},
		{in: "", err: true},
	}
	for _, tc := range cases {
		got, err := parseKustomizeImage(tc.in)
		if (err != nil) != tc.err || (!tc.err && got != tc.want) {
			t.Errorf("parseKustomizeImage(%q) = %+v, %v; want %+v (error %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// TestKustomizeDoesNotWrite checks the overrides never reach the tree.
func TestKustomizeDoesNotWrite(t *testing.T) {
	t.Parallel()
	before, err := os.ReadFile("testdata/repo/kustomize/overlay/kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	req := testRepo()
	req.Path = "kustomize/overlay"
	req.Source = &v1alpha1.ApplicationSource{Kustomize: &v1alpha1.ApplicationSourceKustomize{NamePrefix: "x-"}}
	if _, err := (&KustomizeRenderer{}).Render(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile("testdata/repo/kustomize/overlay/kustomization.yaml")
	if string(before) != string(after) {
		t.Error("the kustomization file changed on disk")
	}
}
