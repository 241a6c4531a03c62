// Package stacktest runs a stack (test/stack) for a test: the three Moor services as processes on the local
// cluster (test/kubetest) in a fresh namespace, with binaries built once per test binary. A failed test
// prints the end of each service's log and keeps the log files; everything is stopped at cleanup.
//
//	func TestMain(m *testing.M) { kubetest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		st := stacktest.Start(t)                  // or stacktest.Start(t, stacktest.WithRedis(addr))
//		git := stacktest.Git(t, st)               // pushes send webhooks to st; credentials registered
//		admin := stacktest.Admin(t, st)           // REST client logged in as admin
//		...
//	}
//
// Binaries go to $MOOR_STACK_BIN_DIR, else to <user cache dir>/moor/stack-bin/<hash of the repository
// path>, so that go build finds them up to date on the next run and does not link again.
package stacktest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/moorcd/moor/pkg/client/clientset/versioned"
	"github.com/moorcd/moor/test/kubetest"
	"github.com/moorcd/moor/test/stack"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error

	cliOnce sync.Once
	cliErr  error
)

// binCache is where binaries are built.
func binCache(root string) (string, error) {
	if d := os.Getenv("MOOR_STACK_BIN_DIR"); d != "" {
		return d, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(root))
	return filepath.Join(cache, "moor", "stack-bin", hex.EncodeToString(sum[:6])), nil
}

// Binaries builds moor-repo-server, moor-controller and moor-server once per test binary and returns their
// directory.
func Binaries(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := stack.RepoRoot()
		if err != nil {
			buildErr = err
			return
		}
		if binDir, buildErr = binCache(root); buildErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		_, buildErr = stack.Build(ctx, root, binDir, stack.ServiceBinaries...)
	})
	if buildErr != nil {
		t.Fatalf("stacktest: build the services: %v", buildErr)
	}
	return binDir
}

// CLI builds the moor CLI once per test binary (beside the services) and returns its path.
func CLI(t testing.TB) string {
	t.Helper()
	dir := Binaries(t)
	cliOnce.Do(func() {
		root, err := stack.RepoRoot()
		if err != nil {
			cliErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		_, cliErr = stack.Build(ctx, root, dir, "moor")
	})
	if cliErr != nil {
		t.Fatalf("stacktest: build the CLI: %v", cliErr)
	}
	return filepath.Join(dir, "moor")
}

// Option changes the stack's options.
type Option func(*stack.Options)

// WithRedis gives every service --redis addr.
func WithRedis(addr string) Option { return func(o *stack.Options) { o.Redis = addr } }

// WithArgs appends flags to one service's command line (stack.RepoServer, stack.Controller or stack.Server).
func WithArgs(service string, args ...string) Option {
	return func(o *stack.Options) {
		if o.ExtraArgs == nil {
			o.ExtraArgs = map[string][]string{}
		}
		o.ExtraArgs[service] = append(o.ExtraArgs[service], args...)
	}
}

// Start runs the three services in a fresh namespace of the local cluster until the test ends. It skips
// the test under -short (as kubetest does). At cleanup it removes the finalizers of the namespace's
// Applications (so that the namespace's deletion removes them without cascading), stops the services, and
// prints the end of each log if the test failed (the log directory is then kept and named).
func Start(t testing.TB, opts ...Option) *stack.Stack {
	t.Helper()
	kc := kubetest.Start(t)
	bin := Binaries(t)
	ns := kc.Namespace(t)
	logDir, err := os.MkdirTemp("", "moor-stack-logs-")
	if err != nil {
		t.Fatal(err)
	}
	o := stack.Options{Kubeconfig: kc.Kubeconfig, Namespace: ns, BinDir: bin, LogDir: logDir}
	for _, opt := range opts {
		opt(&o)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	st, err := stack.Start(ctx, o)
	if err != nil {
		t.Fatalf("stacktest: start the stack in %s (logs in %s): %v", ns, logDir, err)
	}
	t.Cleanup(func() {
		start := time.Now()
		orphanApps(t, st)
		if err := st.Stop(); err != nil {
			t.Errorf("stacktest: stop: %v", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Logf("stacktest: stopping took %v", d.Round(time.Millisecond))
		}
		if t.Failed() {
			for _, name := range []string{stack.RepoServer, stack.Controller, stack.Server} {
				t.Logf("--- last lines of %s:\n%s", st.LogPath(name), st.LogTail(name, 40))
			}
			t.Logf("stacktest: logs kept in %s", logDir)
			return
		}
		_ = os.RemoveAll(logDir)
	})
	return st
}

// orphanApps removes the finalizers of the namespace's Applications, so that deleting the namespace (at the
// end of the test, after the services stopped) deletes them without cascading and is never blocked.
func orphanApps(t testing.TB, st *stack.Stack) {
	client, err := versioned.NewForConfig(st.Config)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	apps := client.ArgoprojV1alpha1().Applications(st.Namespace)
	list, err := apps.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Logf("stacktest: list applications: %v", err)
		return
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, a := range list.Items {
		if len(a.Finalizers) == 0 {
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			_, err := apps.Patch(ctx, a.Name, types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				t.Logf("stacktest: remove the finalizers of %s: %v", a.Name, err)
			}
		})
	}
	wg.Wait()
}

// Admin returns a REST client of the stack logged in as admin.
func Admin(t testing.TB, st *stack.Stack) *stack.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	token, err := st.Login(ctx, "admin", st.AdminPassword)
	if err != nil {
		t.Fatalf("stacktest: admin login: %v", err)
	}
	return st.Client(token)
}

// Git starts a Git server with basic auth for the test, sends its push webhooks (Gitea's format, signed) to
// st, and registers its credentials with moor-server as a credential template for its base URL (POST
// /api/v1/repocreds), so that every repository created on it can be fetched. Its log is printed if the test
// fails.
func Git(t testing.TB, st *stack.Stack) *stack.GitServer {
	t.Helper()
	logw := &lockedBuffer{}
	g, err := stack.NewGitServer(stack.GitOptions{Username: "moor", Password: rand.Text(), Log: logw})
	if err != nil {
		t.Fatalf("stacktest: git server: %v", err)
	}
	t.Cleanup(func() {
		_ = g.Close()
		if t.Failed() {
			t.Logf("--- git server log:\n%s", logw.String())
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := st.ConnectGit(ctx, g, stack.ProviderGitea); err != nil {
		t.Fatalf("stacktest: connect the git server: %v", err)
	}
	creds := map[string]string{"url": g.BaseURL, "username": g.Username(), "password": g.Password()}
	if err := Admin(t, st).Do(ctx, http.MethodPost, "/api/v1/repocreds?upsert=true", creds, nil); err != nil {
		t.Fatalf("stacktest: register the git server's credentials: %v", err)
	}
	return g
}

// Wait polls cond every 100 ms until it returns true, failing the test with cond's last error (or what)
// after timeout.
func Wait(t testing.TB, timeout time.Duration, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	var last error
	for {
		ok, err := cond(ctx)
		if ok {
			return
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last == nil {
				last = errors.New("condition not met")
			}
			t.Fatalf("%s: not within %s: %v", what, timeout, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
