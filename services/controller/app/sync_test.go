package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/refresh"
	moorsync "github.com/moorcd/moor/pkg/sync"
)

// Application names are unique across the tests: tracking ids name the app, not its namespace, and every
// test controller watches the whole cluster.
func (e *env) appName(suffix string) string { return e.ns + "-" + suffix }

// syncApp creates an app of path (no automated sync unless mutate adds it) with the resources finalizer.
func (e *env) syncApp(t *testing.T, name, path string, mutate func(*v1alpha1.Application)) {
	t.Helper()
	a := &v1alpha1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns},
		Spec: v1alpha1.ApplicationSpec{
			Source:      &v1alpha1.ApplicationSource{RepoURL: e.url, Path: path, TargetRevision: "HEAD"},
			Destination: v1alpha1.ApplicationDestination{Server: "https://kubernetes.default.svc", Namespace: e.ns},
		},
	}
	if mutate != nil {
		mutate(a)
	}
	if _, err := e.client.ArgoprojV1alpha1().Applications(e.ns).Create(t.Context(), a, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// requestSync writes an operation, as the api-server's Sync does.
func (e *env) requestSync(t *testing.T, name string, op *v1alpha1.Operation) {
	t.Helper()
	if op.InitiatedBy == nil {
		op.InitiatedBy = &v1alpha1.OperationInitiator{Username: "tester"}
	}
	body, _ := json.Marshal(map[string]any{"operation": op})
	if _, err := e.client.ArgoprojV1alpha1().Applications(e.ns).Patch(t.Context(), name, types.MergePatchType, body, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

// waitOperation waits until the app's operation has finished and returns the app.
func (e *env) waitOperation(t *testing.T, name string) *v1alpha1.Application {
	t.Helper()
	return e.waitFor(t, name, "operation finished", func(a *v1alpha1.Application) bool {
		st := a.Status.OperationState
		return a.Operation == nil && st != nil && st.FinishedAt != nil
	})
}

func rv(t *testing.T, o metav1.Object) int64 {
	n, err := strconv.ParseInt(o.GetResourceVersion(), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSyncWavesHooksAndPrune(t *testing.T) {
	e := start(t)
	e.repo.WriteFiles(map[string]string{
		"waves/pre.yaml": `apiVersion: batch/v1
kind: Job
metadata:
  generateName: migrate-
  annotations: {argocd.argoproj.io/hook: PreSync, argocd.argoproj.io/hook-delete-policy: HookSucceeded}
spec:
  template:
    spec: {restartPolicy: Never, containers: [{name: migrate, image: busybox}]}
`,
		"waves/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: first\ndata: {k: v}\n",
		"waves/web.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations: {argocd.argoproj.io/sync-wave: "1"}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "nginx:1.27"}]}
`,
		"waves/b.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: third\n  annotations: {argocd.argoproj.io/sync-wave: \"2\"}\ndata: {k: v}\n",
		"waves/post.yaml": `apiVersion: batch/v1
kind: Job
metadata:
  name: notify
  annotations: {argocd.argoproj.io/hook: PostSync}
spec:
  template:
    spec: {restartPolicy: Never, containers: [{name: notify, image: busybox}]}
`,
		"waves/skip.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: never\n  annotations: {argocd.argoproj.io/hook: Skip}\n",
	})
	e.repo.Commit("waves")
	name := e.appName("waves")
	e.syncApp(t, name, "waves", nil)
	e.waitFor(t, name, "OutOfSync", func(a *v1alpha1.Application) bool { return a.Status.Sync.Status == v1alpha1.SyncStatusCodeOutOfSync })

	e.requestSync(t, name, &v1alpha1.Operation{Sync: &v1alpha1.SyncOperation{Prune: true}})
	a := e.waitOperation(t, name)
	st := a.Status.OperationState
	if st.Phase != v1alpha1.OperationSucceeded {
		t.Fatalf("operation %s: %s; results %+v", st.Phase, st.Message, st.SyncResult)
	}
	if len(a.Status.History) != 1 || a.Status.History[0].ID != 0 || a.Status.History[0].Revision != e.repo.Head() {
		t.Errorf("history = %+v", a.Status.History)
	}
	// Waves in order: each object was written after the wave before it (etcd revisions grow).
	cms := e.kube.Kube.CoreV1().ConfigMaps(e.ns)
	first, err := cms.Get(t.Context(), "first", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	web, err := e.kube.Kube.AppsV1().Deployments(e.ns).Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	third, err := cms.Get(t.Context(), "third", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if web.Status.AvailableReplicas != 1 {
		t.Errorf("wave 2 ran before the Deployment of wave 1 was available: %+v", web.Status)
	}
	if !(first.CreationTimestamp.Time.Unix() <= web.CreationTimestamp.Time.Unix() && rv(t, third) > rv(t, first)) {
		t.Errorf("wave order: first rv %d, third rv %d", rv(t, first), rv(t, third))
	}
	if _, err := cms.Get(t.Context(), "never", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a Skip hook was applied: %v", err)
	}
	// The PreSync hook succeeded and was deleted (HookSucceeded); the PostSync one stays (BeforeHookCreation).
	hooks := map[string]v1alpha1.ResourceResult{}
	for _, r := range st.SyncResult.Resources {
		if r.HookType != "" {
			hooks[r.HookType] = r
		}
	}
	if hooks["PreSync"].HookPhase != v1alpha1.OperationSucceeded || hooks["PostSync"].HookPhase != v1alpha1.OperationSucceeded {
		t.Fatalf("hook results = %+v", hooks)
	}
	jobs := e.kube.Kube.BatchV1().Jobs(e.ns)
	if err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 20*time.Second, true, func(ctx2 context.Context) (bool, error) {
		_, err := jobs.Get(ctx2, hooks["PreSync"].Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	}); err != nil {
		t.Errorf("the HookSucceeded hook %s was not deleted", hooks["PreSync"].Name)
	}
	post, err := jobs.Get(t.Context(), "notify", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("PostSync hook: %v", err)
	}
	e.waitFor(t, name, "Synced and Healthy", func(a *v1alpha1.Application) bool {
		return a.Status.Sync.Status == v1alpha1.SyncStatusCodeSynced && a.Status.Health.Status == v1alpha1.HealthStatusHealthy
	})

	// A file removed from Git is pruned on the next sync; the PostSync hook is replaced (BeforeHookCreation).
	e.repo.Remove("waves/b.yaml")
	e.repo.Commit("drop third")
	e.refresh(t, name)
	e.waitFor(t, name, "OutOfSync with third to prune", func(a *v1alpha1.Application) bool {
		return a.Status.Sync.Revision == e.repo.Head() && a.Status.Sync.Status == v1alpha1.SyncStatusCodeOutOfSync
	})
	e.requestSync(t, name, &v1alpha1.Operation{Sync: &v1alpha1.SyncOperation{Prune: true}})
	a = e.waitOperation(t, name)
	if a.Status.OperationState.Phase != v1alpha1.OperationSucceeded {
		t.Fatalf("second sync: %s", a.Status.OperationState.Message)
	}
	waitGone(t, func() error { _, err := cms.Get(t.Context(), "third", metav1.GetOptions{}); return err })
	post2, err := jobs.Get(t.Context(), "notify", metav1.GetOptions{})
	if err != nil || post2.UID == post.UID {
		t.Errorf("PostSync hook not re-created for the new sync: %v", err)
	}
	if len(a.Status.History) != 2 {
		t.Errorf("history = %d entries", len(a.Status.History))
	}
}

func waitGone(t *testing.T, get func() error) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		return apierrors.IsNotFound(get()), nil
	})
	if err != nil {
		t.Fatalf("object not deleted: %v", get())
	}
}

func (e *env) refresh(t *testing.T, name string) {
	t.Helper()
	if _, err := e.client.ArgoprojV1alpha1().Applications(e.ns).Patch(t.Context(), name, types.MergePatchType,
		[]byte(`{"metadata":{"annotations":{"argocd.argoproj.io/refresh":"normal"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

// requestRefresh writes a refresh request (pkg/refresh) for name, as moor-server's webhook does, and checks
// the controller deletes it once carried out.
func (e *env) requestRefresh(t *testing.T, name string) {
	t.Helper()
	cms := e.kube.Kube.CoreV1().ConfigMaps(e.ns)
	req, err := cms.Create(t.Context(), refresh.Requests(e.ns, []string{name}, refresh.Normal, "test")[0], metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := cms.Get(context.Background(), req.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("refresh request %s was not deleted by the controller (%v)", req.Name, err)
		}
	})
}

func automated(prune, selfHeal bool) func(*v1alpha1.Application) {
	return func(a *v1alpha1.Application) {
		a.Spec.SyncPolicy = &v1alpha1.SyncPolicy{Automated: &v1alpha1.SyncPolicyAutomated{Prune: &prune, SelfHeal: &selfHeal}}
	}
}

func TestAutomatedSyncSelfHealAndPrune(t *testing.T) {
	e := start(t)
	dest := e.ns + "-dest"
	t.Cleanup(func() {
		_ = e.kube.Kube.CoreV1().Namespaces().Delete(t.Context(), dest, metav1.DeleteOptions{})
	})
	e.repo.WriteFiles(map[string]string{
		"auto/a.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata: {color: blue}\n",
		"auto/b.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\ndata: {k: v}\n",
		"auto/keep.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keep\n  annotations: {argocd.argoproj.io/sync-options: Prune=false}\ndata: {k: v}\n",
	})
	e.repo.Commit("auto")
	name := e.appName("auto")
	e.syncApp(t, name, "auto", func(a *v1alpha1.Application) {
		automated(true, true)(a)
		a.Spec.Destination.Namespace = dest
		a.Spec.SyncPolicy.SyncOptions = v1alpha1.SyncOptions{"CreateNamespace=true", "PruneLast=true", "PrunePropagationPolicy=foreground"}
		a.Spec.SyncPolicy.ManagedNamespaceMetadata = &v1alpha1.ManagedNamespaceMetadata{Labels: map[string]string{"team": "blue"}}
	})
	a := e.waitFor(t, name, "Synced and Healthy by automated sync", func(a *v1alpha1.Application) bool {
		return a.Status.Sync.Status == v1alpha1.SyncStatusCodeSynced && a.Status.Health.Status == v1alpha1.HealthStatusHealthy &&
			a.Status.OperationState != nil && a.Status.OperationState.Phase == v1alpha1.OperationSucceeded
	})
	if by := a.Status.OperationState.Operation.InitiatedBy; by == nil || !by.Automated {
		t.Errorf("initiatedBy = %+v", by)
	}
	ns, err := e.kube.Kube.CoreV1().Namespaces().Get(t.Context(), dest, metav1.GetOptions{})
	if err != nil || ns.Labels["team"] != "blue" {
		t.Fatalf("namespace %s: %v, labels %v", dest, err, ns.Labels)
	}

	// Self-heal: a kubectl edit of a tracked field is reverted.
	cms := e.kube.Kube.CoreV1().ConfigMaps(dest)
	edited := time.Now()
	if _, err := cms.Patch(t.Context(), "a", types.MergePatchType, []byte(`{"data":{"color":"red"}}`), metav1.PatchOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		cm, err := cms.Get(t.Context(), "a", metav1.GetOptions{})
		return err == nil && cm.Data["color"] == "blue", nil
	})
	if err != nil {
		t.Fatal("the live edit was not reverted by self-heal")
	}
	t.Logf("self-heal reverted a live edit in %v", time.Since(edited).Round(time.Millisecond))

	// A new commit is deployed; a deleted file is pruned (PruneLast), one marked Prune=false is kept.
	e.repo.Write("auto/a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata: {color: green}\n")
	e.repo.Remove("auto/b.yaml")
	e.repo.Remove("auto/keep.yaml")
	e.repo.Commit("green, drop b and keep")
	e.requestRefresh(t, name) // as moor-server's webhook does
	err = wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		cm, err := cms.Get(t.Context(), "a", metav1.GetOptions{})
		_, errB := cms.Get(t.Context(), "b", metav1.GetOptions{})
		return err == nil && cm.Data["color"] == "green" && apierrors.IsNotFound(errB), nil
	})
	if err != nil {
		a, _ := e.client.ArgoprojV1alpha1().Applications(e.ns).Get(t.Context(), name, metav1.GetOptions{})
		t.Fatalf("new commit not deployed and pruned: %+v", a.Status.OperationState)
	}
	if _, err := cms.Get(t.Context(), "keep", metav1.GetOptions{}); err != nil {
		t.Errorf("a Prune=false resource was pruned: %v", err)
	}
	a = e.waitFor(t, name, "the last sync recorded", func(a *v1alpha1.Application) bool {
		return a.Status.OperationState != nil && a.Status.OperationState.Phase == v1alpha1.OperationSucceeded &&
			a.Status.OperationState.SyncResult != nil && a.Status.OperationState.SyncResult.Revision == e.repo.Head()
	})
	var pruned, skipped []string
	for _, r := range a.Status.OperationState.SyncResult.Resources {
		switch r.Status {
		case v1alpha1.ResultCodePruned:
			pruned = append(pruned, r.Name)
		case v1alpha1.ResultCodePruneSkipped:
			skipped = append(skipped, r.Name)
		}
	}
	if strings.Join(pruned, ",") != "b" || strings.Join(skipped, ",") != "keep" {
		t.Errorf("pruned %v, skipped %v", pruned, skipped)
	}
}

func TestSyncFailureRetryAndNoRepeat(t *testing.T) {
	e := start(t)
	e.repo.WriteFiles(map[string]string{
		"invalid/ok.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fine\n",
		"invalid/bad.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: bad}
spec:
  replicas: 1
  bogusField: true
  selector: {matchLabels: {app: bad}}
  template:
    metadata: {labels: {app: bad}}
    spec: {containers: [{name: c, image: busybox}]}
`,
	})
	e.repo.Commit("invalid")
	name := e.appName("invalid")
	limit := int64(2)
	e.syncApp(t, name, "invalid", func(a *v1alpha1.Application) {
		automated(true, false)(a)
		a.Spec.SyncPolicy.Retry = &v1alpha1.RetryStrategy{Limit: &limit, Backoff: &v1alpha1.Backoff{Duration: "200ms", MaxDuration: "1s"}}
	})
	a := e.waitFor(t, name, "the automated sync failed after its retries", func(a *v1alpha1.Application) bool {
		st := a.Status.OperationState
		return st != nil && st.Phase == v1alpha1.OperationFailed
	})
	st := a.Status.OperationState
	if st.RetryCount != 2 || !strings.Contains(st.Message, "bogusField") || !strings.Contains(st.Message, "dry run failed") {
		t.Fatalf("retryCount %d, message %q", st.RetryCount, st.Message)
	}
	// The dry run stopped everything: not even the valid ConfigMap was applied.
	if _, err := e.kube.Kube.CoreV1().ConfigMaps(e.ns).Get(t.Context(), "fine", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a resource was applied although the dry run failed: %v", err)
	}
	// The same revision is not attempted again.
	finished := st.FinishedAt.Time
	e.refresh(t, name)
	time.Sleep(3 * time.Second)
	a, err := e.client.ArgoprojV1alpha1().Applications(e.ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Operation != nil || !a.Status.OperationState.FinishedAt.Time.Equal(finished) {
		t.Errorf("a failed revision was synced again: %+v", a.Status.OperationState)
	}
	// Validate=false lets the unknown field through.
	e.requestSync(t, name, &v1alpha1.Operation{Sync: &v1alpha1.SyncOperation{SyncOptions: v1alpha1.SyncOptions{"Validate=false"}}})
	a = e.waitFor(t, name, "a sync with Validate=false", func(a *v1alpha1.Application) bool {
		st := a.Status.OperationState
		return a.Operation == nil && st != nil && st.FinishedAt != nil && !st.FinishedAt.Time.Equal(finished)
	})
	if a.Status.OperationState.Phase != v1alpha1.OperationSucceeded {
		t.Fatalf("Validate=false sync: %s", a.Status.OperationState.Message)
	}
}

func TestCRDAndItsResourceInOneSync(t *testing.T) {
	e := start(t)
	group := strings.ReplaceAll(e.ns, "-", "") + ".example.com"
	crdName := "gadgets." + group
	t.Cleanup(func() {
		_ = e.kube.Dynamic.Resource(crdGVR).Delete(t.Context(), crdName, metav1.DeleteOptions{})
	})
	e.repo.WriteFiles(map[string]string{
		"crd/crd.yaml": fmt.Sprintf(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: %[1]s}
spec:
  group: %[2]s
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`, crdName, group),
		"crd/cr.yaml": fmt.Sprintf("apiVersion: %s/v1\nkind: Gadget\nmetadata: {name: g1}\nspec: {size: 3}\n", group),
	})
	e.repo.Commit("crd")
	name := e.appName("crd")
	e.syncApp(t, name, "crd", nil)
	e.waitFor(t, name, "OutOfSync", func(a *v1alpha1.Application) bool { return a.Status.Sync.Status == v1alpha1.SyncStatusCodeOutOfSync })
	e.requestSync(t, name, &v1alpha1.Operation{Sync: &v1alpha1.SyncOperation{}})
	a := e.waitOperation(t, name)
	if a.Status.OperationState.Phase != v1alpha1.OperationSucceeded {
		t.Fatalf("sync of a CRD and its resource: %s %+v", a.Status.OperationState.Message, a.Status.OperationState.SyncResult)
	}
	gvr := crdGVR
	gvr.Group, gvr.Version, gvr.Resource = group, "v1", "gadgets"
	if _, err := e.kube.Dynamic.Resource(gvr).Namespace(e.ns).Get(t.Context(), "g1", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestRollback(t *testing.T) {
	e := start(t)
	e.repo.Write("rb/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: rb\ndata: {version: one}\n")
	e.repo.Commit("one")
	name := e.appName("rb")
	e.syncApp(t, name, "rb", nil)
	e.waitFor(t, name, "OutOfSync", func(a *v1alpha1.Application) bool { return a.Status.Sync.Status == v1alpha1.SyncStatusCodeOutOfSync })
	e.requestSync(t, name, &v1alpha1.Operation{Sync: &v1alpha1.SyncOperation{}})
	e.waitOperation(t, name)
	e.repo.Write("rb/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: rb\ndata: {version: two}\n")
	e.repo.Commit("two")
	e.refresh(t, name)
	e.waitFor(t, name, "the new revision seen", func(a *v1alpha1.Application) bool { return a.Status.Sync.Revision == e.repo.Head() })
	e.requestSync(t, name, &v1alpha1.Operation{Sync: &v1alpha1.SyncOperation{}})
	a := e.waitFor(t, name, "two syncs in history", func(a *v1alpha1.Application) bool {
		return a.Operation == nil && len(a.Status.History) == 2
	})
	cm, _ := e.kube.Kube.CoreV1().ConfigMaps(e.ns).Get(t.Context(), "rb", metav1.GetOptions{})
	if cm == nil || cm.Data["version"] != "two" {
		t.Fatalf("configmap = %+v", cm)
	}

	op, err := moorsync.RollbackOperation(a, a.Status.History[0].ID, false, false, &v1alpha1.OperationInitiator{Username: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	e.requestSync(t, name, op)
	a = e.waitFor(t, name, "rolled back", func(a *v1alpha1.Application) bool {
		return a.Operation == nil && len(a.Status.History) == 3
	})
	if a.Status.OperationState.Phase != v1alpha1.OperationSucceeded || a.Status.History[2].Revision != a.Status.History[0].Revision {
		t.Fatalf("rollback: %s, history %+v", a.Status.OperationState.Message, a.Status.History)
	}
	cm, _ = e.kube.Kube.CoreV1().ConfigMaps(e.ns).Get(t.Context(), "rb", metav1.GetOptions{})
	if cm == nil || cm.Data["version"] != "one" {
		t.Fatalf("after rollback configmap = %+v", cm)
	}
	e.waitFor(t, name, "OutOfSync against the branch head after the rollback", func(a *v1alpha1.Application) bool {
		return a.Status.Sync.Status == v1alpha1.SyncStatusCodeOutOfSync
	})

	// Refused while automated sync is on.
	on := true
	a.Spec.SyncPolicy = &v1alpha1.SyncPolicy{Automated: &v1alpha1.SyncPolicyAutomated{SelfHeal: &on}}
	if _, err := moorsync.RollbackOperation(a, 1, false, false, nil); err == nil || !strings.Contains(err.Error(), "auto-sync") {
		t.Errorf("rollback with automated sync: %v", err)
	}
}

func TestDeletionCascade(t *testing.T) {
	e := start(t)
	e.repo.Write("del/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: doomed\n")
	e.repo.Write("keep/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: survivor\n")
	e.repo.Commit("deletion")
	cascade, orphan := e.appName("cascade"), e.appName("orphan")
	e.syncApp(t, cascade, "del", func(a *v1alpha1.Application) {
		automated(true, false)(a)
		a.Finalizers = []string{"resources-finalizer.argocd.argoproj.io"}
	})
	e.syncApp(t, orphan, "keep", automated(true, false))
	for _, n := range []string{cascade, orphan} {
		e.waitFor(t, n, "Synced", func(a *v1alpha1.Application) bool { return a.Status.Sync.Status == v1alpha1.SyncStatusCodeSynced })
	}
	for _, n := range []string{cascade, orphan} {
		if err := e.client.ArgoprojV1alpha1().Applications(e.ns).Delete(t.Context(), n, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	cms := e.kube.Kube.CoreV1().ConfigMaps(e.ns)
	waitGone(t, func() error { _, err := cms.Get(t.Context(), "doomed", metav1.GetOptions{}); return err })
	waitGone(t, func() error {
		_, err := e.client.ArgoprojV1alpha1().Applications(e.ns).Get(t.Context(), cascade, metav1.GetOptions{})
		return err
	})
	if _, err := cms.Get(t.Context(), "survivor", metav1.GetOptions{}); err != nil {
		t.Errorf("an app without the finalizer took its resources with it: %v", err)
	}
}

func TestDeletionErrorWhenTheClusterIsUnreachable(t *testing.T) {
	e := start(t)
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "gone-cluster", Namespace: e.ns, Labels: map[string]string{"argocd.argoproj.io/secret-type": "cluster"}},
		StringData: map[string]string{"name": "gone", "server": "https://127.0.0.1:1", "config": `{"bearerToken":"x","tlsClientConfig":{"insecure":true}}`},
	}
	if _, err := e.kube.Kube.CoreV1().Secrets(e.ns).Create(t.Context(), sec, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	name := e.appName("unreachable")
	e.syncApp(t, name, "app", func(a *v1alpha1.Application) {
		a.Spec.Destination = v1alpha1.ApplicationDestination{Server: "https://127.0.0.1:1", Namespace: "x"}
		a.Finalizers = []string{"resources-finalizer.argocd.argoproj.io"}
	})
	time.Sleep(500 * time.Millisecond)
	if err := e.client.ArgoprojV1alpha1().Applications(e.ns).Delete(t.Context(), name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitFor(t, name, "a DeletionError condition", func(a *v1alpha1.Application) bool {
		return hasCondition(a, v1alpha1.ApplicationConditionDeletionError, "not reachable")
	})
	// Removing the finalizer by hand lets it go.
	if _, err := e.client.ArgoprojV1alpha1().Applications(e.ns).Patch(t.Context(), name, types.MergePatchType,
		[]byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestSyncWindows(t *testing.T) {
	e := start(t)
	e.repo.Write("win/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: windowed\n")
	e.repo.Commit("windows")
	manual := true
	proj := &v1alpha1.AppProject{
		ObjectMeta: metav1.ObjectMeta{Name: "frozen", Namespace: e.ns},
		Spec: v1alpha1.AppProjectSpec{
			SourceRepos:  []string{"*"},
			Destinations: []v1alpha1.ApplicationDestination{{Server: "*", Namespace: "*"}},
			SyncWindows:  v1alpha1.SyncWindows{{Kind: "deny", Schedule: "* * * * *", Duration: "1h", Applications: []string{"*-frozen"}}},
		},
	}
	if _, err := e.client.ArgoprojV1alpha1().AppProjects(e.ns).Create(t.Context(), proj, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	name := e.appName("frozen")
	e.syncApp(t, name, "win", func(a *v1alpha1.Application) {
		automated(true, true)(a)
		a.Spec.Project = "frozen"
	})
	e.waitFor(t, name, "OutOfSync", func(a *v1alpha1.Application) bool { return a.Status.Sync.Status == v1alpha1.SyncStatusCodeOutOfSync })
	time.Sleep(2 * time.Second)
	a, err := e.client.ArgoprojV1alpha1().Applications(e.ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Status.OperationState != nil || a.Operation != nil {
		t.Fatalf("automated sync ran inside a deny window: %+v", a.Status.OperationState)
	}
	e.requestSync(t, name, &v1alpha1.Operation{Sync: &v1alpha1.SyncOperation{}})
	a = e.waitOperation(t, name)
	if a.Status.OperationState.Phase != v1alpha1.OperationFailed || !strings.Contains(a.Status.OperationState.Message, "blocked") {
		t.Fatalf("manual sync in a deny window: %s %s", a.Status.OperationState.Phase, a.Status.OperationState.Message)
	}
	// manualSync lets manual syncs through.
	proj, _ = e.client.ArgoprojV1alpha1().AppProjects(e.ns).Get(t.Context(), "frozen", metav1.GetOptions{})
	proj.Spec.SyncWindows[0].ManualSync = &manual
	if _, err := e.client.ArgoprojV1alpha1().AppProjects(e.ns).Update(t.Context(), proj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // the project informer
	first := a.Status.OperationState.FinishedAt.Time
	e.requestSync(t, name, &v1alpha1.Operation{Sync: &v1alpha1.SyncOperation{}})
	a = e.waitFor(t, name, "the manual sync", func(a *v1alpha1.Application) bool {
		st := a.Status.OperationState
		return a.Operation == nil && st.FinishedAt != nil && !st.FinishedAt.Time.Equal(first)
	})
	if a.Status.OperationState.Phase != v1alpha1.OperationSucceeded {
		t.Fatalf("manual sync with manualSync=true: %s", a.Status.OperationState.Message)
	}
}

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
