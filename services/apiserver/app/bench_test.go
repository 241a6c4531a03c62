package app_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The api-server benchmarks of the issue. Each starts a server over its own namespace, which is deleted
// when the benchmark ends. Run them with
//
//	go test -run '^$' -bench . -benchtime=1x ./services/apiserver/app/
//
// MOOR_BENCH_APPS sets the number of apps BenchmarkListApplications lists (default 10,000; creating them
// takes a while on 2 cores).

// benchWriters is the number of parallel writers that create the benchmark apps.
const benchWriters = 32

// BenchmarkListApplications measures GET /api/v1/applications as admin: the full list, and pages of 100
// walked with limit and continue. It reports the p50 of each.
func BenchmarkListApplications(b *testing.B) {
	n := 10000
	if v := os.Getenv("MOOR_BENCH_APPS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("MOOR_BENCH_APPS=%q: want a positive number", v)
		}
	}
	const pageSize = 100
	const fullRounds = 5
	f := start(b, defaultSettings(), false)
	createMany(b, f, n)
	token := f.login(b, "admin", f.adminPassword(b))
	hc := benchClient()
	f.waitForList(b, hc, token, n)

	var full, page []time.Duration
	for b.Loop() {
		for range fullRounds {
			t0 := time.Now()
			code, body := f.get(b, hc, "/api/v1/applications", token)
			full = append(full, time.Since(t0))
			if code != http.StatusOK || countItems(body) != n {
				b.Fatalf("full list: %d, %d items", code, countItems(body))
			}
		}
		seen, cont := 0, ""
		for {
			path := "/api/v1/applications?limit=" + strconv.Itoa(pageSize)
			if cont != "" {
				path += "&continue=" + url.QueryEscape(cont)
			}
			t0 := time.Now()
			code, body := f.get(b, hc, path, token)
			page = append(page, time.Since(t0))
			if code != http.StatusOK {
				b.Fatalf("page: %d %s", code, body)
			}
			var l listBody
			if err := json.Unmarshal(body, &l); err != nil {
				b.Fatal(err)
			}
			seen += len(l.Items)
			if cont = l.Metadata.Continue; cont == "" {
				break
			}
		}
		if seen != n {
			b.Fatalf("the pages held %d apps, want %d", seen, n)
		}
	}
	b.ReportMetric(float64(n), "apps")
	b.ReportMetric(ms(percentile(full, 50)), "full-p50-ms")
	b.ReportMetric(ms(percentile(page, 50)), "page100-p50-ms")
	b.ReportMetric(ms(percentile(page, 99)), "page100-p99-ms")
}

// BenchmarkGetConcurrent measures GET /api/v1/applications/{name} from 200 concurrent clients over 1,000
// apps and reports requests per second and the p99 latency.
func BenchmarkGetConcurrent(b *testing.B) {
	const apps, clients, perClient = 1000, 200, 50
	f := start(b, defaultSettings(), false)
	createMany(b, f, apps)
	token := f.login(b, "admin", f.adminPassword(b))
	hc := benchClient()
	f.waitForList(b, hc, token, apps)

	var lat []time.Duration
	var total time.Duration
	for b.Loop() {
		var mu sync.Mutex
		var wg sync.WaitGroup
		t0 := time.Now()
		for c := range clients {
			wg.Go(func() {
				rnd := rand.New(rand.NewPCG(uint64(c), 1))
				mine := make([]time.Duration, 0, perClient)
				for range perClient {
					name := benchAppName(rnd.IntN(apps))
					s := time.Now()
					code, body := f.get(b, hc, "/api/v1/applications/"+name, token)
					mine = append(mine, time.Since(s))
					if code != http.StatusOK {
						b.Errorf("get %s: %d %s", name, code, body)
						return
					}
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
		}
		wg.Wait()
		total += time.Since(t0)
	}
	b.ReportMetric(float64(len(lat))/total.Seconds(), "req/s")
	b.ReportMetric(ms(percentile(lat, 50)), "p50-ms")
	b.ReportMetric(ms(percentile(lat, 99)), "p99-ms")
}

// BenchmarkWebhook1000Apps posts one signed GitHub push for a repository that 1,000 apps use and measures
// the time until a refresh is requested for every one of them (the request the controller picks up).
func BenchmarkWebhook1000Apps(b *testing.B) {
	const apps = 1000
	f := start(b, defaultSettings(), false)
	createMany(b, f, apps)
	token := f.login(b, "admin", f.adminPassword(b))
	hc := benchClient()
	f.waitForList(b, hc, token, apps)
	payload, err := os.ReadFile("../../../pkg/webhook/testdata/github-push.json")
	if err != nil {
		b.Fatal(err)
	}
	mac := hmac.New(sha256.New, []byte(webhookSecret))
	mac.Write(payload)
	signature := "sha256=" + hex.EncodeToString(mac.Sum(nil))

	var took []time.Duration
	for b.Loop() {
		clearRefreshRequests(b, f.ns)
		t0 := time.Now()
		req, _ := http.NewRequestWithContext(b.Context(), http.MethodPost, f.base+"/api/webhook", strings.NewReader(string(payload)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-Hub-Signature-256", signature)
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("webhook: %d %s", resp.StatusCode, body)
		}
		took = append(took, time.Since(t0)) // the request is written before the webhook answers
		if n := len(refreshRequested(b, f.ns)); n != apps || !strings.Contains(string(body), fmt.Sprintf(`"refreshed":%d`, apps)) {
			b.Fatalf("a refresh was requested for %d of %d apps: %s", n, apps, body)
		}
	}
	b.ReportMetric(percentile(took, 50).Seconds(), "s-until-all-refreshed")
}

func benchAppName(i int) string { return fmt.Sprintf("app-%05d", i) }

// createMany creates n apps named app-00000... on repoURL with benchWriters parallel writers.
func createMany(b *testing.B, f *fixture, n int) {
	b.Helper()
	t0 := time.Now()
	names := make(chan string)
	var wg sync.WaitGroup
	for range benchWriters {
		wg.Go(func() {
			for name := range names {
				if _, err := f.client.ArgoprojV1alpha1().Applications(f.ns).Create(b.Context(), newApp(name), metav1.CreateOptions{}); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for i := range n {
		names <- benchAppName(i)
	}
	close(names)
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	b.Logf("created %d apps in %v", n, time.Since(t0).Round(time.Millisecond))
}

// benchClient keeps enough idle connections for 200 concurrent clients.
func benchClient() *http.Client {
	return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512}}
}

// get sends an authenticated GET with hc and returns the status and body.
func (f *fixture) get(b *testing.B, hc *http.Client, path, token string) (int, []byte) {
	req, err := http.NewRequestWithContext(b.Context(), http.MethodGet, f.base+path, nil)
	if err != nil {
		b.Error(err)
		return 0, nil
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		b.Error(err)
		return 0, nil
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Error(err)
	}
	return resp.StatusCode, body
}

// waitForList waits until the server's cache lists n apps (the first full list also warms the server).
func (f *fixture) waitForList(b *testing.B, hc *http.Client, token string, n int) {
	b.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, body := f.get(b, hc, "/api/v1/applications", token)
		if code == http.StatusOK && countItems(body) == n {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("the server did not list %d apps within 60s", n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

type listBody struct {
	Items    []json.RawMessage
	Metadata struct {
		Continue           string `json:"continue"`
		RemainingItemCount *int64 `json:"remainingItemCount"`
	}
}

func countItems(body []byte) int {
	var list struct{ Items []json.RawMessage }
	if json.Unmarshal(body, &list) != nil {
		return -1
	}
	return len(list.Items)
}

func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
