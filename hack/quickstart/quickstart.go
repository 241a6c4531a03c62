package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/test/stack"
)

// options of the quickstart. Addresses are tried first and replaced by a free loopback port when taken.
type options struct {
	listen, repoServerListen, gitListen string
	namespace, redis                    string
	binDir, stateDir                    string
	reset                               bool
	readyTimeout                        time.Duration
}

func defaultOptions() *options {
	return &options{
		listen:           "127.0.0.1:8080",
		repoServerListen: "127.0.0.1:8081",
		gitListen:        "127.0.0.1:8090",
		namespace:        "moor",
		redis:            os.Getenv("MOOR_REDIS"),
		readyTimeout:     5 * time.Minute,
	}
}

func (o *options) bindFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.listen, "listen", o.listen, "moor-server's address (gRPC and REST, plaintext); a free port when taken")
	fs.StringVar(&o.repoServerListen, "repo-server-listen", o.repoServerListen, "moor-repo-server's address; a free port when taken")
	fs.StringVar(&o.gitListen, "git-listen", o.gitListen, "the example Git server's address; a free port when taken")
	fs.StringVar(&o.namespace, "namespace", o.namespace, "namespace of Moor's Applications and settings")
	fs.StringVar(&o.redis, "redis", o.redis, "Redis host:port for the services' shared cache (default $MOOR_REDIS; empty: in-memory caches)")
	fs.StringVar(&o.binDir, "bin-dir", "", "directory of the binaries (default <repo>/bin; built there when missing)")
	fs.StringVar(&o.stateDir, "state-dir", "", "logs, the Git repositories and the repo-server's data (default <repo>/.moor/quickstart)")
	fs.BoolVar(&o.reset, "reset", false, "recreate the example repository from examples/ (dropping what was pushed to it)")
	fs.DurationVar(&o.readyTimeout, "ready-timeout", o.readyTimeout, "how long to wait for the guestbook to be Synced and Healthy")
}

// pickAddr returns addr when it is free, else a free loopback port (and says so).
func pickAddr(out io.Writer, what, addr string) (string, error) {
	if stack.AddrFree(addr) {
		return addr, nil
	}
	free, err := stack.FreeAddr()
	if err != nil {
		return "", err
	}
	fmt.Fprintf(out, "  %s: %s is taken, using %s\n", what, addr, free)
	return free, nil
}

