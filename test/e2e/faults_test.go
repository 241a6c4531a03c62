package e2e_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/test/redistest"
	"github.com/moorcd/moor/test/stack"
	"github.com/moorcd/moor/test/stack/stacktest"
)

// crashApp is an app whose sync stops in wave 0 until a LoadBalancer Service gets an address (no load
// balancer runs on the local cluster: the test plays it), between a PreSync and a PostSync hook.
var crashApp = map[string]string{
	"crash/pre.yaml": `apiVersion: batch/v1
kind: Job
metadata:
  name: pre
  annotations: {argocd.argoproj.io/hook: PreSync}
spec:
  template:
    spec: {restartPolicy: Never, containers: [{name: migrate, image: busybox}]}
`,
	"crash/gate.yaml":  "apiVersion: v1\nkind: Service\nmetadata:\n  name: gate\nspec:\n  type: LoadBalancer\n  ports: [{port: 80}]\n",
	"crash/after.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: after\n  annotations: {argocd.argoproj.io/sync-wave: \"1\"}\ndata: {k: v}\n",
	"crash/post.yaml": `apiVersion: batch/v1
kind: Job
metadata:
  name: post
  annotations: {argocd.argoproj.io/hook: PostSync}
spec:
  template:
    spec: {restartPolicy: Never, containers: [{name: notify, image: busybox}]}
`,
}

// TestControllerKilledMidSync kills moor-controller (SIGKILL) while a sync waits in wave 0 and starts it
// again: the sync completes without running the PreSync hook twice, the prune is not lost, and wave 1 and
// the PostSync hook run.
func TestControllerKilledMidSync(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	name := e.appName("crash")
	e.repo(t, "crash")
	wt := e.clone(t, "crash")
	push(t, wt, "a ConfigMap that the next commit drops", map[string]string{
		"crash/stale.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: stale\ndata: {k: v}\n",
	})
	app := manual(e.manifest(t, "guestbook.yaml", name, e.git.URL("crash")))
	app["spec"].(map[string]any)["source"].(map[string]any)["path"] = "crash"
	e.createApp(t, app)
	e.sync(t, name, map[string]any{"prune": true})
	e.waitApp(t, name, "first sync", waitSynced, func(a *v1alpha1.Application) bool { return syncedHealthy(a) && len(a.Status.History) == 1 })

	files := map[string]string{"crash/stale.yaml": ""}
	for p, c := range crashApp {
		files[p] = c
	}
	push(t, wt, "the gated app", files)
	e.waitApp(t, name, "OutOfSync at the new commit", waitLive, func(a *v1alpha1.Application) bool {
		return a.Status.Sync.Status == v1alpha1.SyncStatusCodeOutOfSync
	})
	e.sync(t, name, map[string]any{"prune": true})
	e.waitApp(t, name, "the sync waits in wave 0", waitLive, func(a *v1alpha1.Application) bool {
		op := a.Status.OperationState
		return op != nil && op.Phase == v1alpha1.OperationRunning && strings.Contains(op.Message, "gate")
	})
	pre, err := e.st.Kube.BatchV1().Jobs(name).Get(t.Context(), "pre", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the PreSync hook did not run: %v", err)
	}
	if err := e.st.Kill(stack.Controller); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	if err := e.st.Restart(t.Context(), stack.Controller); err != nil {
		t.Fatal(err)
	}
	t.Logf("controller ready %v after SIGKILL", time.Since(restarted).Round(time.Millisecond))
	if _, err := e.st.Kube.CoreV1().Services(name).Patch(t.Context(), "gate", types.MergePatchType,
		[]byte(`{"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.10"}]}}}`), metav1.PatchOptions{}, "status"); err != nil {
		t.Fatal(err)
	}
	a := e.waitApp(t, name, "the sync finished after the restart", waitLive, func(a *v1alpha1.Application) bool {
		op := a.Status.OperationState
		return a.Operation == nil && op != nil && op.FinishedAt != nil && len(a.Status.History) == 2
	})
	if op := a.Status.OperationState; op.Phase != v1alpha1.OperationSucceeded {
		t.Fatalf("operation %s: %s", op.Phase, op.Message)
	}
	if pre2, err := e.st.Kube.BatchV1().Jobs(name).Get(t.Context(), "pre", metav1.GetOptions{}); err != nil || pre2.UID != pre.UID {
		t.Errorf("the PreSync hook ran again after the restart (%v)", err)
	}
	if _, err := e.st.Kube.CoreV1().ConfigMaps(name).Get(t.Context(), "after", metav1.GetOptions{}); err != nil {
		t.Errorf("wave 1: %v", err)
	}
	if _, err := e.st.Kube.BatchV1().Jobs(name).Get(t.Context(), "post", metav1.GetOptions{}); err != nil {
		t.Errorf("PostSync hook: %v", err)
	}
	waitGone(t, "the pruned ConfigMap stale", func(ctx context.Context) error {
		_, err := e.st.Kube.CoreV1().ConfigMaps(name).Get(ctx, "stale", metav1.GetOptions{})
		return err
	})
	e.waitApp(t, name, "Synced and Healthy", waitLive, syncedHealthy)
}

