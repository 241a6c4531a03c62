package git_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/moorcd/moor/pkg/git"
	"github.com/moorcd/moor/pkg/render"
	"github.com/moorcd/moor/test/gittest"
)

func TestMain(m *testing.M) {
	// go-git never reads the user's git config for these operations, but keep every git process hermetic.
	os.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
	os.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	os.Exit(m.Run())
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newStore(t *testing.T, opts git.Options) *git.Store {
	t.Helper()
	if opts.Root == "" {
		opts.Root = t.TempDir()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := git.NewStore(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sampleRepo has two commits on main, a feature branch, tags and symlinks.
type sampleRepo struct {
	*gittest.Repo
	first, second, feature string
}

func newSampleRepo(t *testing.T) *sampleRepo {
	t.Helper()
	r := gittest.NewRepo(t)
	r.Write("apps/a/deploy.yaml", "kind: Deployment\nmetadata: {name: a}\n").
		Write("apps/b/cm.yaml", "kind: ConfigMap\nmetadata: {name: b}\n").
		Write("README.md", "hello\n")
	first := r.Commit("first")
	r.Tag("v1.0.0").AnnotatedTag("v1.2.3", "release 1.2.3")
	r.Write("apps/b/cm.yaml", "kind: ConfigMap\nmetadata: {name: b2}\n")
	second := r.Commit("second")
	r.Tag("v1.3.0").Tag("v2.0.0")
	r.Branch("feature").Write("feature.txt", "f\n")
	feature := r.Commit("feature work")
	r.Checkout("main")
	return &sampleRepo{Repo: r, first: first, second: second, feature: feature}
}

func TestHTTPBasicAuth(t *testing.T) {
	t.Parallel()
	repo := newSampleRepo(t)
	srv := gittest.NewHTTPServer(t, gittest.HTTPOptions{Username: "alice", Password: "s3cret-pass"})
	url := srv.Add(t, "team/app.git", repo.Repo)

	tests := []struct {
		name    string
		repo    git.Repo
		wantErr error
	}{
		{"good password", git.Repo{URL: url, Username: "alice", Password: "s3cret-pass"}, nil},
		{"credentials in URL", git.Repo{URL: strings.Replace(url, "://", "://alice:s3cret-pass@", 1)}, nil},
		{"wrong password", git.Repo{URL: url, Username: "alice", Password: "wrong-pass"}, git.ErrAuthentication},
		{"no credentials", git.Repo{URL: url}, git.ErrAuthentication},
		{"unknown repository", git.Repo{URL: srv.URL + "/nope.git", Username: "alice", Password: "s3cret-pass"}, git.ErrRepositoryNotFound},
		{"unreachable", git.Repo{URL: "http://127.0.0.1:1/x.git"}, git.ErrUnreachable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t, git.Options{})
			res, err := s.Resolve(t.Context(), tt.repo, "main", git.ResolveOptions{})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Resolve error = %v, want %v", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "wrong-pass") || strings.Contains(err.Error(), "s3cret-pass") {
					t.Fatalf("secret in error: %v", err)
				}
				if err := s.TestRepository(t.Context(), tt.repo); !errors.Is(err, tt.wantErr) {
					t.Fatalf("TestRepository error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if res.SHA != repo.second {
				t.Fatalf("Resolve(main) = %s, want %s", res.SHA, repo.second)
			}
			tree, err := s.Tree(t.Context(), tt.repo, res.SHA)
			if err != nil {
				t.Fatalf("Tree: %v", err)
			}
			b, err := tree.ReadFile("apps/b/cm.yaml")
			if err != nil || !strings.Contains(string(b), "b2") {
				t.Fatalf("ReadFile = %q, %v", b, err)
			}
		})
	}
}

func TestSSH(t *testing.T) {
	t.Parallel()
	repo := newSampleRepo(t)
	srv := gittest.NewSSHServer(t, gittest.SSHOptions{})
	url := srv.Add(t, "app.git", repo.Repo)
	otherKey, _ := gittest.NewSSHKey(t)
	_, wrongHostKey := gittest.NewSSHKey(t)

	tests := []struct {
		name    string
		repo    git.Repo
		wantErr error
	}{
		{"key and known_hosts", git.Repo{URL: url, SSHPrivateKey: string(srv.ClientKeyPEM), KnownHosts: srv.KnownHosts}, nil},
		{"known_hosts with comments", git.Repo{URL: url, SSHPrivateKey: string(srv.ClientKeyPEM), KnownHosts: "# comment\n" + srv.KnownHosts}, nil},
		{"wrong host key refused", git.Repo{URL: url, SSHPrivateKey: string(srv.ClientKeyPEM), KnownHosts: gittest.KnownHostsLine(srv.Addr, wrongHostKey)}, git.ErrHostKey},
		{"unknown host refused", git.Repo{URL: url, SSHPrivateKey: string(srv.ClientKeyPEM), KnownHosts: gittest.KnownHostsLine("10.9.9.9:22", srv.HostKey)}, git.ErrHostKey},
		{"no known_hosts refused", git.Repo{URL: url, SSHPrivateKey: string(srv.ClientKeyPEM)}, git.ErrHostKey},
		{"insecure ignore host key is explicit", git.Repo{URL: url, SSHPrivateKey: string(srv.ClientKeyPEM), InsecureIgnoreHostKey: true}, nil},
		{"unauthorized key", git.Repo{URL: url, SSHPrivateKey: string(otherKey), KnownHosts: srv.KnownHosts}, git.ErrAuthentication},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t, git.Options{})
			res, err := s.Resolve(t.Context(), tt.repo, "v1.2.3", git.ResolveOptions{})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Resolve error = %v, want %v", err, tt.wantErr)
				}
				if !errors.Is(err, git.ErrAuthentication) {
					t.Fatalf("host key and auth failures must be authentication errors: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if res.SHA != repo.first || res.Kind != git.KindTag {
				t.Fatalf("Resolve(v1.2.3) = %+v, want %s tag", res, repo.first)
			}
			tree, err := s.Tree(t.Context(), tt.repo, res.SHA)
			if err != nil {
				t.Fatalf("Tree: %v", err)
			}
			if b, err := tree.ReadFile("apps/b/cm.yaml"); err != nil || !strings.Contains(string(b), "name: b}") {
				t.Fatalf("ReadFile = %q, %v", b, err)
			}
		})
	}
}

