package sync_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"

	moorsync "github.com/moorcd/moor/pkg/sync"
	"github.com/moorcd/moor/test/kubetest"
)

const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

var (
	configMapGVK = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	crdGVR       = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

// env is one test's cluster, namespace and client.
type env struct {
	c    *kubetest.Cluster
	ns   string
	kube *moorsync.Kube
}

func newEnv(t *testing.T) *env {
	t.Helper()
	c := kubetest.Start(t)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(discovery.NewDiscoveryClientForConfigOrDie(c.Config)))
	return &env{c: c, ns: c.Namespace(t), kube: moorsync.NewKube(c.Dynamic, mapper)}
}

// get reads an object the test expects to exist.
func (e *env) get(t *testing.T, gvk schema.GroupVersionKind, name string) *unstructured.Unstructured {
	t.Helper()
	u, err := e.kube.Get(t.Context(), gvk, e.ns, name)
	if err != nil {
		t.Fatal(err)
	}
	if u == nil {
		t.Fatalf("%s %s/%s does not exist", gvk.Kind, e.ns, name)
	}
	return u
}

func (e *env) apply(t *testing.T, u *unstructured.Unstructured, o moorsync.ApplyOptions) *unstructured.Unstructured {
	t.Helper()
	out, err := e.kube.Apply(t.Context(), u, o)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// patch writes as another client would (kubectl edit, a controller), with its own field manager.
func (e *env) patch(t *testing.T, gvk schema.GroupVersionKind, name, body string) {
	t.Helper()
	r := schema.GroupVersionResource{Group: gvk.Group, Version: gvk.Version, Resource: strings.ToLower(gvk.Kind) + "s"}
	_, err := e.c.Dynamic.Resource(r).Namespace(e.ns).Patch(t.Context(), name, types.MergePatchType, []byte(body),
		metav1.PatchOptions{FieldManager: "someone-else"})
	if err != nil {
		t.Fatal(err)
	}
}

func object(apiVersion, kind, ns, name string, fields map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind}}
	for k, v := range fields {
		u.Object[k] = v
	}
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}

func configMap(ns, name string, data map[string]string) *unstructured.Unstructured {
	d := map[string]any{}
	for k, v := range data {
		d[k] = v
	}
	return object("v1", "ConfigMap", ns, name, map[string]any{"data": d})
}

func deployment(ns, name string, spec map[string]any) *unstructured.Unstructured {
	labels := map[string]any{"app": name}
	s := map[string]any{
		"replicas": int64(1),
		"selector": map[string]any{"matchLabels": labels},
		"template": map[string]any{
			"metadata": map[string]any{"labels": labels},
			"spec": map[string]any{"containers": []any{
				map[string]any{"name": "app", "image": "registry.example/app:1"},
			}},
		},
	}
	for k, v := range spec {
		s[k] = v
	}
	return object("apps/v1", "Deployment", ns, name, map[string]any{"spec": s})
}

func service(ns, name string, spec map[string]any) *unstructured.Unstructured {
	s := map[string]any{"ports": []any{map[string]any{"port": int64(80)}}, "selector": map[string]any{"app": name}}
	for k, v := range spec {
		s[k] = v
	}
	return object("v1", "Service", ns, name, map[string]any{"spec": s})
}

func data(u *unstructured.Unstructured) map[string]string {
	d, _, _ := unstructured.NestedStringMap(u.Object, "data")
	return d
}

func randomSuffix(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// crd returns a namespaced CustomResourceDefinition of a kind Widget in a group unique to the test, whose spec
// takes any fields.
func crd(t *testing.T) (*unstructured.Unstructured, schema.GroupVersionKind) {
	t.Helper()
	group := "t" + randomSuffix(t) + ".moor.test"
	u := object("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "widgets."+group, map[string]any{
		"spec": map[string]any{
			"group": group,
			"scope": "Namespaced",
			"names": map[string]any{"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
			"versions": []any{map[string]any{
				"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{
					"type": "object",
					"properties": map[string]any{"spec": map[string]any{
						"type": "object", "x-kubernetes-preserve-unknown-fields": true,
					}},
				}},
			}},
		},
	})
	return u, schema.GroupVersionKind{Group: group, Version: "v1", Kind: "Widget"}
}

