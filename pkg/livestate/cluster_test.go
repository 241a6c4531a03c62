package livestate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensions "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/moorcd/moor/test/kubetest"
)

func TestMain(m *testing.M) { kubetest.Main(m) }

// startCache starts a cache on the local cluster and waits for its first sync.
func startCache(t testing.TB, kc *kubetest.Cluster, opts Options) *Cluster {
	t.Helper()
	c, err := New(kc.Config, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start: %v", err)
		}
	})
	syncCtx, stop := context.WithTimeout(t.Context(), time.Minute)
	defer stop()
	if err := c.WaitForSync(syncCtx); err != nil {
		t.Fatal(err)
	}
	return c
}

// eventually polls cond until it holds or the deadline passes, then fails with what describe says.
func eventually(t testing.TB, timeout time.Duration, cond func() bool, describe func() string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		return cond(), nil
	})
	if err != nil {
		t.Fatalf("after %s: %s", timeout, describe())
	}
}

func create(t testing.TB, kc *kubetest.Cluster, gvr schema.GroupVersionResource, u *unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	got, err := kc.Dynamic.Resource(gvr).Namespace(u.GetNamespace()).Create(t.Context(), u, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create %s %s: %v", u.GetKind(), u.GetName(), err)
	}
	return got
}

var (
	gvrDeployment = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	gvrConfigMap  = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	gvrSecret     = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
)

func deployment(ns, name string, replicas int64, opts ...objOption) *unstructured.Unstructured {
	labels := map[string]any{"app": name}
	base := []objOption{
		withField(replicas, "spec", "replicas"),
		withField(map[string]any{"matchLabels": labels}, "spec", "selector"),
		withField(map[string]any{"labels": labels}, "spec", "template", "metadata"),
		withField([]any{map[string]any{"name": "web", "image": "nginx:1.27"}}, "spec", "template", "spec", "containers"),
	}
	u := obj(gvkDeployment, ns, name, append(base, opts...)...)
	u.SetUID("")
	u.SetResourceVersion("")
	return u
}

func configMap(ns, name string, opts ...objOption) *unstructured.Unstructured {
	u := obj(gvkConfigMap, ns, name, append([]objOption{withField(map[string]any{"key": "value"}, "data")}, opts...)...)
	u.SetUID("")
	u.SetResourceVersion("")
	return u
}

// changeLog records the changes a cache reports.
type changeLog struct {
	mu      sync.Mutex
	changes []Change
}

func (l *changeLog) add(c Change) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.changes = append(l.changes, c)
}

func (l *changeLog) find(match func(Change) bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.ContainsFunc(l.changes, match)
}

func TestClusterTracksAppResources(t *testing.T) {
	t.Parallel()
	kc := kubetest.Start(t)
	ns := kc.Namespace(t)
	c := startCache(t, kc, Options{})
	var log changeLog
	c.OnChange(log.add)

	dep := create(t, kc, gvrDeployment, deployment(ns, "web", 2, trackedBy("myapp")))
	create(t, kc, gvrConfigMap, configMap(ns, "settings", trackedBy("myapp")))
	create(t, kc, gvrConfigMap, configMap(ns, "other"))
	create(t, kc, gvrConfigMap, configMap(ns, "copy", withAnnotation(AnnotationTrackingID, fmt.Sprintf("myapp:/ConfigMap:%s/settings", ns))))

	eventually(t, 30*time.Second, func() bool { return slices.Equal(names(c.ByApp("myapp")), []string{"settings", "web"}) },
		func() string { return fmt.Sprintf("ByApp(myapp) = %v, want [settings web]", names(c.ByApp("myapp"))) })
	for _, r := range c.ByApp("myapp") {
		if r.Partial() {
			t.Errorf("%s/%s: tracked resource cached without its body", r.GVK.Kind, r.Name)
			continue
		}
		if r.Object.GetManagedFields() != nil {
			t.Errorf("%s/%s: managedFields kept", r.GVK.Kind, r.Name)
		}
	}
	// Created after the tracked ones, "other" may reach the cache a moment later.
	eventually(t, 30*time.Second, func() bool { _, ok := c.Get(gvkConfigMap, ns, "other"); return ok },
		func() string { return "Get(other) finds nothing" })
	if other, ok := c.Get(gvkConfigMap, ns, "other"); !ok || !other.Partial() || other.App != "" {
		t.Errorf("Get(other) = %+v, %v; want an untracked, partial resource", other, ok)
	}

	// The controller manager makes a ReplicaSet, the scheduler and kwok run its pods.
	type shape struct{ replicaSets, pods int }
	treeShape := func() (s shape) {
		for _, n := range c.Tree("myapp") {
			switch {
			case n.GVK.Kind == "ReplicaSet" && len(n.ParentRefs) == 1 && n.ParentRefs[0].UID == dep.GetUID():
				s.replicaSets++
			case n.GVK.Kind == "Pod" && len(n.ParentRefs) == 1 && n.ParentRefs[0].Kind == "ReplicaSet":
				s.pods++
			}
		}
		return s
	}
	eventually(t, 60*time.Second, func() bool { return treeShape() == shape{1, 2} },
		func() string { return fmt.Sprintf("tree of myapp: %+v, want 1 ReplicaSet and 2 Pods", treeShape()) })

	// A change to a pod is reported for the app that tracks its Deployment.
	var pod Resource
	for _, n := range c.Tree("myapp") {
		if n.GVK.Kind == "Pod" {
			pod = n.Resource
		}
	}
	patch := []byte(`{"metadata":{"labels":{"touched":"yes"}}}`)
	if _, err := kc.Kube.CoreV1().Pods(ns).Patch(t.Context(), pod.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() bool {
		return log.find(func(ch Change) bool {
			return ch.Type == Updated && ch.Resource.UID == pod.UID && slices.Equal(ch.Apps, []string{"myapp"}) &&
				ch.Resource.Object.GetLabels()["touched"] == "yes" && !ch.StatusOnly()
		})
	}, func() string { return "no change reported for myapp after patching pod " + pod.Name })

	// Deleting the tracked Deployment takes it out of the index.
	if err := kc.Dynamic.Resource(gvrDeployment).Namespace(ns).Delete(t.Context(), "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() bool { return slices.Equal(names(c.ByApp("myapp")), []string{"settings"}) },
		func() string { return fmt.Sprintf("ByApp(myapp) after delete = %v", names(c.ByApp("myapp"))) })
}