func TestTLS(t *testing.T) {
	t.Parallel()
	repo := newSampleRepo(t)
	plain := gittest.NewHTTPServer(t, gittest.HTTPOptions{TLS: true})
	plainURL := plain.Add(t, "app.git", repo.Repo)
	mtls := gittest.NewHTTPServer(t, gittest.HTTPOptions{RequireClientCert: true})
	mtlsURL := mtls.Add(t, "app.git", repo.Repo)

	tests := []struct {
		name    string
		repo    git.Repo
		wantErr error
	}{
		{"custom CA", git.Repo{URL: plainURL, CAData: string(plain.CA.CertPEM)}, nil},
		{"unknown CA refused", git.Repo{URL: plainURL}, git.ErrTLS},
		{"insecure skips verification", git.Repo{URL: plainURL, Insecure: true}, nil},
		{"client certificate", git.Repo{URL: mtlsURL, CAData: string(mtls.CA.CertPEM),
			TLSClientCertData: string(mtls.ClientCertPEM), TLSClientCertKey: string(mtls.ClientKeyPEM)}, nil},
		{"missing client certificate", git.Repo{URL: mtlsURL, CAData: string(mtls.CA.CertPEM)}, git.ErrUnreachable},
		{"half a client certificate", git.Repo{URL: mtlsURL, TLSClientCertData: string(mtls.ClientCertPEM)}, git.ErrInvalidRepo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t, git.Options{})
			res, err := s.Resolve(t.Context(), tt.repo, "HEAD", git.ResolveOptions{})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Resolve error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if _, err := s.Tree(t.Context(), tt.repo, res.SHA); err != nil {
				t.Fatalf("Tree: %v", err)
			}
		})
	}
}

