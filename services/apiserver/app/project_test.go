package app_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/kubeproto"
	"github.com/moorcd/moor/pkg/session"
	"github.com/moorcd/moor/services/apiserver/server"
	"github.com/moorcd/moor/test/kubetest"
)

// projectOption changes a fixture project.
type projectOption func(*v1alpha1.AppProject)

func withRole(name string, policies ...string) projectOption {
	return func(p *v1alpha1.AppProject) {
		p.Spec.Roles = append(p.Spec.Roles, v1alpha1.ProjectRole{Name: name, Policies: policies})
	}
}

func withDescription(d string) projectOption {
	return func(p *v1alpha1.AppProject) { p.Spec.Description = d }
}

func withWindow(w v1alpha1.SyncWindow) projectOption {
	return func(p *v1alpha1.AppProject) { p.Spec.SyncWindows = append(p.Spec.SyncWindows, w) }
}

func newProject(name string, opts ...projectOption) *v1alpha1.AppProject {
	p := &v1alpha1.AppProject{
		TypeMeta:   metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "AppProject"},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.AppProjectSpec{
			SourceRepos:  []string{repoURL},
			Destinations: []v1alpha1.ApplicationDestination{{Server: "https://kubernetes.default.svc", Namespace: name}},
		},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// eventually retries check every 100ms until it returns nil, failing the test after 30s with the last error.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after 30s: %v", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// wantCode is a check for eventually: the REST call answers want.
func (f *fixture) wantCode(t *testing.T, method, path, token string, body any, want int) func() error {
	return func() error {
		code, b, _ := f.do(t, method, path, token, body)
		if code != want {
			return errors.New(http.StatusText(code) + ": " + string(b))
		}
		return nil
	}
}

func TestProjectCRUD(t *testing.T) {
	f := start(t, defaultSettings(), false, fixtureApps()...)
	admin := f.login(t, "admin", f.adminPassword(t))
	carol := f.login(t, "carol", userPassword)
	reader := withRole("reader", "p, proj:team-b:reader, applications, get, team-b/*, allow")

	t.Run("create, get, update and delete over REST", func(t *testing.T) {
		body := map[string]any{"project": newProject("team-b", reader)}
		code, b, _ := f.do(t, http.MethodPost, "/api/v1/projects", admin, body)
		if code != http.StatusOK || !strings.Contains(string(b), `"name":"team-b"`) {
			t.Fatalf("create: %d %s", code, b)
		}
		if code, b, _ := f.do(t, http.MethodPost, "/api/v1/projects", admin, body); code != http.StatusOK {
			t.Errorf("create again with the same spec: %d %s", code, b)
		}
		changed := map[string]any{"project": newProject("team-b", reader, withDescription("changed"))}
		if code, b, _ := f.do(t, http.MethodPost, "/api/v1/projects", admin, changed); code != http.StatusConflict {
			t.Errorf("create a different spec without upsert: %d %s, want 409", code, b)
		}
		changed["upsert"] = true
		if code, b, _ := f.do(t, http.MethodPost, "/api/v1/projects", admin, changed); code != http.StatusOK || !strings.Contains(string(b), `"description":"changed"`) {
			t.Errorf("upsert: %d %s", code, b)
		}
		eventually(t, "get the new project", f.wantCode(t, http.MethodGet, "/api/v1/projects/team-b", admin, nil, http.StatusOK))

		upd := map[string]any{"project": newProject("team-b", reader, withDescription("updated"))}
		code, b, _ = f.do(t, http.MethodPut, "/api/v1/projects/team-b", admin, upd)
		if code != http.StatusOK || !strings.Contains(string(b), `"description":"updated"`) {
			t.Errorf("update: %d %s", code, b)
		}
		stale := newProject("team-b", reader)
		stale.ResourceVersion = "1"
		if code, b, _ := f.do(t, http.MethodPut, "/api/v1/projects/team-b", admin, map[string]any{"project": stale}); code != http.StatusConflict {
			t.Errorf("update with a stale resourceVersion: %d %s, want 409", code, b)
		}
		if code, b, _ := f.do(t, http.MethodDelete, "/api/v1/projects/team-b", admin, nil); code != http.StatusOK {
			t.Errorf("delete: %d %s", code, b)
		}
		eventually(t, "get the deleted project", f.wantCode(t, http.MethodGet, "/api/v1/projects/team-b", admin, nil, http.StatusNotFound))
	})

	t.Run("validation names the field", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			proj *v1alpha1.AppProject
			want string
		}{
			{"policy of another subject", newProject("bad", withRole("ops", "p, proj:other:ops, applications, get, bad/*, allow")), `role \"ops\"`},
			{"policy outside the project", newProject("bad", withRole("ops", "p, proj:bad:ops, applications, get, */*, allow")), `role \"ops\"`},
			{"bad sync window", newProject("bad", withWindow(v1alpha1.SyncWindow{Kind: "allow", Schedule: "0 22 *", Duration: "1h"})), "syncWindows[0].schedule"},
			{"empty source repo", newProject("bad", func(p *v1alpha1.AppProject) { p.Spec.SourceRepos = []string{""} }), "spec.sourceRepos[0]"},
			{"destination without server or name", newProject("bad", func(p *v1alpha1.AppProject) {
				p.Spec.Destinations = []v1alpha1.ApplicationDestination{{Namespace: "x"}}
			}), "spec.destinations[0]"},
			{"no name", newProject(""), "metadata.name"},
		} {
			code, b, _ := f.do(t, http.MethodPost, "/api/v1/projects", admin, map[string]any{"project": tc.proj})
			if code != http.StatusBadRequest || !strings.Contains(string(b), tc.want) {
				t.Errorf("%s: %d %s, want 400 naming %s", tc.name, code, b, tc.want)
			}
		}
	})

	t.Run("a project in use is not deleted", func(t *testing.T) {
		code, b, _ := f.do(t, http.MethodDelete, "/api/v1/projects/team-a", admin, nil)
		if code != http.StatusBadRequest && code != http.StatusPreconditionFailed || !strings.Contains(string(b), "used by 1 application") {
			t.Errorf("delete team-a: %d %s, want 400 or 412", code, b)
		}
	})

	t.Run("RBAC", func(t *testing.T) {
		if code, b, _ := f.do(t, http.MethodPost, "/api/v1/projects", carol, map[string]any{"project": newProject("team-c")}); code != http.StatusForbidden {
			t.Errorf("carol create: %d %s", code, b)
		}
		if code, b, _ := f.do(t, http.MethodDelete, "/api/v1/projects/team-a", carol, nil); code != http.StatusForbidden {
			t.Errorf("carol delete: %d %s", code, b)
		}
		if code, b, _ := f.do(t, http.MethodPut, "/api/v1/projects/team-a", carol, map[string]any{"project": newProject("team-a")}); code != http.StatusForbidden {
			t.Errorf("carol update: %d %s", code, b)
		}
	})

	t.Run("create, get, update and delete over gRPC", func(t *testing.T) {
		ctx := bearer(t.Context(), admin)
		projects := apiv1.NewProjectServiceClient(f.conn)
		msg := &apiv1.AppProject{}
		if err := kubeproto.ToEnvelope(newProject("grpc-proj"), msg); err != nil {
			t.Fatal(err)
		}
		if _, err := projects.Create(ctx, &apiv1.ProjectServiceCreateRequest{Project: msg}); err != nil {
			t.Fatalf("create: %v", err)
		}
		eventually(t, "get", func() error {
			_, err := projects.Get(ctx, &apiv1.ProjectServiceGetRequest{Name: "grpc-proj"})
			return err
		})
		if err := kubeproto.ToEnvelope(newProject("grpc-proj", withDescription("via grpc")), msg); err != nil {
			t.Fatal(err)
		}
		resp, err := projects.Update(ctx, &apiv1.ProjectServiceUpdateRequest{Project: msg})
		if err != nil {
			t.Fatalf("update: %v", err)
		}
		var got v1alpha1.AppProject
		if err := kubeproto.FromEnvelope(resp.GetProject(), &got); err != nil || got.Spec.Description != "via grpc" {
			t.Errorf("update answered %+v (%v)", got.Spec, err)
		}
		if _, err := projects.Delete(ctx, &apiv1.ProjectServiceDeleteRequest{Name: "grpc-proj"}); err != nil {
			t.Errorf("delete: %v", err)
		}
		_, err = projects.Delete(ctx, &apiv1.ProjectServiceDeleteRequest{Name: "team-a"})
		if status.Code(err) != codes.FailedPrecondition {
			t.Errorf("delete team-a: %v, want FailedPrecondition", err)
		}
	})
}

