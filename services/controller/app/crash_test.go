package app_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/client/clientset/versioned"
	"github.com/moorcd/moor/test/gittest"
	"github.com/moorcd/moor/test/kubetest"
)

// TestCrashInTheMiddleOfASync kills moor-controller (SIGKILL) while a sync waits in a wave, starts it again,
// and checks the sync finishes correctly: the PreSync hook is not run a second time, the prune happens, the
// later wave and the PostSync hook run, and the status is consistent.
func TestCrashInTheMiddleOfASync(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries")
	}
	kc := kubetest.Start(t)
	kc.InstallCRDs(t)
	ns := kc.Namespace(t)
	bin := buildBinaries(t)
	name := ns + "-crash"

	repo := gittest.NewRepo(t)
	repo.WriteFiles(map[string]string{
		"crash/pre.yaml": `apiVersion: batch/v1
kind: Job
metadata:
  name: pre
  annotations: {argocd.argoproj.io/hook: PreSync}
spec:
  template:
    spec: {restartPolicy: Never, containers: [{name: migrate, image: busybox}]}
`,
		// A LoadBalancer Service is Progressing until it has an address: the sync waits in wave 0.
		"crash/gate.yaml":  "apiVersion: v1\nkind: Service\nmetadata:\n  name: gate\nspec:\n  type: LoadBalancer\n  ports: [{port: 80}]\n",
		"crash/after.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: after\n  annotations: {argocd.argoproj.io/sync-wave: \"1\"}\n",
		"crash/post.yaml": `apiVersion: batch/v1
kind: Job
metadata:
  name: post
  annotations: {argocd.argoproj.io/hook: PostSync}
spec:
  template:
    spec: {restartPolicy: Never, containers: [{name: notify, image: busybox}]}
`,
	})
	repo.Commit("crash")
	gs := gittest.NewHTTPServer(t, gittest.HTTPOptions{})
	url := gs.Add(t, "apps.git", repo)

	// A resource the app tracks that Git no longer has: the sync must prune it.
	stale := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "stale", Namespace: ns,
		Annotations: map[string]string{"argocd.argoproj.io/tracking-id": fmt.Sprintf("%s:/ConfigMap:%s/stale", name, ns)}}}
	if _, err := kc.Kube.CoreV1().ConfigMaps(ns).Create(t.Context(), stale, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	client, err := versioned.NewForConfig(kc.Config)
	if err != nil {
		t.Fatal(err)
	}
	app := &v1alpha1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1alpha1.ApplicationSpec{
			Source:      &v1alpha1.ApplicationSource{RepoURL: url, Path: "crash", TargetRevision: "HEAD"},
			Destination: v1alpha1.ApplicationDestination{Server: "https://kubernetes.default.svc", Namespace: ns},
		},
		Operation: &v1alpha1.Operation{Sync: &v1alpha1.SyncOperation{Prune: true}, InitiatedBy: &v1alpha1.OperationInitiator{Username: "tester"}},
	}
	if _, err := client.ArgoprojV1alpha1().Applications(ns).Create(t.Context(), app, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	rsAddr := freeAddr(t)
	run(t, bin, "moor-repo-server", "--listen", rsAddr, "--metrics-listen", "", "--data-dir", t.TempDir(), "--log-level", "error")
	ctrlArgs := []string{"--kubeconfig", kc.Kubeconfig, "--namespace", ns, "--repo-server", rsAddr, "--metrics-listen", "",
		"--log-level", "error", "--leader-election-id", "crash-test", "--app-resync", "0"}
	first := run(t, bin, "moor-controller", ctrlArgs...)

	get := func() *v1alpha1.Application {
		a, err := client.ArgoprojV1alpha1().Applications(ns).Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	poll := func(what string, cond func(*v1alpha1.Application) bool) *v1alpha1.Application {
		t.Helper()
		var last *v1alpha1.Application
		if err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 90*time.Second, true, func(context.Context) (bool, error) {
			last = get()
			return cond(last), nil
		}); err != nil {
			t.Fatalf("%s: last operation state %+v", what, last.Status.OperationState)
		}
		return last
	}
	poll("the sync waits in wave 0", func(a *v1alpha1.Application) bool {
		st := a.Status.OperationState
		return st != nil && strings.Contains(st.Message, "waiting for healthy state of Service") && strings.Contains(st.Message, "gate")
	})
	pre, err := kc.Kube.BatchV1().Jobs(ns).Get(t.Context(), "pre", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()

	run(t, bin, "moor-controller", ctrlArgs...)
	// The load balancer gets its address: wave 0 becomes healthy.
	if _, err := kc.Kube.CoreV1().Services(ns).Patch(t.Context(), "gate", types.MergePatchType,
		[]byte(`{"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.10"}]}}}`), metav1.PatchOptions{}, "status"); err != nil {
		t.Fatal(err)
	}
	a := poll("the sync finished after the restart", func(a *v1alpha1.Application) bool {
		return a.Operation == nil && a.Status.OperationState != nil && a.Status.OperationState.FinishedAt != nil
	})
	st := a.Status.OperationState
	if st.Phase != v1alpha1.OperationSucceeded {
		t.Fatalf("operation %s: %s", st.Phase, st.Message)
	}
	pre2, err := kc.Kube.BatchV1().Jobs(ns).Get(t.Context(), "pre", metav1.GetOptions{})
	if err != nil || pre2.UID != pre.UID {
		t.Errorf("the PreSync hook ran again after the restart (uid %s -> %v, %v)", pre.UID, pre2, err)
	}
	if _, err := kc.Kube.CoreV1().ConfigMaps(ns).Get(t.Context(), "after", metav1.GetOptions{}); err != nil {
		t.Errorf("wave 1: %v", err)
	}
	if _, err := kc.Kube.BatchV1().Jobs(ns).Get(t.Context(), "post", metav1.GetOptions{}); err != nil {
		t.Errorf("PostSync hook: %v", err)
	}
	if err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := kc.Kube.CoreV1().ConfigMaps(ns).Get(ctx, "stale", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	}); err != nil {
		t.Error("the prune was lost")
	}
	hooks := 0
	for _, r := range st.SyncResult.Resources {
		if r.HookType != "" {
			hooks++
			if r.HookPhase != v1alpha1.OperationSucceeded {
				t.Errorf("hook %s: %s %s", r.Name, r.HookPhase, r.Message)
			}
		}
	}
	if hooks != 2 || len(a.Status.History) != 1 {
		t.Errorf("hook results %d, history %d", hooks, len(a.Status.History))
	}
}
