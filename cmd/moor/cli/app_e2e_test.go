package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/moorcd/moor/cmd/moor/cli"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/test/redistest"
	"github.com/moorcd/moor/test/stack"
	"github.com/moorcd/moor/test/stack/stacktest"
)

// appResult is one in-process run of the CLI.
type appResult struct {
	Stdout, Stderr string
	Err            error
	Message        string // what main prints after "moor: "
	Code           int
}

// appRun runs the CLI in-process with stdin and args, as main does.
func appRun(t *testing.T, stdin string, args ...string) appResult {
	t.Helper()
	root := cli.NewRootCommand()
	var out, errOut bytes.Buffer
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(t.Context())
	r := appResult{Stdout: out.String(), Stderr: errOut.String(), Err: err}
	if err != nil {
		r.Message, r.Code = cli.Explain(err)
	}
	return r
}

// appEnv is a stack (with Redis, so moor-server shows the controller's managed resources), its Git server,
// one repository of examples/, and the CLI's config file.
type appEnv struct {
	st     *stack.Stack
	git    *stack.GitServer
	repo   string // URL of the repository
	name   string // its name on the Git server
	config string
	shas   map[string]string // commit -> placeholder, for normalising output
}

// moor runs the CLI with the env's config file (logged in by TestAppE2E's first step).
func (e *appEnv) moor(t *testing.T, stdin string, args ...string) appResult {
	t.Helper()
	return appRun(t, stdin, append([]string{"--config", e.config}, args...)...)
}

// ok runs the CLI and fails the test unless it exits 0; it returns stdout.
func (e *appEnv) ok(t *testing.T, args ...string) string {
	t.Helper()
	r := e.moor(t, "", args...)
	if r.Err != nil {
		t.Fatalf("moor %s: exit %d: %s\nstdout:\n%s", strings.Join(args, " "), r.Code, r.Message, r.Stdout)
	}
	return r.Stdout
}

// exits runs the CLI and checks its exit code and that its message holds want.
func (e *appEnv) exits(t *testing.T, code int, want string, args ...string) appResult {
	t.Helper()
	r := e.moor(t, "", args...)
	if r.Code != code || !strings.Contains(r.Message, want) {
		t.Errorf("moor %s: exit %d %q, want exit %d with %q\nstdout:\n%s", strings.Join(args, " "), r.Code, r.Message, code, want, r.Stdout)
	}
	return r
}

// app reads an application as `moor app get -o yaml` prints it.
func (e *appEnv) app(t *testing.T, name string) *v1alpha1.Application {
	t.Helper()
	out := e.ok(t, "app", "get", name, "-o", "yaml")
	a := &v1alpha1.Application{}
	if err := yaml.UnmarshalStrict([]byte(out), a); err != nil {
		t.Fatalf("app get -o yaml is not an Application: %v\n%s", err, out)
	}
	return a
}

// waitApp polls the application until cond holds.
func (e *appEnv) waitApp(t *testing.T, name, what string, cond func(*v1alpha1.Application) bool) *v1alpha1.Application {
	t.Helper()
	var a *v1alpha1.Application
	stacktest.Wait(t, 90*time.Second, name+": "+what, func(context.Context) (bool, error) {
		r := e.moor(t, "", "app", "get", name, "-o", "yaml")
		if r.Err != nil {
			return false, r.Err
		}
		a = &v1alpha1.Application{}
		if err := yaml.Unmarshal([]byte(r.Stdout), a); err != nil {
			return false, err
		}
		return cond(a), nil
	})
	return a
}

// cleanupNamespace deletes a destination namespace (created by CreateNamespace=true) when the test ends.
func (e *appEnv) cleanupNamespace(t *testing.T, ns string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.st.Kube.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Logf("delete namespace %s: %v", ns, err)
		}
	})
}

var (
	appTimeRE   = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`)
	appClockRE  = regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d  `)
	appNSRE     = regexp.MustCompile(`moor-test-[0-9a-f]{8}`)
	appPortRE   = regexp.MustCompile(`127\.0\.0\.1:\d+`)
	appAgeRE    = regexp.MustCompile(`(?m)^(Duration: +)\S+$`)
	appSpacesRE = regexp.MustCompile(` {2,}`)
)