func TestResolveRevisions(t *testing.T) {
	t.Parallel()
	repo := newSampleRepo(t)
	srv := gittest.NewHTTPServer(t, gittest.HTTPOptions{})
	r := git.Repo{URL: srv.Add(t, "app.git", repo.Repo)}
	s := newStore(t, git.Options{})

	tests := []struct {
		revision string
		wantSHA  string
		wantKind git.RevisionKind
		wantRef  string
		wantErr  error
	}{
		{revision: "", wantSHA: repo.second, wantKind: git.KindBranch, wantRef: "refs/heads/main"},
		{revision: "HEAD", wantSHA: repo.second, wantKind: git.KindBranch, wantRef: "refs/heads/main"},
		{revision: "main", wantSHA: repo.second, wantKind: git.KindBranch, wantRef: "refs/heads/main"},
		{revision: "feature", wantSHA: repo.feature, wantKind: git.KindBranch, wantRef: "refs/heads/feature"},
		{revision: "refs/heads/feature", wantSHA: repo.feature, wantKind: git.KindBranch, wantRef: "refs/heads/feature"},
		{revision: "v1.0.0", wantSHA: repo.first, wantKind: git.KindTag, wantRef: "refs/tags/v1.0.0"},
		{revision: "v1.2.3", wantSHA: repo.first, wantKind: git.KindTag, wantRef: "refs/tags/v1.2.3"},
		{revision: repo.first, wantSHA: repo.first, wantKind: git.KindCommit},
		{revision: strings.ToUpper(repo.first), wantSHA: repo.first, wantKind: git.KindCommit},
		{revision: repo.first[:7], wantSHA: repo.first, wantKind: git.KindCommit},
		{revision: repo.first[:12], wantSHA: repo.first, wantKind: git.KindCommit},
		{revision: "1.2.*", wantSHA: repo.first, wantKind: git.KindSemver, wantRef: "refs/tags/v1.2.3"},
		{revision: ">=1.0.0 <2.0.0", wantSHA: repo.second, wantKind: git.KindSemver, wantRef: "refs/tags/v1.3.0"},
		{revision: "~1.2", wantSHA: repo.first, wantKind: git.KindSemver, wantRef: "refs/tags/v1.2.3"},
		{revision: "^1", wantSHA: repo.second, wantKind: git.KindSemver, wantRef: "refs/tags/v1.3.0"},
		{revision: "*", wantSHA: repo.second, wantKind: git.KindSemver, wantRef: "refs/tags/v2.0.0"},
		{revision: "^3", wantErr: git.ErrRevisionNotFound},
		{revision: "no-such-branch", wantErr: git.ErrRevisionNotFound},
		{revision: "0000000", wantErr: git.ErrRevisionNotFound},
		{revision: strings.Repeat("0", 40), wantErr: git.ErrRevisionNotFound},
	}
	for _, tt := range tests {
		t.Run("rev="+tt.revision, func(t *testing.T) {
			t.Parallel()
			got, err := s.Resolve(t.Context(), r, tt.revision, git.ResolveOptions{})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Resolve(%q) error = %v, want %v", tt.revision, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve(%q): %v", tt.revision, err)
			}
			want := git.Resolution{SHA: tt.wantSHA, Kind: tt.wantKind, Ref: tt.wantRef}
			if got != want {
				t.Fatalf("Resolve(%q) = %+v, want %+v", tt.revision, got, want)
			}
		})
	}
}

