package e2e_test

import (
	"context"
	"flag"
	"fmt"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/kubeproto"
	"github.com/moorcd/moor/test/stack"
)

// pushes is how many pushes the push-to-live figures are taken over.
const pushes = 20

// BenchmarkPushToLive measures, over 20 pushes, the time from `git push` returning to the live ConfigMap
// holding the pushed value, with one automated app: the Git server's webhook, moor-server, the controller's
// refresh, the repo-server's fetch and render, and the apply.
func BenchmarkPushToLive(b *testing.B) {
	e := newEnv(b)
	name := e.appName("latency")
	e.createApp(b, e.manifest(b, "guestbook.yaml", name, e.repo(b, "latency")))
	e.waitApp(b, name, "Synced and Healthy", waitSynced, syncedHealthy)
	wt := e.clone(b, "latency")
	for b.Loop() {
		lat, pushTime := pushToLive(b, e, wt, name, "guestbook/configmap.yaml", "guestbook-ui-config", func(v string) string {
			return fmt.Sprintf(guestbookCM, v)
		})
		p50, p95 := percentile(lat, 50), percentile(lat, 95)
		b.ReportMetric(p50.Seconds(), "push-to-live-p50-s")
		b.ReportMetric(p95.Seconds(), "push-to-live-p95-s")
		b.Logf("push to live over %d pushes: p50 %v, p95 %v, max %v (git push itself: p50 %v)", len(lat),
			p50.Round(time.Millisecond), p95.Round(time.Millisecond), slices.Max(lat).Round(time.Millisecond),
			percentile(pushTime, 50).Round(time.Millisecond))
	}
}

// pushToLive pushes 20 commits, each changing the value GREETING of ConfigMap cm (written by file, a
// function of the value), and returns the latency of each from `git push` returning to the live ConfigMap
// changed (seen through a watch), and the duration of each git push.
func pushToLive(b testing.TB, e *env, wt *stack.Worktree, ns, file, cm string, content func(string) string) (lat, pushTime []time.Duration) {
	b.Helper()
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	w, err := e.st.Kube.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", cm).String()})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	type seen struct {
		value string
		at    time.Time
	}
	values := make(chan seen, 64)
	go func() {
		defer close(values)
		for ev := range w.ResultChan() {
			if c, ok := ev.Object.(*corev1.ConfigMap); ok && ev.Type != watch.Deleted {
				select {
				case values <- seen{c.Data["GREETING"], time.Now()}:
				case <-ctx.Done(): // pushToLive returned: nobody reads any more
					return
				}
			}
		}
	}()
	run := strconv.FormatInt(time.Now().UnixNano()%1e6, 36)
	for i := range pushes {
		want := fmt.Sprintf("push %s-%d", run, i)
		if err := wt.WriteFile(file, content(want)); err != nil {
			b.Fatal(err)
		}
		if _, err := wt.Commit(ctx, want); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := wt.Push(ctx); err != nil {
			b.Fatal(err)
		}
		pushed := time.Now()
		pushTime = append(pushTime, pushed.Sub(start))
		timeout := time.After(time.Minute)
	wait:
		for {
			select {
			case s, ok := <-values:
				if !ok {
					b.Fatalf("push %d: the watch of ConfigMap %s/%s ended", i, ns, cm)
				}
				if s.value == want {
					lat = append(lat, max(0, s.at.Sub(pushed)))
					break wait
				}
			case <-timeout:
				b.Fatalf("push %d (%q) not live after a minute; git server %+v", i, want, e.git.Stats())
			}
		}
	}
	return lat, pushTime
}