func run(ctx context.Context, o *options) error {
	out := os.Stdout
	begin := time.Now()
	root, err := stack.RepoRoot()
	if err != nil {
		return err
	}
	if o.binDir == "" {
		o.binDir = filepath.Join(root, "bin")
	}
	if o.stateDir == "" {
		o.stateDir = filepath.Join(root, ".moor", "quickstart")
	}
	if err := os.MkdirAll(o.stateDir, 0o755); err != nil {
		return err
	}
	// One quickstart at a time: two controllers in one namespace would both believe they lead.
	lock, err := os.OpenFile(filepath.Join(o.stateDir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return fmt.Errorf("another quickstart is running (lock %s held)", lock.Name())
	}

	if missing(o.binDir, "moor", "moor-repo-server", "moor-controller", "moor-server") {
		fmt.Fprintf(out, "==> Building the binaries into %s\n", o.binDir)
		if _, err := stack.Build(ctx, root, o.binDir); err != nil {
			return err
		}
	}

	fmt.Fprintln(out, "==> Starting the local cluster (make cluster-up)")
	kubeconfig, err := startCluster(ctx, root, out)
	if err != nil {
		return err
	}
	restart := time.Now()

	fmt.Fprintf(out, "==> Starting moor-repo-server, moor-controller and moor-server (namespace %s, %s cache)\n", o.namespace, cacheKind(o.redis))
	serverAddr, err := pickAddr(out, "moor-server", o.listen)
	if err != nil {
		return err
	}
	repoAddr, err := pickAddr(out, "moor-repo-server", o.repoServerListen)
	if err != nil {
		return err
	}
	logDir := filepath.Join(o.stateDir, "logs")
	st, err := stack.Start(ctx, stack.Options{
		Kubeconfig: kubeconfig, Namespace: o.namespace, BinDir: o.binDir, LogDir: logDir,
		DataDir: filepath.Join(o.stateDir, "repo-server"), Redis: o.redis,
		ServerAddr: serverAddr, RepoServerAddr: repoAddr, CRDDir: filepath.Join(root, "deploy", "crds"),
		ExtraArgs: map[string][]string{stack.Server: {"--shutdown-grace", "2s"}},
	})
	if err != nil {
		return err
	}
	var (
		git    *stack.GitServer
		gitLog *os.File
	)
	stopped := false
	stopAll := func() {
		if stopped {
			return
		}
		stopped = true
		fmt.Fprintln(out, "\n==> Stopping moor-server, moor-controller, moor-repo-server and the Git server")
		if ctx.Err() != nil {
			fmt.Fprintln(out, "  (Ctrl-C again to quit without waiting)")
		}
		if git != nil {
			_ = git.Close()
			_ = gitLog.Close()
		}
		if err := st.Stop(); err != nil {
			fmt.Fprintf(out, "  %v\n", err)
		}
	}
	defer stopAll()

	fmt.Fprintln(out, "==> Serving examples/ from a Git server on loopback")
	git, gitLog, err = startGit(ctx, out, o, root)
	if err != nil {
		return err
	}
	if err := st.ConnectGit(ctx, git, stack.ProviderGitea); err != nil {
		return err
	}

	fmt.Fprintln(out, "==> Creating the guestbook Application through the REST API")
	token, err := st.Login(ctx, "admin", st.AdminPassword)
	if err != nil {
		return err
	}
	api := st.Client(token)
	repoURL := git.URL("examples")
	repo := map[string]any{"repo": repoURL, "username": git.Username(), "password": git.Password(), "type": "git"}
	if err := api.Do(ctx, http.MethodPost, "/api/v1/repositories?upsert=true", repo, nil); err != nil {
		return fmt.Errorf("register the example repository: %w", err)
	}
	app, err := guestbookManifest(root, o.namespace, repoURL)
	if err != nil {
		return err
	}
	if err := api.Do(ctx, http.MethodPost, "/api/v1/applications?upsert=true", app, nil); err != nil {
		return fmt.Errorf("create the guestbook Application: %w", err)
	}
	dest := app["spec"].(map[string]any)["destination"].(map[string]any)["namespace"].(string)
	if err := waitGuestbook(ctx, out, api, o.readyTimeout); err != nil {
		return fmt.Errorf("%w (logs in %s)", err, logDir)
	}
	fmt.Fprintf(out, "==> Ready in %.1f s (%.1f s since the cluster was up)\n", time.Since(begin).Seconds(), time.Since(restart).Seconds())
	printNextSteps(out, root, kubeconfig, st, git, dest, logDir)

	// Stay up until Ctrl-C, watching for a service that dies.
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			stopAll()
			fmt.Fprintln(out, "Stopped. The local cluster keeps running: `make cluster-down` stops it.")
			return nil
		case <-tick.C:
			if err := st.Alive(); err != nil {
				return fmt.Errorf("%w; see the logs in %s", err, logDir)
			}
		}
	}
}

func cacheKind(redis string) string {
	if redis == "" {
		return "in-memory"
	}
	return "Redis " + redis
}

func missing(dir string, names ...string) bool {
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			return true
		}
	}
	return false
}

