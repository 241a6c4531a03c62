package repocreds_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/moorcd/moor/pkg/git"
	"github.com/moorcd/moor/pkg/repocreds"
	"github.com/moorcd/moor/test/kubetest"
)

// storeFixture is a Store over a fresh namespace of the local cluster.
type storeFixture struct {
	store *repocreds.Store
	kube  kubernetes.Interface
	ns    string
}

func newStore(t *testing.T) storeFixture {
	t.Helper()
	kc := kubetest.Start(t)
	ns := kc.Namespace(t)
	return storeFixture{store: repocreds.NewStore(kc.Kube, ns), kube: kc.Kube, ns: ns}
}

// secrets is what the read side sees: every Secret of the namespace.
func (f storeFixture) secrets(t *testing.T) []corev1.Secret {
	t.Helper()
	list, err := f.kube.CoreV1().Secrets(f.ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

func (f storeFixture) secret(t *testing.T, name string) *corev1.Secret {
	t.Helper()
	s, err := f.kube.CoreV1().Secrets(f.ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ed25519Key(t *testing.T) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(block))
}

// stored is r as the read side returns it: defaults applied and the Secret named.
func stored(r repocreds.Repository, secretName string) *repocreds.Repository {
	if r.Type == "" {
		r.Type = repocreds.TypeGit
	}
	r.Git.URL = r.URL
	r.Git.InsecureIgnoreHostKey = r.Git.InsecureIgnoreHostKey || r.Git.Insecure
	r.SecretName = secretName
	return &r
}

func TestStoreRepositoryLifecycle(t *testing.T) {
	t.Parallel()
	f := newStore(t)
	sshKey := ed25519Key(t)
	tests := []struct {
		name   string
		repo   repocreds.Repository
		lookup string // another spelling of the URL that must find the Secret
		change func(r *repocreds.Repository)
	}{
		{
			name:   "https with username and password",
			repo:   repocreds.Repository{URL: "https://git.example.com/org/app.git", Name: "app", Project: "team", Git: git.Repo{Username: "bot", Password: "s3cret-pass"}, ForceHTTPBasicAuth: true, Depth: 1},
			lookup: "https://GIT.example.com/org/app/",
			change: func(r *repocreds.Repository) { r.Git.Password = "rotated"; r.Depth = 0; r.ForceHTTPBasicAuth = false },
		},
		{
			name:   "ssh key",
			repo:   repocreds.Repository{URL: "git@git.example.com:org/infra.git", Git: git.Repo{SSHPrivateKey: sshKey, InsecureIgnoreHostKey: true}},
			lookup: "ssh://git@git.example.com/org/infra",
			change: func(r *repocreds.Repository) { r.Git.InsecureIgnoreHostKey = false; r.Name = "infra" },
		},
		{
			name:   "helm with bearer token and proxy",
			repo:   repocreds.Repository{URL: "https://charts.example.com", Type: repocreds.TypeHelm, EnableOCI: true, Git: git.Repo{BearerToken: "tok", Proxy: "http://proxy:3128", NoProxy: "internal", Insecure: true}},
			lookup: "https://charts.example.com/",
			change: func(r *repocreds.Repository) { r.Git.BearerToken = ""; r.Git.Username, r.Git.Password = "u", "p" },
		},
		{
			name:   "github app",
			repo:   repocreds.Repository{URL: "https://github.com/org/private", EnableLFS: true, GitHubApp: &repocreds.GitHubApp{ID: 1, InstallationID: 2, PrivateKey: "APP KEY", EnterpriseBaseURL: "https://ghe.example.com/api/v3"}},
			lookup: "https://github.com/org/private.git",
			change: func(r *repocreds.Repository) { r.GitHubApp = nil; r.EnableLFS = false },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			kind := repocreds.SecretTypeRepository
			created, err := f.store.Create(t.Context(), kind, &tt.repo, false)
			if err != nil {
				t.Fatal(err)
			}
			want := stored(tt.repo, created.SecretName)
			if !strings.HasPrefix(created.SecretName, "repo-") {
				t.Errorf("secret name %q, want repo-<hash>", created.SecretName)
			}
			if d := cmp.Diff(want, created); d != "" {
				t.Errorf("Create (-want +got):\n%s", d)
			}
			got, err := f.store.Get(t.Context(), kind, tt.lookup)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("Get (-want +got):\n%s", d)
			}

			// The read side sees the same values.
			resolved, err := repocreds.Resolve(f.secrets(t), tt.repo.URL, tt.repo.Project)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, resolved); d != "" {
				t.Errorf("Resolve (-want +got):\n%s", d)
			}
			list, err := f.store.List(t.Context(), kind)
			if err != nil {
				t.Fatal(err)
			}
			if !containsURL(list, tt.repo.URL) {
				t.Errorf("List misses %s", tt.repo.URL)
			}

			next := tt.repo
			tt.change(&next)
			updated, err := f.store.Update(t.Context(), kind, &next)
			if err != nil {
				t.Fatal(err)
			}
			want = stored(next, created.SecretName)
			if d := cmp.Diff(want, updated); d != "" {
				t.Errorf("Update (-want +got):\n%s", d)
			}
			resolved, err = repocreds.Resolve(f.secrets(t), next.URL, next.Project)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, resolved); d != "" {
				t.Errorf("Resolve after Update (-want +got):\n%s", d)
			}

			if err := f.store.Delete(t.Context(), kind, tt.lookup); err != nil {
				t.Fatal(err)
			}
			if _, err := f.store.Get(t.Context(), kind, tt.repo.URL); !errors.Is(err, repocreds.ErrNotFound) {
				t.Errorf("Get after Delete = %v, want ErrNotFound", err)
			}
		})
	}
}

