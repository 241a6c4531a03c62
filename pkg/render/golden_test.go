package render

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// testRepo is the fixture repository, a real directory tree.
func testRepo() *Request {
	return &Request{FS: os.DirFS("testdata/repo"), AppName: "guestbook", Namespace: "prod"}
}

func ptr[T any](v T) *T { return &v }

// TestGolden renders the fixture apps and compares the manifests with testdata/golden/<case>.yaml.
func TestGolden(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		path string
		src  *v1alpha1.ApplicationSource
	}{
		{name: "directory-basic", path: "directory/basic"},
		{name: "directory-recurse", path: "directory/basic",
			src: &v1alpha1.ApplicationSource{Directory: &v1alpha1.ApplicationSourceDirectory{Recurse: ptr(true)}}},
		{name: "jsonnet", path: "jsonnet/app", src: &v1alpha1.ApplicationSource{Directory: &v1alpha1.ApplicationSourceDirectory{
			Jsonnet: &v1alpha1.ApplicationSourceJsonnet{
				ExtVars: []v1alpha1.JsonnetVar{{Name: "env", Value: "prod"}, {Name: "debug", Value: "1 + 1 == 2", Code: ptr(true)}},
				TLAs:    []v1alpha1.JsonnetVar{{Name: "replicas", Value: "3", Code: ptr(true)}, {Name: "tier", Value: "frontend"}},
				Libs:    []string{"jsonnet/vendor"},
			},
		}}},
		{name: "kustomize-overlay", path: "kustomize/overlay"},
		{name: "kustomize-overrides", path: "kustomize/overlay", src: &v1alpha1.ApplicationSource{
			RepoURL: "https://git.example.com/apps.git",
			Kustomize: &v1alpha1.ApplicationSourceKustomize{
				NamePrefix:                "staging-",
				NameSuffix:                "-v2",
				Namespace:                 "staging",
				Images:                    v1alpha1.KustomizeImages{"ghcr.io/example/api=registry.example.com/api:2.0.0", "busybox@sha256:0000000000000000000000000000000000000000000000000000000000000000"},
				Replicas:                  v1alpha1.KustomizeReplicas{{Name: "api", Count: intOrString(5)}},
				CommonLabels:              map[string]string{"team": "payments"},
				CommonAnnotations:         map[string]string{"owner": "${ARGOCD_APP_NAME} in $ARGOCD_APP_NAMESPACE", "cost": "$$5"},
				CommonAnnotationsEnvsubst: ptr(true),
				Components:                []string{"../components/monitoring", "../components/missing"},
				IgnoreMissingComponents:   ptr(true),
				Patches: v1alpha1.KustomizePatches{{
					Target: &v1alpha1.KustomizeSelector{KustomizeResID: v1alpha1.KustomizeResID{KustomizeGVK: v1alpha1.KustomizeGVK{Kind: "Service"}}},
					Patch:  `[{"op": "add", "path": "/spec/type", "value": "ClusterIP"}]`,
				}},
			},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := testRepo()
			req.Path, req.Source = tc.path, tc.src
			res, err := New(Options{}).Render(t.Context(), req)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			got := manifestsYAML(t, res)
			file := filepath.Join("testdata", "golden", tc.name+".yaml")
			if *update {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the render (run go test -update to accept):\n--- got\n%s\n--- want\n%s", file, got, want)
			}
		})
	}
}

// manifestsYAML prints a result as a multi-document YAML stream, with the source type first.
func manifestsYAML(t *testing.T, res *Result) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("# sourceType: " + res.SourceType + "\n")
	for i, o := range res.Objects {
		if i > 0 {
			b.WriteString("---\n")
		}
		y, err := yaml.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(y)
	}
	return b.Bytes()
}
