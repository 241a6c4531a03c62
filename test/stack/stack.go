package stack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/moorcd/moor/pkg/client/clientset/versioned"
)

// Names Argo CD gives its settings, which Moor keeps.
const (
	// SecretName is the Secret of the signing key, passwords and webhook secrets.
	SecretName = "argocd-secret"
	// InitialAdminSecretName holds the initial admin password (key "password"), written by moor-server.
	InitialAdminSecretName = "argocd-initial-admin-secret"
	// leaseName is the Lease the controller holds while it leads.
	leaseName = "moor-controller"
)

// Options configure a Stack.
type Options struct {
	// Kubeconfig of the cluster the services manage and run their control objects in. Required.
	Kubeconfig string
	// Namespace of the Applications, settings and Secrets; created when missing. Required.
	Namespace string
	// BinDir holds moor-repo-server, moor-controller and moor-server (see Build). Required.
	BinDir string
	// LogDir receives one log file per service (repo-server.log, controller.log, server.log), appended to
	// across restarts. Empty: a new temporary directory, kept after Stop (Stack.LogDir names it).
	LogDir string
	// DataDir is the repo-server's --data-dir (Git object stores). Empty: a temporary directory that Stop
	// removes.
	DataDir string
	// Redis, host:port, is given to every service as --redis. Empty: in-process caches only.
	Redis string
	// ServerAddr is moor-server's listen address (plaintext gRPC and REST). Empty: a free loopback port.
	ServerAddr string
	// RepoServerAddr is moor-repo-server's gRPC listen address. Empty: a free loopback port.
	RepoServerAddr string
	// CRDDir holds the CRDs to apply. Empty: deploy/crds of the repository around the working directory.
	CRDDir string
	// ExtraArgs are appended to a service's command line (RepoServer, Controller or Server); a flag given
	// twice takes its last value, so these override Start's defaults.
	ExtraArgs map[string][]string
	// Env is added to every service's environment.
	Env []string
	// ReadyTimeout bounds the wait for each service to become ready (default 2 minutes).
	ReadyTimeout time.Duration
}

// Stack is Moor running as three processes against a cluster.
type Stack struct {
	// Namespace of the Applications and settings.
	Namespace string
	// ServerAddr is moor-server's host:port, plaintext (gRPC with h2c, REST with HTTP/1.1).
	ServerAddr string
	// RepoServerAddr is moor-repo-server's gRPC host:port.
	RepoServerAddr string
	// ControllerAddr is moor-controller's metrics host:port, where moor-server reads the published app state
	// when no Redis is shared.
	ControllerAddr string
	// AdminPassword is the initial password of the admin user.
	AdminPassword string
	// LogDir holds the services' log files.
	LogDir string
	// Kube is a client of the cluster, for what a test or a user does beside Moor (kubectl-style edits).
	Kube kubernetes.Interface
	// Config is the cluster's client configuration.
	Config *rest.Config

	opts     Options
	moor     versioned.Interface
	procs    map[string]*process
	leaderID string
	tempDirs []string
}

