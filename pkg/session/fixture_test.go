package session_test

import (
	"context"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/moorcd/moor/pkg/session"
	"github.com/moorcd/moor/test/kubetest"
)

// testTimeout bounds each test's calls to the API server, generous for a loaded machine.
const testTimeout = 30 * time.Second

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// env is one namespace with Argo CD's account objects.
type env struct {
	kube  kubernetes.Interface
	ns    string
	store *session.Store
}

// newEnv creates a namespace holding argocd-cm with cm (none when nil) and a Store over it, not bootstrapped.
func newEnv(t *testing.T, cm map[string]string) *env {
	t.Helper()
	kc := kubetest.Start(t)
	e := &env{kube: kc.Kube, ns: kc.Namespace(t)}
	if cm != nil {
		obj := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: session.ConfigMapName}, Data: cm}
		if _, err := e.kube.CoreV1().ConfigMaps(e.ns).Create(testContext(t), obj, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	e.store = session.NewStore(e.kube, e.ns)
	return e
}

// bootstrapped is newEnv followed by Bootstrap; it returns the initial admin password.
func bootstrapped(t *testing.T, cm map[string]string) (*env, string) {
	t.Helper()
	e := newEnv(t, cm)
	if err := e.store.Bootstrap(testContext(t)); err != nil {
		t.Fatal(err)
	}
	s, err := e.kube.CoreV1().Secrets(e.ns).Get(testContext(t), session.InitialAdminSecretName, metav1.GetOptions{})
	if err != nil {
		return e, ""
	}
	return e, string(s.Data[session.InitialAdminPasswordKey])
}

func (e *env) secret(t *testing.T, name string) *corev1.Secret {
	t.Helper()
	s, err := e.kube.CoreV1().Secrets(e.ns).Get(testContext(t), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// setConfig merges data into argocd-cm.
func (e *env) setConfig(t *testing.T, data map[string]string) {
	t.Helper()
	cms := e.kube.CoreV1().ConfigMaps(e.ns)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cm, err := cms.Get(testContext(t), session.ConfigMapName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		for k, v := range data {
			cm.Data[k] = v
		}
		_, err = cms.Update(testContext(t), cm, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// setSecret merges data into argocd-secret, behind the Store's back.
func (e *env) setSecret(t *testing.T, data map[string]string) {
	t.Helper()
	secrets := e.kube.CoreV1().Secrets(e.ns)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		s, err := secrets.Get(testContext(t), session.SecretName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for k, v := range data {
			s.Data[k] = []byte(v)
		}
		_, err = secrets.Update(testContext(t), s, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// setPassword sets an account's password and dates the change an hour back, so sessions signed by a clock a
// little behind the wall clock are newer than it.
func (e *env) setPassword(t *testing.T, name, password string) {
	t.Helper()
	if err := e.store.SetPassword(testContext(t), name, password); err != nil {
		t.Fatal(err)
	}
	key := "accounts." + name + ".passwordMtime"
	if name == session.AdminUsername {
		key = "admin.passwordMtime"
	}
	e.setSecret(t, map[string]string{key: time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)})
}

// eventually polls cond until it holds or a few seconds passed: the Store's cache lets other writers' changes
// in within about a second.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// clock is a settable clock for the Manager.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock(t time.Time) *clock { return &clock{now: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