// installCRD applies a CRD with kube (it is cluster-scoped: the namespace the manifest carries is dropped),
// waits until it is established and deletes it when the test ends.
func (e *env) installCRD(t *testing.T, u *unstructured.Unstructured) {
	t.Helper()
	u = u.DeepCopy()
	u.SetNamespace(e.ns)
	e.apply(t, u, moorsync.ApplyOptions{Validate: true})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.c.Dynamic.Resource(crdGVR).Delete(ctx, u.GetName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete CRD %s: %v", u.GetName(), err)
		}
	})
	err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		got, err := e.c.Dynamic.Resource(crdGVR).Get(ctx, u.GetName(), metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
		for _, c := range conds {
			if m, _ := c.(map[string]any); m["type"] == "Established" && m["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("wait for CRD %s to be established: %v", u.GetName(), err)
	}
}

// waitKnown waits until the kind is served: discovery can lag a moment behind the Established condition.
func (e *env) waitKnown(t *testing.T, gvk schema.GroupVersionKind) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return e.kube.Known(gvk), nil
	})
	if err != nil {
		t.Fatalf("%s is not served: %v", gvk, err)
	}
}

func TestKubeServerSideApply(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	t.Run("create then update", func(t *testing.T) {
		t.Parallel()
		created := e.apply(t, configMap(e.ns, "ssa", map[string]string{"a": "1"}), moorsync.ApplyOptions{Validate: true})
		// A desired object read back from somewhere may carry server metadata; it must not make the apply a
		// stale optimistic-concurrency check.
		desired := configMap(e.ns, "ssa", map[string]string{"a": "2", "b": "3"})
		desired.SetResourceVersion("1")
		desired.SetUID("00000000-0000-0000-0000-000000000000")
		updated := e.apply(t, desired, moorsync.ApplyOptions{Validate: true})
		if got := data(updated); got["a"] != "2" || got["b"] != "3" {
			t.Errorf("data = %v, want a=2 b=3", got)
		}
		if updated.GetUID() != created.GetUID() {
			t.Errorf("uid changed from %s to %s: the update recreated the object", created.GetUID(), updated.GetUID())
		}
		var managed bool
		for _, f := range e.get(t, configMapGVK, "ssa").GetManagedFields() {
			if f.Manager == moorsync.FieldManager && f.Operation == metav1.ManagedFieldsOperationApply {
				managed = true
			}
		}
		if !managed {
			t.Errorf("no managedFields entry of %s with operation Apply", moorsync.FieldManager)
		}
	})

	t.Run("dry run persists nothing", func(t *testing.T) {
		t.Parallel()
		out, err := e.kube.Apply(t.Context(), configMap(e.ns, "dry", map[string]string{"a": "1"}), moorsync.ApplyOptions{DryRun: true, Validate: true})
		if err != nil {
			t.Fatal(err)
		}
		if data(out)["a"] != "1" {
			t.Errorf("dry run returned data %v, want the object that would be stored", data(out))
		}
		if got, err := e.kube.Get(t.Context(), configMapGVK, e.ns, "dry"); err != nil || got != nil {
			t.Fatalf("after a dry-run create: Get = %v, %v; want nil, nil", got, err)
		}
		e.apply(t, configMap(e.ns, "dry", map[string]string{"a": "1"}), moorsync.ApplyOptions{Validate: true})
		if _, err := e.kube.Apply(t.Context(), configMap(e.ns, "dry", map[string]string{"a": "2"}), moorsync.ApplyOptions{DryRun: true, Validate: true}); err != nil {
			t.Fatal(err)
		}
		if got := data(e.get(t, configMapGVK, "dry")); got["a"] != "1" {
			t.Errorf("after a dry-run update: data = %v, want a=1", got)
		}
	})
}

func TestKubeFieldValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name     string
		opts     moorsync.ApplyOptions
		wantErrs []string
	}{
		{name: "server-side strict rejects an unknown field", opts: moorsync.ApplyOptions{Validate: true}, wantErrs: []string{"bogus"}},
		// The API server types applied objects: Ignore cannot help, so the error says what does.
		{name: "server-side rejects it even with Validate=false", wantErrs: []string{"bogus", "ServerSideApply=false"}},
		{name: "client-side strict rejects an unknown field", opts: moorsync.ApplyOptions{ClientSide: true, Validate: true}, wantErrs: []string{"bogus"}},
		{name: "client-side Validate=false accepts it", opts: moorsync.ApplyOptions{ClientSide: true}},
		{name: "replace strict rejects an unknown field", opts: moorsync.ApplyOptions{Replace: true, Validate: true}, wantErrs: []string{"bogus"}},
		{name: "replace Validate=false accepts it", opts: moorsync.ApplyOptions{Replace: true}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := deployment(e.ns, fmt.Sprintf("validate-%d", i), map[string]any{"bogus": "x"})
			out, err := e.kube.Apply(t.Context(), d, tt.opts)
			if len(tt.wantErrs) == 0 {
				if err != nil {
					t.Fatalf("Apply: %v", err)
				}
				if _, found, _ := unstructured.NestedFieldNoCopy(out.Object, "spec", "bogus"); found {
					t.Error("the unknown field was stored")
				}
				return
			}
			if err == nil {
				t.Fatal("Apply succeeded, want an error")
			}
			for _, want := range append(tt.wantErrs, "apps/Deployment "+e.ns+"/"+d.GetName()) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			if got, _ := e.kube.Get(t.Context(), d.GroupVersionKind(), e.ns, d.GetName()); got != nil {
				t.Error("the rejected object was created")
			}
		})
	}
}

func TestKubeClientSideApply(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	def, widget := crd(t)
	e.installCRD(t, def)
	e.waitKnown(t, widget)

	// Each kind keeps its payload in a different place; the three-way semantics are the same.
	tests := []struct {
		name string
		gvk  schema.GroupVersionKind
		make func(name string, kv map[string]string) *unstructured.Unstructured
		read func(u *unstructured.Unstructured) map[string]string
		// other is a merge patch another writer makes, adding the key x.
		other string
	}{
		{
			name:  "built-in kind with a strategic merge patch",
			gvk:   configMapGVK,
			make:  func(name string, kv map[string]string) *unstructured.Unstructured { return configMap(e.ns, name, kv) },
			read:  data,
			other: `{"data":{"x":"theirs"}}`,
		},
		{
			name: "custom resource with a JSON merge patch",
			gvk:  widget,
			make: func(name string, kv map[string]string) *unstructured.Unstructured {
				spec := map[string]any{}
				for k, v := range kv {
					spec[k] = v
				}
				return object(widget.GroupVersion().String(), "Widget", e.ns, name, map[string]any{"spec": spec})
			},
			read: func(u *unstructured.Unstructured) map[string]string {
				m, _, _ := unstructured.NestedStringMap(u.Object, "spec")
				return m
			},
			other: `{"spec":{"x":"theirs"}}`,
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			name := fmt.Sprintf("csa-%d", i)
			o := moorsync.ApplyOptions{ClientSide: true, Validate: true}

			if _, err := e.kube.Apply(t.Context(), tt.make(name, map[string]string{"a": "1"}), moorsync.ApplyOptions{ClientSide: true, DryRun: true}); err != nil {
				t.Fatal(err)
			}
			if got, err := e.kube.Get(t.Context(), tt.gvk, e.ns, name); err != nil || got != nil {
				t.Fatalf("after a dry-run create: Get = %v, %v; want nil, nil", got, err)
			}

			v1 := tt.make(name, map[string]string{"a": "1", "b": "2"})
			created := e.apply(t, v1, o)
			var recorded map[string]any
			if err := json.Unmarshal([]byte(created.GetAnnotations()[lastApplied]), &recorded); err != nil {
				t.Fatalf("last-applied annotation: %v", err)
			}
			if want := v1.UnstructuredContent(); !equalJSON(t, recorded, want) {
				t.Errorf("last-applied = %v, want the applied object %v", recorded, want)
			}

			e.patch(t, tt.gvk, name, tt.other)
			// b leaves Git: it was applied last, so it goes; x was never applied, so it stays.
			updated := e.apply(t, tt.make(name, map[string]string{"a": "changed"}), o)
			if got, want := tt.read(updated), map[string]string{"a": "changed", "x": "theirs"}; !equalJSON(t, got, want) {
				t.Errorf("after the three-way apply = %v, want %v", got, want)
			}
			if updated.GetUID() != created.GetUID() {
				t.Error("the update recreated the object")
			}

			if _, err := e.kube.Apply(t.Context(), tt.make(name, map[string]string{"a": "dry"}), moorsync.ApplyOptions{ClientSide: true, DryRun: true}); err != nil {
				t.Fatal(err)
			}
			if got := tt.read(e.get(t, tt.gvk, name)); got["a"] != "changed" {
				t.Errorf("after a dry-run update: a = %q, want changed", got["a"])
			}
		})
	}
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(ja) == string(jb)
}

