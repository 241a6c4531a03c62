package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/test/stack"
	"github.com/moorcd/moor/test/stack/stacktest"
)

// Bounded waits: every wait of the suite ends with a failure naming what did not happen.
const (
	waitSynced = 90 * time.Second // an app converges (first render, fetch, apply, pods Ready)
	waitLive   = 30 * time.Second // a push or an edit reaches the cluster
)

// env is a running stack with its Git server and an admin REST client.
type env struct {
	st    *stack.Stack
	git   *stack.GitServer
	admin *stack.Client
}

func newEnv(t testing.TB, opts ...stacktest.Option) *env {
	t.Helper()
	st := stacktest.Start(t, opts...)
	return &env{st: st, git: stacktest.Git(t, st), admin: stacktest.Admin(t, st)}
}

// examplesDir is the repository's examples/ directory.
func examplesDir(t testing.TB) string {
	t.Helper()
	root, err := stack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "examples")
}

// repo creates a repository holding examples/ under a name unique to the test and returns its URL.
func (e *env) repo(t testing.TB, name string) string {
	t.Helper()
	u, err := e.git.CreateRepo(t.Context(), name, os.DirFS(examplesDir(t)))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// clone clones a repository of the Git server into a temporary directory.
func (e *env) clone(t testing.TB, name string) *stack.Worktree {
	t.Helper()
	wt, err := e.git.Clone(t.Context(), name, filepath.Join(t.TempDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	return wt
}

// push writes files (path to content; "" deletes the path), commits and pushes; it returns the commit.
func push(t testing.TB, wt *stack.Worktree, msg string, files map[string]string) string {
	t.Helper()
	for p, content := range files {
		var err error
		if content == "" {
			err = wt.Remove(p)
		} else {
			err = wt.WriteFile(p, content)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	sha, err := wt.CommitAndPush(t.Context(), msg)
	if err != nil {
		t.Fatal(err)
	}
	return sha
}

// manifest reads an Application of examples/apps and adapts it to the test: a cluster-wide unique name in
// the stack's namespace, the test's repository, and its own destination namespace (deleted at cleanup,
// after the Application).
func (e *env) manifest(t testing.TB, file, name, repoURL string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(examplesDir(t), "apps", file))
	if err != nil {
		t.Fatal(err)
	}
	var app map[string]any
	if err := yaml.Unmarshal(data, &app); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	meta := app["metadata"].(map[string]any)
	meta["name"], meta["namespace"] = name, e.st.Namespace
	spec := app["spec"].(map[string]any)
	spec["source"].(map[string]any)["repoURL"] = repoURL
	spec["destination"].(map[string]any)["namespace"] = name
	e.cleanup(t, name)
	return app
}

// manual drops automated sync from a manifest.
func manual(app map[string]any) map[string]any {
	delete(app["spec"].(map[string]any)["syncPolicy"].(map[string]any), "automated")
	return app
}

// cleanup deletes the Application without cascading and then its destination namespace (named like the
// app) when the test ends, so the namespace is not created again by CreateNamespace.
func (e *env) cleanup(t testing.TB, name string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		path := "/api/v1/applications/" + name + "?cascade=false"
		if err := e.admin.Do(ctx, http.MethodDelete, path, nil, nil); err != nil && !isStatus(err, http.StatusNotFound) {
			t.Logf("cleanup: delete application %s: %v", name, err)
		}
		// A non-cascading delete drops the finalizer; wait for the app to go before deleting its namespace.
		for ctx.Err() == nil {
			if _, err := e.getApp(ctx, name); isStatus(err, http.StatusNotFound) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		err := e.st.Kube.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Logf("cleanup: delete namespace %s: %v", name, err)
		}
	})
}

// appName is a name unique in the cluster: tracking ids carry application names.
func (e *env) appName(short string) string { return e.st.Namespace + "-" + short }

func (e *env) createApp(t testing.TB, app map[string]any) {
	t.Helper()
	if err := e.admin.Do(t.Context(), http.MethodPost, "/api/v1/applications", app, nil); err != nil {
		t.Fatalf("create application: %v", err)
	}
}

// getApp reads an Application through REST (GET /api/v1/applications/{name}), refreshing it when refresh
// is "normal" or "hard".
func (e *env) getApp(ctx context.Context, name string, refresh ...string) (*v1alpha1.Application, error) {
	path := "/api/v1/applications/" + name
	if len(refresh) > 0 {
		path += "?refresh=" + url.QueryEscape(refresh[0])
	}
	var a v1alpha1.Application
	if err := e.admin.Do(ctx, http.MethodGet, path, nil, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// waitApp polls the Application through REST until cond holds, failing with its last status after timeout.
func (e *env) waitApp(t testing.TB, name, what string, timeout time.Duration, cond func(*v1alpha1.Application) bool) *v1alpha1.Application {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	var last *v1alpha1.Application
	var lastErr error
	for {
		a, err := e.getApp(ctx, name)
		if err == nil {
			last = a
			if cond(a) {
				return a
			}
		} else {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: %s: not within %s; last status: %s (last error: %v)", name, what, timeout, summary(last), lastErr)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// syncedHealthy: Synced and Healthy, and no operation running.
func syncedHealthy(a *v1alpha1.Application) bool {
	return a.Status.Sync.Status == v1alpha1.SyncStatusCodeSynced && a.Status.Health.Status == v1alpha1.HealthStatusHealthy &&
		a.Operation == nil && (a.Status.OperationState == nil || a.Status.OperationState.Phase != v1alpha1.OperationRunning)
}

// summary describes an Application's status for failure messages.
func summary(a *v1alpha1.Application) string {
	if a == nil {
		return "<never read>"
	}
	s := fmt.Sprintf("sync=%s revision=%s health=%s", a.Status.Sync.Status, short(a.Status.Sync.Revision), a.Status.Health.Status)
	if a.Status.Health.Message != "" {
		s += " (" + a.Status.Health.Message + ")"
	}
	for _, c := range a.Status.Conditions {
		s += fmt.Sprintf("; condition %s: %s", c.Type, c.Message)
	}
	if op := a.Status.OperationState; op != nil {
		s += fmt.Sprintf("; operation %s: %s", op.Phase, op.Message)
	}
	var unhealthy []string
	for _, r := range a.Status.Resources {
		if r.Status != v1alpha1.SyncStatusCodeSynced || (r.Health != nil && r.Health.Status != v1alpha1.HealthStatusHealthy) {
			h := ""
			if r.Health != nil {
				h = string(r.Health.Status)
			}
			unhealthy = append(unhealthy, fmt.Sprintf("%s/%s %s %s", r.Kind, r.Name, r.Status, h))
		}
	}
	if len(unhealthy) > 0 {
		s += "; resources: " + strings.Join(unhealthy, ", ")
	}
	return s
}

func short(sha string) string { return sha[:min(7, len(sha))] }

// isStatus reports a REST answer with the HTTP status code.
func isStatus(err error, code int) bool {
	var apiErr *stack.APIError
	return errors.As(err, &apiErr) && apiErr.Status == code
}

// errorCondition returns the first condition whose type ends in "Error".
func errorCondition(a *v1alpha1.Application) *v1alpha1.ApplicationCondition {
	for i, c := range a.Status.Conditions {
		if strings.HasSuffix(string(c.Type), "Error") {
			return &a.Status.Conditions[i]
		}
	}
	return nil
}

// sync starts a sync through REST.
func (e *env) sync(t testing.TB, name string, body map[string]any) {
	t.Helper()
	if err := e.admin.Do(t.Context(), http.MethodPost, "/api/v1/applications/"+name+"/sync", body, nil); err != nil {
		t.Fatalf("sync %s: %v", name, err)
	}
}

// mergePatch changes a live object as `kubectl patch --type merge` does.
func mergePatch(t *testing.T, e *env, ns, kind, name, patch string) {
	t.Helper()
	var err error
	opts := metav1.PatchOptions{FieldManager: "kubectl-edit"}
	switch kind {
	case "ConfigMap":
		_, err = e.st.Kube.CoreV1().ConfigMaps(ns).Patch(t.Context(), name, types.MergePatchType, []byte(patch), opts)
	case "Deployment":
		_, err = e.st.Kube.AppsV1().Deployments(ns).Patch(t.Context(), name, types.MergePatchType, []byte(patch), opts)
	default:
		t.Fatalf("mergePatch: kind %s", kind)
	}
	if err != nil {
		t.Fatalf("patch %s %s/%s: %v", kind, ns, name, err)
	}
}

// toJSON is for failure messages.
func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