func TestResolveCacheTTLAndNoCache(t *testing.T) {
	t.Parallel()
	repo := newSampleRepo(t)
	srv := gittest.NewHTTPServer(t, gittest.HTTPOptions{})
	r := git.Repo{URL: srv.Add(t, "app.git", repo.Repo)}
	clock := &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := newStore(t, git.Options{Clock: clock})
	resolve := func(noCache bool) string {
		t.Helper()
		res, err := s.Resolve(t.Context(), r, "main", git.ResolveOptions{NoCache: noCache})
		if err != nil {
			t.Fatal(err)
		}
		return res.SHA
	}

	if got := resolve(false); got != repo.second {
		t.Fatalf("first resolve = %s, want %s", got, repo.second)
	}
	listings := srv.RefListings()
	third := repo.Write("new.txt", "x").Commit("third")

	clock.Advance(git.DefaultResolveTTL - time.Second)
	if got := resolve(false); got != repo.second {
		t.Fatalf("within TTL resolve = %s, want cached %s", got, repo.second)
	}
	if srv.RefListings() != listings {
		t.Fatalf("within TTL the remote was listed again")
	}
	if got := resolve(true); got != third {
		t.Fatalf("NoCache resolve = %s, want %s", got, third)
	}
	if srv.RefListings() != listings+1 {
		t.Fatalf("NoCache listings = %d, want %d", srv.RefListings(), listings+1)
	}

	fourth := repo.Write("new.txt", "y").Commit("fourth")
	if got := resolve(false); got != third {
		t.Fatalf("hard refresh result not cached: got %s, want %s", got, third)
	}
	clock.Advance(git.DefaultResolveTTL)
	if got := resolve(false); got != fourth {
		t.Fatalf("after TTL resolve = %s, want %s", got, fourth)
	}
}

func TestCoalescedFetch(t *testing.T) {
	t.Parallel()
	repo := newSampleRepo(t)
	srv := gittest.NewHTTPServer(t, gittest.HTTPOptions{UploadPackDelay: 300 * time.Millisecond})
	r := git.Repo{URL: srv.Add(t, "app.git", repo.Repo)}
	s := newStore(t, git.Options{})

	const callers = 16
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rev := []string{"main", "v1.0.0", "feature", "HEAD"}[i%4]
			res, err := s.Resolve(t.Context(), r, rev, git.ResolveOptions{})
			if err != nil {
				errs <- err
				return
			}
			tree, err := s.Tree(t.Context(), r, res.SHA)
			if err != nil {
				errs <- err
				return
			}
			if _, err := tree.ReadFile("README.md"); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := srv.Fetches(); got != 1 {
		t.Fatalf("server saw %d fetches, want 1", got)
	}
	if got := srv.RefListings(); got != 2 { // one ls-remote, one fetch negotiation
		t.Fatalf("server saw %d ref listings, want 2", got)
	}
}