// Start applies the CRDs, creates the namespace, starts moor-repo-server, moor-controller and moor-server
// as separate processes and waits until each is ready: the repo-server answers its gRPC health check, the
// controller holds its Lease and the default AppProject exists, and moor-server answers /api/version and
// has written the initial admin password. On failure it stops what it started; the error carries the
// end of each log.
func Start(ctx context.Context, o Options) (*Stack, error) {
	if o.Kubeconfig == "" || o.Namespace == "" || o.BinDir == "" {
		return nil, errors.New("stack: Kubeconfig, Namespace and BinDir are required")
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 2 * time.Minute
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", o.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = 100, 200
	s := &Stack{Namespace: o.Namespace, Config: cfg, opts: o, procs: map[string]*process{}, leaderID: "moor-stack-" + o.Namespace}
	if s.Kube, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, err
	}
	if s.moor, err = versioned.NewForConfig(cfg); err != nil {
		return nil, err
	}
	if o.CRDDir == "" {
		root, err := RepoRoot()
		if err != nil {
			return nil, fmt.Errorf("stack: no CRDDir: %w", err)
		}
		o.CRDDir = filepath.Join(root, "deploy", "crds")
	}
	if err := ApplyCRDs(ctx, cfg, o.CRDDir, "moor-stack"); err != nil {
		return nil, err
	}
	if err := s.ensureNamespace(ctx); err != nil {
		return nil, err
	}
	if s.LogDir = o.LogDir; s.LogDir == "" {
		if s.LogDir, err = os.MkdirTemp("", "moor-stack-logs-"); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(s.LogDir, 0o755); err != nil {
		return nil, err
	}
	dataDir := o.DataDir
	if dataDir == "" {
		if dataDir, err = os.MkdirTemp("", "moor-stack-data-"); err != nil {
			return nil, err
		}
		s.tempDirs = append(s.tempDirs, dataDir)
	}
	if s.RepoServerAddr = o.RepoServerAddr; s.RepoServerAddr == "" {
		if s.RepoServerAddr, err = FreeAddr(); err != nil {
			return nil, err
		}
	}
	if s.ServerAddr = o.ServerAddr; s.ServerAddr == "" {
		if s.ServerAddr, err = FreeAddr(); err != nil {
			return nil, err
		}
	}

	if s.ControllerAddr, err = FreeAddr(); err != nil {
		return nil, err
	}
	var redis []string
	if o.Redis != "" {
		redis = []string{"--redis", o.Redis}
	}
	args := map[string][]string{
		RepoServer: append([]string{"--listen", s.RepoServerAddr, "--metrics-listen", "", "--data-dir", dataDir}, redis...),
		Controller: append([]string{"--kubeconfig", o.Kubeconfig, "--namespace", o.Namespace, "--repo-server", s.RepoServerAddr,
			"--metrics-listen", s.ControllerAddr, "--leader-election-id", s.leaderID}, redis...),
		Server: append([]string{"--kubeconfig", o.Kubeconfig, "--namespace", o.Namespace, "--repo-server", s.RepoServerAddr,
			"--controller", s.ControllerAddr, "--listen", s.ServerAddr, "--metrics-listen", "", "--insecure"}, redis...),
	}
	env := append(os.Environ(), o.Env...)
	for _, name := range []string{RepoServer, Controller, Server} {
		s.procs[name] = &process{
			name:    name,
			path:    filepath.Join(o.BinDir, binaryOf[name]),
			args:    append(args[name], o.ExtraArgs[name]...),
			env:     env,
			logPath: filepath.Join(s.LogDir, name+".log"),
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, name := range []string{RepoServer, Controller, Server} {
		g.Go(func() error { return s.startAndWait(gctx, name) })
	}
	if err := g.Wait(); err != nil {
		_ = s.Stop()
		return nil, err
	}
	sec, err := s.Kube.CoreV1().Secrets(o.Namespace).Get(ctx, InitialAdminSecretName, metav1.GetOptions{})
	if err != nil {
		_ = s.Stop()
		return nil, fmt.Errorf("read the initial admin password: %w", err)
	}
	s.AdminPassword = string(sec.Data["password"])
	return s, nil
}

// startAndWait starts a service and waits until it is ready.
func (s *Stack) startAndWait(ctx context.Context, name string) error {
	p := s.procs[name]
	if err := p.start(); err != nil {
		return err
	}
	if err := s.waitReady(ctx, p); err != nil {
		return fmt.Errorf("%w\n--- last lines of %s:\n%s", err, p.logPath, tail(p.logPath, 30))
	}
	return nil
}

// waitReady polls the service's readiness until it is ready, exits, or ReadyTimeout passes.
func (s *Stack) waitReady(ctx context.Context, p *process) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.ReadyTimeout)
	defer cancel()
	p.mu.Lock()
	started := p.started
	p.mu.Unlock()
	var ready func(context.Context) error
	switch p.name {
	case RepoServer:
		ready = s.repoServerReady
	case Controller:
		ready = func(ctx context.Context) error { return s.controllerReady(ctx, p, started) }
	case Server:
		ready = s.serverReady
	}
	var last error
	for delay := 20 * time.Millisecond; ; delay = min(2*delay, 250*time.Millisecond) {
		if err := p.exitErr(); err != nil {
			return err
		}
		cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
		last = ready(cctx)
		ccancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s: %w", p.name, s.opts.ReadyTimeout, last)
		case <-time.After(delay):
		}
	}
}