// normalize replaces what changes between runs (test namespace, commits, times, ports) with placeholders
// and collapses runs of spaces.
func (e *appEnv) normalize(s string) string {
	s = appNSRE.ReplaceAllString(s, "moor-test-XXXXXXXX")
	s = appTimeRE.ReplaceAllString(s, "YYYY-MM-DDThh:mm:ssZ")
	s = appClockRE.ReplaceAllString(s, "hh:mm:ss  ")
	s = appAgeRE.ReplaceAllString(s, "${1}D")
	s = appPortRE.ReplaceAllStringFunc(s, func(m string) string {
		host, port, _ := strings.Cut(m, ":")
		return host + ":" + strings.Repeat("P", len(port))
	})
	for sha, label := range e.shas {
		s = strings.ReplaceAll(s, sha, strings.Repeat(label, 40)[:40])
		s = strings.ReplaceAll(s, sha[:7], strings.Repeat(label, 7))
	}
	// Ports may differ in width between runs: compare cells, not alignment (the unit goldens check that).
	return appSpacesRE.ReplaceAllString(s, "  ")
}

// TestAppE2E drives login, contexts and every app command against the services running as processes on the
// local cluster, in the order a user would: log in, create (flags and -f), list, get, diff, sync, wait,
// drift, history, rollback, set/unset/patch, manifests, resources, delete, log out.
func TestAppE2E(t *testing.T) {
	redis := redistest.Start(t)
	st := stacktest.Start(t, stacktest.WithRedis(redis.Addr))
	e := &appEnv{st: st, git: stacktest.Git(t, st), config: filepath.Join(t.TempDir(), "config"), shas: map[string]string{}}
	root, err := stack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	e.name = st.Namespace + "-apps"
	if e.repo, err = e.git.CreateRepo(t.Context(), e.name, os.DirFS(filepath.Join(root, "examples"))); err != nil {
		t.Fatal(err)
	}
	guestbook, waves := st.Namespace+"-gb", st.Namespace+"-waves"
	e.cleanupNamespace(t, guestbook)
	e.cleanupNamespace(t, waves)

	t.Run("login", func(t *testing.T) { appTestLogin(t, e) })
	t.Run("create", func(t *testing.T) { appTestCreate(t, e, guestbook, waves) })
	t.Run("list and get", func(t *testing.T) { appTestListGet(t, e, guestbook) })
	t.Run("sync and wait", func(t *testing.T) { appTestSyncWait(t, e, guestbook) })
	t.Run("diff", func(t *testing.T) { appTestDiff(t, e, guestbook) })
	t.Run("history and rollback", func(t *testing.T) { appTestHistoryRollback(t, e, guestbook) })
	t.Run("waves", func(t *testing.T) { appTestWaves(t, e, waves) })
	t.Run("set, unset and patch", func(t *testing.T) { appTestSetPatch(t, e, guestbook) })
	t.Run("manifests and resources", func(t *testing.T) { appTestManifests(t, e, guestbook) })
	t.Run("delete", func(t *testing.T) { appTestDelete(t, e, guestbook, waves) })
	t.Run("logout", func(t *testing.T) { appTestLogout(t, e) })
}

func appTestLogin(t *testing.T, e *appEnv) {
	// No --plaintext: login finds out that the server speaks plaintext and, off a terminal, refuses to send
	// the password unencrypted.
	r := e.moor(t, "", "login", e.st.ServerAddr, "--username", "admin", "--password", "wrong")
	if r.Code != cli.ExitConnectionFailure || !strings.Contains(r.Message, "pass --plaintext") {
		t.Errorf("login without --plaintext to a plaintext server: exit %d %q, want %d", r.Code, r.Message, cli.ExitConnectionFailure)
	}
	r = e.moor(t, "", "login", e.st.ServerAddr, "--plaintext", "--username", "admin", "--password", "wrong")
	if r.Code != cli.ExitAPIError {
		t.Errorf("wrong password: exit %d %q, want %d", r.Code, r.Message, cli.ExitAPIError)
	}
	r = e.moor(t, e.st.AdminPassword+"\n", "login", e.st.ServerAddr, "--plaintext", "--username", "admin", "--name", "e2e")
	if r.Err != nil {
		t.Fatalf("login: exit %d: %s", r.Code, r.Message)
	}
	if !strings.Contains(r.Stdout, "'admin:login' logged in successfully") {
		t.Errorf("login printed:\n%s\n%s", r.Stdout, r.Stderr)
	}
	want := "CURRENT  NAME  SERVER\n*        e2e   " + e.st.ServerAddr + "\n"
	if got := e.ok(t, "context"); got != want {
		t.Errorf("moor context:\n%s\nwant:\n%s", got, want)
	}
	e.exits(t, cli.ExitNotFound, `no context "nope"`, "context", "nope")
	e.exits(t, cli.ExitAPIError, "SSO is not configured", "login", e.st.ServerAddr, "--plaintext", "--sso")
}