func TestConcurrentTreesOfTwoCommits(t *testing.T) {
	t.Parallel()
	repo := newSampleRepo(t)
	srv := gittest.NewHTTPServer(t, gittest.HTTPOptions{})
	r := git.Repo{URL: srv.Add(t, "app.git", repo.Repo)}
	s := newStore(t, git.Options{})

	want := map[string]string{repo.first: "name: b}", repo.second: "name: b2}"}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 32 {
		sha := repo.first
		if i%2 == 1 {
			sha = repo.second
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			tree, err := s.Tree(t.Context(), r, sha)
			if err != nil {
				errs <- err
				return
			}
			var inner sync.WaitGroup
			for range 4 {
				inner.Add(1)
				go func() {
					defer inner.Done()
					for range 20 {
						b, err := tree.ReadFile("apps/b/cm.yaml")
						if err != nil {
							errs <- err
							return
						}
						if !strings.Contains(string(b), want[sha]) {
							errs <- fmt.Errorf("commit %s: got %q", sha, b)
							return
						}
					}
				}()
			}
			inner.Wait()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestTreeFS(t *testing.T) {
	t.Parallel()
	repo := gittest.NewRepo(t)
	repo.Write("app/deploy.yaml", "kind: Deployment\n").
		Write("app/sub/cm.yaml", "kind: ConfigMap\n").
		Write("shared/values.yaml", "replicas: 2\n").
		Write("big.bin", strings.Repeat("x", 2048)).
		Symlink("app/values.yaml", "../shared/values.yaml").
		Symlink("app/chain.yaml", "values.yaml").
		Symlink("app/shared", "../shared").
		Symlink("app/self", "self").
		Symlink("escape/up.yaml", "../../etc/passwd").
		Symlink("escape/abs.yaml", "/etc/passwd").
		Symlink("escape/dir", "../..")
	sha := repo.Commit("tree")
	srv := gittest.NewHTTPServer(t, gittest.HTTPOptions{})
	r := git.Repo{URL: srv.Add(t, "app.git", repo)}
	s := newStore(t, git.Options{MaxFileBytes: 1024})
	tree, err := s.Tree(t.Context(), r, sha)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		path    string
		want    string
		wantErr error
	}{
		{"file", "app/deploy.yaml", "kind: Deployment\n", nil},
		{"nested", "app/sub/cm.yaml", "kind: ConfigMap\n", nil},
		{"symlink inside the tree", "app/values.yaml", "replicas: 2\n", nil},
		{"symlink chain", "app/chain.yaml", "replicas: 2\n", nil},
		{"through a directory symlink", "app/shared/values.yaml", "replicas: 2\n", nil},
		{"symlink loop", "app/self", "", nil},
		{"symlink escaping the root", "escape/up.yaml", "", git.ErrPathEscape},
		{"absolute symlink", "escape/abs.yaml", "", git.ErrPathEscape},
		{"directory symlink escaping", "escape/dir/etc/passwd", "", git.ErrPathEscape},
		{"dot-dot path", "../etc/passwd", "", git.ErrPathEscape},
		{"inner dot-dot path", "app/../../x", "", git.ErrPathEscape},
		{"absolute path", "/etc/passwd", "", git.ErrPathEscape},
		{"missing", "app/nope.yaml", "", fs.ErrNotExist},
		{"file as directory", "app/deploy.yaml/x", "", fs.ErrNotExist},
		{"over the file cap", "big.bin", "", git.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tree.ReadFile(tt.path)
			if tt.name == "symlink loop" {
				if err == nil {
					t.Fatal("symlink loop: want an error")
				}
				return
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ReadFile(%q) error = %v, want %v", tt.path, err, tt.wantErr)
				}
				if errors.Is(tt.wantErr, git.ErrPathEscape) && !errors.Is(err, render.ErrPathEscape) {
					t.Fatalf("path escape must be render.ErrPathEscape: %v", err)
				}
				if _, err := tree.Open(tt.path); !errors.Is(err, tt.wantErr) && tt.wantErr != git.ErrTooLarge {
					t.Fatalf("Open(%q) error = %v, want %v", tt.path, err, tt.wantErr)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("ReadFile(%q) = %q, %v; want %q", tt.path, got, err, tt.want)
			}
		})
	}

	t.Run("readdir and stat", func(t *testing.T) {
		t.Parallel()
		entries, err := tree.ReadDir("app")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, fmt.Sprintf("%s:%v", e.Name(), e.Type()))
		}
		want := "chain.yaml:L---------,deploy.yaml:----------,self:L---------,shared:L---------,sub:d---------,values.yaml:L---------"
		if got := strings.Join(names, ","); got != want {
			t.Fatalf("ReadDir(app) = %s, want %s", got, want)
		}
		fi, err := tree.Stat("app/values.yaml")
		if err != nil || fi.Size() != int64(len("replicas: 2\n")) || fi.Mode().Type() != 0 {
			t.Fatalf("Stat follows symlinks: %v %v", fi, err)
		}
		li, err := tree.Lstat("app/values.yaml")
		if err != nil || li.Mode().Type() != fs.ModeSymlink {
			t.Fatalf("Lstat: %v %v", li, err)
		}
		if target, err := tree.ReadLink("app/values.yaml"); err != nil || target != "../shared/values.yaml" {
			t.Fatalf("ReadLink = %q, %v", target, err)
		}
		if fi, err := tree.Stat("."); err != nil || !fi.IsDir() {
			t.Fatalf("Stat(.) = %v, %v", fi, err)
		}
	})

}