// percentile returns the p-th percentile (nearest rank) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// systemApp returns one app's ten resources.
func systemApp(app string) map[string]string {
	sel := "app.kubernetes.io/name: " + app
	return map[string]string{
		"deployment.yaml": fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s}
spec:
  replicas: 1
  selector: {matchLabels: {%[2]s}}
  template:
    metadata: {labels: {%[2]s}}
    spec:
      serviceAccountName: %[1]s
      containers:
        - name: app
          image: docker.io/library/nginx:1.27-alpine
          envFrom: [{configMapRef: {name: %[1]s-env}}]
          resources: {requests: {cpu: 10m, memory: 16Mi}}
`, app, sel),
		"service.yaml":        fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata: {name: %s}\nspec:\n  selector: {%s}\n  ports: [{port: 80, targetPort: 80}]\n", app, sel),
		"config.yaml":         fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s-config}\ndata: {mode: production, workers: \"4\"}\n", app),
		"env.yaml":            fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s-env}\ndata: {GREETING: hello}\n", app),
		"secret.yaml":         fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: %s-token}\nstringData: {token: not-a-real-token}\n", app),
		"serviceaccount.yaml": fmt.Sprintf("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: %s}\n", app),
		"role.yaml": fmt.Sprintf("apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: %s}\n"+
			"rules: [{apiGroups: [\"\"], resources: [configmaps], verbs: [get, watch]}]\n", app),
		"rolebinding.yaml": fmt.Sprintf("apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: %[1]s}\n"+
			"roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: %[1]s}\nsubjects: [{kind: ServiceAccount, name: %[1]s}]\n", app),
		"pdb.yaml": fmt.Sprintf("apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: %s}\nspec:\n  maxUnavailable: 1\n  selector: {matchLabels: {%s}}\n", app, sel),
		"networkpolicy.yaml": fmt.Sprintf("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: %s}\nspec:\n"+
			"  podSelector: {matchLabels: {%s}}\n  policyTypes: [Ingress]\n  ingress: [{ports: [{port: 80}]}]\n", app, sel),
	}
}

// started is about when the test binary started; with -test.timeout it gives the deadline.
var started = time.Now()

// testDeadline is when the test binary's -timeout panics (far away without one).
func testDeadline() time.Time {
	if f := flag.Lookup("test.timeout"); f != nil {
		if d, err := time.ParseDuration(f.Value.String()); err == nil && d > 0 {
			return started.Add(d)
		}
	}
	return started.Add(24 * time.Hour)
}

// envInt reads a positive integer from the environment.
func envInt(key string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(key)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkSystem runs the whole system on N Applications (MOOR_BENCH_APPS, default 1,000) of 10 resources
// each, from one Git repository, all automated with prune and self-heal, created at once through the REST
// API, and prints one table: the time until all are Synced and Healthy with the curve, peak RSS and CPU
// seconds of each service, their idle CPU over a window (MOOR_BENCH_IDLE, default 5m), and push-to-live
// latency with the N apps present. Apps carry argocd.argoproj.io/manifest-generate-paths: "." as
// monorepo users set it, so a push refreshes the app whose folder it touched.
func BenchmarkSystem(b *testing.B) {
	n := envInt("MOOR_BENCH_APPS", 1000)
	idle := 5 * time.Minute
	if v, err := time.ParseDuration(os.Getenv("MOOR_BENCH_IDLE")); err == nil {
		idle = v
	}
	e := newEnv(b)
	suffix := e.st.Namespace[len(e.st.Namespace)-6:] // app names are cluster-wide in tracking ids
	dest := e.st.Namespace + "-apps"
	b.Cleanup(func() {
		_ = e.st.Kube.CoreV1().Namespaces().Delete(context.Background(), dest, metav1.DeleteOptions{})
	})
	names := make([]string, n)
	files := fstest.MapFS{}
	for i := range n {
		names[i] = fmt.Sprintf("sys-%s-%04d", suffix, i)
		for f, m := range systemApp(names[i]) {
			files["apps/"+names[i]+"/"+f] = &fstest.MapFile{Data: []byte(m), Mode: 0o644}
		}
	}
	repoURL, err := e.git.CreateRepo(b.Context(), "system", files)
	if err != nil {
		b.Fatal(err)
	}
	services := []string{stack.RepoServer, stack.Controller, stack.Server}
	usage := func() map[string]stack.Usage {
		out := map[string]stack.Usage{}
		for _, s := range services {
			u, err := e.st.Usage(s)
			if err != nil {
				b.Fatal(err)
			}
			out[s] = u
		}
		return out
	}

	for b.Loop() {
		// Progress comes from moor-server's watch stream (gRPC), as a UI would follow it.
		healthy := watchHealthy(b, e)
		before := usage()
		start := time.Now()
		parallel(b, n, 16, func(i int) error {
			app := map[string]any{
				"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
				"metadata": map[string]any{"name": names[i], "annotations": map[string]string{"argocd.argoproj.io/manifest-generate-paths": "."}},
				"spec": map[string]any{
					"project":     "default",
					"source":      map[string]any{"repoURL": repoURL, "path": "apps/" + names[i], "targetRevision": "HEAD"},
					"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": dest},
					"syncPolicy": map[string]any{
						"automated":   map[string]any{"prune": true, "selfHeal": true},
						"syncOptions": []string{"CreateNamespace=true"},
					},
				},
			}
			return e.admin.Do(b.Context(), http.MethodPost, "/api/v1/applications", app, nil)
		})
		created := time.Since(start)

		marks := []int{10, 30, 50, 70, 90, 100}
		reached := map[int]time.Duration{}
		deadline := time.Now().Add(30 * time.Minute)
		for len(reached) < len(marks) {
			done := healthy.count()
			for _, m := range marks {
				if _, ok := reached[m]; !ok && done*100 >= m*n {
					reached[m] = time.Since(start)
				}
			}
			if time.Now().After(deadline) {
				b.Fatalf("only %d of %d apps Synced and Healthy after 30 minutes (watch: %v)", done, n, healthy.err())
			}
			if len(reached) < len(marks) {
				time.Sleep(250 * time.Millisecond)
			}
		}
		converge := reached[100]
		atConverge := usage()

		// Push to live with the N apps present: app 0's ConfigMap.
		wt := e.clone(b, "system")
		app0 := names[0]
		lat, _ := pushToLive(b, e, wt, dest, "apps/"+app0+"/env.yaml", app0+"-env", func(v string) string {
			return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s-env}\ndata: {GREETING: %q}\n", app0, v)
		})

		// Idle: nothing changes; the periodic refresh (120 s + jitter) runs. The window shrinks to fit the
		// test binary's -timeout (go test's default is 10 minutes), keeping a minute for the cleanup.
		time.Sleep(10 * time.Second)
		window, note := idle, ""
		if left := time.Until(testDeadline()) - time.Minute; left < window {
			window, note = max(left, 10*time.Second).Truncate(time.Second), fmt.Sprintf(" (shortened from %v to fit -timeout)", idle)
		}
		idle0 := usage()
		time.Sleep(window)
		end := usage()
		if err := e.st.Alive(); err != nil {
			b.Fatal(err)
		}

		var t strings.Builder
		fmt.Fprintf(&t, "Moor, whole system: %d Applications x 10 resources from one Git repository, all automated (created through REST in %v)\n",
			n, created.Round(time.Second))
		curve := make([]string, 0, len(marks))
		for _, m := range marks {
			curve = append(curve, fmt.Sprintf("%d%% %.0fs", m, reached[m].Seconds()))
		}
		fmt.Fprintf(&t, "  all Synced and Healthy in %.0f s; curve: %s\n", converge.Seconds(), strings.Join(curve, ", "))
		fmt.Fprintf(&t, "  push to live with %d apps, %d pushes: p50 %v, p95 %v\n", n, len(lat),
			percentile(lat, 50).Round(time.Millisecond), percentile(lat, 95).Round(time.Millisecond))
		fmt.Fprintf(&t, "  %-16s %14s %18s %22s\n", "service", "peak RSS MiB", "CPU-s to converge", fmt.Sprintf("idle CPU-s/min (%v)", window))
		perMin := window.Minutes()
		var totalConverge, totalIdle float64
		for _, s := range services {
			conv := atConverge[s].CPUSeconds - before[s].CPUSeconds
			idleCPU := (end[s].CPUSeconds - idle0[s].CPUSeconds) / perMin
			totalConverge += conv
			totalIdle += idleCPU
			fmt.Fprintf(&t, "  %-16s %14.0f %18.1f %22.3f\n", "moor-"+s, end[s].PeakRSSMiB, conv, idleCPU)
			b.ReportMetric(end[s].PeakRSSMiB, s+"-peak-RSS-MiB")
			b.ReportMetric(conv, s+"-converge-cpu-s")
			b.ReportMetric(idleCPU, s+"-idle-cpu-s/min")
		}
		fmt.Fprintf(&t, "  %-16s %14s %18.1f %22.3f\n", "total", "", totalConverge, totalIdle)
		if note != "" {
			fmt.Fprintf(&t, "  idle window %v%s\n", window, note)
		}
		b.Log(strings.TrimRight(t.String(), "\n"))
		b.ReportMetric(converge.Seconds(), "converge-s")
		b.ReportMetric(percentile(lat, 50).Seconds(), "push-to-live-p50-s")
		b.ReportMetric(percentile(lat, 95).Seconds(), "push-to-live-p95-s")
	}
}

// healthySet follows which Applications are Synced and Healthy through moor-server's Watch stream.
type healthySet struct {
	mu   sync.Mutex
	ok   map[string]bool
	last error
}

func (h *healthySet) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, ok := range h.ok {
		if ok {
			n++
		}
	}
	return n
}

func (h *healthySet) err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last
}

// watchHealthy watches every Application over gRPC (ApplicationService.Watch) until the benchmark ends,
// reconnecting when the stream breaks.
func watchHealthy(b testing.TB, e *env) *healthySet {
	b.Helper()
	conn, err := grpc.NewClient(e.st.ServerAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+e.admin.Token))
	b.Cleanup(func() { cancel(); conn.Close() })
	h := &healthySet{ok: map[string]bool{}}
	go func() {
		client := apiv1.NewApplicationServiceClient(conn)
		for ctx.Err() == nil {
			stream, err := client.Watch(ctx, &apiv1.ApplicationServiceWatchRequest{})
			for err == nil {
				var ev *apiv1.ApplicationServiceWatchResponse
				if ev, err = stream.Recv(); err != nil {
					break
				}
				var a v1alpha1.Application
				if err = kubeproto.FromEnvelope(ev.GetApplication(), &a); err != nil {
					break
				}
				h.mu.Lock()
				h.ok[a.Name] = ev.GetType() != "DELETED" && syncedHealthy(&a)
				h.mu.Unlock()
			}
			h.mu.Lock()
			h.last = err
			h.mu.Unlock()
			time.Sleep(200 * time.Millisecond)
		}
	}()
	return h
}

// parallel runs fn(0..n-1) on workers goroutines and fails on the first error.
func parallel(b testing.TB, n, workers int, fn func(int) error) {
	b.Helper()
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := fn(i); err != nil {
					once.Do(func() { first = fmt.Errorf("item %d: %w", i, err) })
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if first != nil {
		b.Fatal(first)
	}
}
