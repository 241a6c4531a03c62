package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

// BenchmarkListApplications measures GET /api/v1/applications (the full list, as admin) over 1,000 apps.
func BenchmarkListApplications(b *testing.B) {
	const n = 1000
	f := start(b, defaultSettings(), false)
	apps := make(chan *v1alpha1.Application)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for a := range apps {
				if _, err := f.client.ArgoprojV1alpha1().Applications(f.ns).Create(b.Context(), a, metav1.CreateOptions{}); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for i := range n {
		apps <- newApp(fmt.Sprintf("app-%04d", i))
	}
	close(apps)
	wg.Wait()
	token := f.login(b, "admin", f.adminPassword(b))
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body, _ := f.do(b, http.MethodGet, "/api/v1/applications", token, nil)
		if code == http.StatusOK && countItems(body) == n {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("the server did not list %d apps within 30s", n)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var lat []time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		if code, _, _ := f.do(b, http.MethodGet, "/api/v1/applications", token, nil); code != http.StatusOK {
			b.Fatalf("list: %d", code)
		}
		lat = append(lat, time.Since(start))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
}

func countItems(body []byte) int {
	var list struct{ Items []json.RawMessage }
	if json.Unmarshal(body, &list) != nil {
		return -1
	}
	return len(list.Items)
}