// projectGetter reads projects straight from the API server.
type projectGetter func(name string) (*v1alpha1.AppProject, error)

func (g projectGetter) Get(name string) (*v1alpha1.AppProject, error) { return g(name) }

func TestProjectRoleToken(t *testing.T) {
	f := start(t, defaultSettings(), false, newApp("guestbook"), newApp("b-app", inProject("team-b")))
	admin := f.login(t, "admin", f.adminPassword(t))
	proj := newProject("team-b", withRole("reader", "p, proj:team-b:reader, applications, get, team-b/*, allow"))
	if code, b, _ := f.do(t, http.MethodPost, "/api/v1/projects", admin, map[string]any{"project": proj}); code != http.StatusOK {
		t.Fatalf("create project: %d %s", code, b)
	}
	eventually(t, "project visible", f.wantCode(t, http.MethodGet, "/api/v1/projects/team-b", admin, nil, http.StatusOK))

	createToken := func(t *testing.T, body map[string]any) string {
		t.Helper()
		code, b, _ := f.do(t, http.MethodPost, "/api/v1/projects/team-b/roles/reader/token", admin, body)
		var out struct{ Token string }
		if code != http.StatusOK || json.Unmarshal(b, &out) != nil || out.Token == "" {
			t.Fatalf("create token: %d %s", code, b)
		}
		return out.Token
	}
	getProject := func(name string) (*v1alpha1.AppProject, error) {
		return f.client.ArgoprojV1alpha1().AppProjects(f.ns).Get(t.Context(), name, metav1.GetOptions{})
	}
	kc := kubetest.Start(t)
	verifier := &server.ProjectTokenVerifier{
		Verifier: session.NewManager(session.NewStore(kc.Kube, f.ns), session.Options{}),
		Projects: projectGetter(getProject),
	}

	token := createToken(t, map[string]any{"expiresIn": 3600, "id": "ci", "description": "for CI"})

	t.Run("the token is recorded in the role and the status", func(t *testing.T) {
		p, err := getProject("team-b")
		if err != nil {
			t.Fatal(err)
		}
		inStatus := p.Status.JWTTokensByRole["reader"].Items
		if len(p.Spec.Roles[0].JWTTokens) != 1 || len(inStatus) != 1 || inStatus[0].ID != "ci" || inStatus[0].IssuedAt == 0 ||
			inStatus[0].ExpiresAt-inStatus[0].IssuedAt != 3600 {
			t.Errorf("records: spec %+v status %+v", p.Spec.Roles[0].JWTTokens, inStatus)
		}
	})

	t.Run("the token holds the role's policy", func(t *testing.T) {
		eventually(t, "list with the project token", func() error {
			code, b, _ := f.do(t, http.MethodGet, "/api/v1/applications", token, nil)
			if got := appNames(t, b); code != http.StatusOK || !slices.Equal(got, []string{"b-app"}) {
				return errors.New(string(b))
			}
			return nil
		})
		if code, b, _ := f.do(t, http.MethodGet, "/api/v1/applications/b-app", token, nil); code != http.StatusOK {
			t.Errorf("get b-app: %d %s", code, b)
		}
		if code, b, _ := f.do(t, http.MethodGet, "/api/v1/applications/guestbook", token, nil); code != http.StatusForbidden {
			t.Errorf("get guestbook: %d %s", code, b)
		}
		if code, b, _ := f.do(t, http.MethodPost, "/api/v1/applications/b-app/sync", token, map[string]any{}); code != http.StatusForbidden {
			t.Errorf("sync b-app: %d %s", code, b)
		}
	})

	t.Run("an update cannot forge token records", func(t *testing.T) {
		forged := newProject("team-b", withRole("reader", "p, proj:team-b:reader, applications, get, team-b/*, allow"))
		forged.Spec.Roles[0].JWTTokens = []v1alpha1.JWTToken{{IssuedAt: 1, ID: "forged"}}
		if code, b, _ := f.do(t, http.MethodPut, "/api/v1/projects/team-b", admin, map[string]any{"project": forged}); code != http.StatusOK {
			t.Fatalf("update: %d %s", code, b)
		}
		p, err := getProject("team-b")
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Spec.Roles[0].JWTTokens; len(got) != 1 || got[0].ID != "ci" {
			t.Errorf("role tokens after update: %+v", got)
		}
	})

	t.Run("deleting the token revokes it", func(t *testing.T) {
		if _, err := verifier.Verify(t.Context(), token); err != nil {
			t.Fatalf("verify before delete: %v", err)
		}
		if code, b, _ := f.do(t, http.MethodDelete, "/api/v1/projects/team-b/roles/reader/token/0?id=ci", admin, nil); code != http.StatusOK {
			t.Fatalf("delete token: %d %s", code, b)
		}
		if _, err := verifier.Verify(t.Context(), token); !errors.Is(err, session.ErrInvalidToken) {
			t.Errorf("verify after delete: %v, want ErrInvalidToken", err)
		}
		if code, b, _ := f.do(t, http.MethodDelete, "/api/v1/projects/team-b/roles/reader/token/0?id=ci", admin, nil); code != http.StatusNotFound {
			t.Errorf("delete again: %d %s", code, b)
		}
	})

	t.Run("a token without id is deleted by iat", func(t *testing.T) {
		tok := createToken(t, map[string]any{})
		if _, err := verifier.Verify(t.Context(), tok); err != nil {
			t.Fatalf("verify: %v", err)
		}
		p, err := getProject("team-b")
		if err != nil {
			t.Fatal(err)
		}
		items := p.Status.JWTTokensByRole["reader"].Items
		if len(items) != 1 || items[0].ExpiresAt != 0 {
			t.Fatalf("records: %+v", items)
		}
		path := "/api/v1/projects/team-b/roles/reader/token/" + jsonNumber(items[0].IssuedAt)
		if code, b, _ := f.do(t, http.MethodDelete, path, admin, nil); code != http.StatusOK {
			t.Fatalf("delete by iat: %d %s", code, b)
		}
		if _, err := verifier.Verify(t.Context(), tok); !errors.Is(err, session.ErrInvalidToken) {
			t.Errorf("verify after delete: %v, want ErrInvalidToken", err)
		}
	})

	t.Run("errors", func(t *testing.T) {
		if code, b, _ := f.do(t, http.MethodPost, "/api/v1/projects/team-b/roles/missing/token", admin, map[string]any{}); code != http.StatusNotFound {
			t.Errorf("missing role: %d %s", code, b)
		}
		carol := f.login(t, "carol", userPassword)
		if code, b, _ := f.do(t, http.MethodPost, "/api/v1/projects/team-b/roles/reader/token", carol, map[string]any{}); code != http.StatusForbidden {
			t.Errorf("carol: %d %s", code, b)
		}
		if code, b, _ := f.do(t, http.MethodPost, "/api/v1/projects/team-b/roles/reader/token", admin, map[string]any{"expiresIn": -1}); code != http.StatusBadRequest {
			t.Errorf("negative expiry: %d %s", code, b)
		}
	})
}