func (s *Stack) repoServerReady(ctx context.Context) error {
	conn, err := grpc.NewClient(s.RepoServerAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return err
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("health %s", resp.GetStatus())
	}
	return nil
}

// controllerReady: with leader election (the default) the controller leads once the Lease names it and was
// renewed after this process started; it then creates the default AppProject before its workers start.
func (s *Stack) controllerReady(ctx context.Context, p *process, started time.Time) error {
	if !slices.Contains(p.args, "--leader-elect=false") {
		lease, err := s.Kube.CoordinationV1().Leases(s.Namespace).Get(ctx, leaseName, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("lease: %w", err)
		}
		if id := lease.Spec.HolderIdentity; id == nil || *id != s.leaderID {
			return fmt.Errorf("lease %s is not held by %s", leaseName, s.leaderID)
		}
		if rt := lease.Spec.RenewTime; rt == nil || rt.Time.Before(started) {
			return fmt.Errorf("lease %s not renewed since the start", leaseName)
		}
	}
	_, err := s.moor.ArgoprojV1alpha1().AppProjects(s.Namespace).Get(ctx, "default", metav1.GetOptions{})
	return err
}

func (s *Stack) serverReady(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+"/api/version", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/api/version: %s", resp.Status)
	}
	_, err = s.Kube.CoreV1().Secrets(s.Namespace).Get(ctx, InitialAdminSecretName, metav1.GetOptions{})
	return err
}

// URL is moor-server's base URL, http://host:port.
func (s *Stack) URL() string { return "http://" + s.ServerAddr }

// WebhookURL is moor-server's Git webhook endpoint.
func (s *Stack) WebhookURL() string { return s.URL() + "/api/webhook" }

// Stop stops the services that run (moor-server, then the controller, then the repo-server) with SIGTERM,
// killing any that does not exit within 15 s, and removes temporary data. Logs are kept. It reports each
// service that exited with an error on SIGTERM or had to be killed; Alive tells about earlier exits.
func (s *Stack) Stop() error {
	var errs []error
	for _, name := range []string{Server, Controller, RepoServer} {
		if p := s.procs[name]; p != nil {
			if err := p.signal(syscall.SIGTERM, stopGrace); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, d := range s.tempDirs {
		_ = os.RemoveAll(d)
	}
	s.tempDirs = nil
	return errors.Join(errs...)
}

// Kill kills a service (RepoServer, Controller or Server) with SIGKILL and waits until it is gone.
func (s *Stack) Kill(service string) error {
	p, err := s.proc(service)
	if err != nil {
		return err
	}
	return p.signal(syscall.SIGKILL, stopGrace)
}

// Restart starts a service again with the same command line (stopping it first with SIGTERM if it runs) and
// waits until it is ready.
func (s *Stack) Restart(ctx context.Context, service string) error {
	p, err := s.proc(service)
	if err != nil {
		return err
	}
	if err := p.signal(syscall.SIGTERM, stopGrace); err != nil {
		return err
	}
	return s.startAndWait(ctx, service)
}

// Alive returns an error naming each service that is not running (it crashed, or was killed and not
// restarted).
func (s *Stack) Alive() error {
	var errs []error
	for _, name := range []string{RepoServer, Controller, Server} {
		if err := s.procs[name].exitErr(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Usage reports what a service's current process used so far (peak RSS and CPU seconds, from /proc).
func (s *Stack) Usage(service string) (Usage, error) {
	p, err := s.proc(service)
	if err != nil {
		return Usage{}, err
	}
	return p.usage()
}

// LogPath is the log file of a service.
func (s *Stack) LogPath(service string) string { return filepath.Join(s.LogDir, service+".log") }

// LogTail returns the last n lines of a service's log.
func (s *Stack) LogTail(service string, n int) string { return tail(s.LogPath(service), n) }

func (s *Stack) proc(service string) (*process, error) {
	p := s.procs[service]
	if p == nil {
		return nil, fmt.Errorf("stack: unknown service %q (want %s, %s or %s)", service, RepoServer, Controller, Server)
	}
	return p, nil
}

func (s *Stack) ensureNamespace(ctx context.Context) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: s.Namespace}}
	_, err := s.Kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", s.Namespace, err)
	}
	return nil
}

// SetSecretKeys writes keys into argocd-secret (creating it when missing), leaving its other keys alone.
func (s *Stack) SetSecretKeys(ctx context.Context, kv map[string]string) error {
	secrets := s.Kube.CoreV1().Secrets(s.Namespace)
	for range 10 {
		cur, err := secrets.Get(ctx, SecretName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: SecretName, Namespace: s.Namespace,
				Labels: map[string]string{"app.kubernetes.io/part-of": "argocd"}}, StringData: kv}
			if _, err = secrets.Create(ctx, sec, metav1.CreateOptions{}); apierrors.IsAlreadyExists(err) {
				continue
			}
			return err
		}
		if err != nil {
			return err
		}
		if cur.Data == nil {
			cur.Data = map[string][]byte{}
		}
		for k, v := range kv {
			cur.Data[k] = []byte(v)
		}
		if _, err = secrets.Update(ctx, cur, metav1.UpdateOptions{}); apierrors.IsConflict(err) {
			continue
		}
		return err
	}
	return fmt.Errorf("update secret %s: too many conflicts", SecretName)
}

