package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/moorcd/moor/cmd/moor/cli"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/test/stack"
	"github.com/moorcd/moor/test/stack/stacktest"
)

// admOffline are global flags pointing at a server that does not exist and an empty config, for commands
// that must fail before they call the server.
func admOffline(t *testing.T) []string {
	t.Helper()
	return []string{"--server", "127.0.0.1:1", "--plaintext", "--auth-token", "x", "--config", filepath.Join(t.TempDir(), "config")}
}

// admWriteFile writes content to name in a fresh temporary directory and returns its path.
func admWriteFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// admUsageCase is a command line the CLI must refuse before it talks to the server.
type admUsageCase struct {
	name  string
	stdin string
	args  []string
	want  string // part of the error line
}

// admCheckUsage runs each case against an unreachable server: each must exit 20 (not 11, which would mean
// the server was called) with its message.
func admCheckUsage(t *testing.T, cases []admUsageCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := appRun(t, tc.stdin, append(admOffline(t), tc.args...)...)
			if r.Code != cli.ExitGeneric || !strings.Contains(r.Message, tc.want) {
				t.Errorf("exit %d %q, want exit %d with %q", r.Code, r.Message, cli.ExitGeneric, tc.want)
			}
		})
	}
}

func TestAdmProjFlags(t *testing.T) {
	t.Parallel()
	wrongKind := admWriteFile(t, "app.yaml", "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: x}\n")
	named := admWriteFile(t, "proj.yaml", "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {name: shop}\nspec: {sourceRepos: ['*']}\n")
	unknownField := admWriteFile(t, "bad.yaml", "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {name: shop}\nspec: {sourceRepo: ['*']}\n")
	admCheckUsage(t, []admUsageCase{
		{name: "no name", args: []string{"proj", "create"}, want: "give the project's NAME"},
		{name: "dest without namespace", args: []string{"proj", "create", "p", "-d", "https://kubernetes.default.svc"}, want: "want SERVER,NAMESPACE"},
		{name: "dest with three parts", args: []string{"proj", "create", "p", "--dest", "a,b,c"}, want: "want SERVER,NAMESPACE"},
		{name: "bad group kind", args: []string{"proj", "create", "p", "--allow-cluster-resource", "a/b/c"}, want: "want GROUP/KIND"},
		{name: "empty kind", args: []string{"proj", "create", "p", "--deny-namespaced-resource", "apps/"}, want: "want GROUP/KIND"},
		{name: "missing file", args: []string{"proj", "create", "-f", filepath.Join(t.TempDir(), "nope.yaml")}, want: "reading"},
		{name: "file of another kind", args: []string{"proj", "create", "-f", wrongKind}, want: `kind is "Application"`},
		{name: "file with unknown field", args: []string{"proj", "create", "-f", unknownField}, want: "not an AppProject"},
		{name: "name differs from file", args: []string{"proj", "create", "other", "-f", named}, want: `differs from the file's "shop"`},
		{name: "get output", args: []string{"proj", "get", "p", "-o", "table"}, want: `unknown output format "table"`},
		{name: "list output", args: []string{"proj", "list", "-o", "tree"}, want: "unknown output format"},
		{name: "policy permission", args: []string{"proj", "role", "add-policy", "p", "r", "-a", "get", "-o", "*", "-p", "maybe"}, want: "allow or deny"},
		{name: "policy without action", args: []string{"proj", "role", "add-policy", "p", "r", "-o", "*"}, want: "--action and --object"},
		{name: "token lifetime", args: []string{"proj", "role", "create-token", "p", "r", "-e", "3x"}, want: "--expires-in"},
		{name: "delete-token without iat", args: []string{"proj", "role", "delete-token", "p", "r"}, want: "ISSUED_AT or --id"},
		{name: "delete-token iat not a number", args: []string{"proj", "role", "delete-token", "p", "r", "yesterday"}, want: "Unix seconds"},
		{name: "role create arity", args: []string{"proj", "role", "create", "p"}, want: "accepts 2 arg(s)"},
	})
}