func TestKubeReplace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := moorsync.ApplyOptions{Replace: true, Validate: true}

	created := e.apply(t, configMap(e.ns, "replaced", map[string]string{"a": "1"}), o)
	e.patch(t, configMapGVK, "replaced", `{"metadata":{"labels":{"theirs":"yes"}},"data":{"x":"theirs"}}`)

	updated := e.apply(t, configMap(e.ns, "replaced", map[string]string{"a": "2"}), o)
	if updated.GetUID() != created.GetUID() {
		t.Error("Replace without Force recreated the object")
	}
	// A PUT writes the whole object: what another writer added is gone.
	if got := data(updated); len(got) != 1 || got["a"] != "2" {
		t.Errorf("data = %v, want only a=2", got)
	}
	if l := updated.GetLabels(); len(l) != 0 {
		t.Errorf("labels = %v, want none", l)
	}
}

func TestKubeForce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	immutableCM := func(name, v string) *unstructured.Unstructured {
		u := configMap(e.ns, name, map[string]string{"a": v})
		u.Object["immutable"] = true
		return u
	}
	tests := []struct {
		name     string
		first    func(name string) *unstructured.Unstructured
		second   func(name string) *unstructured.Unstructured
		opts     moorsync.ApplyOptions
		recreate bool // a new UID is expected, else the immutable-field error
	}{
		{
			name:  "Service clusterIP change is recreated",
			first: func(n string) *unstructured.Unstructured { return service(e.ns, n, nil) },
			second: func(n string) *unstructured.Unstructured {
				return service(e.ns, n, map[string]any{"clusterIP": "None"})
			},
			opts:     moorsync.ApplyOptions{Force: true, Validate: true},
			recreate: true,
		},
		{
			name:     "immutable ConfigMap change is recreated with client-side apply",
			first:    func(n string) *unstructured.Unstructured { return immutableCM(n, "1") },
			second:   func(n string) *unstructured.Unstructured { return immutableCM(n, "2") },
			opts:     moorsync.ApplyOptions{Force: true, ClientSide: true, Validate: true},
			recreate: true,
		},
		{
			name:     "Replace with Force always recreates",
			first:    func(n string) *unstructured.Unstructured { return configMap(e.ns, n, map[string]string{"a": "1"}) },
			second:   func(n string) *unstructured.Unstructured { return configMap(e.ns, n, map[string]string{"a": "1"}) },
			opts:     moorsync.ApplyOptions{Force: true, Replace: true, Validate: true},
			recreate: true,
		},
		{
			name:  "without Force the immutable-field error is returned",
			first: func(n string) *unstructured.Unstructured { return service(e.ns, n, nil) },
			second: func(n string) *unstructured.Unstructured {
				return service(e.ns, n, map[string]any{"clusterIP": "None"})
			},
			opts: moorsync.ApplyOptions{Validate: true},
		},
		{
			name:  "a dry run with Force deletes nothing",
			first: func(n string) *unstructured.Unstructured { return service(e.ns, n, nil) },
			second: func(n string) *unstructured.Unstructured {
				return service(e.ns, n, map[string]any{"clusterIP": "None"})
			},
			opts: moorsync.ApplyOptions{Force: true, DryRun: true, Validate: true},
		},
		{
			name:   "a dry run with Replace and Force deletes nothing",
			first:  func(n string) *unstructured.Unstructured { return configMap(e.ns, n, map[string]string{"a": "1"}) },
			second: func(n string) *unstructured.Unstructured { return configMap(e.ns, n, map[string]string{"a": "2"}) },
			opts:   moorsync.ApplyOptions{Force: true, Replace: true, DryRun: true, Validate: true},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			name := fmt.Sprintf("force-%d", i)
			first := tt.first(name)
			before := e.apply(t, first, moorsync.ApplyOptions{ClientSide: tt.opts.ClientSide, Validate: true})
			out, err := e.kube.Apply(t.Context(), tt.second(name), tt.opts)
			after := e.get(t, first.GroupVersionKind(), name)
			switch {
			case tt.recreate:
				if err != nil {
					t.Fatalf("Apply: %v", err)
				}
				if after.GetUID() == before.GetUID() || out.GetUID() != after.GetUID() {
					t.Errorf("uid before %s, returned %s, live %s: want a new object", before.GetUID(), out.GetUID(), after.GetUID())
				}
			case tt.opts.DryRun && tt.opts.Replace:
				if err != nil {
					t.Fatalf("Apply: %v", err)
				}
				if after.GetUID() != before.GetUID() || data(after)["a"] != "1" {
					t.Errorf("the dry run changed the object: uid %s -> %s, data %v", before.GetUID(), after.GetUID(), data(after))
				}
			default:
				if !apierrors.IsInvalid(err) {
					t.Fatalf("Apply = %v, want an Invalid error", err)
				}
				if !strings.Contains(err.Error(), "apply Service "+e.ns+"/"+name+": ") {
					t.Errorf("error %q does not name the object", err)
				}
				if after.GetUID() != before.GetUID() {
					t.Error("the object was recreated")
				}
			}
		})
	}
}

