package health_test

import (
	"sync"
	"testing"

	"github.com/moorcd/moor/pkg/health"
)

func BenchmarkAssessDeployment(b *testing.B) {
	a := mustAssessor(b, health.Options{})
	obj := readObjects(b, "testdata/objects/deployment.yaml")[0] // "healthy": the full rollout path
	b.ReportAllocs()
	for b.Loop() {
		if res, err := a.Assess(obj); err != nil || res.Status != health.Healthy {
			b.Fatalf("Assess = %v, %v", res, err)
		}
	}
}

// BenchmarkAssessLua runs Argo CD's documented cert-manager Certificate check (convert the object to Lua, run
// the compiled script in a pooled sandbox).
func BenchmarkAssessLua(b *testing.B) {
	a := mustAssessor(b, health.Options{Lua: configMapLua(b, "testdata/lua/argocd-cm.yaml")})
	obj := readObjects(b, "testdata/objects/generic.yaml")[0] // certificate-ready
	b.ReportAllocs()
	for b.Loop() {
		if res, err := a.Assess(obj); err != nil || res.Status != health.Healthy {
			b.Fatalf("Assess = %v, %v", res, err)
		}
	}
}

func BenchmarkAssessLuaParallel(b *testing.B) {
	a := mustAssessor(b, health.Options{Lua: configMapLua(b, "testdata/lua/argocd-cm.yaml")})
	obj := readObjects(b, "testdata/objects/generic.yaml")[0]
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if res, err := a.Assess(obj); err != nil || res.Status != health.Healthy {
				b.Errorf("Assess = %v, %v", res, err)
				return
			}
		}
	})
}

func BenchmarkAssessGeneric(b *testing.B) {
	a := mustAssessor(b, health.Options{})
	obj := readObjects(b, "testdata/objects/generic.yaml")[0]
	b.ReportAllocs()
	for b.Loop() {
		if res, err := a.Assess(obj); err != nil || res.Status != health.Healthy {
			b.Fatalf("Assess = %v, %v", res, err)
		}
	}
}

// TestLuaConcurrent runs the Lua checks from many goroutines (meaningful under -race): pooled interpreters
// must not share per-run state.
func TestLuaConcurrent(t *testing.T) {
	t.Parallel()
	a := mustAssessor(t, health.Options{Lua: configMapLua(t, "testdata/lua/argocd-cm.yaml")})
	objs := readObjects(t, "testdata/lua/objects.yaml")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				for _, obj := range objs {
					if obj.GetKind() == "Loop" {
						continue
					}
					res, _ := a.Assess(obj)
					if obj.GetKind() == "Globals" && (res == nil || res.Status != health.Healthy) {
						t.Errorf("%s: %+v", obj.GetName(), res)
					}
				}
			}
		})
	}
	wg.Wait()
}
