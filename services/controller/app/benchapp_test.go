package app_test

import (
	"sort"
	"testing"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

// TestBenchmarkAppIsCleanlySynced checks the benchmark's app shape compares without errors once deployed,
// so the benchmark measures steady state rather than a failing compare.
func TestBenchmarkAppIsCleanlySynced(t *testing.T) {
	e := start(t)
	files := appManifests("a0000")
	names := make([]string, 0, len(files))
	for f := range files {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		e.repo.Write("bench/"+f, files[f])
	}
	e.repo.Commit("bench app")
	for _, f := range names {
		m := files[f]
		kind := map[string]string{"deploy.yaml": "Deployment", "svc.yaml": "Service", "cm1.yaml": "ConfigMap", "cm2.yaml": "ConfigMap",
			"secret.yaml": "Secret", "sa.yaml": "ServiceAccount", "role.yaml": "Role", "rb.yaml": "RoleBinding",
			"pdb.yaml": "PodDisruptionBudget", "ing.yaml": "Ingress"}[f]
		e.applyAny(t, "a0000", kind, m)
	}
	e.createApp(t, "a0000", "bench", "")
	a := e.waitFor(t, "a0000", "Synced", func(a *v1alpha1.Application) bool {
		return a.Status.Sync.Status == v1alpha1.SyncStatusCodeSynced
	})
	if len(a.Status.Conditions) != 0 {
		t.Errorf("conditions: %+v", a.Status.Conditions)
	}
	for _, r := range a.Status.Resources {
		if r.Status != v1alpha1.SyncStatusCodeSynced {
			t.Errorf("%s %s: %s", r.Kind, r.Name, r.Status)
		}
	}
}