// startGit serves the state directory's repositories, creating the repository "examples" from examples/
// unless it is there (what was pushed to it is kept across runs; --reset starts over). The credentials
// are generated once and kept beside the repositories. It returns the server and its log file, to close
// after it.
func startGit(ctx context.Context, out io.Writer, o *options, root string) (*stack.GitServer, *os.File, error) {
	dir := filepath.Join(o.stateDir, "git")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	pwFile := filepath.Join(dir, ".password")
	pw, err := os.ReadFile(pwFile)
	if err != nil {
		pw = []byte(rand.Text())
		if err := os.WriteFile(pwFile, pw, 0o600); err != nil {
			return nil, nil, err
		}
	}
	if o.reset {
		if err := os.RemoveAll(filepath.Join(dir, "examples.git")); err != nil {
			return nil, nil, err
		}
	}
	addr, err := pickAddr(out, "Git server", o.gitListen)
	if err != nil {
		return nil, nil, err
	}
	logf, err := os.OpenFile(filepath.Join(o.stateDir, "logs", "git.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, err
	}
	g, err := stack.NewGitServer(stack.GitOptions{Addr: addr, Dir: dir, Username: "moor", Password: strings.TrimSpace(string(pw)), Log: logf})
	if err != nil {
		logf.Close()
		return nil, nil, err
	}
	_, err = g.CreateRepo(ctx, "examples", os.DirFS(filepath.Join(root, "examples")))
	switch {
	case errors.Is(err, stack.ErrRepoExists):
		fmt.Fprintln(out, "  reusing the repository examples.git of an earlier run (--reset recreates it from examples/)")
	case err != nil:
		g.Close()
		logf.Close()
		return nil, nil, err
	}
	return g, logf, nil
}

// guestbookManifest reads examples/apps/guestbook.yaml and points it at the local repository and namespace.
func guestbookManifest(root, namespace, repoURL string) (map[string]any, error) {
	data, err := os.ReadFile(filepath.Join(root, "examples", "apps", "guestbook.yaml"))
	if err != nil {
		return nil, err
	}
	var app map[string]any
	if err := yaml.Unmarshal(data, &app); err != nil {
		return nil, fmt.Errorf("examples/apps/guestbook.yaml: %w", err)
	}
	app["metadata"].(map[string]any)["namespace"] = namespace
	app["spec"].(map[string]any)["source"].(map[string]any)["repoURL"] = repoURL
	return app, nil
}

// waitGuestbook asks for a refresh of the guestbook and waits until it is Synced and Healthy as compared
// after that refresh (reconciledAt not before it), printing each change of its state. The refresh makes a
// status left by an earlier run count for nothing.
func waitGuestbook(ctx context.Context, out io.Writer, api *stack.Client, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	since := time.Now().Truncate(time.Second)
	// moor-server answers from its informer's cache, which sees a new Application a moment after its creation.
	for {
		err := api.Do(ctx, http.MethodGet, "/api/v1/applications/guestbook?refresh=normal", nil, nil)
		var apiErr *stack.APIError
		if err == nil {
			break
		}
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound || ctx.Err() != nil {
			return fmt.Errorf("refresh the guestbook: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	last := ""
	for {
		var a v1alpha1.Application
		err := api.Do(ctx, http.MethodGet, "/api/v1/applications/guestbook", nil, &a)
		if err == nil {
			state := "waiting for the first comparison"
			if a.Status.Sync.Status != "" {
				state = fmt.Sprintf("%s, %s", a.Status.Sync.Status, a.Status.Health.Status)
			}
			if op := a.Status.OperationState; op != nil && op.Phase == v1alpha1.OperationRunning {
				state += ", syncing: " + op.Message
			}
			for _, c := range a.Status.Conditions {
				state += fmt.Sprintf(", %s: %s", c.Type, c.Message)
			}
			if state != last {
				fmt.Fprintf(out, "  guestbook: %s\n", state)
				last = state
			}
			fresh := a.Status.ReconciledAt != nil && !a.Status.ReconciledAt.Time.Before(since)
			if fresh && a.Status.Sync.Status == v1alpha1.SyncStatusCodeSynced && a.Status.Health.Status == v1alpha1.HealthStatusHealthy {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = errors.New(last)
			}
			return fmt.Errorf("the guestbook is not Synced and Healthy after %v: %w", timeout, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// portNote warns when the manifests of examples/apps do not match this run (they name the default Git
// address and namespace).
func portNote(repoURL, namespace string) string {
	if repoURL == "http://127.0.0.1:8090/examples.git" && namespace == "moor" {
		return ""
	}
	return fmt.Sprintf("\n  (first set repoURL to %s and metadata.namespace to %s in those files)", repoURL, namespace)
}

func printNextSteps(out io.Writer, root, kubeconfig string, st *stack.Stack, git *stack.GitServer, dest, logDir string) {
	kubectl := "kubectl"
	if bin, ok, _ := clusterBinDir(root); ok {
		kubectl = filepath.Join(bin, "kubectl")
	}
	moor := filepath.Join(root, "bin", "moor")
	rel := func(p string) string {
		if r, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
		return p
	}
	fmt.Fprintf(out, `
Moor is running: moor-repo-server, moor-controller and moor-server, three processes (logs in %s).

  API (gRPC and REST, plaintext)  http://%s
  user                            admin
  password                        %s
  guestbook                       Synced and Healthy, deployed to namespace %s

Try:
  export KUBECONFIG=%s
  alias kubectl=%s
  %s login %s --plaintext --username admin --password '%s'
  %s app list
  %s app get guestbook
  kubectl -n %s get deployments,services,configmaps
  curl -s %s/api/v1/session -d '{"username":"admin","password":"%s"}'   # a token for the REST API

Change the guestbook through Git; every push calls moor-server's webhook, as GitHub would:
  git clone %s /tmp/moor-examples && cd /tmp/moor-examples
  sed -i 's/Hello from Git/Hello again/' guestbook/configmap.yaml
  git commit -qam 'A new greeting' && git push -q
  kubectl -n %s get configmap guestbook-ui-config -o jsonpath='{.data.GREETING}'

More examples (Helm, Kustomize, Jsonnet, sync waves with hooks), from the same repository:
  kubectl -n %s apply -f %s%s

Ctrl-C stops Moor and the Git server; the cluster keeps running (make cluster-down stops it).
`, rel(logDir), st.ServerAddr, st.AdminPassword, dest,
		kubeconfig, kubectl,
		rel(moor), st.ServerAddr, st.AdminPassword, rel(moor), rel(moor),
		dest, st.URL(), st.AdminPassword,
		git.AuthURL("examples"), dest,
		st.Namespace, rel(filepath.Join(root, "examples", "apps")), portNote(git.URL("examples"), st.Namespace))
}