func TestKubeForceInvalidNewObject(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Nothing stands in the way of an object that is itself invalid: Force returns the error as is.
	_, err := e.kube.Apply(t.Context(), service(e.ns, "bad", map[string]any{"clusterIP": "not-an-ip"}), moorsync.ApplyOptions{Force: true, Validate: true})
	if !apierrors.IsInvalid(err) || !strings.HasPrefix(err.Error(), "apply Service "+e.ns+"/bad: ") {
		t.Errorf("Apply = %v, want the Invalid error of the object", err)
	}
}

func TestKubeDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	live := e.apply(t, configMap(e.ns, "doomed", nil), moorsync.ApplyOptions{Validate: true})

	err := e.kube.Delete(ctx, configMapGVK, e.ns, "doomed", "00000000-0000-0000-0000-000000000000", metav1.DeletePropagationForeground)
	if !apierrors.IsConflict(err) {
		t.Errorf("Delete with another UID = %v, want a Conflict", err)
	}
	e.get(t, configMapGVK, "doomed")

	if err := e.kube.Delete(ctx, configMapGVK, e.ns, "doomed", live.GetUID(), metav1.DeletePropagationForeground); err != nil {
		t.Fatalf("Delete with its UID: %v", err)
	}
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 5*time.Second, true, func(ctx context.Context) (bool, error) {
		u, err := e.kube.Get(ctx, configMapGVK, e.ns, "doomed")
		return u == nil, err
	})
	if err != nil {
		t.Fatalf("wait for deletion: %v", err)
	}

	if err := e.kube.Delete(ctx, configMapGVK, e.ns, "doomed", "", metav1.DeletePropagationBackground); err != nil {
		t.Errorf("Delete of a missing object = %v, want nil", err)
	}
	if u, err := e.kube.Get(ctx, configMapGVK, e.ns, "missing"); u != nil || err != nil {
		t.Errorf("Get of a missing object = %v, %v; want nil, nil", u, err)
	}
}

