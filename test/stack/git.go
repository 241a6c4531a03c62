package stack

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/http/cgi"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Webhook providers the Git server can imitate.
const (
	ProviderGitea  = "gitea"
	ProviderGitHub = "github"
)

// ErrRepoExists is returned by CreateRepo for a repository that is already there (it is left unchanged).
var ErrRepoExists = errors.New("repository exists")

// zeroSHA is the id Git providers send for the missing side of a created or deleted ref.
const zeroSHA = "0000000000000000000000000000000000000000"

// maxListedCommits bounds the commits a webhook payload lists, as Gitea does; total_commits tells the rest.
const maxListedCommits = 20

// GitOptions configure a GitServer.
type GitOptions struct {
	// Addr is the listen address. Empty: a free loopback port.
	Addr string
	// Dir holds the bare repositories (NAME.git). Empty: a temporary directory that Close removes. A
	// directory that already holds repositories serves them.
	Dir string
	// Username and Password, when set, are required (HTTP basic auth) for every request, fetches too.
	Username, Password string
	// Log receives one line per push and per webhook delivery. Nil: none.
	Log io.Writer
}

// GitServer serves bare repositories over Git's smart HTTP protocol (git http-backend), accepts pushes
// and, after each push, POSTs a push webhook for every ref it changed, as a Git host does.
type GitServer struct {
	// BaseURL is http://host:port; repositories are at BaseURL/NAME.git.
	BaseURL string

	opts    GitOptions
	dir     string
	tempDir bool
	srv     *http.Server
	backend *cgi.Handler

	mu       sync.Mutex
	hook     webhookTarget
	repoLock map[string]*sync.Mutex
	closed   bool // set by Close under mu: no delivery starts after it (deliveries.Add never races Wait)

	deliveries sync.WaitGroup
	pushes     atomic.Int64
	delivered  atomic.Int64
	failed     atomic.Int64
}

type webhookTarget struct {
	url, provider, secret string
}

// GitStats counts what a GitServer did.
type GitStats struct {
	// Pushes counts receive-pack requests (git push).
	Pushes int64
	// Delivered counts webhooks answered with 2xx; Failed the others.
	Delivered, Failed int64
}

// NewGitServer starts a Git server. It needs the git CLI (git http-backend).
func NewGitServer(o GitOptions) (*GitServer, error) {
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		return nil, fmt.Errorf("git --exec-path: %w (is git installed?)", err)
	}
	backend := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	if _, err := os.Stat(backend); err != nil {
		return nil, fmt.Errorf("git http-backend: %w", err)
	}
	g := &GitServer{opts: o, dir: o.Dir, repoLock: map[string]*sync.Mutex{}}
	if g.dir == "" {
		if g.dir, err = os.MkdirTemp("", "moor-git-"); err != nil {
			return nil, err
		}
		g.tempDir = true
	} else if err := os.MkdirAll(g.dir, 0o755); err != nil {
		return nil, err
	}
	g.backend = &cgi.Handler{
		Path:   backend,
		Root:   "/",
		Env:    append(gitEnv(), "GIT_PROJECT_ROOT="+g.dir, "GIT_HTTP_EXPORT_ALL=1"),
		Stderr: io.Discard,
		Logger: log.New(io.Discard, "", 0),
	}
	addr := o.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		g.removeTemp()
		return nil, fmt.Errorf("git server: %w", err)
	}
	g.BaseURL = "http://" + ln.Addr().String()
	g.srv = &http.Server{Handler: g, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go func() { _ = g.srv.Serve(ln) }()
	return g, nil
}

// URL is the clone URL of a repository, without credentials (what an Application's repoURL names).
func (g *GitServer) URL(name string) string { return g.BaseURL + "/" + name + ".git" }

// AuthURL is the clone URL with the server's credentials in it, for git clone and git push.
func (g *GitServer) AuthURL(name string) string {
	if g.opts.Username == "" && g.opts.Password == "" {
		return g.URL(name)
	}
	u, _ := url.Parse(g.URL(name))
	u.User = url.UserPassword(g.opts.Username, g.opts.Password)
	return u.String()
}

// Username and Password are the credentials the server requires (empty when none).
func (g *GitServer) Username() string { return g.opts.Username }

// Password is the password the server requires (empty when none).
func (g *GitServer) Password() string { return g.opts.Password }

