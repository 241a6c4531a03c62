package app_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/client/clientset/versioned"
	"github.com/moorcd/moor/pkg/refresh"
	"github.com/moorcd/moor/test/gittest"
	"github.com/moorcd/moor/test/kubetest"
)

// BenchmarkSync1000Apps creates N Applications (MOOR_BENCH_SYNC_APPS, default 1,000) of 10 resources each,
// all automated with prune, self-heal and CreateNamespace, at once from one Git repository, and reports:
// the floor (a plain client server-side-applying the same objects with 8 workers, in the same run), the
// seconds until every app is Synced and Healthy and the curve, peak RSS and CPU seconds of moor-controller
// and moor-repo-server, and the p50 from a commit to one app's ConfigMap to the live ConfigMap changed.
func BenchmarkSync1000Apps(b *testing.B) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("MOOR_BENCH_SYNC_APPS")); err == nil && v > 0 {
		n = v
	}
	kc := kubetest.Start(b)
	kc.InstallCRDs(b)
	for b.Loop() {
		bin := buildBinaries(b)
		ns := kc.Namespace(b)
		prefix := ns[len(ns)-5:] // app names are cluster-wide in tracking ids

		// The floor: the same objects applied by a plain client, 8 workers, into their own namespace.
		floorNS := kc.Namespace(b)
		var objs []*unstructured.Unstructured
		for i := range n {
			for _, m := range appManifests(fmt.Sprintf("f%s%04d", prefix, i)) {
				u := &unstructured.Unstructured{}
				if err := yaml.Unmarshal([]byte(m), &u.Object); err != nil {
					b.Fatal(err)
				}
				u.SetNamespace(floorNS)
				objs = append(objs, u)
			}
		}
		start := time.Now()
		parallel(b, len(objs), 8, func(i int) error {
			u := objs[i]
			data, _ := u.MarshalJSON()
			force := true
			_, err := kc.Dynamic.Resource(resourceOf[u.GetKind()]).Namespace(floorNS).Patch(context.Background(), u.GetName(),
				types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: "bench-floor", Force: &force})
			return err
		})
		floor := time.Since(start)
		b.ReportMetric(floor.Seconds(), "floor-s")
		b.Logf("floor: %d objects server-side-applied by 8 workers in %v", len(objs), floor.Round(time.Millisecond))
		_ = kc.Kube.CoreV1().Namespaces().Delete(context.Background(), floorNS, metav1.DeleteOptions{})
		waitNamespaceGone(b, kc, floorNS)

		repo := gittest.NewRepo(b)
		files := map[string]string{}
		names := make([]string, n)
		for i := range n {
			names[i] = fmt.Sprintf("s%s%04d", prefix, i)
			for f, m := range appManifests(names[i]) {
				files["apps/"+names[i]+"/"+f] = m
			}
		}
		repo.WriteFiles(files)
		repo.Commit(fmt.Sprintf("%d apps", n))
		gs := gittest.NewHTTPServer(b, gittest.HTTPOptions{})
		url := gs.Add(b, "apps.git", repo)
		dest := ns + "-apps"
		b.Cleanup(func() { _ = kc.Kube.CoreV1().Namespaces().Delete(context.Background(), dest, metav1.DeleteOptions{}) })

		rsAddr, metricsAddr := freeAddr(b), freeAddr(b)
		rs := run(b, bin, "moor-repo-server", "--listen", rsAddr, "--metrics-listen", "", "--data-dir", b.TempDir(), "--log-level", "error")
		args := []string{"--kubeconfig", kc.Kubeconfig, "--namespace", ns, "--repo-server", rsAddr, "--metrics-listen", metricsAddr,
			"--log-level", "error", "--leader-election-id", "bench"}
		if l := os.Getenv("MOOR_BENCH_MEMORY_LIMIT"); l != "" {
			args = append(args, "--memory-limit", l)
		}
		if q := os.Getenv("MOOR_BENCH_KUBE_QPS"); q != "" {
			qps, _ := strconv.Atoi(q)
			args = append(args, "--kube-api-qps", q, "--kube-api-burst", strconv.Itoa(2*qps))
		}
		args = append(args, strings.Fields(os.Getenv("MOOR_BENCH_CONTROLLER_ARGS"))...)
		ctrl := run(b, bin, "moor-controller", args...)
		client, err := versioned.NewForConfig(kc.Config)
		if err != nil {
			b.Fatal(err)
		}
		time.Sleep(2 * time.Second) // the controller's informers
		ctrlCPU0, rsCPU0 := cpuSeconds(b, ctrl.Process.Pid), cpuSeconds(b, rs.Process.Pid)

		// No ingress controller runs: play one, giving each Ingress an address so it can become Healthy.
		ictx, stopIngress := context.WithCancel(context.Background())
		defer stopIngress()
		go fakeIngressController(ictx, kc, dest)

		yes := true
		start = time.Now()
		parallel(b, n, 16, func(i int) error {
			_, err := client.ArgoprojV1alpha1().Applications(ns).Create(context.Background(), &v1alpha1.Application{
				ObjectMeta: metav1.ObjectMeta{Name: names[i], Namespace: ns},
				Spec: v1alpha1.ApplicationSpec{
					Source:      &v1alpha1.ApplicationSource{RepoURL: url, Path: "apps/" + names[i], TargetRevision: "HEAD"},
					Destination: v1alpha1.ApplicationDestination{Server: "https://kubernetes.default.svc", Namespace: dest},
					SyncPolicy: &v1alpha1.SyncPolicy{
						Automated:   &v1alpha1.SyncPolicyAutomated{Prune: &yes, SelfHeal: &yes},
						SyncOptions: v1alpha1.SyncOptions{"CreateNamespace=true"},
					},
				},
			}, metav1.CreateOptions{})
			return err
		})
		var curve []string
		lastMark := -1
		deadline := time.Now().Add(30 * time.Minute)
		for {
			list, err := client.ArgoprojV1alpha1().Applications(ns).List(context.Background(), metav1.ListOptions{})
			if err != nil {
				b.Fatal(err)
			}
			done := 0
			for _, a := range list.Items {
				if a.Status.Sync.Status == v1alpha1.SyncStatusCodeSynced && a.Status.Health.Status == v1alpha1.HealthStatusHealthy {
					done++
				}
			}
			if mark := done * 10 / n; mark > lastMark {
				lastMark = mark
				curve = append(curve, fmt.Sprintf("%d%%@%.0fs", done*100/n, time.Since(start).Seconds()))
			}
			if done == n {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("only %d of %d apps Synced and Healthy after 30 minutes", done, n)
			}
			time.Sleep(time.Second)
		}
		converge := time.Since(start)
		b.ReportMetric(converge.Seconds(), "converge-s")
		b.ReportMetric(converge.Seconds()/floor.Seconds(), "x-floor")
		b.ReportMetric(peakRSS(b, ctrl.Process.Pid), "controller-peak-RSS-MiB")
		b.ReportMetric(cpuSeconds(b, ctrl.Process.Pid)-ctrlCPU0, "controller-cpu-s")
		b.ReportMetric(peakRSS(b, rs.Process.Pid), "reposerver-peak-RSS-MiB")
		b.ReportMetric(cpuSeconds(b, rs.Process.Pid)-rsCPU0, "reposerver-cpu-s")
		b.Logf("%d apps Synced and Healthy in %v (floor %v); curve: %s", n, converge.Round(time.Second), floor.Round(time.Second), strings.Join(curve, " "))

		// A commit to one app's ConfigMap, then the refresh request a webhook writes: time until the live
		// ConfigMap changes.
		var lat []time.Duration
		app := names[0]
		for i := range 10 {
			val := fmt.Sprintf("v%d", i)
			repo.Write("apps/"+app+"/cm2.yaml", fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s-env}\ndata: {LOG_LEVEL: %s}\n", app, val))
			repo.Commit("log level " + val)
			t0 := time.Now()
			if _, err := kc.Kube.CoreV1().ConfigMaps(ns).Create(context.Background(), refresh.Requests(ns, []string{app}, refresh.Normal, "bench")[0], metav1.CreateOptions{}); err != nil {
				b.Fatal(err)
			}
			for {
				cm, err := kc.Kube.CoreV1().ConfigMaps(dest).Get(context.Background(), app+"-env", metav1.GetOptions{})
				if err == nil && cm.Data["LOG_LEVEL"] == val {
					break
				}
				if time.Since(t0) > time.Minute {
					b.Fatalf("commit %d not live after a minute", i)
				}
				time.Sleep(20 * time.Millisecond)
			}
			lat = append(lat, time.Since(t0))
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		b.ReportMetric(lat[len(lat)/2].Seconds(), "commit-to-live-p50-s")
		b.Logf("commit to live ConfigMap: p50 %v, max %v", lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))

		// Self-heal: a kubectl edit of a tracked field of 10 apps, one after the other: time until reverted.
		var heal []time.Duration
		for i := range min(10, n-1) {
			cm := names[i+1] + "-config"
			t0 := time.Now()
			if _, err := kc.Kube.CoreV1().ConfigMaps(dest).Patch(context.Background(), cm, types.MergePatchType,
				[]byte(`{"data":{"mode":"edited"}}`), metav1.PatchOptions{FieldManager: "kubectl-edit"}); err != nil {
				b.Fatal(err)
			}
			for {
				live, err := kc.Kube.CoreV1().ConfigMaps(dest).Get(context.Background(), cm, metav1.GetOptions{})
				if err == nil && live.Data["mode"] == "production" {
					break
				}
				if time.Since(t0) > time.Minute {
					b.Fatalf("edit of %s not reverted after a minute", cm)
				}
				time.Sleep(20 * time.Millisecond)
			}
			heal = append(heal, time.Since(t0))
		}
		sort.Slice(heal, func(i, j int) bool { return heal[i] < heal[j] })
		b.ReportMetric(heal[len(heal)/2].Seconds(), "self-heal-p50-s")
		b.Logf("self-heal of a live edit: p50 %v, max %v", heal[len(heal)/2].Round(time.Millisecond), heal[len(heal)-1].Round(time.Millisecond))
	}
}

func waitNamespaceGone(b *testing.B, kc *kubetest.Cluster, ns string) {
	b.Helper()
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		if _, err := kc.Kube.CoreV1().Namespaces().Get(context.Background(), ns, metav1.GetOptions{}); err != nil {
			return
		}
		time.Sleep(time.Second)
	}
}

// fakeIngressController sets a load-balancer address on every Ingress of ns that has none.
func fakeIngressController(ctx context.Context, kc *kubetest.Cluster, ns string) {
	for ctx.Err() == nil {
		list, err := kc.Kube.NetworkingV1().Ingresses(ns).List(ctx, metav1.ListOptions{})
		if err == nil {
			for _, ing := range list.Items {
				if len(ing.Status.LoadBalancer.Ingress) == 0 {
					_, _ = kc.Kube.NetworkingV1().Ingresses(ns).Patch(ctx, ing.Name, types.MergePatchType,
						[]byte(`{"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.1"}]}}}`), metav1.PatchOptions{}, "status")
				}
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}