func jsonNumber(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestApplicationSyncWindows(t *testing.T) {
	f := start(t, defaultSettings(), false, newApp("team-a-app", inProject("team-a")), newApp("other", inProject("team-a")))
	proj, err := f.client.ArgoprojV1alpha1().AppProjects(f.ns).Get(t.Context(), "team-a", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	proj.Spec.SyncWindows = v1alpha1.SyncWindows{
		{Kind: "deny", Schedule: "* * * * *", Duration: "1h", Applications: []string{"team-a-*"}},
		{Kind: "allow", Schedule: "0 3 * * *", Duration: "1m", Applications: []string{"nothing-*"}},
	}
	if _, err := f.client.ArgoprojV1alpha1().AppProjects(f.ns).Update(t.Context(), proj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	admin := f.login(t, "admin", f.adminPassword(t))
	var res struct {
		ActiveWindows   []map[string]any
		AssignedWindows []map[string]any
		CanSync         bool
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		code, body, _ := f.do(t, http.MethodGet, "/api/v1/applications/team-a-app/syncwindows", admin, nil)
		if code != http.StatusOK {
			t.Fatalf("syncwindows: %d %s", code, body)
		}
		res.ActiveWindows, res.AssignedWindows, res.CanSync = nil, nil, false
		if err := json.Unmarshal(body, &res); err != nil {
			t.Fatal(err)
		}
		if len(res.AssignedWindows) > 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(res.AssignedWindows) != 1 || len(res.ActiveWindows) != 1 || res.CanSync || res.ActiveWindows[0]["kind"] != "deny" {
		t.Errorf("team-a-app windows = %+v, want the deny window assigned and active, no sync", res)
	}
	code, body, _ := f.do(t, http.MethodGet, "/api/v1/applications/other/syncwindows", admin, nil)
	if code != http.StatusOK || !strings.Contains(string(body), `"canSync":true`) {
		t.Errorf("other: %d %s, want canSync and no windows", code, body)
	}
}
