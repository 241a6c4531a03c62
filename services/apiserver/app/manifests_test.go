package app_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/moorcd/moor/test/gittest"
	"github.com/moorcd/moor/test/reposervertest"
)

// TestManifestsThroughTheRepoServer renders an app's manifests, at its target and at an older revision, and
// reads revision metadata and refs, through a real repo-server and Git server.
func TestManifestsThroughTheRepoServer(t *testing.T) {
	repo := gittest.NewRepo(t)
	repo.Write("apps/guestbook/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: guestbook\ndata: {color: blue}\n")
	first := repo.Commit("blue guestbook")
	repo.Write("apps/guestbook/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: guestbook\ndata: {color: green}\n")
	repo.Commit("green guestbook")
	gs := gittest.NewHTTPServer(t, gittest.HTTPOptions{})
	url := gs.Add(t, "config.git", repo)

	s := defaultSettings()
	s.repoServer = reposervertest.Start(t)
	f := start(t, s, false, newApp("guestbook", fromRepo(url)))
	admin := f.login(t, "admin", f.adminPassword(t))
	alice := f.login(t, "alice", userPassword)

	manifests := func(query string) (string, []map[string]any) {
		t.Helper()
		code, body, _ := f.do(t, http.MethodGet, "/api/v1/applications/guestbook/manifests"+query, alice, nil)
		if code != http.StatusOK {
			t.Fatalf("manifests%s: %d %s", query, code, body)
		}
		var res struct {
			Manifests []string
			Revision  string
		}
		if err := json.Unmarshal(body, &res); err != nil {
			t.Fatal(err)
		}
		var objs []map[string]any
		for _, m := range res.Manifests {
			var o map[string]any
			if err := json.Unmarshal([]byte(m), &o); err != nil {
				t.Fatalf("manifest %q: %v", m, err)
			}
			objs = append(objs, o)
		}
		return res.Revision, objs
	}
	color := func(objs []map[string]any) string {
		if len(objs) != 1 {
			t.Fatalf("got %d manifests, want 1", len(objs))
		}
		data, _ := objs[0]["data"].(map[string]any)
		c, _ := data["color"].(string)
		return c
	}

	rev, objs := manifests("")
	if rev != repo.Head() || color(objs) != "green" {
		t.Errorf("manifests at the target: revision %s color %s, want %s green", rev, color(objs), repo.Head())
	}
	rev, objs = manifests("?revision=" + first)
	if rev != first || color(objs) != "blue" {
		t.Errorf("manifests at %s: revision %s color %s, want blue", first, rev, color(objs))
	}

	code, body, _ := f.do(t, http.MethodGet, "/api/v1/applications/guestbook/revisions/"+first+"/metadata", alice, nil)
	if code != http.StatusOK || !strings.Contains(string(body), "blue guestbook") {
		t.Errorf("revision metadata: %d %s", code, body)
	}
	code, body, _ = f.do(t, http.MethodGet, "/api/v1/repositories/"+strings.ReplaceAll(url, "/", "%2F")+"/refs", admin, nil)
	if code != http.StatusOK || !strings.Contains(string(body), "main") && !strings.Contains(string(body), "master") {
		t.Errorf("refs: %d %s", code, body)
	}
	// A stored repository shows whether it can be reached.
	if code, body, _ := f.do(t, http.MethodPost, "/api/v1/repositories", admin, map[string]any{"repo": url}); code != http.StatusOK {
		t.Fatalf("create repository: %d %s", code, body)
	}
	code, body, _ = f.do(t, http.MethodGet, "/api/v1/repositories", admin, nil)
	if code != http.StatusOK || !strings.Contains(string(body), `"connectionState":{"status":"Successful"`) {
		t.Errorf("repositories: %d %s, want the repository's connection state Successful", code, body)
	}
	code, body, _ = f.do(t, http.MethodGet, "/api/v1/applications/guestbook/manifests?revision=no-such-branch", alice, nil)
	if code == http.StatusOK || code >= 500 && code != http.StatusServiceUnavailable {
		t.Errorf("manifests at an unknown revision: %d %s, want a 4xx naming it", code, body)
	}
}
