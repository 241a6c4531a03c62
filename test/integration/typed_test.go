package integration

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"

	"github.com/moorcd/moor/pkg/client/clientset/versioned"
	"github.com/moorcd/moor/test/kubetest"
)

// TestTypedClientRoundTrip reads every corpus object back through the generated clientset and checks the Go
// types see the same document the API server stores: nothing dropped, nothing added.
func TestTypedClientRoundTrip(t *testing.T) {
	c := kubetest.Start(t)
	c.InstallCRDs(t)
	ns := c.Namespace(t)
	cs, err := versioned.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range corpus(t, "*.yaml") {
		obj := load(t, file)
		obj.SetNamespace(ns)
		if _, hasStatus := obj.Object["status"]; hasStatus && obj.GetKind() == "ApplicationSet" {
			continue // written through the status subresource; covered by TestCorpusRoundTrip
		}
		client := resourceClient(t, c.Dynamic, obj, ns)
		stored, err := client.Create(t.Context(), obj, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create %s: %v", file, err)
		}
		t.Cleanup(func() { removeFinalizers(t, client, stored.GetName()) })

		var typed any
		argo := cs.ArgoprojV1alpha1()
		switch obj.GetKind() {
		case "Application":
			typed, err = argo.Applications(ns).Get(t.Context(), obj.GetName(), metav1.GetOptions{})
		case "AppProject":
			typed, err = argo.AppProjects(ns).Get(t.Context(), obj.GetName(), metav1.GetOptions{})
		case "ApplicationSet":
			typed, err = argo.ApplicationSets(ns).Get(t.Context(), obj.GetName(), metav1.GetOptions{})
		}
		if err != nil {
			t.Fatalf("typed get %s: %v", file, err)
		}
		data, err := json.Marshal(typed)
		if err != nil {
			t.Fatal(err)
		}
		got := &unstructured.Unstructured{}
		if err := utiljson.Unmarshal(data, &got.Object); err != nil { // numbers as int64, like the dynamic client
			t.Fatal(err)
		}
		// The typed client does not fill apiVersion and kind; the scheme does that on encode.
		got.SetAPIVersion(stored.GetAPIVersion())
		got.SetKind(stored.GetKind())
		if diff := cmp.Diff(stored.Object, got.Object); diff != "" {
			t.Errorf("%s: typed client differs from the stored object (-stored +typed):\n%s", file, diff)
		}
	}
}
