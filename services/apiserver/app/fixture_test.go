package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/client/clientset/versioned"
	"github.com/moorcd/moor/pkg/session"
	"github.com/moorcd/moor/services/apiserver/app"
	"github.com/moorcd/moor/test/kubetest"
)

func TestMain(m *testing.M) { kubetest.Main(m) }

const (
	repoURL       = "https://github.com/acme/platform-config.git"
	webhookSecret = "hook-s3cret"
	userPassword  = "p4ssw0rd-for-tests"
)

// fixture is a running api-server over a fresh namespace.
type fixture struct {
	ns     string
	client versioned.Interface
	app    *app.App
	addr   string
	base   string
	http   *http.Client
	conn   *grpc.ClientConn
}

// appOption changes a fixture application.
type appOption func(*v1alpha1.Application)

func inProject(p string) appOption { return func(a *v1alpha1.Application) { a.Spec.Project = p } }
func fromRepo(u string) appOption  { return func(a *v1alpha1.Application) { a.Spec.Source.RepoURL = u } }
func automated() appOption {
	return func(a *v1alpha1.Application) {
		a.Spec.SyncPolicy = &v1alpha1.SyncPolicy{Automated: &v1alpha1.SyncPolicyAutomated{}}
	}
}
func withOperation() appOption {
	return func(a *v1alpha1.Application) {
		a.Operation = &v1alpha1.Operation{Sync: &v1alpha1.SyncOperation{}, InitiatedBy: &v1alpha1.OperationInitiator{Username: "someone"}}
	}
}

func runningOperation() appOption {
	return func(a *v1alpha1.Application) {
		a.Status.OperationState = &v1alpha1.OperationState{Operation: *a.Operation, Phase: v1alpha1.OperationRunning, StartedAt: metav1.Now()}
	}
}

func newApp(name string, opts ...appOption) *v1alpha1.Application {
	a := &v1alpha1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.ApplicationSpec{
			Project:     "default",
			Source:      &v1alpha1.ApplicationSource{RepoURL: repoURL, Path: "apps/guestbook", TargetRevision: "HEAD"},
			Destination: v1alpha1.ApplicationDestination{Server: "https://kubernetes.default.svc", Namespace: "default"},
		},
	}
	for _, o := range opts {
		o(a)
	}
	return a
}

func createApps(t testing.TB, client versioned.Interface, ns string, apps ...*v1alpha1.Application) {
	t.Helper()
	for _, a := range apps {
		if _, err := client.ArgoprojV1alpha1().Applications(ns).Create(t.Context(), a, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create app %s: %v", a.Name, err)
		}
	}
}

// settings are argocd-cm, argocd-rbac-cm and the webhook secret written before the server starts.
type settings struct {
	cm, rbac map[string]string
	// repoServer is the repo-server's address; "" is an unreachable one.
	repoServer string
}

func defaultSettings() settings {
	return settings{
		cm: map[string]string{"accounts.alice": "login", "accounts.carol": "login"},
		rbac: map[string]string{"policy.csv": "g, alice, role:readonly\n" +
			"p, carol, applications, get, team-a/*, allow\n" +
			"p, carol, projects, get, team-a, allow\n"},
	}
}

// start writes the settings, the default and team-a projects and apps into a fresh namespace, then starts
// an api-server (insecure unless tlsOn) on a loopback port and waits until it answers.
func start(t testing.TB, s settings, tlsOn bool, apps ...*v1alpha1.Application) *fixture {
	t.Helper()
	kc := kubetest.Start(t)
	kc.InstallCRDs(t)
	ns := kc.Namespace(t)
	client, err := versioned.NewForConfig(kc.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for name, data := range map[string]map[string]string{session.ConfigMapName: s.cm, app.RBACConfigMapName: s.rbac} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: data}
		if _, err := kc.Kube.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: session.SecretName}, Data: map[string][]byte{"webhook.github.secret": []byte(webhookSecret)}}
	if _, err := kc.Kube.CoreV1().Secrets(ns).Create(ctx, sec, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"default", "team-a"} {
		proj := &v1alpha1.AppProject{ObjectMeta: metav1.ObjectMeta{Name: p}, Spec: v1alpha1.AppProjectSpec{
			SourceRepos: []string{"*"}, Destinations: []v1alpha1.ApplicationDestination{{Server: "*", Namespace: "*"}}}}
		if _, err := client.ArgoprojV1alpha1().AppProjects(ns).Create(ctx, proj, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	createApps(t, client, ns, apps...)

	opts := app.NewOptions()
	opts.Namespace, opts.RepoServer, opts.Insecure = ns, "127.0.0.1:1", !tlsOn
	if s.repoServer != "" {
		opts.RepoServer = s.repoServer
	}
	opts.ShutdownGrace = 2 * time.Second
	a, err := app.New(opts, kc.Config, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(sctx, lis, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	f := &fixture{ns: ns, client: client, app: a, addr: lis.Addr().String(), base: "http://" + lis.Addr().String(), http: &http.Client{Timeout: 30 * time.Second}}
	if tlsOn {
		f.base = "https://" + f.addr
		f.http.Transport = insecureTLSTransport()
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := f.http.Get(f.base + "/api/version")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("api-server did not answer within 30s: %v", err)
		}
		select {
		case err := <-done:
			t.Fatalf("api-server stopped: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if !tlsOn {
		conn, err := grpc.NewClient(f.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		f.conn = conn
	}
	for _, user := range []string{"alice", "carol"} {
		if _, ok := s.cm["accounts."+user]; ok {
			if err := a.Store().SetPassword(ctx, user, userPassword); err != nil {
				t.Fatal(err)
			}
		}
	}
	return f
}

// adminPassword reads the initial admin password the server bootstrapped.
func (f *fixture) adminPassword(t testing.TB) string {
	t.Helper()
	kc := kubetest.Start(t)
	s, err := kc.Kube.CoreV1().Secrets(f.ns).Get(t.Context(), session.InitialAdminSecretName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return string(s.Data[session.InitialAdminPasswordKey])
}

// login logs in over REST and returns the token.
func (f *fixture) login(t testing.TB, user, password string) string {
	t.Helper()
	code, body, _ := f.do(t, http.MethodPost, "/api/v1/session", "", map[string]string{"username": user, "password": password})
	if code != http.StatusOK {
		t.Fatalf("login %s: %d %s", user, code, body)
	}
	var out struct{ Token string }
	if err := json.Unmarshal(body, &out); err != nil || out.Token == "" {
		t.Fatalf("login %s: no token in %s", user, body)
	}
	return out.Token
}

// do sends a REST request with an optional bearer token and JSON body.
func (f *fixture) do(t testing.TB, method, path, token string, body any) (int, []byte, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, f.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := f.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b, resp.Header
}

// bearer returns a context that sends token over gRPC ("" sends none).
func bearer(ctx context.Context, token string) context.Context {
	if token == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

func (f *fixture) getApp(t *testing.T, name string) *v1alpha1.Application {
	t.Helper()
	a, err := f.client.ArgoprojV1alpha1().Applications(f.ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return a
}