// SetWebhook makes every later push POST a webhook of provider (ProviderGitea or ProviderGitHub) to url,
// signed with secret (HMAC-SHA256; empty: unsigned). An empty url turns webhooks off.
func (g *GitServer) SetWebhook(url, provider, secret string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.hook = webhookTarget{url: url, provider: provider, secret: secret}
}

// Stats returns the counts of pushes and webhook deliveries so far.
func (g *GitServer) Stats() GitStats {
	return GitStats{Pushes: g.pushes.Load(), Delivered: g.delivered.Load(), Failed: g.failed.Load()}
}

// closeTimeout bounds how long Close waits for requests in flight (a push, git http-backend) to finish.
const closeTimeout = 10 * time.Second

// Close stops the server: it stops accepting connections, waits (at most closeTimeout) for the requests in
// flight, then for the webhook deliveries they started, and removes a temporary directory.
func (g *GitServer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	err := g.srv.Shutdown(ctx)
	if err != nil {
		// Requests still running after the timeout: drop their connections.
		err = errors.Join(err, g.srv.Close())
	}
	g.mu.Lock()
	g.closed = true // a handler still running past the timeout starts no delivery now
	g.mu.Unlock()
	g.deliveries.Wait()
	g.removeTemp()
	return err
}

func (g *GitServer) removeTemp() {
	if g.tempDir {
		_ = os.RemoveAll(g.dir)
	}
}

