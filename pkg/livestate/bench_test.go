package livestate

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/moorcd/moor/test/kubetest"
)

// BenchmarkByApp looks up one app of ten resources in caches of growing size: the cost must stay flat.
func BenchmarkByApp(b *testing.B) {
	for _, objects := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("objects=%d", objects), func(b *testing.B) {
			c := offlineCluster(Options{})
			apps := fillCluster(c, objects)
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				if got := c.ByApp(apps[i%len(apps)]); len(got) != 10 {
					b.Fatalf("ByApp returned %d resources", len(got))
				}
				i++
			}
		})
	}
}

// BenchmarkTree builds the tree of one app (a Deployment with a ReplicaSet and two Pods, and nine other
// resources) in caches of growing size.
func BenchmarkTree(b *testing.B) {
	for _, objects := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("objects=%d", objects), func(b *testing.B) {
			c := offlineCluster(Options{})
			apps := fillCluster(c, objects)
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				if got := c.Tree(apps[i%len(apps)]); len(got) != 13 {
					b.Fatalf("Tree returned %d nodes", len(got))
				}
				i++
			}
		})
	}
}

// fillCluster caches objects resources: 1,000 apps of ten (a Deployment with its ReplicaSet and two Pods,
// and nine ConfigMaps) when there is room, the rest untracked ConfigMaps.
func fillCluster(c *Cluster, objects int) []string {
	nApps := min(1000, objects/13)
	apps := make([]string, nApps)
	n := 0
	for a := range nApps {
		app := fmt.Sprintf("app-%04d", a)
		apps[a] = app
		ns := "ns-" + app
		dep := obj(gvkDeployment, ns, "web", trackedBy(app))
		rs := obj(gvkReplicaSet, ns, "web-1", ownedBy(dep))
		c.feed(dep)
		c.feed(rs)
		c.feed(obj(gvkPod, ns, "web-1-a", ownedBy(rs)))
		c.feed(obj(gvkPod, ns, "web-1-b", ownedBy(rs)))
		for i := range 9 {
			c.feed(obj(gvkConfigMap, ns, fmt.Sprintf("cm-%d", i), trackedBy(app)))
		}
		n += 13
	}
	for ; n < objects; n++ {
		c.feed(obj(gvkConfigMap, fmt.Sprintf("other-%d", n%100), fmt.Sprintf("cm-%d", n)))
	}
	return apps
}

// TestMemoryPerObject states what the cache costs per object: it creates ConfigMaps shaped like an app's
// (labels, a few annotations, 1 KiB of data, as written by server-side apply so they carry managedFields),
// then measures the heap held by a cache watching only ConfigMaps, once with every ConfigMap tracked (whole
// bodies kept) and once with none tracked (identity only).
func TestMemoryPerObject(t *testing.T) {
	kc := kubetest.Start(t)
	ns := kc.Namespace(t)
	const count = 5000
	start := time.Now()
	var (
		next   atomic.Int64
		wg     sync.WaitGroup
		errMu  sync.Mutex
		errOne error
	)
	for range 16 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= count {
					return
				}
				name := fmt.Sprintf("cm-%05d", i)
				u := configMap(ns, name, trackedBy("memapp"),
					withLabel("app.kubernetes.io/name", "memapp"), withLabel("app.kubernetes.io/part-of", "bench"),
					withAnnotation("moor.dev/owner", "team-a"),
					withField(map[string]any{
						"config.yaml": strings.Repeat("k: value\n", 100),
						"mode":        "production",
						"replicas":    "3",
					}, "data"))
				u.SetAPIVersion("v1")
				u.SetKind("ConfigMap")
				_, err := kc.Dynamic.Resource(gvrConfigMap).Namespace(ns).Apply(context.Background(), name, u,
					metav1.ApplyOptions{FieldManager: "livestate-test", Force: true})
				if err != nil {
					errMu.Lock()
					errOne = err
					errMu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if errOne != nil {
		t.Fatal(errOne)
	}
	t.Logf("created %d ConfigMaps in %s", count, time.Since(start).Round(time.Millisecond))

	for _, tc := range []struct {
		name     string
		tracking TrackingMethod
	}{
		{"tracked (whole object kept)", TrackingAnnotation},
		{"untracked (identity only)", TrackingLabel}, // the label is absent, so nothing is tracked
	} {
		before := heapInUse()
		c := startCache(t, kc, Options{Tracking: tc.tracking, Inclusions: []FilteredResource{{APIGroups: []string{""}, Kinds: []string{"ConfigMap"}}}})
		c.mu.Lock()
		cached := len(c.watches[gvkConfigMap.GroupKind()].informer.GetStore().ListKeys())
		c.mu.Unlock()
		if cached < count {
			t.Fatalf("cached %d ConfigMaps, want at least %d", cached, count)
		}
		after := heapInUse()
		perObject := float64(after-before) / float64(cached)
		t.Logf("%s: %d ConfigMaps cached, %.0f bytes per object", tc.name, cached, perObject)
		if tc.tracking == TrackingAnnotation {
			r := c.ByApp("memapp")
			if len(r) != count || r[0].Object.GetManagedFields() != nil {
				t.Errorf("ByApp(memapp) = %d resources (managedFields kept: %v)", len(r), len(r) > 0 && r[0].Object.GetManagedFields() != nil)
			}
		}
		runtime.KeepAlive(c)
	}
	// A sample of what a raw object weighs, for scale.
	raw, err := kc.Dynamic.Resource(gvrConfigMap).Namespace(ns).Get(t.Context(), "cm-00000", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	js, _ := raw.MarshalJSON()
	t.Logf("one ConfigMap as JSON from the API server: %d bytes", len(js))
}

func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