// SetConfigMapKeys writes keys into a ConfigMap of the namespace (argocd-cm, argocd-rbac-cm), creating it
// when missing and leaving its other keys alone.
func (s *Stack) SetConfigMapKeys(ctx context.Context, name string, kv map[string]string) error {
	cms := s.Kube.CoreV1().ConfigMaps(s.Namespace)
	for range 10 {
		cur, err := cms.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.Namespace,
				Labels: map[string]string{"app.kubernetes.io/part-of": "argocd"}}, Data: kv}
			if _, err = cms.Create(ctx, cm, metav1.CreateOptions{}); apierrors.IsAlreadyExists(err) {
				continue
			}
			return err
		}
		if err != nil {
			return err
		}
		if cur.Data == nil {
			cur.Data = map[string]string{}
		}
		for k, v := range kv {
			cur.Data[k] = v
		}
		if _, err = cms.Update(ctx, cur, metav1.UpdateOptions{}); apierrors.IsConflict(err) {
			continue
		}
		return err
	}
	return fmt.Errorf("update configmap %s: too many conflicts", name)
}

// FreeAddr returns a loopback host:port that was free a moment ago.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// AddrFree reports whether addr can be listened on now.
func AddrFree(addr string) bool {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// webhookSecretKey is the key of argocd-secret holding each provider's webhook secret.
var webhookSecretKey = map[string]string{ProviderGitea: "webhook.gitea.secret", ProviderGitHub: "webhook.github.secret"}

// ConnectGit points g's push webhooks (provider ProviderGitea or ProviderGitHub) at this stack's moor-server,
// with a new random secret that it writes into argocd-secret first, as one sets up a webhook on a Git host.
func (s *Stack) ConnectGit(ctx context.Context, g *GitServer, provider string) error {
	key, ok := webhookSecretKey[provider]
	if !ok {
		return fmt.Errorf("stack: unknown webhook provider %q", provider)
	}
	secret := randomHex(16)
	if err := s.SetSecretKeys(ctx, map[string]string{key: secret}); err != nil {
		return fmt.Errorf("set %s: %w", key, err)
	}
	g.SetWebhook(s.WebhookURL(), provider, secret)
	return nil
}