// TestAdmServerUnreachable: a call that cannot reach the server exits 11 with a hint.
func TestAdmServerUnreachable(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"proj", "list"}, {"repo", "list"}, {"cluster", "list"}, {"account", "list"}, {"repocreds", "list"}} {
		r := appRun(t, "", append(admOffline(t), args...)...)
		if r.Code != cli.ExitConnectionFailure || !strings.Contains(r.Message, "cannot reach the server") {
			t.Errorf("%v: exit %d %q, want exit 11 naming the server", args, r.Code, r.Message)
		}
	}
}

// admEnv is a running stack and a CLI logged in to it as admin.
type admEnv struct {
	st     *stack.Stack
	token  string // admin's session token, passed as --auth-token
	config string // the CLI's config file (empty unless a test writes it)
}

// TestAdmE2E runs the proj, repo, repocreds, cluster, account and version commands against the services
// running as processes on the local cluster. One stack serves every part, in order; account runs last
// because it changes admin's password.
func TestAdmE2E(t *testing.T) {
	st := stacktest.Start(t)
	e := &admEnv{st: st, config: filepath.Join(t.TempDir(), "config")}
	token, err := st.Login(t.Context(), "admin", st.AdminPassword)
	if err != nil {
		t.Fatal(err)
	}
	e.token = token
	t.Run("version", func(t *testing.T) { admTestVersion(t, e) })
	t.Run("proj", func(t *testing.T) { admTestProj(t, e) })
	t.Run("repo", func(t *testing.T) { admTestRepo(t, e) })
	t.Run("repocreds", func(t *testing.T) { admTestRepoCreds(t, e) })
	t.Run("cluster", func(t *testing.T) { admTestCluster(t, e) })
	t.Run("account", func(t *testing.T) { admTestAccount(t, e) })
}

// run runs the CLI against the stack with admin's token.
func (e *admEnv) run(t *testing.T, stdin string, args ...string) appResult {
	t.Helper()
	return e.runAs(t, e.token, stdin, args...)
}

// runAs runs the CLI against the stack with token (none when empty: the config file's).
func (e *admEnv) runAs(t *testing.T, token, stdin string, args ...string) appResult {
	t.Helper()
	global := []string{"--server", e.st.ServerAddr, "--plaintext", "--config", e.config}
	if token != "" {
		global = append(global, "--auth-token", token)
	}
	return appRun(t, stdin, append(global, args...)...)
}

// ok runs the CLI as admin and fails the test unless it succeeds; it returns stdout.
func (e *admEnv) ok(t *testing.T, args ...string) string {
	t.Helper()
	r := e.run(t, "", args...)
	if r.Err != nil {
		t.Fatalf("moor %s: exit %d: %s", strings.Join(args, " "), r.Code, r.Message)
	}
	return r.Stdout
}

// fails runs the CLI as admin and checks that it exits with code and a message holding want.
func (e *admEnv) fails(t *testing.T, code int, want string, args ...string) {
	t.Helper()
	r := e.run(t, "", args...)
	if r.Code != code || !strings.Contains(r.Message, want) {
		t.Errorf("moor %s: exit %d %q, want exit %d with %q", strings.Join(args, " "), r.Code, r.Message, code, want)
	}
}

