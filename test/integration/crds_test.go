package integration

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/moorcd/moor/test/kubetest"
)

var resources = map[string]schema.GroupVersionResource{
	"Application":    {Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"},
	"AppProject":     {Group: "argoproj.io", Version: "v1alpha1", Resource: "appprojects"},
	"ApplicationSet": {Group: "argoproj.io", Version: "v1alpha1", Resource: "applicationsets"},
}

// serverFields are the metadata fields the API server sets; they are not part of what a user wrote.
var serverFields = []string{"uid", "resourceVersion", "generation", "creationTimestamp", "managedFields"}

// TestCorpusRoundTrip applies every manifest of the corpus to the real API server and reads it back:
// what comes back must equal what was written, field for field.
func TestCorpusRoundTrip(t *testing.T) {
	c := kubetest.Start(t)
	c.InstallCRDs(t)
	ns := c.Namespace(t)
	files := corpus(t, "*.yaml")
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			want := load(t, file)
			want.SetNamespace(ns)
			client := resourceClient(t, c.Dynamic, want, ns)
			created, err := client.Create(t.Context(), want, metav1.CreateOptions{FieldManager: "moor-test"})
			if err != nil {
				t.Fatalf("create %s: %v", file, err)
			}
			t.Cleanup(func() { removeFinalizers(t, client, created.GetName()) })
			if status, ok := want.Object["status"]; ok && created.Object["status"] == nil {
				// The kind has a status subresource (ApplicationSet): status is written through it.
				created.Object["status"] = status
				if _, err := client.UpdateStatus(t.Context(), created, metav1.UpdateOptions{FieldManager: "moor-test"}); err != nil {
					t.Fatalf("update status: %v", err)
				}
			}

			got, err := client.Get(t.Context(), want.GetName(), metav1.GetOptions{})
			if err != nil {
				t.Fatalf("get: %v", err)
			}
			for _, f := range serverFields {
				unstructured.RemoveNestedField(got.Object, "metadata", f)
			}
			if diff := cmp.Diff(want.Object, got.Object); diff != "" {
				t.Errorf("read back differs from %s (-written +read):\n%s", file, diff)
			}
		})
	}
}

// TestInvalidManifestsRejected applies manifests the CRD schemas must refuse, each marked with the error it
// expects ("# expect: ..."), and checks the API server's message names the field.
func TestInvalidManifestsRejected(t *testing.T) {
	c := kubetest.Start(t)
	c.InstallCRDs(t)
	ns := c.Namespace(t)
	for _, file := range corpus(t, filepath.Join("invalid", "*.yaml")) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			expect := expectation(t, file)
			obj := load(t, file)
			obj.SetNamespace(ns)
			_, err := resourceClient(t, c.Dynamic, obj, ns).Create(t.Context(), obj, metav1.CreateOptions{})
			if err == nil {
				t.Fatalf("%s was accepted; want an error containing %q", file, expect)
			}
			if !apierrors.IsInvalid(err) && !apierrors.IsBadRequest(err) {
				t.Fatalf("want an Invalid error, got %v", err)
			}
			if !strings.Contains(err.Error(), expect) {
				t.Errorf("error %q does not contain %q", err, expect)
			}
		})
	}
}

func corpus(t *testing.T, pattern string) []string {
	t.Helper()
	root, err := kubetest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "test", "testdata", "manifests", pattern))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus files match %s (err %v)", pattern, err)
	}
	return files
}

func load(t *testing.T, file string) *unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(js); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return obj
}

func expectation(t *testing.T, file string) string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "# expect:"); ok {
			return strings.TrimSpace(rest)
		}
	}
	t.Fatalf("%s has no '# expect:' line", file)
	return ""
}

func resourceClient(t *testing.T, d dynamic.Interface, obj *unstructured.Unstructured, ns string) dynamic.ResourceInterface {
	t.Helper()
	gvr, ok := resources[obj.GetKind()]
	if !ok {
		t.Fatalf("corpus kind %q is not an argoproj.io kind", obj.GetKind())
	}
	return d.Resource(gvr).Namespace(ns)
}

// removeFinalizers lets the namespace go: no controller runs here to honour Argo CD's finalizers.
func removeFinalizers(t *testing.T, client dynamic.ResourceInterface, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	patch := []byte(`{"metadata":{"finalizers":null}}`)
	if _, err := client.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("remove finalizers of %s: %v", name, err)
	}
}