func appTestCreate(t *testing.T, e *appEnv, guestbook, waves string) {
	out := e.ok(t, "app", "create", guestbook, "--repo", e.repo, "--path", "guestbook", "--dest-server", "https://kubernetes.default.svc",
		"--dest-namespace", guestbook, "--sync-option", "CreateNamespace=true", "--label", "suite=cli-e2e")
	if out != "application '"+guestbook+"' created\n" {
		t.Errorf("create printed %q", out)
	}
	// The same spec again is no change; another spec needs --upsert.
	e.ok(t, "app", "create", guestbook, "--repo", e.repo, "--path", "guestbook", "--dest-server", "https://kubernetes.default.svc",
		"--dest-namespace", guestbook, "--sync-option", "CreateNamespace=true", "--label", "suite=cli-e2e")
	e.exits(t, cli.ExitAPIError, "already exists", "app", "create", guestbook, "--repo", e.repo, "--path", "kustomize-guestbook",
		"--dest-server", "https://kubernetes.default.svc", "--dest-namespace", guestbook)
	e.exits(t, cli.ExitGeneric, "needs --repo", "app", "create", "x", "--dest-name", "in-cluster")

	manifest := fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: %s
  labels: {suite: cli-e2e}
spec:
  project: default
  source: {repoURL: %s, path: sync-waves, targetRevision: HEAD}
  destination: {server: "https://kubernetes.default.svc", namespace: %s}
  syncPolicy:
    syncOptions: [CreateNamespace=true]
`, waves, e.repo, waves)
	file := filepath.Join(t.TempDir(), "waves.yaml")
	if err := os.WriteFile(file, []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	e.ok(t, "app", "create", "-f", file, "--upsert")
	// moor-server answers reads from its informer cache: the new application shows up a moment later.
	e.waitApp(t, waves, "created from -f", func(a *v1alpha1.Application) bool {
		return a.Spec.Source.Path == "sync-waves" && a.Labels["suite"] == "cli-e2e"
	})
}

func appTestListGet(t *testing.T, e *appEnv, guestbook string) {
	a := e.waitApp(t, guestbook, "compared (OutOfSync, Missing)", func(a *v1alpha1.Application) bool {
		return a.Status.Sync.Status == v1alpha1.SyncStatusCodeOutOfSync && a.Status.Health.Status == v1alpha1.HealthStatusMissing &&
			len(a.Status.Resources) == 3
	})
	e.shas[a.Status.Sync.Revision] = "A"
	if a.APIVersion != "argoproj.io/v1alpha1" || a.Kind != "Application" || a.ManagedFields != nil {
		t.Errorf("-o yaml is not kubectl's shape: %v %v, managedFields %v", a.APIVersion, a.Kind, a.ManagedFields)
	}
	list := e.normalize(e.ok(t, "app", "list", "-l", "suite=cli-e2e", "-o", "wide"))
	appGolden(t, "e2e-list.txt", list)
	appGolden(t, "e2e-get.txt", e.normalize(e.ok(t, "app", "get", guestbook)))
	if names := e.ok(t, "app", "list", "-l", "suite=cli-e2e", "-o", "name"); names != guestbook+"\n"+e.st.Namespace+"-waves\n" {
		t.Errorf("list -o name: %q", names)
	}
	e.exits(t, cli.ExitNotFound, "", "app", "get", "no-such-app")
}

func appTestSyncWait(t *testing.T, e *appEnv, guestbook string) {
	out := e.ok(t, "app", "sync", guestbook, "--timeout", "120")
	lines := appClockRE.FindAllString(out, -1)
	if len(lines) == 0 || !strings.Contains(out, "Phase:              Succeeded") || strings.Contains(out, "\x1b[") {
		t.Errorf("sync output: want progress lines, no escapes, and the result:\n%s", out)
	}
	a := e.waitApp(t, guestbook, "Synced", func(a *v1alpha1.Application) bool { return a.Status.Sync.Status == v1alpha1.SyncStatusCodeSynced })
	if h := a.Status.History; len(h) != 1 {
		t.Errorf("history after one sync: %+v", h)
	}
	out = e.ok(t, "app", "wait", guestbook, "--health", "--sync", "--timeout", "60")
	if out != "application '"+guestbook+"': sync Synced, health Healthy\n" {
		t.Errorf("wait printed %q", out)
	}
	start := time.Now()
	e.exits(t, cli.ExitCommandSpecific, "health Healthy (want Degraded)", "app", "wait", guestbook, "--degraded", "--timeout", "2")
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("a 2 s wait took %v", d)
	}
	e.exits(t, cli.ExitNotFound, "", "app", "wait", "no-such-app", "--timeout", "5")
	e.exits(t, cli.ExitAPIError, "", "app", "terminate-op", guestbook)
}

func appTestDiff(t *testing.T, e *appEnv, guestbook string) {
	r := e.moor(t, "", "app", "diff", guestbook)
	if r.Err != nil || r.Stdout != "" {
		t.Errorf("diff of a synced app: exit %d %q, output:\n%s", r.Code, r.Message, r.Stdout)
	}
	// A change in the cluster, with self-heal off, shows up as a difference.
	patch := []byte(`{"data":{"GREETING":"edited live"}}`)
	if _, err := e.st.Kube.CoreV1().ConfigMaps(guestbook).Patch(t.Context(), "guestbook-ui-config", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	stacktest.Wait(t, 60*time.Second, "diff shows the live edit", func(context.Context) (bool, error) {
		r = e.moor(t, "", "app", "diff", guestbook, "--refresh")
		return r.Code == cli.ExitCommandSpecific, nil
	})
	for _, want := range []string{"===== ConfigMap " + guestbook + "/guestbook-ui-config ======", "-  GREETING: edited live", "+  GREETING: Hello from Git"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("diff output lacks %q:\n%s", want, r.Stdout)
		}
	}
	if !strings.Contains(r.Message, "1 of 3 resources") {
		t.Errorf("diff message %q", r.Message)
	}
	if r := e.moor(t, "", "app", "diff", guestbook, "--exit-code=false"); r.Err != nil {
		t.Errorf("--exit-code=false: exit %d", r.Code)
	}
	// --local renders the checkout in-process: the live edit shows against it too.
	root, _ := stack.RepoRoot()
	r = e.moor(t, "", "app", "diff", guestbook, "--local", filepath.Join(root, "examples", "guestbook"))
	if r.Code != cli.ExitCommandSpecific || !strings.Contains(r.Stdout, "+  GREETING: Hello from Git") || strings.Contains(r.Stdout, "Deployment") {
		t.Errorf("diff --local: exit %d %q:\n%s", r.Code, r.Message, r.Stdout)
	}
	e.exits(t, cli.ExitGeneric, "not found", "app", "diff", "no-such-app")
	e.exits(t, cli.ExitGeneric, "not a directory", "app", "diff", guestbook, "--local", filepath.Join(root, "nope"))
}

func appTestHistoryRollback(t *testing.T, e *appEnv, guestbook string) {
	wt, err := e.git.Clone(t.Context(), e.name, filepath.Join(t.TempDir(), "wt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := wt.WriteFile("guestbook/configmap.yaml", strings.Replace(appReadExample(t, "guestbook/configmap.yaml"), "Hello from Git", "Second version", 1)); err != nil {
		t.Fatal(err)
	}
	sha, err := wt.CommitAndPush(t.Context(), "second version")
	if err != nil {
		t.Fatal(err)
	}
	sha = strings.TrimSpace(sha)
	e.shas[sha] = "B"
	// A sync resolves the branch through the repo-server's ls-remote cache (3 minutes), which the push
	// webhook's refresh renews: wait for that comparison before syncing, or the sync may deploy the old commit.
	e.waitApp(t, guestbook, "compared with the pushed commit", func(a *v1alpha1.Application) bool { return a.Status.Sync.Revision == sha })
	e.ok(t, "app", "sync", guestbook, "--timeout", "120")
	appWaitGreeting(t, e, guestbook, "Second version")
	hist := e.normalize(e.ok(t, "app", "history", guestbook))
	appGolden(t, "e2e-history.txt", hist)
	// Argo CD numbers history from 0, moor-controller from 1: only the order is checked.
	ids := strings.Fields(e.ok(t, "app", "history", guestbook, "-o", "id"))
	if len(ids) != 2 || ids[0] >= ids[1] {
		t.Errorf("history -o id: %q", ids)
	}
	out := e.ok(t, "app", "rollback", guestbook, "--timeout", "120")
	if !strings.Contains(out, "Phase:              Succeeded") {
		t.Errorf("rollback output:\n%s", out)
	}
	appWaitGreeting(t, e, guestbook, "Hello from Git")
	e.exits(t, cli.ExitGeneric, "not a number", "app", "rollback", guestbook, "latest")
}

func appTestWaves(t *testing.T, e *appEnv, waves string) {
	out := e.ok(t, "app", "sync", waves, "--timeout", "180")
	for _, want := range []string{"Phase:              Succeeded", "PostSync", "waves-frontend"} {
		if !strings.Contains(out, want) {
			t.Errorf("sync of the waves lacks %q:\n%s", want, out)
		}
	}
	if lines := appClockRE.FindAllString(out, -1); len(lines) < 2 {
		t.Errorf("want a progress line per step, got %d:\n%s", len(lines), out)
	}
	e.ok(t, "app", "wait", waves, "--timeout", "60")
}

func appTestSetPatch(t *testing.T, e *appEnv, guestbook string) {
	// Each change is read back through moor-server's cache, which may lag a moment behind the write; set and
	// unset write with a JSON patch that tests the spec they read, so quick successive changes are not lost.
	e.ok(t, "app", "set", guestbook, "--sync-option", "PruneLast=true", "--revision", "main", "--revision-history-limit", "5")
	e.ok(t, "app", "unset", guestbook, "--sync-option", "CreateNamespace")
	e.waitApp(t, guestbook, "set and unset", func(a *v1alpha1.Application) bool {
		return a.Spec.Source.TargetRevision == "main" && a.Spec.RevisionHistoryLimit != nil && *a.Spec.RevisionHistoryLimit == 5 &&
			a.Spec.SyncPolicy != nil && strings.Join(a.Spec.SyncPolicy.SyncOptions, ",") == "PruneLast=true"
	})
	e.ok(t, "app", "set", guestbook, "--sync-option", "CreateNamespace=true", "--sync-option", "!PruneLast")
	e.ok(t, "app", "patch", guestbook, "--type", "merge", "--patch", `{"metadata":{"labels":{"tier":"web"}}}`)
	e.ok(t, "app", "patch", guestbook, "--patch", `[{"op":"replace","path":"/spec/source/targetRevision","value":"HEAD"}]`)
	e.waitApp(t, guestbook, "patched", func(a *v1alpha1.Application) bool {
		return a.Labels["tier"] == "web" && a.Spec.Source.TargetRevision == "HEAD" &&
			strings.Join(a.Spec.SyncPolicy.SyncOptions, ",") == "CreateNamespace=true"
	})
	e.exits(t, cli.ExitGeneric, "nothing to set", "app", "set", guestbook)
	e.exits(t, cli.ExitGeneric, "not valid JSON", "app", "patch", guestbook, "--patch", "{")
}

func appTestManifests(t *testing.T, e *appEnv, guestbook string) {
	git := e.ok(t, "app", "manifests", guestbook)
	if strings.Count(git, "\n---\n") != 2 || !strings.Contains(git, "kind: Deployment") {
		t.Errorf("manifests --source git:\n%s", git)
	}
	live := e.ok(t, "app", "manifests", guestbook, "--source", "live")
	if !strings.Contains(live, "uid: ") || !strings.Contains(live, "kind: ConfigMap") {
		t.Errorf("manifests --source live:\n%s", live)
	}
	appGolden(t, "e2e-resources.txt", e.normalize(e.ok(t, "app", "resources", guestbook)))
	tree := e.ok(t, "app", "get", guestbook, "-o", "tree")
	if !strings.Contains(tree, "└─ReplicaSet/guestbook-ui-") || !strings.Contains(tree, "└─Pod/guestbook-ui-") {
		t.Errorf("get -o tree:\n%s", tree)
	}
	target := []string{"--kind", "Deployment", "--resource-name", "guestbook-ui"}
	actions := e.ok(t, append([]string{"app", "actions", "list", guestbook}, target...)...)
	for _, want := range []string{"restart", "pause", "resume"} {
		if !strings.Contains(actions, want) {
			t.Errorf("actions list lacks %s:\n%s", want, actions)
		}
	}
	e.ok(t, append([]string{"app", "actions", "run", guestbook, "restart"}, target...)...)
	dep, err := e.st.Kube.AppsV1().Deployments(guestbook).Get(t.Context(), "guestbook-ui", metav1.GetOptions{})
	if err != nil || dep.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] == "" {
		t.Errorf("actions run restart left no restartedAt on the pod template: %v", err)
	}
}

func appTestDelete(t *testing.T, e *appEnv, guestbook, waves string) {
	r := e.moor(t, "", "app", "delete", waves)
	if r.Code != cli.ExitGeneric || !strings.Contains(r.Message, "pass -y") {
		t.Errorf("delete without an answer: exit %d %q", r.Code, r.Message)
	}
	r = e.moor(t, "n\n", "app", "delete", waves)
	if r.Err != nil || !strings.Contains(r.Stdout, "not deleted") || !strings.Contains(r.Stderr, "Delete application '"+waves+"' and all its resources? [y/n]") {
		t.Errorf("delete answered no: exit %d %q\n%s%s", r.Code, r.Message, r.Stdout, r.Stderr)
	}
	out := e.ok(t, "app", "delete", guestbook, "--cascade", "--wait", "-y", "--timeout", "120")
	if out != "application '"+guestbook+"' deleted\n" {
		t.Errorf("delete printed %q", out)
	}
	if _, err := e.st.Kube.AppsV1().Deployments(guestbook).Get(t.Context(), "guestbook-ui", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the cascade left the Deployment: %v", err)
	}
	e.exits(t, cli.ExitNotFound, "", "app", "get", guestbook)
	e.ok(t, "app", "delete", waves, "--cascade=false", "-y")
}

func appTestLogout(t *testing.T, e *appEnv) {
	if out := e.ok(t, "logout"); out != "Logged out from 'e2e'\n" {
		t.Errorf("logout printed %q", out)
	}
	e.exits(t, cli.ExitAPIError, "moor login", "app", "list")
	if out := e.ok(t, "context", "e2e", "--delete"); out != "Context 'e2e' deleted\n" {
		t.Errorf("context --delete printed %q", out)
	}
	if out := e.ok(t, "context"); out != "CURRENT  NAME  SERVER\n" {
		t.Errorf("contexts after delete: %q", out)
	}
}

// appReadExample reads a file of examples/.
func appReadExample(t *testing.T, path string) string {
	t.Helper()
	root, err := stack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "examples", filepath.FromSlash(path)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// appWaitGreeting waits until the guestbook's live ConfigMap greets with want.
func appWaitGreeting(t *testing.T, e *appEnv, ns, want string) {
	t.Helper()
	stacktest.Wait(t, 30*time.Second, "live GREETING "+want, func(ctx context.Context) (bool, error) {
		cm, err := e.st.Kube.CoreV1().ConfigMaps(ns).Get(ctx, "guestbook-ui-config", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return cm.Data["GREETING"] == want, nil
	})
}
