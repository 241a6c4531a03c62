package render

import (
	"fmt"
	"os"
	"testing"
	"testing/fstest"
	"time"
)

// dir10 is a directory app of ten typical resources, one file each.
func dir10() fstest.MapFS {
	tree := fstest.MapFS{}
	for i := range 10 {
		tree[fmt.Sprintf("app/%02d-deployment.yaml", i)] = &fstest.MapFile{Data: fmt.Appendf(nil, `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-%d
  labels: {app: web-%d, tier: frontend}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web-%d}
  template:
    metadata:
      labels: {app: web-%d}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{containerPort: 8080}]
        resources:
          requests: {cpu: 100m, memory: 128Mi}
          limits: {memory: 256Mi}
        env:
        - {name: MODE, value: production}
`, i, i, i, i)}
	}
	return tree
}

func reportMs(b *testing.B, start time.Time) {
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/op")
}

// BenchmarkRenderDirectory10 is a cold render of a 10-resource directory (goal: under 50 ms).
func BenchmarkRenderDirectory10(b *testing.B) {
	e := New(Options{})
	req := &Request{FS: dir10(), Path: "app"}
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		res, err := e.Render(b.Context(), req)
		if err != nil || len(res.Objects) != 10 {
			b.Fatalf("Render = %v, %v", res, err)
		}
	}
	reportMs(b, start)
}

// BenchmarkRenderKustomizeOverlay is a cold render of an overlay over two bases (goal: under 50 ms).
func BenchmarkRenderKustomizeOverlay(b *testing.B) {
	e := New(Options{})
	req := &Request{FS: os.DirFS("testdata/repo"), Path: "kustomize/overlay"}
	if _, err := e.Render(b.Context(), req); err != nil { // kustomize parses its OpenAPI schema once per process
		b.Fatal(err)
	}
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		res, err := e.Render(b.Context(), req)
		if err != nil || len(res.Objects) != 3 {
			b.Fatalf("Render = %v, %v", res, err)
		}
	}
	reportMs(b, start)
}
