package app_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/services/apiserver/app"
	"github.com/moorcd/moor/services/apiserver/auth"
	"github.com/moorcd/moor/test/kubetest"
)

func fixtureApps() []*v1alpha1.Application {
	return []*v1alpha1.Application{
		newApp("guestbook"),
		newApp("team-a-app", inProject("team-a")),
		newApp("auto", automated()),
		newApp("busy", withOperation()),
		newApp("running", withOperation(), runningOperation()),
		newApp("other-repo", fromRepo("https://github.com/acme/other.git")),
		newApp("matrix"),
	}
}

func appNames(t *testing.T, body []byte) []string {
	t.Helper()
	var list struct {
		Items []struct {
			Metadata struct{ Name string }
		}
	}
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatalf("decode list: %v: %s", err, body)
	}
	var names []string
	for _, it := range list.Items {
		names = append(names, it.Metadata.Name)
	}
	return names
}

func TestREST(t *testing.T) {
	f := start(t, defaultSettings(), false, fixtureApps()...)
	admin := f.login(t, "admin", f.adminPassword(t))
	alice := f.login(t, "alice", userPassword)
	carol := f.login(t, "carol", userPassword)

	t.Run("login sets the session cookie and a wrong password is 401", func(t *testing.T) {
		code, body, h := f.do(t, http.MethodPost, "/api/v1/session", "", map[string]string{"username": "admin", "password": f.adminPassword(t)})
		if code != http.StatusOK || !strings.Contains(h.Get("Set-Cookie"), auth.CookieName+"=") || !strings.Contains(h.Get("Set-Cookie"), "HttpOnly") {
			t.Errorf("login: %d %s cookie %q", code, body, h.Get("Set-Cookie"))
		}
		code, body, _ = f.do(t, http.MethodPost, "/api/v1/session", "", map[string]string{"username": "admin", "password": "wrong-password"})
		if code != http.StatusUnauthorized || !strings.Contains(string(body), "invalid username or password") {
			t.Errorf("wrong password: %d %s", code, body)
		}
	})

	t.Run("logout ends the session", func(t *testing.T) {
		token := f.login(t, "admin", f.adminPassword(t))
		if code, body, _ := f.do(t, http.MethodGet, "/api/v1/session/userinfo", token, nil); code != http.StatusOK {
			t.Fatalf("userinfo before the logout: %d %s", code, body)
		}
		code, body, h := f.do(t, http.MethodDelete, "/api/v1/session", token, nil)
		if code != http.StatusOK || !strings.Contains(h.Get("Set-Cookie"), auth.CookieName+"=;") {
			t.Fatalf("logout: %d %s cookie %q", code, body, h.Get("Set-Cookie"))
		}
		if code, body, _ := f.do(t, http.MethodGet, "/api/v1/applications", token, nil); code != http.StatusUnauthorized {
			t.Errorf("a call with the ended session: %d %s, want 401", code, body)
		}
		if code, body, _ := f.do(t, http.MethodGet, "/api/v1/applications", admin, nil); code != http.StatusOK {
			t.Errorf("another session of the same user after the logout: %d %s", code, body)
		}
	})

	t.Run("list needs a token and filters by RBAC", func(t *testing.T) {
		if code, body, _ := f.do(t, http.MethodGet, "/api/v1/applications", "", nil); code != http.StatusUnauthorized {
			t.Errorf("without token: %d %s", code, body)
		}
		all := []string{"auto", "busy", "guestbook", "matrix", "other-repo", "running", "team-a-app"}
		for _, tc := range []struct {
			name, token, query string
			want               []string
		}{
			{"admin", admin, "", all},
			{"readonly", alice, "", all},
			{"carol sees team-a only", carol, "", []string{"team-a-app"}},
			{"project filter", admin, "?projects=team-a", []string{"team-a-app"}},
			{"repo filter", admin, "?repo=https://github.com/acme/other", []string{"other-repo"}},
			{"name filter", admin, "?name=guestbook", []string{"guestbook"}},
		} {
			code, body, _ := f.do(t, http.MethodGet, "/api/v1/applications"+tc.query, tc.token, nil)
			if code != http.StatusOK {
				t.Errorf("%s: %d %s", tc.name, code, body)
				continue
			}
			if got := appNames(t, body); !slices.Equal(got, tc.want) {
				t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
			}
		}
	})

	t.Run("the cookie authenticates REST calls", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, f.base+"/api/v1/session/userinfo", nil)
		req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: alice})
		resp, err := f.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var info struct {
			LoggedIn bool
			Username string
		}
		_ = json.NewDecoder(resp.Body).Decode(&info)
		if resp.StatusCode != http.StatusOK || !info.LoggedIn || info.Username != "alice" {
			t.Errorf("userinfo by cookie: %d %+v", resp.StatusCode, info)
		}
	})

	t.Run("get answers 404 or 403 without leaking existence", func(t *testing.T) {
		for _, tc := range []struct {
			name, token, app string
			want             int
		}{
			{"admin missing", admin, "missing", http.StatusNotFound},
			{"carol missing", carol, "missing", http.StatusForbidden},
			{"carol forbidden", carol, "guestbook", http.StatusForbidden},
			{"carol allowed", carol, "team-a-app", http.StatusOK},
			{"readonly", alice, "guestbook", http.StatusOK},
		} {
			code, body, _ := f.do(t, http.MethodGet, "/api/v1/applications/"+tc.app, tc.token, nil)
			if code != tc.want {
				t.Errorf("%s: %d %s, want %d", tc.name, code, body, tc.want)
			}
		}
		_, body, _ := f.do(t, http.MethodGet, "/api/v1/applications/guestbook", carol, nil)
		if !strings.Contains(string(body), "permission denied: applications, get, default/guestbook") {
			t.Errorf("403 body %s does not name resource, action and object", body)
		}
		_, body, _ = f.do(t, http.MethodGet, "/api/v1/applications/guestbook", admin, nil)
		if !strings.Contains(string(body), `"apiVersion":"argoproj.io/v1alpha1"`) || !strings.Contains(string(body), `"repoURL":"`+repoURL+`"`) {
			t.Errorf("get body is not the Application's Kubernetes JSON: %s", body)
		}
	})

	t.Run("sync writes the operation", func(t *testing.T) {
		if code, body, _ := f.do(t, http.MethodPost, "/api/v1/applications/guestbook/sync", alice, map[string]any{}); code != http.StatusForbidden {
			t.Errorf("readonly sync: %d %s", code, body)
		}
		code, body, _ := f.do(t, http.MethodPost, "/api/v1/applications/guestbook/sync", admin,
			map[string]any{"prune": true, "dryRun": true, "syncOptions": map[string]any{"items": []string{"ServerSideApply=true"}},
				"resources": []map[string]string{{"kind": "ConfigMap", "name": "cm"}}})
		if code != http.StatusOK {
			t.Fatalf("sync: %d %s", code, body)
		}
		op := f.getApp(t, "guestbook").Operation
		if op == nil || op.Sync == nil || !op.Sync.Prune || !op.Sync.DryRun || op.InitiatedBy == nil || op.InitiatedBy.Username != "admin" ||
			!slices.Equal(op.Sync.SyncOptions, v1alpha1.SyncOptions{"ServerSideApply=true"}) || len(op.Sync.Resources) != 1 {
			t.Errorf("operation written: %+v", op)
		}
		code, body, _ = f.do(t, http.MethodPost, "/api/v1/applications/guestbook/sync", admin, map[string]any{})
		if code != http.StatusBadRequest || !strings.Contains(string(body), "another operation is already in progress") {
			t.Errorf("second sync: %d %s", code, body)
		}
	})

	t.Run("rollback is refused while automated", func(t *testing.T) {
		code, body, _ := f.do(t, http.MethodPost, "/api/v1/applications/auto/rollback", admin, map[string]any{"id": 1})
		if code != http.StatusBadRequest || !strings.Contains(string(body), "auto-sync") {
			t.Errorf("rollback: %d %s", code, body)
		}
	})

	t.Run("terminate marks the running operation", func(t *testing.T) {
		if code, body, _ := f.do(t, http.MethodDelete, "/api/v1/applications/other-repo/operation", admin, nil); code != http.StatusBadRequest {
			t.Errorf("terminate without operation: %d %s", code, body)
		}
		if code, body, _ := f.do(t, http.MethodDelete, "/api/v1/applications/running/operation", admin, nil); code != http.StatusOK {
			t.Fatalf("terminate: %d %s", code, body)
		}
		if st := f.getApp(t, "running").Status.OperationState; st == nil || st.Phase != v1alpha1.OperationTerminating {
			t.Errorf("operation state %+v, want Terminating", st)
		}
		if code, body, _ := f.do(t, http.MethodDelete, "/api/v1/applications/busy/operation", admin, nil); code != http.StatusOK {
			t.Fatalf("terminate a pending operation: %d %s", code, body)
		}
		if op := f.getApp(t, "busy").Operation; op != nil {
			t.Errorf("pending operation %+v not withdrawn", op)
		}
	})

	t.Run("swagger and version are public", func(t *testing.T) {
		for _, p := range []string{"/swagger.json", "/api/version", "/api/v1/settings"} {
			if code, body, _ := f.do(t, http.MethodGet, p, "", nil); code != http.StatusOK || !json.Valid(body) {
				t.Errorf("%s: %d", p, code)
			}
		}
	})
}

