package kubetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/moorcd/moor/test/stack"
)

// Cluster is a running API server with clients bound to it.
type Cluster struct {
	Kubeconfig string
	Config     *rest.Config
	Kube       kubernetes.Interface
	Dynamic    dynamic.Interface
}

var (
	once       sync.Once
	shared     *Cluster
	sharedErr  error
	privateDir string // set when this binary started its own cluster
)

// Main runs the tests and stops a private cluster if this binary had to start one. Use it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if privateDir != "" {
		if err := runScript("down.sh", privateDir, nil); err != nil {
			fmt.Fprintln(os.Stderr, "kubetest: stop private cluster:", err)
		}
		_ = os.RemoveAll(privateDir)
	}
	os.Exit(code)
}

// Start returns the cluster for this test binary, starting one if none runs. It skips the test under -short or
// when MOOR_SKIP_CLUSTER is set, and fails it when no cluster can be had.
func Start(t testing.TB) *Cluster {
	t.Helper()
	if testing.Short() || os.Getenv("MOOR_SKIP_CLUSTER") != "" {
		t.Skip("needs the local cluster (skipped by -short or MOOR_SKIP_CLUSTER)")
	}
	once.Do(func() { shared, sharedErr = connect() })
	if sharedErr != nil {
		t.Fatalf("local cluster: %v", sharedErr)
	}
	return shared
}

func connect() (*Cluster, error) {
	candidates := []string{os.Getenv("MOOR_KUBECONFIG")}
	if root, err := RepoRoot(); err == nil {
		candidates = append(candidates, filepath.Join(root, ".moor", "local", "kubeconfig"))
	}
	for _, kc := range candidates {
		if kc == "" {
			continue
		}
		if c, err := newCluster(kc); err == nil && c.ready() == nil {
			return c, nil
		}
	}
	return startPrivate()
}

func startPrivate() (*Cluster, error) {
	dir, err := os.MkdirTemp("", "moor-kubetest-")
	if err != nil {
		return nil, err
	}
	apiPort, err := freePort()
	if err != nil {
		return nil, err
	}
	etcdPort, err := freePort()
	if err != nil {
		return nil, err
	}
	peerPort, err := freePort()
	if err != nil {
		return nil, err
	}
	env := []string{
		"MOOR_CLUSTER_API_PORT=" + strconv.Itoa(apiPort),
		"MOOR_CLUSTER_ETCD_PORT=" + strconv.Itoa(etcdPort),
		"MOOR_CLUSTER_ETCD_PEER_PORT=" + strconv.Itoa(peerPort),
	}
	privateDir = dir
	if err := runScript("up.sh", dir, env); err != nil {
		return nil, fmt.Errorf("start private cluster: %w", err)
	}
	c, err := newCluster(filepath.Join(dir, "kubeconfig"))
	if err != nil {
		return nil, err
	}
	return c, c.ready()
}

func runScript(name, dir string, env []string) error {
	root, err := RepoRoot()
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(root, "hack", "cluster", name))
	cmd.Env = append(append(os.Environ(), "MOOR_CLUSTER_DIR="+dir), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w\n%s", name, err, out.String())
	}
	return nil
}

func newCluster(kubeconfig string) (*Cluster, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 200, 400
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Cluster{Kubeconfig: kubeconfig, Config: cfg, Kube: kube, Dynamic: dyn}, nil
}

func (c *Cluster) ready() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.Kube.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	return err
}

// Namespace creates a fresh namespace for the test and deletes it when the test ends.
func (c *Cluster) Namespace(t testing.TB) string {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "moor-test-" + hex.EncodeToString(b)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"moor.dev/test": "true"}}}
	if _, err := c.Kube.CoreV1().Namespaces().Create(t.Context(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := c.Kube.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete namespace %s: %v", name, err)
		}
	})
	return name
}

// RepoRoot finds the repository root by walking up from the working directory to Moor's go.mod (it is
// stack.RepoRoot, which hack/quickstart uses without importing "testing").
func RepoRoot() (string, error) { return stack.RepoRoot() }

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
