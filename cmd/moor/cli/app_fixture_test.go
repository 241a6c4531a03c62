package cli_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

// update is -update: rewrite the golden files (MOOR_UPDATE_GOLDEN=1 too).
var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

func appUpdate() bool { return *update || os.Getenv("MOOR_UPDATE_GOLDEN") == "1" }

// appGolden compares got with testdata/golden/app-<name>, or rewrites it.
func appGolden(t *testing.T, name, got string) {
	t.Helper()
	goldenFile(t, "app-"+name, got)
}

// goldenFile compares got with testdata/golden/<name>, or rewrites it with -update or MOOR_UPDATE_GOLDEN=1.
func goldenFile(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if appUpdate() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update or MOOR_UPDATE_GOLDEN=1 to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

// appNow is the fixed "now" of rendering tests.
var appNow = time.Date(2026, 3, 1, 12, 0, 30, 0, time.UTC)

func appTime(offset time.Duration) metav1.Time { return metav1.NewTime(appNow.Add(offset)) }

func appTimePtr(offset time.Duration) *metav1.Time {
	t := appTime(offset)
	return &t
}

// appOption changes a fixture application.
type appOption func(*v1alpha1.Application)

// appFixture is a synced, healthy guestbook with a finished sync (one PreSync hook) and three deployments.
func appFixture(name string, opts ...appOption) *v1alpha1.Application {
	const rev = "53e28ff2b1c4d0e9a8b7c6d5e4f3a2b1c0d9e8f7"
	src := v1alpha1.ApplicationSource{RepoURL: "https://git.example.com/apps.git", Path: "guestbook", TargetRevision: "HEAD"}
	a := &v1alpha1.Application{
		TypeMeta:   metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "Application"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "moor"},
		Spec: v1alpha1.ApplicationSpec{
			Source:      new(src),
			Destination: v1alpha1.ApplicationDestination{Server: "https://kubernetes.default.svc", Namespace: "guestbook"},
			Project:     "default",
			SyncPolicy: &v1alpha1.SyncPolicy{Automated: &v1alpha1.SyncPolicyAutomated{
				Prune: new(true), SelfHeal: new(true)}},
		},
		Status: v1alpha1.ApplicationStatus{
			Sync:   v1alpha1.SyncStatus{Status: v1alpha1.SyncStatusCodeSynced, Revision: rev},
			Health: v1alpha1.HealthStatus{Status: v1alpha1.HealthStatusHealthy},
			Resources: []v1alpha1.ResourceStatus{
				{Version: "v1", Kind: "Service", Namespace: "guestbook", Name: "guestbook-ui", Status: v1alpha1.SyncStatusCodeSynced,
					Health: &v1alpha1.HealthStatus{Status: v1alpha1.HealthStatusHealthy}},
				{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "guestbook", Name: "guestbook-ui", Status: v1alpha1.SyncStatusCodeSynced,
					Health: &v1alpha1.HealthStatus{Status: v1alpha1.HealthStatusHealthy}, SyncWave: 1},
				{Group: "batch", Version: "v1", Kind: "Job", Namespace: "guestbook", Name: "migrate", Status: v1alpha1.SyncStatusCodeSynced, Hook: true},
			},
			OperationState: &v1alpha1.OperationState{
				Operation:  v1alpha1.Operation{Sync: &v1alpha1.SyncOperation{Revision: rev}},
				Phase:      v1alpha1.OperationSucceeded,
				Message:    "successfully synced (all tasks run)",
				StartedAt:  appTime(-90 * time.Second),
				FinishedAt: appTimePtr(-78 * time.Second),
				SyncResult: &v1alpha1.SyncOperationResult{Revision: rev, Resources: []v1alpha1.ResourceResult{
					{Group: "batch", Version: "v1", Kind: "Job", Namespace: "guestbook", Name: "migrate", HookType: "PreSync",
						HookPhase: v1alpha1.OperationSucceeded, Message: "job completed", SyncPhase: "PreSync"},
					{Version: "v1", Kind: "Service", Namespace: "guestbook", Name: "guestbook-ui", Status: v1alpha1.ResultCodeSynced,
						Message: "service/guestbook-ui created", SyncPhase: "Sync"},
					{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "guestbook", Name: "guestbook-ui", Status: v1alpha1.ResultCodeSynced,
						Message: "deployment.apps/guestbook-ui created", SyncPhase: "Sync"},
				}},
			},
			History: v1alpha1.RevisionHistories{
				{ID: 0, Revision: "1111111111111111111111111111111111111111", DeployedAt: appTime(-48 * time.Hour),
					DeployStartedAt: appTimePtr(-48*time.Hour - 12*time.Second), Source: new(src),
					InitiatedBy: &v1alpha1.OperationInitiator{Username: "admin"}},
				{ID: 1, Revision: "2222222222222222222222222222222222222222", DeployedAt: appTime(-3 * time.Hour),
					DeployStartedAt: appTimePtr(-3*time.Hour - 5*time.Second), Source: new(src),
					InitiatedBy: &v1alpha1.OperationInitiator{Automated: true}},
				{ID: 2, Revision: rev, DeployedAt: appTime(-78 * time.Second), DeployStartedAt: appTimePtr(-90 * time.Second),
					Source:      &v1alpha1.ApplicationSource{RepoURL: src.RepoURL, Path: src.Path, TargetRevision: "v2"},
					InitiatedBy: &v1alpha1.OperationInitiator{Username: "admin"}},
			},
		},
	}
	for _, o := range opts {
		o(a)
	}
	return a
}

// appOutOfSync makes the app OutOfSync and Degraded with a sync error, manual sync.
func appOutOfSync(a *v1alpha1.Application) {
	a.Spec.SyncPolicy = nil
	a.Status.Sync.Status = v1alpha1.SyncStatusCodeOutOfSync
	a.Status.Health = v1alpha1.HealthStatus{Status: v1alpha1.HealthStatusDegraded, Message: "Deployment guestbook-ui has 0/2 ready replicas"}
	a.Status.Resources[1].Status = v1alpha1.SyncStatusCodeOutOfSync
	a.Status.Resources[1].Health = &v1alpha1.HealthStatus{Status: v1alpha1.HealthStatusDegraded}
	a.Status.Conditions = []v1alpha1.ApplicationCondition{{Type: v1alpha1.ApplicationConditionSyncError,
		Message: "Failed sync attempt: one or more objects failed to apply", LastTransitionTime: appTimePtr(-time.Minute)}}
}

// appHelm makes the app a Helm chart of a Helm repository.
func appHelm(a *v1alpha1.Application) {
	a.Spec.Source = &v1alpha1.ApplicationSource{RepoURL: "https://charts.example.com", Chart: "redis", TargetRevision: "19.0.1",
		Helm: &v1alpha1.ApplicationSourceHelm{Parameters: []v1alpha1.HelmParameter{{Name: "replica.count", Value: "3"}}}}
	a.Spec.Destination = v1alpha1.ApplicationDestination{Name: "prod", Namespace: "cache"}
	a.Spec.Project = "platform"
	a.Spec.SyncPolicy.Automated.Prune = nil
	a.Status.Sync.Revision = "19.0.1"
	a.Status.Health.Status = v1alpha1.HealthStatusProgressing
}