var (
	admTimeRE = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`)
	admUnixRE = regexp.MustCompile(`\b1\d{9}\b`)
	admPortRE = regexp.MustCompile(`(127\.0\.0\.1|localhost):(\d+)`)
)

// admEventually waits up to 10 s for cond: moor-server sees some writes (revocations) a moment after them.
func admEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	stacktest.Wait(t, 10*time.Second, what, func(context.Context) (bool, error) { return cond(), nil })
}

// admNormalize replaces times and loopback ports with placeholders of the same width, so that golden tables
// keep their alignment.
func admNormalize(s string) string {
	s = admTimeRE.ReplaceAllString(s, "YYYY-MM-DDThh:mm:ssZ")
	s = admUnixRE.ReplaceAllString(s, "UUUUUUUUUU")
	return admPortRE.ReplaceAllStringFunc(s, func(m string) string {
		host, port, _ := strings.Cut(m, ":")
		return host + ":" + strings.Repeat("P", len(port))
	})
}

// admProject reads a project as proj get -o json prints it.
func admProject(t *testing.T, e *admEnv, name string) *v1alpha1.AppProject {
	t.Helper()
	p := &v1alpha1.AppProject{}
	if err := json.Unmarshal([]byte(e.ok(t, "proj", "get", name, "-o", "json")), p); err != nil {
		t.Fatalf("proj get -o json: %v", err)
	}
	return p
}

func admTestProj(t *testing.T, e *admEnv) {
	e.ok(t, "proj", "create", "shop", "--description", "The shop",
		"-d", "https://kubernetes.default.svc,shop", "-s", "https://git.example.com/shop.git",
		"--allow-cluster-resource", "/Namespace", "--deny-namespaced-resource", "apps/DaemonSet",
		"--orphaned-resources-warn")
	// The same spec again is fine; a different one needs --upsert.
	e.ok(t, "proj", "create", "shop", "--description", "The shop",
		"-d", "https://kubernetes.default.svc,shop", "-s", "https://git.example.com/shop.git",
		"--allow-cluster-resource", "/Namespace", "--deny-namespaced-resource", "apps/DaemonSet",
		"--orphaned-resources-warn")
	e.fails(t, cli.ExitAPIError, "different spec", "proj", "create", "shop", "-s", "https://git.example.com/other.git")

	file := admWriteFile(t, "billing.yaml", `apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: billing
spec:
  description: Billing
  sourceRepos: ["https://git.example.com/billing.git"]
  destinations: [{server: "https://kubernetes.default.svc", namespace: billing}]
`)
	e.ok(t, "proj", "create", "-f", file)
	e.ok(t, "proj", "create", "-f", file, "--upsert", "-s", "https://git.example.com/billing-charts.git")
	if got := admProject(t, e, "billing").Spec.SourceRepos; len(got) != 2 {
		t.Errorf("billing sources after --upsert: %v", got)
	}

	e.ok(t, "proj", "add-source", "shop", "https://git.example.com/shop-config.git")
	if r := e.run(t, "", "proj", "add-source", "shop", "https://git.example.com/shop-config.git"); r.Err != nil || !strings.Contains(r.Stderr, "already permitted") {
		t.Errorf("add-source twice: %v %q", r.Err, r.Stderr)
	}
	e.ok(t, "proj", "add-destination", "shop", "in-cluster", "shop-*", "--name")
	e.ok(t, "proj", "add-destination", "shop", "https://kubernetes.default.svc", "shop-tmp")
	e.ok(t, "proj", "remove-destination", "shop", "https://kubernetes.default.svc", "shop-tmp")
	e.ok(t, "proj", "add-source", "shop", "https://git.example.com/tmp.git")
	e.ok(t, "proj", "remove-source", "shop", "https://git.example.com/tmp.git")
	p := admProject(t, e, "shop")
	wantDest := []v1alpha1.ApplicationDestination{{Server: "https://kubernetes.default.svc", Namespace: "shop"}, {Name: "in-cluster", Namespace: "shop-*"}}
	if len(p.Spec.Destinations) != 2 || p.Spec.Destinations[0] != wantDest[0] || p.Spec.Destinations[1] != wantDest[1] {
		t.Errorf("destinations = %+v, want %+v", p.Spec.Destinations, wantDest)
	}
	if len(p.Spec.SourceRepos) != 2 || p.ManagedFields != nil {
		t.Errorf("sources = %v, managedFields shown: %v", p.Spec.SourceRepos, p.ManagedFields != nil)
	}

	// Roles, policies and tokens.
	e.ok(t, "proj", "role", "create", "shop", "ci", "--description", "CI pipeline")
	e.ok(t, "proj", "role", "add-policy", "shop", "ci", "-a", "sync", "-o", "*")
	e.ok(t, "proj", "role", "add-policy", "shop", "ci", "-a", "get", "-o", "*", "-p", "allow")
	e.ok(t, "proj", "role", "add-policy", "shop", "ci", "-a", "delete", "-o", "*", "-p", "deny")
	e.ok(t, "proj", "role", "remove-policy", "shop", "ci", "-a", "delete", "-o", "*", "-p", "deny")
	goldenFile(t, "proj-role-list.golden", e.ok(t, "proj", "role", "list", "shop"))

	out := e.ok(t, "proj", "role", "create-token", "shop", "ci", "--id", "first", "--expires-in", "1d")
	if !strings.Contains(out, "Token created for proj:shop:ci") || !strings.Contains(out, "ID:          first") {
		t.Errorf("create-token printed:\n%s", out)
	}
	token := strings.TrimSpace(e.ok(t, "proj", "role", "create-token", "shop", "ci", "-t", "--id", "second"))
	if strings.Count(token, ".") != 2 || strings.ContainsAny(token, " \n") {
		t.Fatalf("create-token -t printed %q, want only a JWT", token)
	}
	e.fails(t, cli.ExitAPIError, "already has a token", "proj", "role", "create-token", "shop", "ci", "--id", "second")
	for action, want := range map[string]string{"sync": "yes", "delete": "no"} {
		r := e.runAs(t, token, "", "account", "can-i", action, "applications", "shop/web")
		if r.Err != nil || strings.TrimSpace(r.Stdout) != want {
			t.Errorf("role token can-i %s: %q %v, want %s", action, r.Stdout, r.Err, want)
		}
	}
	goldenFile(t, "proj-role-get.golden", admNormalize(e.ok(t, "proj", "role", "get", "shop", "ci")))

	// delete-token by ISSUED-AT (as list-tokens shows it) revokes the token.
	var iat string
	for _, line := range strings.Split(e.ok(t, "proj", "role", "list-tokens", "shop", "ci"), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "second" {
			iat = f[1]
		}
	}
	e.ok(t, "proj", "role", "delete-token", "shop", "ci", "--id", "first")
	e.ok(t, "proj", "role", "delete-token", "shop", "ci", iat)
	admEventually(t, "the revoked role token is refused", func() bool {
		return e.runAs(t, token, "", "account", "can-i", "sync", "applications", "shop/web").Code == cli.ExitAPIError
	})
	if out := e.ok(t, "proj", "role", "list-tokens", "shop", "ci"); strings.Count(out, "\n") != 1 {
		t.Errorf("tokens left after delete-token:\n%s", out)
	}
	e.fails(t, cli.ExitNotFound, `no role "nope"`, "proj", "role", "get", "shop", "nope")

	goldenFile(t, "proj-get.golden", e.ok(t, "proj", "get", "shop"))
	goldenFile(t, "proj-list.golden", e.ok(t, "proj", "list"))
	if out := e.ok(t, "proj", "list", "-o", "name"); out != "billing\ndefault\nshop\n" {
		t.Errorf("proj list -o name = %q", out)
	}
	var list []v1alpha1.AppProject
	if err := json.Unmarshal([]byte(e.ok(t, "proj", "list", "-o", "json")), &list); err != nil || len(list) != 3 {
		t.Errorf("proj list -o json: %d projects, %v", len(list), err)
	}

	e.ok(t, "proj", "role", "delete", "shop", "ci")
	e.ok(t, "proj", "delete", "shop", "billing")
	e.fails(t, cli.ExitNotFound, `project "shop" not found`, "proj", "get", "shop")
}

func admTestVersion(t *testing.T, e *admEnv) {
	out := e.ok(t, "version")
	if !regexp.MustCompile(`(?s)^moor: v\S+\n.*\nmoor-server: v\S+\n  .*GoVersion: go`).MatchString(out) {
		t.Errorf("version printed:\n%s", out)
	}
	var doc struct {
		Client map[string]string `json:"client"`
		Server map[string]string `json:"server"`
	}
	if err := json.Unmarshal([]byte(e.ok(t, "version", "-o", "json")), &doc); err != nil || doc.Client["version"] == "" || doc.Server["Version"] == "" {
		t.Errorf("version -o json: %+v %v", doc, err)
	}
	if out := e.ok(t, "version", "--short"); !regexp.MustCompile(`^moor: \S+\nmoor-server: \S+\n$`).MatchString(out) {
		t.Errorf("version --short printed %q", out)
	}
	// The server's version needs no login.
	if r := e.runAs(t, "", "", "version", "-o", "short"); r.Err != nil {
		t.Errorf("version without a token: %s", r.Message)
	}
}
