package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/yaml"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/client/clientset/versioned"
	"github.com/moorcd/moor/services/controller/app"
	"github.com/moorcd/moor/test/gittest"
	"github.com/moorcd/moor/test/kubetest"
	"github.com/moorcd/moor/test/reposervertest"
)

func TestMain(m *testing.M) { kubetest.Main(m) }

// env is a controller and a repo-server running against the local cluster, with a Git server.
type env struct {
	ctrl   *app.Controller
	kube   *kubetest.Cluster
	ns     string
	client versioned.Interface
	repo   *gittest.Repo
	url    string
}

func start(t *testing.T) *env {
	t.Helper()
	kc := kubetest.Start(t)
	kc.InstallCRDs(t)
	ns := kc.Namespace(t)

	repo := gittest.NewRepo(t)
	repo.Write("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  color: blue\n")
	repo.Write("app/deploy.yaml", `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "nginx:1.27"}]}
`)
	repo.Write("app/secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  password: hunter2-top-secret\n")
	repo.Write("bad/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: [\n")
	repo.Commit("initial")
	gs := gittest.NewHTTPServer(t, gittest.HTTPOptions{})
	url := gs.Add(t, "apps.git", repo)

	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	repoServer := reposervertest.Start(t) // stopped after the controller (cleanups run last first)
	ctx, cancel := context.WithCancel(context.Background())

	opts := app.NewOptions()
	opts.Namespace = ns
	opts.RepoServer = repoServer
	opts.Resync = 0
	opts.Debounce = 200 * time.Millisecond
	c, err := app.New(opts, kc.Config, discard)
	if err != nil {
		t.Fatal(err)
	}
	cDone := make(chan error, 1)
	go func() { cDone <- c.Start(ctx, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-cDone; err != nil {
			t.Errorf("controller: %v", err)
		}
	})
	client, err := versioned.NewForConfig(kc.Config)
	if err != nil {
		t.Fatal(err)
	}
	return &env{ctrl: c, kube: kc, ns: ns, client: client, repo: repo, url: url}
}

func (e *env) createApp(t *testing.T, name, path, project string) {
	t.Helper()
	a := &v1alpha1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns},
		Spec: v1alpha1.ApplicationSpec{
			Project:     project,
			Source:      &v1alpha1.ApplicationSource{RepoURL: e.url, Path: path, TargetRevision: "HEAD"},
			Destination: v1alpha1.ApplicationDestination{Server: "https://kubernetes.default.svc", Namespace: e.ns},
		},
	}
	if _, err := e.client.ArgoprojV1alpha1().Applications(e.ns).Create(t.Context(), a, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls the app until cond holds, failing with the last status.
func (e *env) waitFor(t *testing.T, name, what string, cond func(*v1alpha1.Application) bool) *v1alpha1.Application {
	t.Helper()
	var last *v1alpha1.Application
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		a, err := e.client.ArgoprojV1alpha1().Applications(e.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		last = a
		return cond(a), nil
	})
	if err != nil {
		t.Fatalf("app %s: %s: %v; last status: %+v", name, what, err, last.Status)
	}
	return last
}

// applyAny writes any of the benchmark's kinds the way sync will.
func (e *env) applyAny(t *testing.T, app, kind, manifest string) {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(manifest), &u.Object); err != nil {
		t.Fatal(err)
	}
	u.SetNamespace(e.ns)
	gvk := u.GroupVersionKind()
	u.SetAnnotations(map[string]string{"argocd.argoproj.io/tracking-id": fmt.Sprintf("%s:%s/%s:%s/%s", app, gvk.Group, gvk.Kind, e.ns, u.GetName())})
	data, _ := u.MarshalJSON()
	force := true
	if _, err := e.kube.Dynamic.Resource(resourceOf[kind]).Namespace(e.ns).Patch(t.Context(), u.GetName(), types.ApplyPatchType, data,
		metav1.PatchOptions{FieldManager: "moor-controller", Force: &force}); err != nil {
		t.Fatalf("apply %s: %v", u.GetName(), err)
	}
}