func containsURL(list []*repocreds.Repository, u string) bool {
	for _, r := range list {
		if r.URL == u {
			return true
		}
	}
	return false
}

func TestStoreTemplateResolution(t *testing.T) {
	t.Parallel()
	f := newStore(t)
	ctx := t.Context()
	tmpl, err := f.store.Create(ctx, repocreds.SecretTypeRepoCreds, &repocreds.Repository{
		URL: "https://git.example.com/org/", Git: git.Repo{Username: "org-bot", Password: "org-token"}, ForceHTTPBasicAuth: true,
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tmpl.SecretName, "creds-") || tmpl.Type != "" {
		t.Errorf("template = %+v, want a creds-<hash> Secret without a type", tmpl)
	}
	// A prefix one "/" shorter is another template.
	if _, err := f.store.Get(ctx, repocreds.SecretTypeRepoCreds, "https://git.example.com/org"); !errors.Is(err, repocreds.ErrNotFound) {
		t.Errorf("Get of a different prefix = %v, want ErrNotFound", err)
	}
	repo, err := f.store.Create(ctx, repocreds.SecretTypeRepository, &repocreds.Repository{URL: "https://git.example.com/org/app", Name: "app"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if repo.HasCredentials() {
		t.Errorf("the store returns the Secret as stored, got inherited credentials: %+v", repo)
	}

	tests := []struct {
		name, url, wantSecret string
	}{
		{"repository secret inherits", "https://git.example.com/org/app", repo.SecretName},
		{"template alone", "https://git.example.com/org/other", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := repocreds.Resolve(f.secrets(t), tt.url, "")
			if err != nil {
				t.Fatal(err)
			}
			if r.SecretName != tt.wantSecret || r.CredsSecretName != tmpl.SecretName || r.CredsURL != tmpl.URL {
				t.Errorf("secret %q creds %q (%s), want %q and %q", r.SecretName, r.CredsSecretName, r.CredsURL, tt.wantSecret, tmpl.SecretName)
			}
			if r.Git.Username != "org-bot" || r.Git.Password != "org-token" || !r.ForceHTTPBasicAuth {
				t.Errorf("template credentials not inherited: user %q forceHttpBasicAuth %v", r.Git.Username, r.ForceHTTPBasicAuth)
			}
		})
	}
	repos, err := repocreds.Repositories(f.secrets(t))
	if err != nil || len(repos) != 1 || repos[0].Git.Username != "org-bot" {
		t.Errorf("Repositories = %v, %v", repos, err)
	}
	creds, err := f.store.List(ctx, repocreds.SecretTypeRepoCreds)
	if err != nil || len(creds) != 1 || creds[0].URL != "https://git.example.com/org/" {
		t.Errorf("List(repo-creds) = %v, %v", creds, err)
	}
}

func TestStoreValidation(t *testing.T) {
	t.Parallel()
	f := newStore(t)
	const secret = "garbage-secret-value"
	tests := []struct {
		name      string
		kind      string
		repo      repocreds.Repository
		wantField string
	}{
		{"missing url", repocreds.SecretTypeRepository, repocreds.Repository{Git: git.Repo{Password: secret}}, "url"},
		{"blank url", repocreds.SecretTypeRepoCreds, repocreds.Repository{URL: "  "}, "url"},
		{"bad type", repocreds.SecretTypeRepository, repocreds.Repository{URL: "https://h/r", Type: "svn"}, "type"},
		{"garbage ssh key", repocreds.SecretTypeRepository, repocreds.Repository{URL: "git@h:r", Git: git.Repo{SSHPrivateKey: secret}}, "sshPrivateKey"},
		{"client cert without key", repocreds.SecretTypeRepository, repocreds.Repository{URL: "https://h/r", Git: git.Repo{TLSClientCertData: secret}}, "tlsClientCertKey"},
		{"client key that is no pair", repocreds.SecretTypeRepoCreds, repocreds.Repository{URL: "https://h/", Git: git.Repo{TLSClientCertData: "CERT", TLSClientCertKey: secret}}, "tlsClientCertData"},
		{"github app without key", repocreds.SecretTypeRepository, repocreds.Repository{URL: "https://h/r", GitHubApp: &repocreds.GitHubApp{ID: 1, InstallationID: 2}}, "githubAppPrivateKey"},
		{"unknown kind", "cluster", repocreds.Repository{URL: "https://h/r"}, "kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for op, call := range map[string]func() error{
				"create": func() error { _, err := f.store.Create(t.Context(), tt.kind, &tt.repo, true); return err },
				"update": func() error { _, err := f.store.Update(t.Context(), tt.kind, &tt.repo); return err },
			} {
				err := call()
				var fe *repocreds.FieldError
				if !errors.Is(err, repocreds.ErrInvalidRepository) || !errors.As(err, &fe) || fe.Field != tt.wantField {
					t.Errorf("%s: err = %v, want a FieldError for %s", op, err, tt.wantField)
				}
				if err != nil && strings.Contains(err.Error(), secret) {
					t.Errorf("%s: secret value in error: %v", op, err)
				}
			}
		})
	}
	t.Cleanup(func() { // after the parallel cases, before the namespace goes
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		list, err := f.kube.CoreV1().Secrets(f.ns).List(ctx, metav1.ListOptions{})
		if err != nil || len(list.Items) != 0 {
			t.Errorf("invalid input wrote Secrets: %v", err)
		}
	})
}