func TestTreeFSContract(t *testing.T) {
	t.Parallel()
	repo := gittest.NewRepo(t)
	repo.Write("app/deploy.yaml", "kind: Deployment\n").
		Write("app/sub/cm.yaml", "kind: ConfigMap\n").
		Write("shared/values.yaml", "replicas: 2\n").
		Symlink("app/values.yaml", "../shared/values.yaml").
		Symlink("app/shared", "../shared")
	sha := repo.Commit("tree")
	srv := gittest.NewHTTPServer(t, gittest.HTTPOptions{})
	r := git.Repo{URL: srv.Add(t, "app.git", repo)}
	tree, err := newStore(t, git.Options{}).Tree(t.Context(), r, sha)
	if err != nil {
		t.Fatal(err)
	}
	if err := fstest.TestFS(tree, "app/deploy.yaml", "app/sub/cm.yaml", "shared/values.yaml", "app/values.yaml"); err != nil {
		t.Fatal(err)
	}
}

func TestTreeHashAndRecording(t *testing.T) {
	t.Parallel()
	repo := newSampleRepo(t)
	srv := gittest.NewHTTPServer(t, gittest.HTTPOptions{})
	r := git.Repo{URL: srv.Add(t, "app.git", repo.Repo)}
	s := newStore(t, git.Options{})
	first, err := s.Tree(t.Context(), r, repo.first)
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.Tree(t.Context(), r, repo.second)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		path string
		same bool
	}{
		{"apps/a", true},
		{"apps/a/deploy.yaml", true},
		{"README.md", true},
		{"apps/b", false},
		{"apps", false},
		{".", false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			h1, err1 := first.TreeHash(tt.path)
			h2, err2 := second.TreeHash(tt.path)
			if err1 != nil || err2 != nil {
				t.Fatalf("TreeHash: %v %v", err1, err2)
			}
			if (h1 == h2) != tt.same {
				t.Fatalf("TreeHash(%s) same = %v, want %v", tt.path, h1 == h2, tt.same)
			}
		})
	}

	t.Run("recording", func(t *testing.T) {
		t.Parallel()
		rec := first.Record()
		if err := fs.WalkDir(rec, "apps/a", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			_, err = rec.ReadFile(p)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		_, _ = rec.Stat("apps/a/Chart.yaml") // a probe for a file that does not exist is recorded too
		paths := rec.Paths()
		want := "apps/a,apps/a/Chart.yaml,apps/a/deploy.yaml"
		if got := strings.Join(paths, ","); got != want {
			t.Fatalf("Paths = %s, want %s", got, want)
		}
		h1, err := first.TreeHashes(paths)
		if err != nil {
			t.Fatal(err)
		}
		h2, err := second.TreeHashes(paths)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(h1) != fmt.Sprint(h2) || h1["apps/a/Chart.yaml"] != "" {
			t.Fatalf("hashes differ for an untouched app: %v vs %v", h1, h2)
		}
	})
}