func TestClusterPicksUpNewCRDs(t *testing.T) {
	t.Parallel()
	kc := kubetest.Start(t)
	ns := kc.Namespace(t)
	c := startCache(t, kc, Options{RediscoveryInterval: time.Hour}) // only the CRD events can make it notice

	suffix := randomSuffix()
	group := "w" + suffix + ".livestate.moor.dev"
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets." + group},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: group,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget", ListKind: "WidgetList"},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", XPreserveUnknownFields: ptr(true),
				}},
			}},
		},
	}
	crds := apiextensions.NewForConfigOrDie(kc.Config).ApiextensionsV1().CustomResourceDefinitions()
	if _, err := crds.Create(t.Context(), crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = crds.Delete(ctx, crd.Name, metav1.DeleteOptions{})
	})

	gvk := schema.GroupVersionKind{Group: group, Version: "v1", Kind: "Widget"}
	gvr := gvk.GroupVersion().WithResource("widgets")
	widget := obj(gvk, ns, "blue", trackedBy("crapp"), withField("blue", "spec", "color"))
	widget.SetUID("")
	widget.SetResourceVersion("")
	// The API server serves the new type a moment after the CRD is established.
	eventually(t, 30*time.Second, func() bool {
		_, err := kc.Dynamic.Resource(gvr).Namespace(ns).Create(t.Context(), widget, metav1.CreateOptions{})
		return err == nil
	}, func() string { return "the API server never served widgets" })

	start := time.Now()
	eventually(t, 30*time.Second, func() bool { return slices.Equal(names(c.ByApp("crapp")), []string{"blue"}) },
		func() string { return fmt.Sprintf("ByApp(crapp) = %v, want [blue]", names(c.ByApp("crapp"))) })
	t.Logf("custom resource of a new CRD cached %s after it was created", time.Since(start).Round(10*time.Millisecond))

	// Removing the CRD stops the watch and drops its objects.
	if err := crds.Delete(t.Context(), crd.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, func() bool { return !slices.Contains(c.Watched(), gvr) && len(c.ByApp("crapp")) == 0 },
		func() string { return "widgets still watched after their CRD was deleted" })
}

func TestClusterExclusions(t *testing.T) {
	t.Parallel()
	kc := kubetest.Start(t)
	ns := kc.Namespace(t)
	c := startCache(t, kc, Options{Exclusions: []FilteredResource{{APIGroups: []string{""}, Kinds: []string{"ConfigMap"}}}})

	for _, gvr := range c.Watched() {
		if gvr.Resource == "configmaps" || gvr.Resource == "events" {
			t.Errorf("%s is watched", gvr)
		}
	}
	create(t, kc, gvrConfigMap, configMap(ns, "settings", trackedBy("exapp")))
	secret := obj(schema.GroupVersionKind{Version: "v1", Kind: "Secret"}, ns, "creds", trackedBy("exapp"))
	secret.SetUID("")
	secret.SetResourceVersion("")
	create(t, kc, gvrSecret, secret)
	eventually(t, 30*time.Second, func() bool { return len(c.ByApp("exapp")) > 0 },
		func() string { return "the tracked Secret never reached the cache" })
	if got := names(c.ByApp("exapp")); !slices.Equal(got, []string{"creds"}) {
		t.Errorf("ByApp(exapp) = %v, want only the Secret", got)
	}
}

func TestClusterLabelTracking(t *testing.T) {
	t.Parallel()
	kc := kubetest.Start(t)
	ns := kc.Namespace(t)
	c := startCache(t, kc, Options{
		Tracking:   TrackingLabel,
		Inclusions: []FilteredResource{{APIGroups: []string{""}, Kinds: []string{"ConfigMap"}}},
	})
	create(t, kc, gvrConfigMap, configMap(ns, "labelled", withLabel(DefaultInstanceLabelKey, "lblapp")))
	create(t, kc, gvrConfigMap, configMap(ns, "annotated", trackedBy("lblapp")))
	create(t, kc, gvrConfigMap, configMap(ns, "marker"))
	eventually(t, 30*time.Second, func() bool { _, ok := c.Get(gvkConfigMap, ns, "marker"); return ok },
		func() string { return "configmaps never reached the cache" })
	if got := names(c.ByApp("lblapp")); !slices.Equal(got, []string{"labelled"}) {
		t.Errorf("ByApp(lblapp) = %v, want [labelled]", got)
	}
	if got := c.Watched(); len(got) != 1 || got[0] != gvrConfigMap {
		t.Errorf("Watched() = %v, want only configmaps", got)
	}
}

func TestStartTwice(t *testing.T) {
	t.Parallel()
	kc := kubetest.Start(t)
	c := startCache(t, kc, Options{Inclusions: []FilteredResource{{Kinds: []string{"Namespace"}}}})
	if err := c.Start(t.Context()); !errors.Is(err, ErrStarted) {
		t.Errorf("second Start = %v, want ErrStarted", err)
	}
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func ptr[T any](v T) *T { return &v }
