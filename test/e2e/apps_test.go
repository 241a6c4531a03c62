package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/test/kubetest"
	"github.com/moorcd/moor/test/stack/stacktest"
)

func TestMain(m *testing.M) { kubetest.Main(m) }

const guestbookCM = `apiVersion: v1
kind: ConfigMap
metadata:
  name: guestbook-ui-config
  labels:
    app.kubernetes.io/name: guestbook-ui
data:
  TITLE: Moor guestbook
  GREETING: %s
`

// TestApplications runs the cases that share one stack (one namespace, one Git server), in parallel; each
// case has its own repository, Application and destination namespace.
func TestApplications(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	t.Run("the seed manifest syncs and is healthy", func(t *testing.T) {
		t.Parallel()
		name := e.appName("seed")
		e.createApp(t, e.manifest(t, "guestbook.yaml", name, e.repo(t, "seed")))
		a := e.waitApp(t, name, "Synced and Healthy", waitSynced, syncedHealthy)
		if _, err := e.st.Kube.CoreV1().Namespaces().Get(t.Context(), name, metav1.GetOptions{}); err != nil {
			t.Errorf("CreateNamespace=true did not create %s: %v", name, err)
		}
		for _, get := range []func() error{
			func() error {
				_, err := e.st.Kube.AppsV1().Deployments(name).Get(t.Context(), "guestbook-ui", metav1.GetOptions{})
				return err
			},
			func() error {
				_, err := e.st.Kube.CoreV1().Services(name).Get(t.Context(), "guestbook-ui", metav1.GetOptions{})
				return err
			},
			func() error {
				_, err := e.st.Kube.CoreV1().ConfigMaps(name).Get(t.Context(), "guestbook-ui-config", metav1.GetOptions{})
				return err
			},
		} {
			if err := get(); err != nil {
				t.Errorf("live object: %v", err)
			}
		}
		op := a.Status.OperationState
		if op == nil || op.Phase != v1alpha1.OperationSucceeded || op.SyncResult == nil {
			t.Fatalf("automated sync: %s", toJSON(op))
		}
		var synced []string
		for _, r := range op.SyncResult.Resources {
			synced = append(synced, r.Kind+"/"+r.Name)
		}
		slices.Sort(synced)
		want := []string{"ConfigMap/guestbook-ui-config", "Deployment/guestbook-ui", "Namespace/" + name, "Service/guestbook-ui"}
		if !slices.Equal(synced, want) {
			t.Errorf("synced %v, want %v", synced, want)
		}
		if a.Operation != nil || len(a.Status.History) != 1 || a.Status.History[0].Revision != a.Status.Sync.Revision {
			t.Errorf("history %s, sync revision %s", toJSON(a.Status.History), a.Status.Sync.Revision)
		}
	})

	t.Run("a pushed change is deployed", func(t *testing.T) {
		t.Parallel()
		name := e.appName("push")
		e.createApp(t, e.manifest(t, "guestbook.yaml", name, e.repo(t, "push")))
		e.waitApp(t, name, "Synced and Healthy", waitSynced, syncedHealthy)
		wt := e.clone(t, "push")
		sha := push(t, wt, "greet in French", map[string]string{"guestbook/configmap.yaml": fmt.Sprintf(guestbookCM, "Bonjour")})
		start := time.Now()
		waitConfigMap(t, e, name, "guestbook-ui-config", "GREETING", "Bonjour")
		t.Logf("push to live ConfigMap: %v", time.Since(start).Round(time.Millisecond))
		e.waitApp(t, name, "Synced to the pushed commit", waitLive, func(a *v1alpha1.Application) bool {
			return syncedHealthy(a) && a.Status.Sync.Revision == sha
		})
	})

	t.Run("a deleted file is pruned, last", func(t *testing.T) {
		t.Parallel()
		name := e.appName("prune")
		e.createApp(t, e.manifest(t, "guestbook.yaml", name, e.repo(t, "prune")))
		e.waitApp(t, name, "Synced and Healthy", waitSynced, syncedHealthy)
		events := watchOrder(t, e, name)
		wt := e.clone(t, "prune")
		push(t, wt, "drop the Service, change the greeting", map[string]string{
			"guestbook/service.yaml":   "",
			"guestbook/configmap.yaml": fmt.Sprintf(guestbookCM, "Hola"),
		})
		waitGone(t, "Service "+name+"/guestbook-ui", func(ctx context.Context) error {
			_, err := e.st.Kube.CoreV1().Services(name).Get(ctx, "guestbook-ui", metav1.GetOptions{})
			return err
		})
		a := e.waitApp(t, name, "Synced after the prune", waitLive, syncedHealthy)
		pruned := false
		for _, r := range a.Status.OperationState.SyncResult.Resources {
			if r.Kind == "Service" && r.Name == "guestbook-ui" && r.Status == v1alpha1.ResultCodePruned {
				pruned = true
			}
		}
		if !pruned {
			t.Errorf("the sync result does not show the Service pruned: %s", toJSON(a.Status.OperationState.SyncResult))
		}
		// PruneLast: the Service's deletion began after the ConfigMap's update was applied.
		applied, deleted := events.first("ConfigMap/guestbook-ui-config", watch.Modified), events.first("Service/guestbook-ui", "deleting")
		if applied == 0 || deleted == 0 || deleted < applied {
			t.Errorf("PruneLast: ConfigMap applied at resourceVersion %d, Service deletion at %d; events %v", applied, deleted, events.all())
		}
	})

	t.Run("a kubectl edit of a tracked field is self-healed", func(t *testing.T) {
		t.Parallel()
		name := e.appName("heal")
		e.createApp(t, e.manifest(t, "guestbook.yaml", name, e.repo(t, "heal")))
		e.waitApp(t, name, "Synced and Healthy", waitSynced, syncedHealthy)
		mergePatch(t, e, name, "ConfigMap", "guestbook-ui-config", `{"data":{"GREETING":"edited by hand"}}`)
		mergePatch(t, e, name, "Deployment", "guestbook-ui", `{"spec":{"replicas":3}}`)
		waitConfigMap(t, e, name, "guestbook-ui-config", "GREETING", "Hello from Git")
		waitFor(t, "the Deployment's replicas reverted to 1", waitLive, func(ctx context.Context) (bool, error) {
			d, err := e.st.Kube.AppsV1().Deployments(name).Get(ctx, "guestbook-ui", metav1.GetOptions{})
			return err == nil && d.Spec.Replicas != nil && *d.Spec.Replicas == 1, err
		})
		e.waitApp(t, name, "Synced and Healthy after self-heal", waitLive, syncedHealthy)
	})

	t.Run("invalid YAML is a ComparisonError naming the file and prunes nothing until fixed", func(t *testing.T) {
		t.Parallel()
		name := e.appName("broken")
		e.createApp(t, e.manifest(t, "guestbook.yaml", name, e.repo(t, "broken")))
		e.waitApp(t, name, "Synced and Healthy", waitSynced, syncedHealthy)
		svc, err := e.st.Kube.CoreV1().Services(name).Get(t.Context(), "guestbook-ui", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wt := e.clone(t, "broken")
		// The broken commit also drops a file: a failed render must not prune it.
		push(t, wt, "a typo", map[string]string{
			"guestbook/service.yaml": "",
			"guestbook/extra.yaml":   "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata: {key: [unclosed\n",
		})
		a := e.waitApp(t, name, "a ComparisonError naming extra.yaml", waitLive, func(a *v1alpha1.Application) bool {
			for _, c := range a.Status.Conditions {
				if c.Type == v1alpha1.ApplicationConditionComparisonError && strings.Contains(c.Message, "extra.yaml") {
					return true
				}
			}
			return false
		})
		t.Logf("condition: %s", toJSON(a.Status.Conditions))
		time.Sleep(2 * time.Second) // room for a wrong prune to happen
		if got, err := e.st.Kube.CoreV1().Services(name).Get(t.Context(), "guestbook-ui", metav1.GetOptions{}); err != nil || got.UID != svc.UID {
			t.Fatalf("the Service was pruned or replaced after a failed render: %v", err)
		}
		fixed := push(t, wt, "fix the typo", map[string]string{
			"guestbook/service.yaml": serviceYAML,
			"guestbook/extra.yaml":   "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata: {key: value}\n",
		})
		e.waitApp(t, name, "recovered at the fixed commit", waitLive, func(a *v1alpha1.Application) bool {
			return syncedHealthy(a) && a.Status.Sync.Revision == fixed && errorCondition(a) == nil
		})
		if _, err := e.st.Kube.CoreV1().ConfigMaps(name).Get(t.Context(), "extra", metav1.GetOptions{}); err != nil {
			t.Errorf("the fixed file was not applied: %v", err)
		}
		if got, err := e.st.Kube.CoreV1().Services(name).Get(t.Context(), "guestbook-ui", metav1.GetOptions{}); err != nil || got.UID != svc.UID {
			t.Errorf("the Service was replaced: %v", err)
		}
	})

	t.Run("rollback to a history entry", func(t *testing.T) {
		t.Parallel()
		name := e.appName("rollback")
		e.createApp(t, manual(e.manifest(t, "guestbook.yaml", name, e.repo(t, "rollback"))))
		e.waitApp(t, name, "OutOfSync before the first sync", waitSynced, func(a *v1alpha1.Application) bool {
			return a.Status.Sync.Status == v1alpha1.SyncStatusCodeOutOfSync
		})
		e.sync(t, name, map[string]any{"prune": true})
		first := e.waitApp(t, name, "first sync", waitSynced, func(a *v1alpha1.Application) bool { return syncedHealthy(a) && len(a.Status.History) == 1 })
		wt := e.clone(t, "rollback")
		second := push(t, wt, "v2", map[string]string{"guestbook/configmap.yaml": fmt.Sprintf(guestbookCM, "Version two")})
		e.waitApp(t, name, "OutOfSync at the new commit", waitLive, func(a *v1alpha1.Application) bool {
			return a.Status.Sync.Status == v1alpha1.SyncStatusCodeOutOfSync && a.Status.Sync.Revision == second
		})
		e.sync(t, name, map[string]any{"prune": true})
		a := e.waitApp(t, name, "second sync", waitLive, func(a *v1alpha1.Application) bool { return syncedHealthy(a) && len(a.Status.History) == 2 })
		waitConfigMap(t, e, name, "guestbook-ui-config", "GREETING", "Version two")
		id := first.Status.History[0].ID
		if a.Status.History[0].ID != id || a.Status.History[1].Revision != second {
			t.Fatalf("history %s", toJSON(a.Status.History))
		}
		if err := e.admin.Do(t.Context(), http.MethodPost, "/api/v1/applications/"+name+"/rollback", map[string]any{"id": id}, nil); err != nil {
			t.Fatalf("rollback: %v", err)
		}
		waitConfigMap(t, e, name, "guestbook-ui-config", "GREETING", "Hello from Git")
		a = e.waitApp(t, name, "rollback finished", waitLive, func(a *v1alpha1.Application) bool {
			op := a.Status.OperationState
			return a.Operation == nil && op != nil && op.Phase == v1alpha1.OperationSucceeded && len(a.Status.History) == 3
		})
		if got := a.Status.OperationState.SyncResult.Revision; got != first.Status.History[0].Revision {
			t.Errorf("rolled back to %s, want %s", got, first.Status.History[0].Revision)
		}
		// Git still says version two: after a rollback the app is OutOfSync until the next sync.
		e.waitApp(t, name, "OutOfSync after the rollback", waitLive, func(a *v1alpha1.Application) bool {
			return a.Status.Sync.Status == v1alpha1.SyncStatusCodeOutOfSync
		})
	})

	t.Run("hooks and waves run in order", func(t *testing.T) {
		t.Parallel()
		name := e.appName("waves")
		events := watchOrder(t, e, name)
		e.createApp(t, e.manifest(t, "sync-waves.yaml", name, e.repo(t, "waves")))
		a := e.waitApp(t, name, "Synced and Healthy", waitSynced, func(a *v1alpha1.Application) bool {
			return syncedHealthy(a) && a.Status.OperationState != nil && a.Status.OperationState.Phase == v1alpha1.OperationSucceeded
		})
		order := []string{"Job/schema-migrate", "ConfigMap/waves-config", "Deployment/waves-backend", "Deployment/waves-frontend", "Job/smoke-test"}
		var prev int64
		for _, obj := range order {
			rv := events.first(obj, watch.Added)
			if rv == 0 || rv < prev {
				t.Fatalf("creation order: want %v; %s created at resourceVersion %d after %d; events %v", order, obj, rv, prev, events.all())
			}
			prev = rv
		}
		if svc := events.first("Service/waves-backend", watch.Added); svc == 0 || svc > events.first("Deployment/waves-frontend", watch.Added) {
			t.Errorf("the wave-0 Service was created after wave 1; events %v", events.all())
		}
		phases := map[string]string{}
		for _, r := range a.Status.OperationState.SyncResult.Resources {
			phases[r.Kind+"/"+r.Name] = r.SyncPhase
			if r.HookType != "" && r.HookPhase != v1alpha1.OperationSucceeded {
				t.Errorf("hook %s: %s %s", r.Name, r.HookPhase, r.Message)
			}
		}
		if phases["Job/schema-migrate"] != "PreSync" || phases["Job/smoke-test"] != "PostSync" || phases["Deployment/waves-frontend"] != "Sync" {
			t.Errorf("sync phases %v", phases)
		}
	})

	t.Run("deleting the app deletes its resources", func(t *testing.T) {
		t.Parallel()
		name := e.appName("delete")
		e.createApp(t, e.manifest(t, "guestbook.yaml", name, e.repo(t, "delete")))
		e.waitApp(t, name, "Synced and Healthy", waitSynced, syncedHealthy)
		if err := e.admin.Do(t.Context(), http.MethodDelete, "/api/v1/applications/"+name, nil, nil); err != nil {
			t.Fatalf("delete: %v", err)
		}
		waitGone(t, "Application "+name, func(ctx context.Context) error { _, err := e.getApp(ctx, name); return notFound(err) })
		for kind, get := range map[string]func(context.Context) error{
			"Deployment": func(ctx context.Context) error {
				_, err := e.st.Kube.AppsV1().Deployments(name).Get(ctx, "guestbook-ui", metav1.GetOptions{})
				return err
			},
			"Service": func(ctx context.Context) error {
				_, err := e.st.Kube.CoreV1().Services(name).Get(ctx, "guestbook-ui", metav1.GetOptions{})
				return err
			},
			"ConfigMap": func(ctx context.Context) error {
				_, err := e.st.Kube.CoreV1().ConfigMaps(name).Get(ctx, "guestbook-ui-config", metav1.GetOptions{})
				return err
			},
		} {
			waitGone(t, kind+" of the deleted app", get)
		}
	})

	t.Run("a readonly user cannot sync", func(t *testing.T) {
		t.Parallel()
		name := e.appName("readonly")
		e.createApp(t, manual(e.manifest(t, "guestbook.yaml", name, e.repo(t, "readonly"))))
		ctx := t.Context()
		if err := e.st.SetConfigMapKeys(ctx, "argocd-cm", map[string]string{"accounts.alice": "login"}); err != nil {
			t.Fatal(err)
		}
		if err := e.st.SetConfigMapKeys(ctx, "argocd-rbac-cm", map[string]string{"policy.default": "role:readonly"}); err != nil {
			t.Fatal(err)
		}
		const password = "alice-passw0rd"
		waitFor(t, "admin sets alice's password", waitLive, func(ctx context.Context) (bool, error) {
			err := e.admin.Do(ctx, http.MethodPut, "/api/v1/account/password",
				map[string]string{"name": "alice", "currentPassword": e.st.AdminPassword, "newPassword": password}, nil)
			return err == nil, err
		})
		var token string
		waitFor(t, "alice logs in", waitLive, func(ctx context.Context) (bool, error) {
			var err error
			token, err = e.st.Login(ctx, "alice", password)
			return err == nil, err
		})
		alice := e.st.Client(token)
		if err := alice.Do(ctx, http.MethodGet, "/api/v1/applications/"+name, nil, nil); err != nil {
			t.Errorf("readonly get: %v", err)
		}
		if err := alice.Do(ctx, http.MethodPost, "/api/v1/applications/"+name+"/sync", map[string]any{}, nil); !isStatus(err, http.StatusForbidden) {
			t.Errorf("readonly sync over REST: %v, want 403", err)
		}
		if err := alice.Do(ctx, http.MethodDelete, "/api/v1/applications/"+name, nil, nil); !isStatus(err, http.StatusForbidden) {
			t.Errorf("readonly delete over REST: %v, want 403", err)
		}
		conn, err := grpc.NewClient(e.st.ServerAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		gctx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
		_, err = apiv1.NewApplicationServiceClient(conn).Sync(gctx, &apiv1.ApplicationServiceSyncRequest{Name: name})
		if status.Code(err) != codes.PermissionDenied {
			t.Errorf("readonly sync over gRPC: %v, want PermissionDenied", err)
		}
		if a, err := e.getApp(ctx, name); err != nil || a.Operation != nil {
			t.Errorf("an operation was written for the readonly user: %v %v", err, a)
		}
	})

	t.Run("the Helm, Kustomize and Jsonnet examples sync", func(t *testing.T) {
		t.Parallel()
		repo := e.repo(t, "renderers")
		cases := []struct {
			file, short string
			check       func(ctx context.Context, ns string) error
		}{
			{"helm-guestbook.yaml", "helm", func(ctx context.Context, ns string) error {
				cm, err := e.st.Kube.CoreV1().ConfigMaps(ns).Get(ctx, "guestbook-helm-guestbook", metav1.GetOptions{})
				if err == nil && cm.Data["GREETING"] != "Hello from the Application" {
					err = fmt.Errorf("valuesObject not applied: %v", cm.Data)
				}
				return err
			}},
			{"kustomize-guestbook.yaml", "kustomize", func(ctx context.Context, ns string) error {
				d, err := e.st.Kube.AppsV1().Deployments(ns).Get(ctx, "staging-guestbook-ui", metav1.GetOptions{})
				if err == nil && (d.Spec.Replicas == nil || *d.Spec.Replicas != 2 || d.Labels["environment"] != "staging") {
					err = fmt.Errorf("overlay not applied: replicas %v labels %v", d.Spec.Replicas, d.Labels)
				}
				return err
			}},
			{"jsonnet-guestbook.yaml", "jsonnet", func(ctx context.Context, ns string) error {
				_, err := e.st.Kube.CoreV1().Services(ns).Get(ctx, "jsonnet-guestbook", metav1.GetOptions{})
				return err
			}},
		}
		for _, c := range cases {
			e.createApp(t, e.manifest(t, c.file, e.appName(c.short), repo))
		}
		for _, c := range cases {
			name := e.appName(c.short)
			e.waitApp(t, name, "Synced and Healthy", waitSynced, syncedHealthy)
			if err := c.check(t.Context(), name); err != nil {
				t.Errorf("%s: %v", c.file, err)
			}
		}
	})
}

const serviceYAML = `apiVersion: v1
kind: Service
metadata:
  name: guestbook-ui
  labels:
    app.kubernetes.io/name: guestbook-ui
spec:
  selector:
    app.kubernetes.io/name: guestbook-ui
  ports:
    - name: http
      port: 80
      targetPort: http
`

// waitConfigMap waits until a live ConfigMap's key holds want.
func waitConfigMap(t testing.TB, e *env, ns, name, key, want string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("ConfigMap %s/%s %s=%q", ns, name, key, want), waitLive, func(ctx context.Context) (bool, error) {
		cm, err := e.st.Kube.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if got := cm.Data[key]; got != want {
			return false, fmt.Errorf("%s is %q", key, got)
		}
		return true, nil
	})
}

// waitGone waits until get answers NotFound.
func waitGone(t testing.TB, what string, get func(context.Context) error) {
	t.Helper()
	waitFor(t, what+" deleted", waitLive, func(ctx context.Context) (bool, error) {
		err := get(ctx)
		return apierrors.IsNotFound(err), err
	})
}

// notFound turns a REST 404 into a Kubernetes NotFound, for waitGone.
func notFound(err error) error {
	if isStatus(err, http.StatusNotFound) {
		return apierrors.NewNotFound(v1alpha1.Resource("applications"), "")
	}
	if err == nil {
		return fmt.Errorf("still there")
	}
	return err
}

// waitFor polls cond every 100 ms, failing after timeout with cond's last error.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func(context.Context) (bool, error)) {
	t.Helper()
	stacktest.Wait(t, timeout, what, cond)
}

