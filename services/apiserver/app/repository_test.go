package app_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/moorcd/moor/pkg/repocreds"
	"github.com/moorcd/moor/test/kubetest"
)

const repoPassword = "s3cr3t-repo-pw"

type repoItem struct {
	Repo           string
	Username       string
	Password       string
	InheritedCreds bool
}

func repoList(t *testing.T, body []byte) map[string]repoItem {
	t.Helper()
	var list struct{ Items []repoItem }
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatalf("decode list: %v: %s", err, body)
	}
	out := map[string]repoItem{}
	for _, it := range list.Items {
		out[it.Repo] = it
	}
	return out
}

func noSecret(t *testing.T, what string, body []byte) {
	t.Helper()
	if strings.Contains(string(body), repoPassword) || strings.Contains(string(body), `"password"`) {
		t.Fatalf("%s leaks the password: %s", what, body)
	}
}

func TestRepositories(t *testing.T) {
	t.Parallel()
	f := start(t, defaultSettings(), false)
	admin := f.login(t, "admin", f.adminPassword(t))
	readonly := f.login(t, "alice", userPassword)
	const repo = "https://git.example.com/acme/app.git"
	path := "/api/v1/repositories/" + url.PathEscape(repo)

	code, body, _ := f.do(t, http.MethodPost, "/api/v1/repositories", admin, map[string]string{"repo": repo, "username": "u", "password": repoPassword})
	if code != http.StatusOK {
		t.Fatalf("create: %d %s", code, body)
	}
	noSecret(t, "create", body)

	kc := kubetest.Start(t)
	secrets, err := kc.Kube.CoreV1().Secrets(f.ns).List(t.Context(), metav1.ListOptions{LabelSelector: repocreds.LabelSecretType + "=repository"})
	if err != nil || len(secrets.Items) != 1 {
		t.Fatalf("repository secrets: %v, %d", err, len(secrets.Items))
	}
	data := secrets.Items[0].Data
	if string(data["url"]) != repo || string(data["username"]) != "u" || string(data["password"]) != repoPassword || string(data["type"]) != "git" {
		t.Fatalf("secret data keys: url=%q username=%q type=%q password set=%v", data["url"], data["username"], data["type"], len(data["password"]) > 0)
	}

	code, body, _ = f.do(t, http.MethodPost, "/api/v1/repositories", admin, map[string]string{"repo": repo, "username": "v"})
	if code != http.StatusConflict {
		t.Fatalf("create again without upsert: %d %s, want 409", code, body)
	}

	for name, token := range map[string]string{"admin": admin, "readonly": readonly} {
		code, body, _ = f.do(t, http.MethodGet, "/api/v1/repositories", token, nil)
		if code != http.StatusOK {
			t.Fatalf("%s list: %d %s", name, code, body)
		}
		noSecret(t, name+" list", body)
		if it, ok := repoList(t, body)[repo]; !ok || it.Username != "u" {
			t.Fatalf("%s list: %s lacks %s with username u", name, body, repo)
		}
	}
	code, body, _ = f.do(t, http.MethodGet, path, admin, nil)
	if code != http.StatusOK || !strings.Contains(string(body), `"username":"u"`) {
		t.Fatalf("get: %d %s", code, body)
	}
	noSecret(t, "get", body)

	code, body, _ = f.do(t, http.MethodPost, "/api/v1/repositories", readonly, map[string]string{"repo": "https://git.example.com/x.git"})
	if code != http.StatusForbidden {
		t.Fatalf("readonly create: %d %s, want 403", code, body)
	}

	code, body, _ = f.do(t, http.MethodPost, "/api/v1/repositories", admin, map[string]string{"repo": "ssh://git@git.example.com/acme/app.git", "sshPrivateKey": "not a key"})
	if code != http.StatusBadRequest || !strings.Contains(string(body), "sshPrivateKey") {
		t.Fatalf("invalid ssh key: %d %s, want 400 naming sshPrivateKey", code, body)
	}

	code, body, _ = f.do(t, http.MethodPost, path+"/validate", admin, map[string]string{"username": "u", "password": repoPassword})
	if code == http.StatusOK || strings.Contains(string(body), repoPassword) {
		t.Fatalf("validate: %d %s, want an error without the password", code, body)
	}
	// The fixture's repo-server address is closed: the answer must say so.
	if code != http.StatusServiceUnavailable || !strings.Contains(string(body), "repo-server unavailable") {
		t.Fatalf("validate: %d %s, want 503 naming the repo-server", code, body)
	}

	code, body, _ = f.do(t, http.MethodDelete, path, readonly, nil)
	if code != http.StatusForbidden {
		t.Fatalf("readonly delete: %d %s, want 403", code, body)
	}
	code, body, _ = f.do(t, http.MethodDelete, path, admin, nil)
	if code != http.StatusOK {
		t.Fatalf("delete: %d %s", code, body)
	}
	code, body, _ = f.do(t, http.MethodGet, path, admin, nil)
	if code != http.StatusNotFound {
		t.Fatalf("get after delete: %d %s, want 404", code, body)
	}
}

func TestRepoCreds(t *testing.T) {
	t.Parallel()
	f := start(t, defaultSettings(), false)
	admin := f.login(t, "admin", f.adminPassword(t))
	readonly := f.login(t, "alice", userPassword)
	const prefix = "https://git.example.com/acme"

	code, body, _ := f.do(t, http.MethodPost, "/api/v1/repocreds", admin, map[string]string{"url": prefix, "username": "bot", "password": repoPassword})
	if code != http.StatusOK {
		t.Fatalf("create: %d %s", code, body)
	}
	noSecret(t, "create", body)
	code, body, _ = f.do(t, http.MethodPost, "/api/v1/repocreds", readonly, map[string]string{"url": "https://other.example.com"})
	if code != http.StatusForbidden {
		t.Fatalf("readonly create: %d %s, want 403", code, body)
	}

	code, body, _ = f.do(t, http.MethodGet, "/api/v1/repocreds", readonly, nil)
	if code != http.StatusOK || !strings.Contains(string(body), `"url":"`+prefix+`"`) {
		t.Fatalf("list: %d %s", code, body)
	}
	noSecret(t, "list", body)

	// A repository under the prefix without credentials of its own inherits the template's.
	const repo = prefix + "/inherits.git"
	if code, body, _ = f.do(t, http.MethodPost, "/api/v1/repositories", admin, map[string]string{"repo": repo}); code != http.StatusOK {
		t.Fatalf("create repository: %d %s", code, body)
	}
	_, body, _ = f.do(t, http.MethodGet, "/api/v1/repositories", admin, nil)
	if it := repoList(t, body)[repo]; !it.InheritedCreds {
		t.Fatalf("list: %s, want inheritedCreds for %s", body, repo)
	}
	noSecret(t, "repository list", body)

	code, body, _ = f.do(t, http.MethodDelete, "/api/v1/repocreds/"+url.PathEscape(prefix), admin, nil)
	if code != http.StatusOK {
		t.Fatalf("delete: %d %s", code, body)
	}
	code, body, _ = f.do(t, http.MethodGet, "/api/v1/repocreds", admin, nil)
	if code != http.StatusOK || strings.Contains(string(body), prefix+`"`) {
		t.Fatalf("list after delete: %d %s", code, body)
	}
	code, body, _ = f.do(t, http.MethodDelete, "/api/v1/repocreds/"+url.PathEscape(prefix), admin, nil)
	if code != http.StatusNotFound {
		t.Fatalf("delete again: %d %s, want 404", code, body)
	}
}