func TestAnonymousAccess(t *testing.T) {
	s := defaultSettings()
	s.cm["users.anonymous.enabled"] = "true"
	s.rbac["policy.default"] = "role:readonly"
	f := start(t, s, false, newApp("guestbook"))
	apps := apiv1.NewApplicationServiceClient(f.conn)
	if _, err := apps.Get(t.Context(), &apiv1.ApplicationServiceGetRequest{Name: "guestbook"}); err != nil {
		t.Errorf("anonymous get with policy.default role:readonly: %v", err)
	}
	_, err := apps.Sync(t.Context(), &apiv1.ApplicationServiceSyncRequest{Name: "guestbook"})
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("anonymous sync: %v, want PermissionDenied", err)
	}
}

func TestReflectionListsServices(t *testing.T) {
	f := start(t, defaultSettings(), false)
	stream, err := rpb.NewServerReflectionClient(f.conn).ServerReflectionInfo(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	for _, want := range []string{"moor.api.v1.ApplicationService", "moor.api.v1.SessionService", "moor.api.v1.VersionService", "grpc.health.v1.Health"} {
		if !slices.Contains(names, want) {
			t.Errorf("reflection lists %v, want %s among them", names, want)
		}
	}
	// Describe a method's file like grpcurl does, then call it.
	if err := stream.Send(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "moor.api.v1.VersionService"}}); err != nil {
		t.Fatal(err)
	}
	if resp, err := stream.Recv(); err != nil || len(resp.GetFileDescriptorResponse().GetFileDescriptorProto()) == 0 {
		t.Errorf("file containing VersionService: %v %v", resp, err)
	}
	if _, err := apiv1.NewVersionServiceClient(f.conn).Version(t.Context(), &apiv1.VersionServiceVersionRequest{}); err != nil {
		t.Errorf("version: %v", err)
	}
}

