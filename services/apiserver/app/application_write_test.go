package app_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/kubeproto"
)

// appJSON is the Kubernetes JSON of an application, as a client sends it.
func appJSON(t *testing.T, a *v1alpha1.Application) map[string]any {
	t.Helper()
	c := a.DeepCopy()
	c.APIVersion, c.Kind = v1alpha1.SchemeGroupVersion.String(), "Application"
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func withPath(p string) appOption { return func(a *v1alpha1.Application) { a.Spec.Source.Path = p } }
func toServer(s string) appOption {
	return func(a *v1alpha1.Application) { a.Spec.Destination.Server = s }
}

func TestApplicationWrite(t *testing.T) {
	f := start(t, defaultSettings(), false, newApp("existing"), newApp("merge-me"), newApp("json-me"), newApp("put-me"))
	admin := f.login(t, "admin", f.adminPassword(t))
	alice := f.login(t, "alice", userPassword)

	t.Run("create over REST answers the Application JSON and ignores status and operation", func(t *testing.T) {
		t.Parallel()
		a := newApp("rest-created", withOperation())
		a.Status.Sync.Status = v1alpha1.SyncStatusCodeSynced
		code, body, _ := f.do(t, http.MethodPost, "/api/v1/applications", admin, appJSON(t, a))
		if code != http.StatusOK {
			t.Fatalf("create: %d %s", code, body)
		}
		var got v1alpha1.Application
		if err := json.Unmarshal(body, &got); err != nil || got.APIVersion != "argoproj.io/v1alpha1" || got.Kind != "Application" ||
			got.Name != "rest-created" || got.Spec.Source == nil || got.Spec.Source.RepoURL != repoURL {
			t.Errorf("create body is not the Application JSON: %v %s", err, body)
		}
		stored := f.getApp(t, "rest-created")
		if stored.Operation != nil || stored.Status.Sync.Status != "" {
			t.Errorf("client-written operation %+v or sync status %q stored", stored.Operation, stored.Status.Sync.Status)
		}
	})

	t.Run("create over gRPC", func(t *testing.T) {
		t.Parallel()
		env := &apiv1.Application{}
		a := newApp("grpc-created", inProject("team-a"))
		a.APIVersion, a.Kind = v1alpha1.SchemeGroupVersion.String(), "Application"
		if err := kubeproto.ToEnvelope(a, env); err != nil {
			t.Fatal(err)
		}
		resp, err := apiv1.NewApplicationServiceClient(f.conn).Create(bearer(t.Context(), admin), &apiv1.ApplicationServiceCreateRequest{Application: env})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetApplication().GetMetadata().GetName() != "grpc-created" || resp.GetApplication().GetMetadata().GetUid() == "" {
			t.Errorf("create answered %v", resp.GetApplication().GetMetadata())
		}
		if p := f.getApp(t, "grpc-created").Spec.Project; p != "team-a" {
			t.Errorf("stored project %q", p)
		}
	})

	t.Run("an existing app is 409 unless identical or upserted", func(t *testing.T) {
		t.Parallel()
		if code, body, _ := f.do(t, http.MethodPost, "/api/v1/applications", admin, appJSON(t, newApp("existing"))); code != http.StatusOK {
			t.Errorf("identical create: %d %s", code, body)
		}
		changed := appJSON(t, newApp("existing", withPath("changed")))
		code, body, _ := f.do(t, http.MethodPost, "/api/v1/applications", admin, changed)
		if code != http.StatusConflict || !strings.Contains(string(body), "upsert") {
			t.Errorf("create over a different app: %d %s", code, body)
		}
		if code, body, _ := f.do(t, http.MethodPost, "/api/v1/applications?upsert=true", admin, changed); code != http.StatusOK {
			t.Fatalf("upsert: %d %s", code, body)
		}
		if p := f.getApp(t, "existing").Spec.Source.Path; p != "changed" {
			t.Errorf("upsert left path %q", p)
		}
	})

	t.Run("validation errors are 400 and name the field", func(t *testing.T) {
		t.Parallel()
		noSource := newApp("bad-source")
		noSource.Spec.Source = nil
		noName := newApp("")
		for _, tc := range []struct {
			name  string
			app   *v1alpha1.Application
			field string
		}{
			{"unknown cluster", newApp("bad-server", toServer("https://nowhere.example")), "spec.destination.server"},
			{"missing project", newApp("bad-project", inProject("nope")), "spec.project"},
			{"no source", noSource, "spec.source"},
			{"no name", noName, "metadata.name"},
		} {
			code, body, _ := f.do(t, http.MethodPost, "/api/v1/applications", admin, appJSON(t, tc.app))
			if code != http.StatusBadRequest || !strings.Contains(string(body), tc.field+": ") {
				t.Errorf("%s: %d %s, want 400 naming %s", tc.name, code, body, tc.field)
			}
		}
	})

	t.Run("readonly may neither create nor patch", func(t *testing.T) {
		t.Parallel()
		if code, body, _ := f.do(t, http.MethodPost, "/api/v1/applications", alice, appJSON(t, newApp("by-alice"))); code != http.StatusForbidden {
			t.Errorf("readonly create: %d %s", code, body)
		}
		patch := map[string]string{"patch": `{"spec":{"source":{"path":"x"}}}`, "patchType": "merge"}
		if code, body, _ := f.do(t, http.MethodPatch, "/api/v1/applications/merge-me", alice, patch); code != http.StatusForbidden {
			t.Errorf("readonly patch: %d %s", code, body)
		}
	})

	t.Run("merge patch changes the spec and never the status or operation", func(t *testing.T) {
		t.Parallel()
		patch := map[string]string{
			"patch":     `{"spec":{"source":{"path":"merged"}},"status":{"sync":{"status":"Synced"}},"operation":{"sync":{}}}`,
			"patchType": "merge",
		}
		code, body, _ := f.do(t, http.MethodPatch, "/api/v1/applications/merge-me", admin, patch)
		if code != http.StatusOK || !strings.Contains(string(body), `"path":"merged"`) {
			t.Fatalf("merge patch: %d %s", code, body)
		}
		a := f.getApp(t, "merge-me")
		if a.Spec.Source.Path != "merged" || a.Operation != nil || a.Status.Sync.Status != "" {
			t.Errorf("after merge patch: path %q operation %+v sync %q", a.Spec.Source.Path, a.Operation, a.Status.Sync.Status)
		}
	})

	t.Run("JSON patch changes the spec and is validated", func(t *testing.T) {
		t.Parallel()
		patch := map[string]string{"patch": `[{"op":"replace","path":"/spec/source/path","value":"json-patched"}]`, "patchType": "json"}
		if code, body, _ := f.do(t, http.MethodPatch, "/api/v1/applications/json-me", admin, patch); code != http.StatusOK {
			t.Fatalf("json patch: %d %s", code, body)
		}
		if p := f.getApp(t, "json-me").Spec.Source.Path; p != "json-patched" {
			t.Errorf("path %q after json patch", p)
		}
		bad := map[string]string{"patch": `[{"op":"replace","path":"/spec/project","value":"nope"}]`, "patchType": "json"}
		if code, body, _ := f.do(t, http.MethodPatch, "/api/v1/applications/json-me", admin, bad); code != http.StatusBadRequest || !strings.Contains(string(body), "spec.project") {
			t.Errorf("patch to a missing project: %d %s", code, body)
		}
	})

	t.Run("update and update-spec replace the spec", func(t *testing.T) {
		t.Parallel()
		code, body, _ := f.do(t, http.MethodPut, "/api/v1/applications/put-me", admin, appJSON(t, newApp("put-me", withPath("updated"))))
		if code != http.StatusOK || f.getApp(t, "put-me").Spec.Source.Path != "updated" {
			t.Fatalf("update: %d %s", code, body)
		}
		spec := appJSON(t, newApp("put-me", withPath("spec-updated")))["spec"]
		code, body, _ = f.do(t, http.MethodPut, "/api/v1/applications/put-me/spec", admin, spec)
		if code != http.StatusOK || !strings.Contains(string(body), `"path":"spec-updated"`) || f.getApp(t, "put-me").Spec.Source.Path != "spec-updated" {
			t.Errorf("update spec: %d %s", code, body)
		}
		_, err := apiv1.NewApplicationServiceClient(f.conn).Patch(bearer(t.Context(), admin),
			&apiv1.ApplicationServicePatchRequest{Name: "put-me", Patch: "{}", PatchType: "strategic"})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "patchType") {
			t.Errorf("strategic patch: %v", err)
		}
	})

	t.Run("managed resources and resource tree are empty until the controller publishes", func(t *testing.T) {
		t.Parallel()
		carol := f.login(t, "carol", userPassword)
		for _, p := range []string{"/api/v1/applications/existing/managed-resources", "/api/v1/applications/existing/resource-tree"} {
			code, body, _ := f.do(t, http.MethodGet, p, admin, nil)
			if code != http.StatusOK || !json.Valid(body) || strings.Contains(string(body), `"nodes":[{`) {
				t.Errorf("%s: %d %s", p, code, body)
			}
			if code, body, _ := f.do(t, http.MethodGet, p, carol, nil); code != http.StatusForbidden {
				t.Errorf("%s for carol: %d %s", p, code, body)
			}
		}
	})
}