func TestMetadataAndRefs(t *testing.T) {
	t.Parallel()
	repo := newSampleRepo(t)
	srv := gittest.NewHTTPServer(t, gittest.HTTPOptions{})
	r := git.Repo{URL: srv.Add(t, "app.git", repo.Repo)}
	s := newStore(t, git.Options{})

	refs, err := s.ListRefs(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%v %v %s", refs.Branches, refs.Tags, refs.HEAD); got != "[feature main] [v1.0.0 v1.2.3 v1.3.0 v2.0.0] main" {
		t.Fatalf("ListRefs = %s", got)
	}
	md, err := s.RevisionMetadata(t.Context(), r, repo.first)
	if err != nil {
		t.Fatal(err)
	}
	if md.Author.Name != "Moor Test" || md.Message != "first\n" || len(md.Parents) != 0 ||
		fmt.Sprint(md.Tags) != "[v1.0.0 v1.2.3]" || md.Author.When.IsZero() {
		t.Fatalf("RevisionMetadata(first) = %+v", md)
	}
	md, err = s.RevisionMetadata(t.Context(), r, repo.second)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(md.Parents) != "["+repo.first+"]" {
		t.Fatalf("parents = %v", md.Parents)
	}
	if err := s.TestRepository(t.Context(), r); err != nil {
		t.Fatalf("TestRepository: %v", err)
	}
}

func TestSizeCap(t *testing.T) {
	t.Parallel()
	repo := gittest.NewRepo(t)
	noise := make([]byte, 256<<10) // random bytes do not compress
	if _, err := rand.Read(noise); err != nil {
		t.Fatal(err)
	}
	repo.Write("blob.bin", string(noise))
	sha := repo.Commit("big")
	srv := gittest.NewHTTPServer(t, gittest.HTTPOptions{})
	r := git.Repo{URL: srv.Add(t, "app.git", repo)}
	root := t.TempDir()
	s := newStore(t, git.Options{Root: root, MaxRepoBytes: 64 << 10})

	_, err := s.Tree(t.Context(), r, sha)
	if !errors.Is(err, git.ErrTooLarge) {
		t.Fatalf("Tree error = %v, want ErrTooLarge", err)
	}
	left, _ := filepath.Glob(filepath.Join(root, "repos", "*", "objects", "pack", "*"))
	if len(left) != 0 {
		t.Fatalf("refused fetch left files behind: %v", left)
	}

	big := newStore(t, git.Options{MaxRepoBytes: 4 << 20})
	if _, err := big.Tree(t.Context(), r, sha); err != nil {
		t.Fatalf("Tree under the cap: %v", err)
	}
}

func TestFetchTimeout(t *testing.T) {
	t.Parallel()
	repo := newSampleRepo(t)
	srv := gittest.NewHTTPServer(t, gittest.HTTPOptions{UploadPackDelay: 5 * time.Second})
	r := git.Repo{URL: srv.Add(t, "app.git", repo.Repo)}
	s := newStore(t, git.Options{FetchTimeout: 300 * time.Millisecond})
	_, err := s.Tree(t.Context(), r, repo.second)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Tree error = %v, want context.DeadlineExceeded", err)
	}
}

func BenchmarkTreeReadFile(b *testing.B) {
	repo := gittest.NewRepo(b)
	for i := range 50 {
		repo.Write(fmt.Sprintf("apps/app-%02d/deploy.yaml", i), strings.Repeat("key: value\n", 100))
	}
	sha := repo.Commit("bench")
	srv := gittest.NewHTTPServer(b, gittest.HTTPOptions{})
	r := git.Repo{URL: srv.Add(b, "app.git", repo)}
	s, err := git.NewStore(git.Options{Root: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	tree, err := s.Tree(b.Context(), r, sha)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := tree.ReadFile(fmt.Sprintf("apps/app-%02d/deploy.yaml", i%50)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResolveCached(b *testing.B) {
	repo := gittest.NewRepo(b)
	repo.Write("a", "a")
	repo.Commit("one")
	repo.Tag("v1.0.0")
	srv := gittest.NewHTTPServer(b, gittest.HTTPOptions{})
	r := git.Repo{URL: srv.Add(b, "app.git", repo)}
	s, err := git.NewStore(git.Options{Root: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	for _, rev := range []string{"main", "^1"} {
		b.Run(rev, func(b *testing.B) {
			if _, err := s.Resolve(b.Context(), r, rev, git.ResolveOptions{}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Resolve(b.Context(), r, rev, git.ResolveOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