// apply writes an object the way sync will: server-side apply as moor-controller, with the tracking id.
func (e *env) apply(t *testing.T, app, kind, manifest string) {
	t.Helper()
	var group, resource string
	switch kind {
	case "ConfigMap":
		resource = "configmaps"
	case "Secret":
		resource = "secrets"
	case "Deployment":
		group, resource = "apps", "deployments"
	}
	name := strings.Fields(strings.SplitN(manifest, "name:", 2)[1])[0]
	ann := fmt.Sprintf("%s:%s/%s:%s/%s", app, group, kind, e.ns, name)
	body := strings.Replace(manifest, "metadata:\n", "metadata:\n  annotations:\n    argocd.argoproj.io/tracking-id: "+ann+"\n", 1)
	force := true
	req := e.kube.Kube.CoreV1().RESTClient().Patch(types.ApplyYAMLPatchType)
	if group != "" {
		req = e.kube.Kube.AppsV1().RESTClient().Patch(types.ApplyYAMLPatchType)
	}
	if err := req.Namespace(e.ns).Resource(resource).Name(name).
		VersionedParams(&metav1.PatchOptions{FieldManager: "moor-controller", Force: &force}, metav1.ParameterCodec).
		Body([]byte(body)).Do(t.Context()).Error(); err != nil {
		t.Fatalf("apply %s: %v", name, err)
	}
}