// TestStoreCreateUpsert starts from a Secret written by hand, with a name, labels, annotations and keys of
// its user's choosing: the Store finds it by URL and keeps what it does not own.
func TestStoreCreateUpsert(t *testing.T) {
	t.Parallel()
	f := newStore(t)
	kind := repocreds.SecretTypeRepository
	_, err := f.kube.CoreV1().Secrets(f.ns).Create(t.Context(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:        "hand-written",
			Labels:      map[string]string{repocreds.LabelSecretType: kind, "team": "a"},
			Annotations: map[string]string{"owner": "alice"},
		},
		StringData: map[string]string{
			"url": "https://h.example.com/org/app", "username": "a", "password": "pa",
			"gcpServiceAccountKey": "{}", "enableOCI": "false",
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		url      string
		upsert   bool
		wantErr  error
		wantPass string
	}{
		{name: "same URL", url: "https://h.example.com/org/app", wantErr: repocreds.ErrAlreadyExists},
		{name: "same URL spelled otherwise", url: "https://H.example.com/org/app.git", wantErr: repocreds.ErrAlreadyExists},
		{name: "upsert updates", url: "https://h.example.com/org/app.git", upsert: true, wantPass: "pb"},
	}
	for _, tt := range tests { // in order: each case sees the Secret the previous left
		t.Run(tt.name, func(t *testing.T) {
			r := &repocreds.Repository{URL: tt.url, Git: git.Repo{Username: "b", Password: "pb"}}
			got, err := f.store.Create(t.Context(), kind, r, tt.upsert)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || strings.Contains(err.Error(), "pb") {
					t.Fatalf("err = %v, want %v without the password", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.SecretName != "hand-written" || got.Git.Password != tt.wantPass || got.URL != tt.url {
				t.Errorf("Create = %+v", got)
			}
		})
	}
	// Creating again exactly what is stored answers the stored repository, as in Argo CD; a difference is
	// still refused.
	fresh := &repocreds.Repository{URL: "https://h.example.com/org/other", Git: git.Repo{Username: "c", Password: "pc"}}
	first, err := f.store.Create(t.Context(), kind, fresh, false)
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.store.Create(t.Context(), kind, fresh, false)
	if err != nil || again.SecretName != first.SecretName {
		t.Errorf("Create of an identical repository = %+v, %v; want the stored one", again, err)
	}
	fresh.Git.Password = "changed"
	if _, err := f.store.Create(t.Context(), kind, fresh, false); !errors.Is(err, repocreds.ErrAlreadyExists) {
		t.Errorf("Create of a different repository at the same URL = %v, want ErrAlreadyExists", err)
	}
	if err := f.store.Delete(t.Context(), kind, fresh.URL); err != nil {
		t.Fatal(err)
	}
	sec := f.secret(t, "hand-written")
	if sec.Labels["team"] != "a" || sec.Annotations["owner"] != "alice" || string(sec.Data["gcpServiceAccountKey"]) != "{}" {
		t.Errorf("user data lost: labels %v annotations %v keys %d", sec.Labels, sec.Annotations, len(sec.Data))
	}
	if string(sec.Data["enableOCI"]) != "false" {
		t.Errorf("an explicit false was dropped: %q", sec.Data["enableOCI"])
	}
	if n := len(f.secrets(t)); n != 1 {
		t.Errorf("%d Secrets, want the hand-written one only", n)
	}
	if err := f.store.Delete(t.Context(), kind, "https://h.example.com/org/app"); err != nil {
		t.Fatal(err)
	}
	if n := len(f.secrets(t)); n != 0 {
		t.Errorf("%d Secrets after Delete", n)
	}
}

func TestStoreNotFound(t *testing.T) {
	t.Parallel()
	f := newStore(t)
	const missing = "https://u:pw-in-url@h/missing"
	tests := []struct {
		name string
		call func(ctx context.Context, kind string) error
	}{
		{"get", func(ctx context.Context, kind string) error { _, err := f.store.Get(ctx, kind, missing); return err }},
		{"update", func(ctx context.Context, kind string) error {
			_, err := f.store.Update(ctx, kind, &repocreds.Repository{URL: missing})
			return err
		}},
		{"delete", func(ctx context.Context, kind string) error { return f.store.Delete(ctx, kind, missing) }},
	}
	for _, kind := range []string{repocreds.SecretTypeRepository, repocreds.SecretTypeRepoCreds} {
		for _, tt := range tests {
			t.Run(kind+" "+tt.name, func(t *testing.T) {
				t.Parallel()
				err := tt.call(t.Context(), kind)
				if !errors.Is(err, repocreds.ErrNotFound) || strings.Contains(err.Error(), "pw-in-url") {
					t.Errorf("err = %v, want ErrNotFound without the URL's password", err)
				}
			})
		}
	}
}

func TestRedacted(t *testing.T) {
	t.Parallel()
	secrets := []string{"url-pass", "proxy-pass", "the-password", "the-token", "the-ssh-key", "the-passphrase", "the-tls-key", "the-app-key"}
	full := &repocreds.Repository{
		URL: "https://user:url-pass@h/r", CredsURL: "https://user:url-pass@h/",
		Git: git.Repo{
			URL: "https://user:url-pass@h/r", Username: "user", Password: "the-password", BearerToken: "the-token",
			SSHPrivateKey: "the-ssh-key", SSHKeyPassphrase: "the-passphrase", TLSClientCertData: "CERT", TLSClientCertKey: "the-tls-key",
			Proxy: "http://p:proxy-pass@proxy:3128",
		},
		GitHubApp: &repocreds.GitHubApp{ID: 1, InstallationID: 2, PrivateKey: "the-app-key"},
	}
	tests := []struct {
		name string
		in   *repocreds.Repository
	}{
		{"every secret", full},
		{"none", &repocreds.Repository{URL: "https://h/public"}},
		{"nil", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := repocreds.Redacted(tt.in)
			if tt.in == nil {
				if out != nil {
					t.Fatalf("Redacted(nil) = %+v", out)
				}
				return
			}
			dump := fmt.Sprintf("%+v %+v", out, out.GitHubApp)
			for _, s := range secrets {
				if strings.Contains(dump, s) {
					t.Errorf("%s survives redaction: %s", s, dump)
				}
			}
			if out.Git.Username != tt.in.Git.Username || out.Git.TLSClientCertData != tt.in.Git.TLSClientCertData {
				t.Errorf("non-secret fields lost: %+v", out.Git)
			}
		})
	}
	if full.Git.Password != "the-password" || full.GitHubApp.PrivateKey != "the-app-key" {
		t.Error("Redacted changed its input")
	}
}