func TestWebhook(t *testing.T) {
	f := start(t, defaultSettings(), false, newApp("guestbook"), newApp("other-repo", fromRepo("https://github.com/acme/other.git")))
	payload, err := os.ReadFile("../../../pkg/webhook/testdata/github-push.json")
	if err != nil {
		t.Fatal(err)
	}
	post := func(body []byte, secret string) (int, string) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, f.base+"/api/webhook", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "push")
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		resp, err := f.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	refreshed := func(name string) bool { return refreshRequested(t, f.ns)[name] }

	if code, body := post(payload, "wrong-secret"); code != http.StatusUnauthorized {
		t.Errorf("bad signature: %d %s", code, body)
	}
	other := []byte(strings.ReplaceAll(string(payload), "platform-config", "unrelated-repo"))
	if code, body := post(other, webhookSecret); code != http.StatusOK || !strings.Contains(body, `"refreshed":0`) {
		t.Errorf("push for another repository: %d %s", code, body)
	}
	if refreshed("guestbook") || refreshed("other-repo") {
		t.Fatal("a rejected or unrelated push refreshed an application")
	}
	if code, body := post(payload, webhookSecret); code != http.StatusOK || !strings.Contains(body, `"refreshed":1`) {
		t.Errorf("valid push: %d %s", code, body)
	}
	if !refreshed("guestbook") {
		t.Error("no refresh was requested for guestbook after a matching push")
	}
	if refreshed("other-repo") {
		t.Error("other-repo was refreshed by a push to another repository")
	}
}

func TestTLS(t *testing.T) {
	f := start(t, defaultSettings(), true)
	kc := kubetest.Start(t)
	if _, err := kc.Kube.CoreV1().Secrets(f.ns).Get(t.Context(), app.TLSSecretName, metav1.GetOptions{}); err != nil {
		t.Fatalf("certificate secret: %v", err)
	}
	resp, err := f.http.Get(f.base + "/api/version")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
		t.Errorf("REST over TLS: %d %s, want 200 over HTTP/2", resp.StatusCode, resp.Proto)
	}
	conn, err := grpc.NewClient(f.addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{InsecureSkipVerify: true})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := contextWithTimeout(t, 10*time.Second)
	defer cancel()
	if _, err := apiv1.NewVersionServiceClient(conn).Version(ctx, &apiv1.VersionServiceVersionRequest{}); err != nil {
		t.Errorf("gRPC over TLS: %v", err)
	}
	_, err = apiv1.NewApplicationServiceClient(conn).List(ctx, &apiv1.ApplicationServiceListRequest{})
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("list without token over TLS: %v", err)
	}
}
