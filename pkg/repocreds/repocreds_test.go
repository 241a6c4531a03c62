package repocreds_test

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/moorcd/moor/pkg/repocreds"
)

func secret(name, kind string, data map[string]string) corev1.Secret {
	s := corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "argocd", Labels: map[string]string{repocreds.LabelSecretType: kind}},
		Data:       map[string][]byte{},
	}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func TestResolve(t *testing.T) {
	t.Parallel()
	secrets := []corev1.Secret{
		secret("org-creds", repocreds.SecretTypeRepoCreds, map[string]string{
			"url": "https://github.com/org", "username": "org-bot", "password": "org-token", "forceHttpBasicAuth": "true",
		}),
		secret("team-creds", repocreds.SecretTypeRepoCreds, map[string]string{
			"url": "https://github.com/org/team-", "username": "team-bot", "password": "team-token",
			"tlsClientCertData": "CERT", "tlsClientCertKey": "KEY",
		}),
		secret("ssh-creds", repocreds.SecretTypeRepoCreds, map[string]string{
			"url": "git@gitlab.example.com:", "sshPrivateKey": "PEM",
		}),
		secret("app", repocreds.SecretTypeRepository, map[string]string{
			"url": "https://github.com/org/app.git", "name": "app", "project": "", "insecure": "true", "depth": "1",
		}),
		secret("own", repocreds.SecretTypeRepository, map[string]string{
			"url": "https://github.com/org/team-own", "username": "me", "password": "mine", "enableLfs": "true",
		}),
		secret("helm", repocreds.SecretTypeRepository, map[string]string{
			"url": "https://charts.example.com", "type": "helm", "name": "charts", "enableOCI": "true",
		}),
		secret("scoped-a", repocreds.SecretTypeRepository, map[string]string{
			"url": "https://git.example.com/shared", "project": "a", "username": "a", "password": "pa",
		}),
		secret("scoped-global", repocreds.SecretTypeRepository, map[string]string{
			"url": "https://git.example.com/shared", "username": "g", "password": "pg",
		}),
		secret("app-gh", repocreds.SecretTypeRepository, map[string]string{
			"url": "https://github.com/other/app", "githubAppID": "12", "githubAppInstallationID": "34",
			"githubAppPrivateKey": "APPKEY",
		}),
		secret("unrelated", "cluster", map[string]string{"url": "https://github.com/org/app", "username": "x"}),
	}

	tests := []struct {
		name               string
		url, project       string
		wantSecret         string
		wantCreds          string
		wantUser, wantPass string
		wantType           string
		check              func(t *testing.T, r *repocreds.Repository)
	}{
		{
			name: "repository secret inherits from the template", url: "https://github.com/org/app.git",
			wantSecret: "app", wantCreds: "org-creds", wantUser: "org-bot", wantPass: "org-token", wantType: "git",
			check: func(t *testing.T, r *repocreds.Repository) {
				if !r.Git.Insecure || !r.Git.InsecureIgnoreHostKey || r.Depth != 1 || r.Name != "app" || !r.ForceHTTPBasicAuth {
					t.Errorf("fields not carried: %+v", r)
				}
			},
		},
		{
			name: "normalized URL matches the repository secret", url: "https://GitHub.com/org/app/",
			wantSecret: "app", wantCreds: "org-creds", wantUser: "org-bot", wantPass: "org-token", wantType: "git",
		},
		{
			name: "longest template prefix wins", url: "https://github.com/org/team-api",
			wantCreds: "team-creds", wantUser: "team-bot", wantPass: "team-token", wantType: "git",
			check: func(t *testing.T, r *repocreds.Repository) {
				if r.Git.TLSClientCertData != "CERT" || r.Git.TLSClientCertKey != "KEY" || r.Git.URL != "https://github.com/org/team-api" {
					t.Errorf("template fields: %+v", r.Git)
				}
			},
		},
		{
			name: "own credentials are not replaced", url: "https://github.com/org/team-own",
			wantSecret: "own", wantCreds: "team-creds", wantUser: "me", wantPass: "mine", wantType: "git",
			check: func(t *testing.T, r *repocreds.Repository) {
				if !r.EnableLFS || r.Git.TLSClientCertData != "CERT" {
					t.Errorf("want LFS and the inherited client cert: %+v", r)
				}
			},
		},
		{
			name: "scp-like template", url: "git@gitlab.example.com:group/repo.git",
			wantCreds: "ssh-creds", wantType: "git",
			check: func(t *testing.T, r *repocreds.Repository) {
				if r.Git.SSHPrivateKey != "PEM" {
					t.Errorf("ssh key not inherited")
				}
			},
		},
		{
			name: "helm repository", url: "https://charts.example.com",
			wantSecret: "helm", wantType: "helm",
			check: func(t *testing.T, r *repocreds.Repository) {
				if !r.EnableOCI || r.Name != "charts" || r.HasCredentials() {
					t.Errorf("helm repo: %+v", r)
				}
			},
		},
		{
			name: "project-scoped secret for its project", url: "https://git.example.com/shared", project: "a",
			wantSecret: "scoped-a", wantUser: "a", wantPass: "pa", wantType: "git",
		},
		{
			name: "global secret for another project", url: "https://git.example.com/shared", project: "b",
			wantSecret: "scoped-global", wantUser: "g", wantPass: "pg", wantType: "git",
		},
		{
			name: "github app", url: "https://github.com/other/app",
			wantSecret: "app-gh", wantType: "git",
			check: func(t *testing.T, r *repocreds.Repository) {
				if r.GitHubApp == nil || r.GitHubApp.ID != 12 || r.GitHubApp.InstallationID != 34 || r.GitHubApp.PrivateKey != "APPKEY" {
					t.Errorf("github app: %+v", r.GitHubApp)
				}
			},
		},
		{
			name: "nothing matches: public", url: "https://gitlab.com/public/repo", wantType: "git",
			check: func(t *testing.T, r *repocreds.Repository) {
				if r.HasCredentials() {
					t.Errorf("unexpected credentials: %+v", r)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := repocreds.Resolve(secrets, tt.url, tt.project)
			if err != nil {
				t.Fatal(err)
			}
			if r.SecretName != tt.wantSecret || r.CredsSecretName != tt.wantCreds {
				t.Errorf("secret = %q creds = %q, want %q and %q", r.SecretName, r.CredsSecretName, tt.wantSecret, tt.wantCreds)
			}
			if r.Git.Username != tt.wantUser || r.Git.Password != tt.wantPass {
				t.Errorf("user/password = %q/%q, want %q/%q", r.Git.Username, r.Git.Password, tt.wantUser, tt.wantPass)
			}
			if r.Type != tt.wantType || r.URL != tt.url || r.Git.URL != tt.url {
				t.Errorf("type = %q url = %q/%q", r.Type, r.URL, r.Git.URL)
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

func TestResolveInvalidSecretHidesValues(t *testing.T) {
	t.Parallel()
	secrets := []corev1.Secret{secret("bad", repocreds.SecretTypeRepository, map[string]string{
		"url": "https://x/y", "password": "hunter22", "insecure": "maybe",
	})}
	_, err := repocreds.Resolve(secrets, "https://x/y", "")
	if !errors.Is(err, repocreds.ErrInvalidSecret) {
		t.Fatalf("error = %v, want ErrInvalidSecret", err)
	}
	if strings.Contains(err.Error(), "hunter22") {
		t.Fatalf("secret value in error: %v", err)
	}
}

func TestRepositories(t *testing.T) {
	t.Parallel()
	secrets := []corev1.Secret{
		secret("b", repocreds.SecretTypeRepository, map[string]string{"url": "https://h/b"}),
		secret("a", repocreds.SecretTypeRepository, map[string]string{"url": "https://h/a"}),
		secret("t", repocreds.SecretTypeRepoCreds, map[string]string{"url": "https://h/", "password": "p"}),
	}
	repos, err := repocreds.Repositories(secrets)
	if err != nil {
		t.Fatal(err)
	}
	if len(repos) != 2 || repos[0].URL != "https://h/a" || repos[1].Git.Password != "p" {
		t.Fatalf("Repositories = %+v", repos)
	}
}

func TestResolverWithListers(t *testing.T) {
	t.Parallel()
	secrets := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	cms := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, s := range []corev1.Secret{
		secret("repo", repocreds.SecretTypeRepository, map[string]string{"url": "https://git.example.com/app", "username": "u", "password": "p"}),
		secret("other-ns", repocreds.SecretTypeRepository, map[string]string{"url": "https://git.example.com/app", "username": "x"}),
	} {
		if s.Name == "other-ns" {
			s.Namespace = "elsewhere"
		}
		if err := secrets.Add(&s); err != nil {
			t.Fatal(err)
		}
	}
	for _, cm := range []*corev1.ConfigMap{
		{ObjectMeta: metav1.ObjectMeta{Name: repocreds.KnownHostsConfigMap, Namespace: "argocd"}, Data: map[string]string{repocreds.KnownHostsKey: "git.example.com ssh-ed25519 AAAA"}},
		{ObjectMeta: metav1.ObjectMeta{Name: repocreds.TLSCertsConfigMap, Namespace: "argocd"}, Data: map[string]string{"git.example.com": "CA PEM"}},
	} {
		if err := cms.Add(cm); err != nil {
			t.Fatal(err)
		}
	}
	r := &repocreds.Resolver{
		Secrets:    corelisters.NewSecretLister(secrets).Secrets("argocd"),
		ConfigMaps: corelisters.NewConfigMapLister(cms).ConfigMaps("argocd"),
	}
	repo, err := r.Resolve(t.Context(), "https://git.example.com/app", "")
	if err != nil {
		t.Fatal(err)
	}
	if repo.SecretName != "repo" || repo.Git.Username != "u" || repo.Git.KnownHosts == "" || repo.Git.CAData != "CA PEM" {
		t.Fatalf("Resolve = %+v", repo)
	}

	bare := &repocreds.Resolver{Secrets: corelisters.NewSecretLister(secrets).Secrets("argocd"),
		ConfigMaps: corelisters.NewConfigMapLister(cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})).ConfigMaps("argocd")}
	if _, err := bare.Resolve(t.Context(), "https://git.example.com/app", ""); err != nil {
		t.Fatalf("missing ConfigMaps must not fail: %v", err)
	}
}