var repoName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$`)

// CreateRepo creates the bare repository NAME.git with default branch main and returns its URL. When
// files is not nil, the first commit holds them. A repository that exists is left alone: CreateRepo then
// returns its URL and an error wrapping ErrRepoExists.
func (g *GitServer) CreateRepo(ctx context.Context, name string, files fs.FS) (string, error) {
	if !repoName.MatchString(name) || strings.HasSuffix(name, ".git") {
		return "", fmt.Errorf("invalid repository name %q", name)
	}
	bare := filepath.Join(g.dir, filepath.FromSlash(name)+".git")
	if _, err := os.Stat(bare); err == nil {
		return g.URL(name), fmt.Errorf("%s: %w", name, ErrRepoExists)
	}
	if _, err := runGit(ctx, "", "init", "-q", "--bare", "-b", "main", bare); err != nil {
		return "", err
	}
	if _, err := runGit(ctx, bare, "config", "http.receivepack", "true"); err != nil {
		return "", err
	}
	if files == nil {
		return g.URL(name), nil
	}
	work, err := os.MkdirTemp("", "moor-git-init-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	if err := os.CopyFS(work, files); err != nil {
		return "", fmt.Errorf("copy the files of %s: %w", name, err)
	}
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"add", "-A"},
		{"commit", "-q", "--allow-empty", "-m", "Initial commit"},
		{"push", "-q", bare, "main"},
	} {
		if _, err := runGit(ctx, work, args...); err != nil {
			return "", err
		}
	}
	return g.URL(name), nil
}

// ServeHTTP authenticates, serves git http-backend and, around a push, notes the refs it changed.
func (g *GitServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.opts.Username != "" || g.opts.Password != "" {
		u, p, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(g.opts.Username)) != 1 ||
			subtle.ConstantTimeCompare([]byte(p), []byte(g.opts.Password)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="moor git"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
	}
	name, ok := strings.CutSuffix(r.URL.Path, "/git-receive-pack")
	if !ok || r.Method != http.MethodPost {
		g.backend.ServeHTTP(w, r)
		return
	}
	name = strings.TrimSuffix(strings.TrimPrefix(path.Clean(name), "/"), ".git")
	bare := filepath.Join(g.dir, filepath.FromSlash(name)+".git")
	lock := g.lockFor(name)
	lock.Lock()
	before, _ := refs(r.Context(), bare)
	g.backend.ServeHTTP(w, r)
	after, err := refs(context.Background(), bare)
	lock.Unlock()
	if err != nil {
		g.logf("git: push to %s: read refs: %v", name, err)
		return
	}
	g.pushes.Add(1)
	g.mu.Lock()
	hook := g.hook
	g.mu.Unlock()
	for ref, sha := range after {
		if before[ref] != sha {
			g.notify(hook, name, ref, before[ref], sha)
		}
	}
	for ref, sha := range before {
		if _, ok := after[ref]; !ok {
			g.notify(hook, name, ref, sha, "")
		}
	}
}

func (g *GitServer) lockFor(name string) *sync.Mutex {
	g.mu.Lock()
	defer g.mu.Unlock()
	l := g.repoLock[name]
	if l == nil {
		l = &sync.Mutex{}
		g.repoLock[name] = l
	}
	return l
}

// notify delivers the push webhook of one ref change in the background, as a Git host does after the push
// has been answered.
func (g *GitServer) notify(hook webhookTarget, name, ref, before, after string) {
	g.logf("git: push to %s %s %s..%s", name, ref, short(before), short(after))
	if hook.url == "" {
		return
	}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		g.logf("git: webhook for %s %s dropped: the server is closed", name, ref)
		return
	}
	g.deliveries.Add(1)
	g.mu.Unlock()
	go func() {
		defer g.deliveries.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := g.deliver(ctx, hook, name, ref, before, after); err != nil {
			g.failed.Add(1)
			g.logf("git: webhook for %s %s: %v", name, ref, err)
			return
		}
		g.delivered.Add(1)
	}()
}

func (g *GitServer) deliver(ctx context.Context, hook webhookTarget, name, ref, before, after string) error {
	body, err := g.payload(ctx, hook.provider, name, ref, before, after)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	id := randomHex(16)
	mac := hmac.New(sha256.New, []byte(hook.secret))
	mac.Write(body)
	sig := hex.EncodeToString(mac.Sum(nil))
	switch hook.provider {
	case ProviderGitHub:
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-GitHub-Delivery", id)
		if hook.secret != "" {
			req.Header.Set("X-Hub-Signature-256", "sha256="+sig)
		}
	default:
		req.Header.Set("X-Gitea-Event", "push")
		req.Header.Set("X-Gitea-Delivery", id)
		if hook.secret != "" {
			req.Header.Set("X-Gitea-Signature", sig)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(answer))
	}
	g.logf("git: webhook for %s %s: %s %s", name, ref, resp.Status, bytes.TrimSpace(answer))
	return nil
}

func (g *GitServer) logf(format string, args ...any) {
	if g.opts.Log != nil {
		fmt.Fprintf(g.opts.Log, time.Now().Format("15:04:05.000")+" "+format+"\n", args...)
	}
}

// refs lists the refs of a bare repository: name to commit id.
func refs(ctx context.Context, bare string) (map[string]string, error) {
	out, err := runGit(ctx, bare, "for-each-ref", "--format=%(refname) %(objectname)")
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for line := range strings.SplitSeq(out, "\n") {
		if ref, sha, ok := strings.Cut(line, " "); ok {
			m[ref] = sha
		}
	}
	return m, nil
}

func short(sha string) string {
	if sha == "" {
		return "0000000"
	}
	return sha[:min(7, len(sha))]
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// gitEnv is a hermetic environment for git: no user or system config, a fixed identity, no prompts and no
// background maintenance.
func gitEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GIT_") || strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "XDG_CONFIG_HOME=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "HOME=/nonexistent",
		"GIT_AUTHOR_NAME=Moor Developer", "GIT_AUTHOR_EMAIL=dev@moor.invalid",
		"GIT_COMMITTER_NAME=Moor Developer", "GIT_COMMITTER_EMAIL=dev@moor.invalid",
		"GIT_CONFIG_COUNT=2",
		"GIT_CONFIG_KEY_0=gc.auto", "GIT_CONFIG_VALUE_0=0",
		"GIT_CONFIG_KEY_1=maintenance.auto", "GIT_CONFIG_VALUE_1=false",
	)
}

// runGit runs git in dir (empty: the working directory) and returns its trimmed output.
func runGit(ctx context.Context, dir string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = gitEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", redactURLs(strings.Join(args, " ")), err, redactURLs(strings.TrimSpace(stderr.String())))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// urlUserInfo matches the user information (user:password@) of a URL.
var urlUserInfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^/?#@\s'"]+@`)

// redactURLs hides the credentials of the URLs in s (an AuthURL in the arguments of git clone, or in what
// git printed), so that errors and test logs do not show the Git server's password.
func redactURLs(s string) string {
	return urlUserInfo.ReplaceAllString(s, "${1}REDACTED@")
}