// TestRepoServerDown kills moor-repo-server: a hard refresh then shows an error condition on the app, and
// after the repo-server is back a hard refresh clears it.
func TestRepoServerDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	name := e.appName("reposerver")
	e.createApp(t, e.manifest(t, "guestbook.yaml", name, e.repo(t, "reposerver")))
	e.waitApp(t, name, "Synced and Healthy", waitSynced, syncedHealthy)

	if err := e.st.Kill(stack.RepoServer); err != nil {
		t.Fatal(err)
	}
	if _, err := e.getApp(t.Context(), name, "hard"); err != nil {
		t.Fatalf("hard refresh: %v", err)
	}
	a := e.waitApp(t, name, "an error condition while the repo-server is down", waitSynced, func(a *v1alpha1.Application) bool {
		return errorCondition(a) != nil
	})
	t.Logf("while down: %s", summary(a))
	if _, err := e.st.Kube.AppsV1().Deployments(name).Get(t.Context(), "guestbook-ui", metav1.GetOptions{}); err != nil {
		t.Errorf("a live resource went away while the repo-server was down: %v", err)
	}

	if err := e.st.Restart(t.Context(), stack.RepoServer); err != nil {
		t.Fatal(err)
	}
	if _, err := e.getApp(t.Context(), name, "hard"); err != nil {
		t.Fatalf("hard refresh: %v", err)
	}
	e.waitApp(t, name, "recovered after the restart", waitSynced, func(a *v1alpha1.Application) bool {
		return syncedHealthy(a) && errorCondition(a) == nil
	})
	if err := e.st.Alive(); err != nil {
		t.Errorf("a service stopped: %v", err)
	}
}

// TestRedisOutage runs the services with Redis, flushes Redis and then stops it. "Goes on" means: no service
// exits, the API answers from Kubernetes, pushes are still deployed and new apps converge, with the in-process
// caches alone; when Redis is back the services use it again (keys reappear) and nothing was lost.
func TestRedisOutage(t *testing.T) {
	t.Parallel()
	rd := startRedis(t)
	e := newEnv(t, stacktest.WithRedis(rd.addr))
	name := e.appName("redis")
	e.createApp(t, e.manifest(t, "guestbook.yaml", name, e.repo(t, "redis")))
	e.waitApp(t, name, "Synced and Healthy", waitSynced, syncedHealthy)
	rc := redis.NewClient(&redis.Options{Addr: rd.addr})
	defer rc.Close()
	if n, err := rc.DBSize(t.Context()).Result(); err != nil || n == 0 {
		t.Errorf("the services wrote nothing to Redis: %d keys, %v", n, err)
	}

	if err := rc.FlushAll(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.getApp(t.Context(), name, "hard"); err != nil {
		t.Fatalf("hard refresh after FLUSHALL: %v", err)
	}
	wt := e.clone(t, "redis")
	push(t, wt, "after the flush", map[string]string{"guestbook/configmap.yaml": fmt.Sprintf(guestbookCM, "flushed")})
	waitConfigMap(t, e, name, "guestbook-ui-config", "GREETING", "flushed")

	rd.stop(t)
	push(t, wt, "while Redis is down", map[string]string{"guestbook/configmap.yaml": fmt.Sprintf(guestbookCM, "no redis")})
	waitConfigMap(t, e, name, "guestbook-ui-config", "GREETING", "no redis")
	second := e.appName("redis2")
	e.createApp(t, e.manifest(t, "guestbook.yaml", second, e.git.URL("redis")))
	e.waitApp(t, second, "a new app converges without Redis", waitSynced, syncedHealthy)
	var list v1alpha1.ApplicationList
	if err := e.admin.Do(t.Context(), http.MethodGet, "/api/v1/applications", nil, &list); err != nil || len(list.Items) != 2 {
		t.Errorf("list without Redis: %d apps, %v", len(list.Items), err)
	}
	if err := e.admin.Do(t.Context(), http.MethodGet, "/api/v1/applications/"+name+"/resource-tree", nil, nil); err != nil {
		t.Errorf("resource tree without Redis: %v", err)
	}
	if err := e.st.Alive(); err != nil {
		t.Fatalf("a service stopped while Redis was down: %v", err)
	}

	rd.start(t)
	push(t, wt, "Redis is back", map[string]string{"guestbook/configmap.yaml": fmt.Sprintf(guestbookCM, "redis again")})
	waitConfigMap(t, e, name, "guestbook-ui-config", "GREETING", "redis again")
	e.waitApp(t, name, "Synced and Healthy", waitLive, syncedHealthy)
	waitFor(t, "the services use Redis again", waitLive, func(ctx context.Context) (bool, error) {
		n, err := rc.DBSize(ctx).Result()
		return err == nil && n > 0, err
	})
	if err := e.st.Alive(); err != nil {
		t.Errorf("a service stopped: %v", err)
	}
	// Nothing lost: the first app kept its history, the second one its resources.
	if a, err := e.getApp(t.Context(), name); err != nil || len(a.Status.History) < 4 {
		t.Errorf("history of %s after the outage: %v %v", name, err, a)
	}
	if _, err := e.st.Kube.AppsV1().Deployments(second).Get(t.Context(), "guestbook-ui", metav1.GetOptions{}); err != nil {
		t.Errorf("the second app's Deployment: %v", err)
	}
}

// redisServer is a redis-server the test can stop and start again on the same port.
type redisServer struct {
	bin, dir, addr string
	cmd            *exec.Cmd
	done           chan struct{}
}

func startRedis(t *testing.T) *redisServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	r := &redisServer{bin: redistest.Binary(t), dir: t.TempDir(), addr: addr}
	r.start(t)
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *redisServer) start(t *testing.T) {
	t.Helper()
	_, port, _ := net.SplitHostPort(r.addr)
	r.cmd = exec.Command(r.bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", r.dir, "--logfile", filepath.Join(r.dir, "redis.log"))
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(r.cmd, r.done)
	rc := redis.NewClient(&redis.Options{Addr: r.addr})
	defer rc.Close()
	waitFor(t, "redis-server on "+r.addr, 10*time.Second, func(ctx context.Context) (bool, error) {
		err := rc.Ping(ctx).Err()
		return err == nil, err
	})
}

func (r *redisServer) stop(t *testing.T) {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	<-r.done
	r.cmd = nil
}