func TestKubeUnknownKind(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	def, widget := crd(t)
	w := object(widget.GroupVersion().String(), "Widget", e.ns, "w", map[string]any{"spec": map[string]any{"size": "s"}})

	if e.kube.Known(widget) {
		t.Fatal("Known before the CRD exists")
	}
	if _, ok := e.kube.Namespaced(widget); ok {
		t.Error("Namespaced ok before the CRD exists")
	}
	_, err := e.kube.Apply(ctx, w, moorsync.ApplyOptions{Validate: true})
	if !moorsync.IsUnknownKind(err) {
		t.Errorf("Apply = %v, want an unknown-kind error", err)
	}
	if _, err := e.kube.Get(ctx, widget, e.ns, "w"); !moorsync.IsUnknownKind(err) {
		t.Errorf("Get = %v, want an unknown-kind error", err)
	}
	if moorsync.IsUnknownKind(errors.New("other")) || moorsync.IsUnknownKind(nil) {
		t.Error("IsUnknownKind of an unrelated error")
	}

	e.installCRD(t, def)
	e.kube.ResetMapper()
	e.waitKnown(t, widget)
	if namespaced, ok := e.kube.Namespaced(widget); !namespaced || !ok {
		t.Errorf("Namespaced = %v, %v; want true, true", namespaced, ok)
	}
	if namespaced, ok := e.kube.Namespaced(schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}); namespaced || !ok {
		t.Errorf("Namespaced(Namespace) = %v, %v; want false, true", namespaced, ok)
	}
	e.apply(t, w, moorsync.ApplyOptions{Validate: true})
}

func TestKubeLargeObject(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	big := strings.Repeat("x", 300*1024) // under the 1 MiB object limit, over the 256 KiB annotation limit

	e.apply(t, configMap(e.ns, "big", map[string]string{"blob": big}), moorsync.ApplyOptions{Validate: true})

	for _, name := range []string{"big", "big-new"} {
		_, err := e.kube.Apply(t.Context(), configMap(e.ns, name, map[string]string{"blob": big}), moorsync.ApplyOptions{ClientSide: true, Force: true, Validate: true})
		if !errors.Is(err, moorsync.ErrLastAppliedTooLarge) {
			t.Fatalf("client-side apply of %s = %v, want ErrLastAppliedTooLarge", name, err)
		}
		if msg := err.Error(); !strings.Contains(msg, "262144") || !strings.Contains(msg, "last-applied-configuration") || !strings.Contains(msg, "ConfigMap "+e.ns+"/"+name) {
			t.Errorf("error %q should name the object, the annotation and its limit", msg)
		}
	}
	if _, ok := e.get(t, configMapGVK, "big").GetAnnotations()[lastApplied]; ok {
		t.Error("the refused client-side apply wrote the annotation")
	}
	if u, err := e.kube.Get(t.Context(), configMapGVK, e.ns, "big-new"); u != nil || err != nil {
		t.Errorf("Get big-new = %v, %v; want nil, nil", u, err)
	}
}

func TestKubeConcurrentApply(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	errs := make(chan error, 20)
	for i := range cap(errs) {
		go func() {
			_, err := e.kube.Apply(t.Context(), configMap(e.ns, fmt.Sprintf("cm-%d", i), map[string]string{"i": fmt.Sprint(i)}),
				moorsync.ApplyOptions{ClientSide: i%2 == 0, Validate: true})
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
