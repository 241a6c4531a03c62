package app_test

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/types/known/structpb"

	reposerverv1 "github.com/moorcd/moor/pkg/api/moor/reposerver/v1"
	"github.com/moorcd/moor/test/gittest"
)

// BenchmarkWarmHitGRPC measures a cache hit through gRPC on loopback (goal: p50 under 1 ms).
func BenchmarkWarmHitGRPC(b *testing.B) {
	f := start(b)
	src, _ := structpb.NewStruct(map[string]any{"path": "apps/a"})
	req := &reposerverv1.GenerateManifestsRequest{Repo: f.repoMsg(pass), Source: src, Revision: f.repo.Head(), AppName: "demo"}
	if _, err := f.client.GenerateManifests(b.Context(), req); err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		res, err := f.client.GenerateManifests(b.Context(), req)
		lat = append(lat, time.Since(t0))
		if err != nil || !res.GetCached() {
			b.Fatalf("cached=%v err=%v", res.GetCached(), err)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkMonorepo1000 renders 1,000 app folders of 10 resources at one commit with 64 concurrent clients,
// cold then warm, then commits a change to one folder and asks for all 1,000 again.
func BenchmarkMonorepo1000(b *testing.B) {
	const apps, clients = 1000, 64
	for b.Loop() {
		repo := gittest.NewRepo(b)
		files := map[string]string{}
		for i := range apps {
			for j := range 10 {
				files[fmt.Sprintf("apps/app-%04d/cm-%d.yaml", i, j)] =
					fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-%04d-%d\ndata:\n  key: value-%d\n", i, j, j)
			}
		}
		repo.WriteFiles(files)
		sha := repo.Commit("1000 apps")
		f := startWith(b, repo)

		pass := func(revision string) (time.Duration, int64) {
			var next, failed atomic.Int64
			var wg sync.WaitGroup
			t0 := time.Now()
			for range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := next.Add(1) - 1
						if i >= apps {
							return
						}
						src, _ := structpb.NewStruct(map[string]any{"path": fmt.Sprintf("apps/app-%04d", i)})
						_, err := f.client.GenerateManifests(b.Context(), &reposerverv1.GenerateManifestsRequest{
							Repo: f.repoMsg("s3cret-token"), Source: src, Revision: revision, AppName: fmt.Sprintf("app-%04d", i)})
						if err != nil {
							failed.Add(1)
						}
					}
				}()
			}
			wg.Wait()
			return time.Since(t0), failed.Load()
		}
		cold, fails := pass(sha)
		warm, fails2 := pass(sha)
		if fails+fails2 > 0 {
			b.Fatalf("%d requests failed", fails+fails2)
		}
		before := renders(b, f)
		repo.Write("apps/app-0007/cm-0.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-0007-0\ndata:\n  key: changed\n")
		sha2 := repo.Commit("touch one app")
		changed, fails3 := pass(sha2)
		if fails3 > 0 {
			b.Fatalf("%d requests failed after the commit", fails3)
		}
		b.ReportMetric(apps/cold.Seconds(), "cold-apps/s")
		b.ReportMetric(apps/warm.Seconds(), "warm-apps/s")
		b.ReportMetric(float64(changed.Milliseconds()), "newcommit-ms")
		b.ReportMetric(renders(b, f)-before, "newcommit-renders")
		b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
	}
}

// renders reads the render counter from the server's metrics.
func renders(b testing.TB, f *fixture) float64 {
	mfs, err := f.app.Registry().Gather()
	if err != nil {
		b.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() == "moor_reposerver_render_duration_seconds" {
			for _, m := range mf.GetMetric() {
				n += float64(histCount(m))
			}
		}
	}
	return n
}

func histCount(m *dto.Metric) uint64 { return m.GetHistogram().GetSampleCount() }

// peakRSSMiB is the process's peak resident set (VmHWM), test harness included.
func peakRSSMiB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}