func TestStatusFollowsLiveState(t *testing.T) {
	e := start(t)
	guestbook := e.appName("guestbook") // tracking ids name the app: unique across the shared cluster
	e.createApp(t, guestbook, "app", "")

	a := e.waitFor(t, guestbook, "OutOfSync and Missing before anything is deployed", func(a *v1alpha1.Application) bool {
		return a.Status.Sync.Status == v1alpha1.SyncStatusCodeOutOfSync && a.Status.Health.Status == v1alpha1.HealthStatusMissing
	})
	if len(a.Status.Resources) != 3 || len(a.Status.Sync.Revision) != 40 || a.Status.SourceType != "Directory" {
		t.Fatalf("status = %+v", a.Status)
	}

	e.apply(t, guestbook, "ConfigMap", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  color: blue\n")
	e.apply(t, guestbook, "Secret", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  password: hunter2-top-secret\n")
	e.apply(t, guestbook, "Deployment", `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "nginx:1.27"}]}
`)
	a = e.waitFor(t, guestbook, "Synced and Healthy once deployed", func(a *v1alpha1.Application) bool {
		return a.Status.Sync.Status == v1alpha1.SyncStatusCodeSynced && a.Status.Health.Status == v1alpha1.HealthStatusHealthy
	})
	if a.Status.Summary == nil || len(a.Status.Summary.Images) != 1 || a.Status.Summary.Images[0] != "nginx:1.27" {
		t.Errorf("summary = %+v", a.Status.Summary)
	}

	// The resource tree and managed resources are published for the api-server, Secret values masked.
	tree, ok, err := e.ctrl.AppState().Tree(t.Context(), e.ns, guestbook)
	if err != nil || !ok {
		t.Fatalf("tree: ok=%v err=%v", ok, err)
	}
	kinds := map[string]int{}
	for _, n := range tree.GetNodes() {
		kinds[n.GetKind()]++
		if n.GetKind() == "Pod" && (len(n.GetParentRefs()) != 1 || n.GetParentRefs()[0].GetKind() != "ReplicaSet" || n.GetHealth().GetStatus() == "") {
			t.Errorf("pod node = %v", n)
		}
	}
	if kinds["Deployment"] != 1 || kinds["ReplicaSet"] != 1 || kinds["Pod"] != 2 {
		t.Errorf("tree kinds = %v", kinds)
	}
	managed, ok, err := e.ctrl.AppState().Managed(t.Context(), e.ns, guestbook)
	if err != nil || !ok || len(managed) != 3 {
		t.Fatalf("managed: %d ok=%v err=%v", len(managed), ok, err)
	}
	for _, m := range managed {
		all := m.GetTargetState() + m.GetLiveState() + m.GetNormalizedLiveState() + m.GetPredictedLiveState()
		if strings.Contains(all, "hunter2") || strings.Contains(all, "aHVudGVyMi") {
			t.Fatalf("managed state of %s leaks the secret: %s", m.GetName(), all)
		}
	}

	// A live change is noticed through the watch, without waiting for a periodic refresh.
	if _, err := e.kube.Kube.CoreV1().ConfigMaps(e.ns).Patch(t.Context(), "settings", types.MergePatchType,
		[]byte(`{"data":{"color":"red"}}`), metav1.PatchOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	e.waitFor(t, guestbook, "OutOfSync after a live edit", func(a *v1alpha1.Application) bool {
		return a.Status.Sync.Status == v1alpha1.SyncStatusCodeOutOfSync
	})
}

func TestConditions(t *testing.T) {
	e := start(t)
	e.createApp(t, "broken", "bad", "")
	a := e.waitFor(t, "broken", "a ComparisonError naming the file", func(a *v1alpha1.Application) bool {
		return hasCondition(a, v1alpha1.ApplicationConditionComparisonError, "bad/cm.yaml")
	})
	if a.Status.Sync.Status != v1alpha1.SyncStatusCodeUnknown {
		t.Errorf("sync status %q, want Unknown", a.Status.Sync.Status)
	}

	e.createApp(t, "orphan", "app", "no-such-project")
	e.waitFor(t, "orphan", "an InvalidSpecError for the missing project", func(a *v1alpha1.Application) bool {
		return hasCondition(a, v1alpha1.ApplicationConditionInvalidSpecError, "no-such-project")
	})

	restricted := &v1alpha1.AppProject{
		ObjectMeta: metav1.ObjectMeta{Name: "restricted", Namespace: e.ns},
		Spec: v1alpha1.AppProjectSpec{
			SourceRepos:  []string{"https://example.com/*"},
			Destinations: []v1alpha1.ApplicationDestination{{Server: "*", Namespace: "*"}},
		},
	}
	if _, err := e.client.ArgoprojV1alpha1().AppProjects(e.ns).Create(t.Context(), restricted, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.createApp(t, "foreign", "app", "restricted")
	e.waitFor(t, "foreign", "an InvalidSpecError for a repository outside the project", func(a *v1alpha1.Application) bool {
		return hasCondition(a, v1alpha1.ApplicationConditionInvalidSpecError, "not permitted")
	})

	// A project that monitors orphaned resources warns about objects nothing manages.
	warn := true
	watched := &v1alpha1.AppProject{
		ObjectMeta: metav1.ObjectMeta{Name: "watched", Namespace: e.ns},
		Spec: v1alpha1.AppProjectSpec{
			SourceRepos:       []string{"*"},
			Destinations:      []v1alpha1.ApplicationDestination{{Server: "*", Namespace: "*"}},
			OrphanedResources: &v1alpha1.OrphanedResourcesMonitorSettings{Warn: &warn},
		},
	}
	if _, err := e.client.ArgoprojV1alpha1().AppProjects(e.ns).Create(t.Context(), watched, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.kube.Kube.CoreV1().ConfigMaps(e.ns).Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "stray"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.createApp(t, "watcher", "app", "watched")
	e.waitFor(t, "watcher", "an OrphanedResourceWarning", func(a *v1alpha1.Application) bool {
		return hasCondition(a, v1alpha1.ApplicationConditionOrphanedResourceWarning, "orphaned resources")
	})

	// The default project exists.
	if _, err := e.client.ArgoprojV1alpha1().AppProjects(e.ns).Get(t.Context(), "default", metav1.GetOptions{}); apierrors.IsNotFound(err) {
		t.Error("the default project was not created")
	}
}

func hasCondition(a *v1alpha1.Application, typ v1alpha1.ApplicationConditionType, contains string) bool {
	for _, c := range a.Status.Conditions {
		if c.Type == typ && strings.Contains(c.Message, contains) {
			return true
		}
	}
	return false
}
