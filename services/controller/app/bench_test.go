package app_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/client/clientset/versioned"
	"github.com/moorcd/moor/test/gittest"
	"github.com/moorcd/moor/test/kubetest"
)

// benchApps is the workload of the issue: 1,000 apps of 10 resources each, already deployed.
const benchApps = 1000

// appManifests returns one app's ten resources.
func appManifests(app string) map[string]string {
	labels := "app: " + app
	return map[string]string{
		"deploy.yaml": fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s}
spec:
  replicas: 1
  selector: {matchLabels: {%[2]s}}
  template:
    metadata: {labels: {%[2]s}}
    spec:
      serviceAccountName: %[1]s
      containers: [{name: web, image: "nginx:1.27", resources: {requests: {cpu: 100m, memory: 64Mi}}}]
`, app, labels),
		"svc.yaml":    fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata: {name: %s}\nspec:\n  selector: {%s}\n  ports: [{port: 80, targetPort: 8080}]\n", app, labels),
		"cm1.yaml":    fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s-config}\ndata: {mode: production, replicas: \"1\"}\n", app),
		"cm2.yaml":    fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s-env}\ndata: {LOG_LEVEL: info}\n", app),
		"secret.yaml": fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: %s-secret}\nstringData: {password: s3cret}\n", app),
		"sa.yaml":     fmt.Sprintf("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: %s}\n", app),
		"role.yaml":   fmt.Sprintf("apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: %s}\nrules: [{apiGroups: [\"\"], resources: [configmaps], verbs: [get, list]}]\n", app),
		"rb.yaml": fmt.Sprintf("apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: %[1]s}\n"+
			"roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: %[1]s}\nsubjects: [{kind: ServiceAccount, name: %[1]s}]\n", app),
		"pdb.yaml": fmt.Sprintf("apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: %s}\nspec:\n  maxUnavailable: 1\n  selector: {matchLabels: {%s}}\n", app, labels),
		"ing.yaml": fmt.Sprintf("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: %[1]s}\nspec:\n  rules:\n  - host: %[1]s.example.com\n"+
			"    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: %[1]s, port: {number: 80}}}}]}\n", app),
	}
}

var resourceOf = map[string]schema.GroupVersionResource{
	"Deployment": {Group: "apps", Version: "v1", Resource: "deployments"}, "Service": {Version: "v1", Resource: "services"},
	"ConfigMap": {Version: "v1", Resource: "configmaps"}, "Secret": {Version: "v1", Resource: "secrets"},
	"ServiceAccount":      {Version: "v1", Resource: "serviceaccounts"},
	"Role":                {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"},
	"RoleBinding":         {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"},
	"PodDisruptionBudget": {Group: "policy", Version: "v1", Resource: "poddisruptionbudgets"},
	"Ingress":             {Group: "networking.k8s.io", Version: "v1", Resource: "ingresses"},
}

// BenchmarkController1000Apps runs moor-controller and moor-repo-server as processes against 1,000
// deployed apps and reports: the first compare pass after start, a full refresh pass, the controller's
// peak RSS and its CPU seconds per idle minute (periodic refresh on, nothing changing).
func BenchmarkController1000Apps(b *testing.B) {
	kc := kubetest.Start(b)
	kc.InstallCRDs(b)
	for b.Loop() {
		ns := kc.Namespace(b)
		bin := buildBinaries(b)

		// The apps in Git, and their resources already in the cluster, applied as sync would.
		repo := gittest.NewRepo(b)
		files := map[string]string{}
		var objs []*unstructured.Unstructured
		for i := range benchApps {
			app := fmt.Sprintf("a%04d", i)
			for f, m := range appManifests(app) {
				files["apps/"+app+"/"+f] = m
				u := &unstructured.Unstructured{}
				if err := yaml.Unmarshal([]byte(m), &u.Object); err != nil {
					b.Fatal(err)
				}
				u.SetNamespace(ns)
				gvk := u.GroupVersionKind()
				u.SetAnnotations(map[string]string{"argocd.argoproj.io/tracking-id": fmt.Sprintf("%s:%s/%s:%s/%s", app, gvk.Group, gvk.Kind, ns, u.GetName())})
				objs = append(objs, u)
			}
		}
		repo.WriteFiles(files)
		repo.Commit("1000 apps")
		gs := gittest.NewHTTPServer(b, gittest.HTTPOptions{})
		url := gs.Add(b, "apps.git", repo)
		start := time.Now()
		parallel(b, len(objs), 16, func(i int) error {
			u := objs[i]
			data, _ := u.MarshalJSON()
			force := true
			_, err := kc.Dynamic.Resource(resourceOf[u.GetKind()]).Namespace(ns).Patch(context.Background(), u.GetName(),
				types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: "moor-controller", Force: &force})
			return err
		})
		b.Logf("deployed %d resources in %v", len(objs), time.Since(start))

		client, err := versioned.NewForConfig(kc.Config)
		if err != nil {
			b.Fatal(err)
		}
		parallel(b, benchApps, 16, func(i int) error {
			app := fmt.Sprintf("a%04d", i)
			_, err := client.ArgoprojV1alpha1().Applications(ns).Create(context.Background(), &v1alpha1.Application{
				ObjectMeta: metav1.ObjectMeta{Name: app, Namespace: ns},
				Spec: v1alpha1.ApplicationSpec{
					Source:      &v1alpha1.ApplicationSource{RepoURL: url, Path: "apps/" + app, TargetRevision: "HEAD"},
					Destination: v1alpha1.ApplicationDestination{Server: "https://kubernetes.default.svc", Namespace: ns},
				},
			}, metav1.CreateOptions{})
			return err
		})

		rsAddr, metricsAddr := freeAddr(b), freeAddr(b)
		run(b, bin, "moor-repo-server", "--listen", rsAddr, "--metrics-listen", "", "--data-dir", b.TempDir(), "--log-level", "error")
		start = time.Now()
		args := []string{"--kubeconfig", kc.Kubeconfig, "--namespace", ns, "--repo-server", rsAddr, "--metrics-listen", metricsAddr, "--log-level", "error"}
		if l := os.Getenv("MOOR_BENCH_MEMORY_LIMIT"); l != "" {
			args = append(args, "--memory-limit", l)
		}
		ctrl := run(b, bin, "moor-controller", args...)
		waitReconciles(b, metricsAddr, benchApps)
		b.ReportMetric(time.Since(start).Seconds(), "first-pass-s")

		// A full refresh of every app: the refresh annotation, as `moor app get --refresh` writes it.
		before := reconciles(b, metricsAddr)
		start = time.Now()
		parallel(b, benchApps, 16, func(i int) error {
			_, err := client.ArgoprojV1alpha1().Applications(ns).Patch(context.Background(), fmt.Sprintf("a%04d", i), types.MergePatchType,
				[]byte(`{"metadata":{"annotations":{"argocd.argoproj.io/refresh":"normal"}}}`), metav1.PatchOptions{})
			return err
		})
		waitReconciles(b, metricsAddr, before+benchApps)
		b.ReportMetric(time.Since(start).Seconds(), "refresh-pass-s")

		// Idle means the cluster has settled: every Deployment available, then a quiet moment.
		waitDeploymentsAvailable(b, kc, ns, benchApps)
		time.Sleep(10 * time.Second)
		cpu0 := cpuSeconds(b, ctrl.Process.Pid)
		if out := os.Getenv("MOOR_BENCH_CPUPROFILE"); out != "" {
			saveProfile(b, "http://"+metricsAddr+"/debug/pprof/profile?seconds=50", out)
			time.Sleep(10 * time.Second)
		} else {
			time.Sleep(time.Minute)
		}
		b.ReportMetric(cpuSeconds(b, ctrl.Process.Pid)-cpu0, "idle-cpu-s/min")
		b.ReportMetric(peakRSS(b, ctrl.Process.Pid), "controller-peak-RSS-MiB")
		if out := os.Getenv("MOOR_BENCH_HEAPPROFILE"); out != "" {
			saveProfile(b, "http://"+metricsAddr+"/debug/pprof/heap", out)
		}
	}
}

func waitDeploymentsAvailable(b *testing.B, kc *kubetest.Cluster, ns string, want int) {
	b.Helper()
	deadline := time.Now().Add(10 * time.Minute)
	for {
		list, err := kc.Kube.AppsV1().Deployments(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			b.Fatal(err)
		}
		ready := 0
		for _, d := range list.Items {
			if d.Status.AvailableReplicas == 1 && d.Status.ObservedGeneration == d.Generation {
				ready++
			}
		}
		if ready >= want {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d deployments available", ready, want)
		}
		time.Sleep(2 * time.Second)
	}
}

// saveProfile fetches a pprof profile of the controller (for MOOR_BENCH_CPUPROFILE).
func saveProfile(b *testing.B, url, out string) {
	resp, err := http.Get(url)
	if err != nil {
		b.Logf("profile: %v", err)
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(out)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	_, _ = io.Copy(f, resp.Body)
}

func buildBinaries(b testing.TB) string {
	b.Helper()
	root, err := kubetest.RepoRoot()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	for name, pkg := range map[string]string{"moor-controller": "./services/controller", "moor-repo-server": "./services/reposerver"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("build %s: %v\n%s", name, err, out)
		}
	}
	return dir
}

func run(b testing.TB, dir, name string, args ...string) *exec.Cmd {
	b.Helper()
	cmd := exec.Command(filepath.Join(dir, name), args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

func parallel(b *testing.B, n, workers int, fn func(int) error) {
	b.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

func freeAddr(b testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// reconciles reads the controller's reconcile count from its metrics.
func reconciles(b *testing.B, addr string) int {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	n := 0
	s := bufio.NewScanner(resp.Body)
	for s.Scan() {
		line := s.Text()
		if strings.HasPrefix(line, "moor_controller_reconcile_duration_seconds_count") {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			n += int(v)
		}
	}
	return n
}

func waitReconciles(b *testing.B, addr string, want int) {
	b.Helper()
	deadline := time.Now().Add(10 * time.Minute)
	for reconciles(b, addr) < want {
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d reconciles after 10 minutes", reconciles(b, addr), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func procStatus(b *testing.B, pid int, field string) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(rest)
		}
	}
	return ""
}

func peakRSS(b *testing.B, pid int) float64 {
	kb, _ := strconv.ParseFloat(strings.TrimSuffix(procStatus(b, pid, "VmHWM"), " kB"), 64)
	return kb / 1024
}

// cpuSeconds is user+system CPU time of a process (clock ticks of 1/100 s on Linux).
func cpuSeconds(b *testing.B, pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(data)[strings.LastIndex(string(data), ")")+2:])
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100
}
