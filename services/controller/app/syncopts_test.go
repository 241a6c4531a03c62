package app_test

import (
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

// TestSyncOptions covers the operation flags and the options that change what a sync writes or prunes.
func TestSyncOptions(t *testing.T) {
	e := start(t)
	e.repo.WriteFiles(map[string]string{
		"opts/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: opt-a\ndata: {k: one}\n",
		"opts/b.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: opt-b\ndata: {k: one}\n",
		"opts/confirm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: opt-confirm\n" +
			"  annotations: {argocd.argoproj.io/sync-options: Prune=confirm}\n",
		"opts/keep.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: opt-keep\n" +
			"  annotations: {argocd.argoproj.io/sync-options: Delete=false}\n",
		"opts/csa.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: opt-csa\n" +
			"  annotations: {argocd.argoproj.io/sync-options: ServerSideApply=false}\ndata: {k: one}\n",
		"opts/ignored.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: opt-ignored\ndata: {owned: git, tuned: git}\n",
	})
	e.repo.Commit("options")
	name := e.appName("opts")
	e.syncApp(t, name, "opts", func(a *v1alpha1.Application) {
		a.Finalizers = []string{"resources-finalizer.argocd.argoproj.io"}
		a.Spec.IgnoreDifferences = []v1alpha1.ResourceIgnoreDifferences{{Kind: "ConfigMap", Name: "opt-ignored", JSONPointers: []string{"/data/tuned"}}}
		a.Spec.SyncPolicy = &v1alpha1.SyncPolicy{SyncOptions: v1alpha1.SyncOptions{"RespectIgnoreDifferences=true"}}
	})
	e.waitFor(t, name, "OutOfSync", func(a *v1alpha1.Application) bool { return a.Status.Sync.Status == v1alpha1.SyncStatusCodeOutOfSync })
	cms := e.kube.Kube.CoreV1().ConfigMaps(e.ns)

	// A dry run writes nothing.
	e.requestSync(t, name, &v1alpha1.Operation{Sync: &v1alpha1.SyncOperation{DryRun: true}})
	a := e.waitOperation(t, name)
	if a.Status.OperationState.Phase != v1alpha1.OperationSucceeded || len(a.Status.History) != 0 {
		t.Fatalf("dry run: %s, history %d", a.Status.OperationState.Message, len(a.Status.History))
	}
	if _, err := cms.Get(t.Context(), "opt-a", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("a dry run created a resource: %v", err)
	}

	// Selective sync: only opt-a.
	e.requestSync(t, name, &v1alpha1.Operation{Sync: &v1alpha1.SyncOperation{Resources: []v1alpha1.SyncOperationResource{{Kind: "ConfigMap", Name: "opt-a", Namespace: e.ns}}}})
	a = e.waitOperation(t, name)
	if _, err := cms.Get(t.Context(), "opt-a", metav1.GetOptions{}); err != nil {
		t.Fatalf("selective sync: %v (%s)", err, a.Status.OperationState.Message)
	}
	if _, err := cms.Get(t.Context(), "opt-b", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("selective sync applied an unselected resource: %v", err)
	}

	// A full sync; ServerSideApply=false leaves kubectl's annotation; RespectIgnoreDifferences keeps a live value.
	e.requestSync(t, name, &v1alpha1.Operation{Sync: &v1alpha1.SyncOperation{}})
	a = e.waitOperation(t, name)
	if a.Status.OperationState.Phase != v1alpha1.OperationSucceeded {
		t.Fatalf("sync: %s", a.Status.OperationState.Message)
	}
	csa, err := cms.Get(t.Context(), "opt-csa", metav1.GetOptions{})
	if err != nil || csa.Annotations["kubectl.kubernetes.io/last-applied-configuration"] == "" {
		t.Fatalf("client-side apply: %v %v", err, csa)
	}
	if _, err := cms.Patch(t.Context(), "opt-ignored", types.MergePatchType, []byte(`{"data":{"tuned":"by-hand","owned":"by-hand"}}`),
		metav1.PatchOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	e.requestSync(t, name, &v1alpha1.Operation{Sync: &v1alpha1.SyncOperation{}})
	e.waitOperation(t, name)
	ign, _ := cms.Get(t.Context(), "opt-ignored", metav1.GetOptions{})
	if ign.Data["tuned"] != "by-hand" || ign.Data["owned"] != "git" {
		t.Errorf("RespectIgnoreDifferences: data = %v, want tuned kept by-hand and owned back to git", ign.Data)
	}

	// Prune=confirm waits for the deletion-approved annotation.
	e.repo.Remove("opts/confirm.yaml")
	e.repo.Commit("drop confirm")
	e.refresh(t, name)
	e.waitFor(t, name, "the new revision", func(a *v1alpha1.Application) bool { return a.Status.Sync.Revision == e.repo.Head() })
	e.requestSync(t, name, &v1alpha1.Operation{Sync: &v1alpha1.SyncOperation{Prune: true}})
	e.waitFor(t, name, "waiting for confirmation", func(a *v1alpha1.Application) bool {
		st := a.Status.OperationState
		return st != nil && st.Phase == v1alpha1.OperationRunning && strings.Contains(st.Message, "pruning confirmation")
	})
	if _, err := cms.Get(t.Context(), "opt-confirm", metav1.GetOptions{}); err != nil {
		t.Fatalf("pruned before confirmation: %v", err)
	}
	if _, err := e.client.ArgoprojV1alpha1().Applications(e.ns).Patch(t.Context(), name, types.MergePatchType,
		[]byte(`{"metadata":{"annotations":{"argocd.argoproj.io/deletion-approved":"`+time.Now().UTC().Format(time.RFC3339)+`"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	a = e.waitOperation(t, name)
	if a.Status.OperationState.Phase != v1alpha1.OperationSucceeded {
		t.Fatalf("confirmed prune: %s", a.Status.OperationState.Message)
	}
	waitGone(t, func() error { _, err := cms.Get(t.Context(), "opt-confirm", metav1.GetOptions{}); return err })

	// Deleting the app cascades, except to Delete=false.
	if err := e.client.ArgoprojV1alpha1().Applications(e.ns).Delete(t.Context(), name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, func() error { _, err := cms.Get(t.Context(), "opt-a", metav1.GetOptions{}); return err })
	waitGone(t, func() error {
		_, err := e.client.ArgoprojV1alpha1().Applications(e.ns).Get(t.Context(), name, metav1.GetOptions{})
		return err
	})
	if _, err := cms.Get(t.Context(), "opt-keep", metav1.GetOptions{}); err != nil {
		t.Errorf("Delete=false resource deleted with the app: %v", err)
	}
}

// TestHooksThatVanishAndTermination: a hook Job removed by its TTL the moment it finishes does not hang the
// sync; a sync stuck on a hook can be terminated.
func TestHooksThatVanishAndTermination(t *testing.T) {
	e := start(t)
	e.repo.WriteFiles(map[string]string{
		"ttl/job.yaml": `apiVersion: batch/v1
kind: Job
metadata:
  name: quick
  annotations: {argocd.argoproj.io/hook: PreSync}
spec:
  ttlSecondsAfterFinished: 0
  template:
    spec: {restartPolicy: Never, containers: [{name: quick, image: busybox}]}
`,
		"ttl/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: after-ttl\n",
		// A hook that never finishes: its pod cannot be scheduled.
		"stuck/job.yaml": `apiVersion: batch/v1
kind: Job
metadata:
  name: stuck
  annotations: {argocd.argoproj.io/hook: PreSync}
spec:
  template:
    spec:
      restartPolicy: Never
      nodeSelector: {no-such-node: "true"}
      containers: [{name: stuck, image: busybox}]
`,
		"stuck/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: never-reached\n",
	})
	e.repo.Commit("hooks")
	ttl, stuck := e.appName("ttl"), e.appName("stuck")
	e.syncApp(t, ttl, "ttl", nil)
	e.syncApp(t, stuck, "stuck", nil)
	for _, n := range []string{ttl, stuck} {
		e.waitFor(t, n, "OutOfSync", func(a *v1alpha1.Application) bool { return a.Status.Sync.Status == v1alpha1.SyncStatusCodeOutOfSync })
		e.requestSync(t, n, &v1alpha1.Operation{Sync: &v1alpha1.SyncOperation{}})
	}
	a := e.waitOperation(t, ttl)
	if a.Status.OperationState.Phase != v1alpha1.OperationSucceeded {
		t.Fatalf("sync with a TTL hook: %s", a.Status.OperationState.Message)
	}
	if _, err := e.kube.Kube.CoreV1().ConfigMaps(e.ns).Get(t.Context(), "after-ttl", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}

	e.waitFor(t, stuck, "waiting on the hook", func(a *v1alpha1.Application) bool {
		st := a.Status.OperationState
		return st != nil && strings.Contains(st.Message, "waiting for completion of hook")
	})
	if _, err := e.client.ArgoprojV1alpha1().Applications(e.ns).Patch(t.Context(), stuck, types.MergePatchType,
		[]byte(`{"status":{"operationState":{"phase":"Terminating"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	a = e.waitOperation(t, stuck)
	if a.Status.OperationState.Phase != v1alpha1.OperationFailed || a.Status.OperationState.Message != "Operation terminated" {
		t.Fatalf("terminate: %s %s", a.Status.OperationState.Phase, a.Status.OperationState.Message)
	}
	waitGone(t, func() error {
		_, err := e.kube.Kube.BatchV1().Jobs(e.ns).Get(t.Context(), "stuck", metav1.GetOptions{})
		return err
	})
	if _, err := e.kube.Kube.CoreV1().ConfigMaps(e.ns).Get(t.Context(), "never-reached", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a terminated sync went on: %v", err)
	}
}

// TestFailOnSharedResource: a resource another app tracks fails the sync instead of being taken over.
func TestFailOnSharedResource(t *testing.T) {
	e := start(t)
	e.repo.Write("shared/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n")
	e.repo.Commit("shared")
	owner, thief := e.appName("owner"), e.appName("thief")
	e.syncApp(t, owner, "shared", automated(false, false))
	e.waitFor(t, owner, "Synced", func(a *v1alpha1.Application) bool { return a.Status.Sync.Status == v1alpha1.SyncStatusCodeSynced })
	e.syncApp(t, thief, "shared", func(a *v1alpha1.Application) {
		a.Spec.SyncPolicy = &v1alpha1.SyncPolicy{SyncOptions: v1alpha1.SyncOptions{"FailOnSharedResource=true"}}
	})
	e.waitFor(t, thief, "a SharedResourceWarning", func(a *v1alpha1.Application) bool {
		return hasCondition(a, v1alpha1.ApplicationConditionSharedResourceWarning, owner)
	})
	e.requestSync(t, thief, &v1alpha1.Operation{Sync: &v1alpha1.SyncOperation{}})
	a := e.waitOperation(t, thief)
	if a.Status.OperationState.Phase != v1alpha1.OperationFailed || !strings.Contains(a.Status.OperationState.Message, "already tracked by application "+owner) {
		t.Fatalf("FailOnSharedResource: %s %s", a.Status.OperationState.Phase, a.Status.OperationState.Message)
	}
}