// eventLog records, per object (Kind/name), the resourceVersion of watch events in a namespace. On one
// etcd, resourceVersions are the store's global revision, so they order events across kinds.
type eventLog struct {
	mu     sync.Mutex
	events []objEvent
}

type objEvent struct {
	Obj  string
	Type watch.EventType // Added, Modified, Deleted, or "deleting": the first sign of a deletion
	RV   int64
}

func (l *eventLog) add(ev objEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, ev)
}

func (l *eventLog) all() []objEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

// first returns the resourceVersion of obj's first event of type typ, waiting up to 2 s for it to arrive;
// 0 when there is none.
func (l *eventLog) first(obj string, typ watch.EventType) int64 {
	deadline := time.Now().Add(2 * time.Second)
	for {
		for _, ev := range l.all() {
			if ev.Obj == obj && ev.Type == typ {
				return ev.RV
			}
		}
		if time.Now().After(deadline) {
			return 0
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// watchOrder watches ConfigMaps, Services, Deployments and Jobs in ns (which may not exist yet) until the
// test ends.
func watchOrder(t *testing.T, e *env, ns string) *eventLog {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	l := &eventLog{}
	for kind, start := range map[string]func() (watch.Interface, error){
		"ConfigMap": func() (watch.Interface, error) {
			return e.st.Kube.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{})
		},
		"Service": func() (watch.Interface, error) {
			return e.st.Kube.CoreV1().Services(ns).Watch(ctx, metav1.ListOptions{})
		},
		"Deployment": func() (watch.Interface, error) {
			return e.st.Kube.AppsV1().Deployments(ns).Watch(ctx, metav1.ListOptions{})
		},
		"Job": func() (watch.Interface, error) { return e.st.Kube.BatchV1().Jobs(ns).Watch(ctx, metav1.ListOptions{}) },
	} {
		w, err := start()
		if err != nil {
			t.Fatalf("watch %s: %v", kind, err)
		}
		t.Cleanup(w.Stop)
		go func() {
			deleting := map[string]bool{}
			for ev := range w.ResultChan() {
				m, err := meta.Accessor(ev.Object)
				if err != nil {
					continue
				}
				rv, _ := strconv.ParseInt(m.GetResourceVersion(), 10, 64)
				obj := kind + "/" + m.GetName()
				if (ev.Type == watch.Deleted || m.GetDeletionTimestamp() != nil) && !deleting[obj] {
					deleting[obj] = true
					l.add(objEvent{Obj: obj, Type: "deleting", RV: rv})
				}
				l.add(objEvent{Obj: obj, Type: ev.Type, RV: rv})
			}
		}()
	}
	return l
}
