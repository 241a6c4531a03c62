package diff_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/moorcd/moor/pkg/diff"
	"github.com/moorcd/moor/test/kubetest"
)

func TestMain(m *testing.M) { kubetest.Main(m) }

// env is one test's cluster, namespace and a Differ bound to them.
type env struct {
	c      *kubetest.Cluster
	ns     string
	mapper meta.RESTMapper
	d      *diff.Differ
}

func newEnv(t testing.TB) *env {
	t.Helper()
	c := kubetest.Start(t)
	ns := c.Namespace(t)
	disc := memory.NewMemCacheClient(c.Kube.Discovery())
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(disc)
	d, err := diff.New(diff.Options{DynamicClient: c.Dynamic, RESTMapper: mapper, Discovery: disc})
	if err != nil {
		t.Fatal(err)
	}
	return &env{c: c, ns: ns, mapper: mapper, d: d}
}

// obj parses a manifest as a user writes it and puts it in the test's namespace unless it names one.
func (e *env) obj(t testing.TB, manifest string) *unstructured.Unstructured {
	t.Helper()
	u := mustParse(t, manifest)
	if u.GetNamespace() == "" && !strings.HasPrefix(u.GetKind(), "MutatingAdmissionPolicy") {
		u.SetNamespace(e.ns)
	}
	return u
}

func mustParse(t testing.TB, manifest string) *unstructured.Unstructured {
	t.Helper()
	m := map[string]any{}
	if err := yaml.Unmarshal([]byte(manifest), &m); err != nil {
		t.Fatalf("parse manifest: %v", err)
	}
	return &unstructured.Unstructured{Object: m}
}

// apply server-side applies u as manager (force taking over conflicting fields) and returns the live object.
func (e *env) apply(t testing.TB, u *unstructured.Unstructured, manager string) *unstructured.Unstructured {
	t.Helper()
	gvk := u.GroupVersionKind()
	m, err := e.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		t.Fatalf("map %s: %v", gvk, err)
	}
	raw, err := json.Marshal(u.Object)
	if err != nil {
		t.Fatal(err)
	}
	force := true
	out, err := e.c.Dynamic.Resource(m.Resource).Namespace(u.GetNamespace()).Patch(t.Context(), u.GetName(),
		types.ApplyPatchType, raw, metav1.PatchOptions{FieldManager: manager, Force: &force})
	if err != nil {
		t.Fatalf("apply %s %s as %s: %v", gvk.Kind, u.GetName(), manager, err)
	}
	return out
}

// get reads the live object the way the controller's cache would hand it over.
func (e *env) get(t testing.TB, u *unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	gvk := u.GroupVersionKind()
	m, err := e.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.c.Dynamic.Resource(m.Resource).Namespace(u.GetNamespace()).Get(t.Context(), u.GetName(), metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get %s %s: %v", gvk.Kind, u.GetName(), err)
	}
	return out
}

// deleteOnCleanup removes a cluster-scoped object when the test ends.
func (e *env) deleteOnCleanup(t testing.TB, u *unstructured.Unstructured) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		gvk := u.GroupVersionKind()
		m, err := e.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Errorf("map %s: %v", gvk, err)
			return
		}
		err = e.c.Dynamic.Resource(m.Resource).Delete(ctx, u.GetName(), metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete %s: %v", u.GetName(), err)
		}
	})
}

// eventually polls cond every 100 ms until it holds or the timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
