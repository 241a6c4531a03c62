package cli_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/moorcd/moor/cmd/moor/cli"
	"github.com/moorcd/moor/test/kubetest"
)

// admFakeKubeconfig is a kubeconfig with one context, "fake", whose server does not exist.
const admFakeKubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: fake
  user: {token: "t"}
contexts:
- name: fake
  context: {cluster: fake, user: fake}
current-context: fake
`

func TestAdmClusterFlags(t *testing.T) {
	t.Parallel()
	kc := admWriteFile(t, "kubeconfig", admFakeKubeconfig)
	admCheckUsage(t, []admUsageCase{
		{name: "cluster resources without namespaces", args: []string{"cluster", "add", "fake", "--kubeconfig", kc, "--cluster-resources"}, want: "only with --namespace"},
		{name: "label", args: []string{"cluster", "add", "fake", "--kubeconfig", kc, "--label", "novalue"}, want: "want KEY=VALUE"},
		{name: "annotation", args: []string{"cluster", "add", "fake", "--kubeconfig", kc, "--annotation", "=v"}, want: "want KEY=VALUE"},
		{name: "unknown context", args: []string{"cluster", "add", "prod", "--kubeconfig", kc}, want: `no context "prod" in the kubeconfig (contexts: fake)`},
		{name: "declined", stdin: "n\n", args: []string{"cluster", "add", "fake", "--kubeconfig", kc}, want: "cancelled"},
		{name: "no answer", args: []string{"cluster", "add", "fake", "--kubeconfig", kc}, want: "cancelled"},
		{name: "rm declined", stdin: "no\n", args: []string{"cluster", "rm", "https://example.com"}, want: "cancelled"},
		{name: "get output", args: []string{"cluster", "get", "x", "-o", "table"}, want: "unknown output format"},
	})
}

func admTestCluster(t *testing.T, e *admEnv) {
	kc := kubetest.Start(t)
	raw, err := clientcmd.LoadFromFile(kc.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	contextName := raw.CurrentContext
	sa := "adm-" + e.st.Namespace // unique per run; the roles are named after it
	t.Cleanup(func() { admRemoveManager(t, e.st.Kube, sa) })

	add := []string{"cluster", "add", contextName, "--kubeconfig", kc.Kubeconfig, "--service-account", sa, "--name", "local-e2e", "--label", "env=test"}
	if r := e.run(t, "n\n", add...); r.Code != cli.ExitGeneric || !strings.Contains(r.Message, "cancelled") {
		t.Errorf("declined cluster add: exit %d %q", r.Code, r.Message)
	}
	e.ok(t, append(add, "-y")...)
	// Again: the service account and roles are kept; the same registration is no error (as in Argo CD), a
	// different one needs --upsert.
	e.ok(t, append(add, "-y")...)
	e.fails(t, cli.ExitAPIError, "already exists", append(add, "-y", "--label", "env=other")...)
	e.ok(t, append(add, "-y", "--upsert")...)

	ctx := t.Context()
	kube := e.st.Kube
	if _, err := kube.RbacV1().ClusterRoles().Get(ctx, sa+"-role", metav1.GetOptions{}); err != nil {
		t.Errorf("cluster role: %v", err)
	}
	if b, err := kube.RbacV1().ClusterRoleBindings().Get(ctx, sa+"-role-binding", metav1.GetOptions{}); err != nil || b.Subjects[0].Name != sa {
		t.Errorf("cluster role binding: %v", err)
	}

	// The registered credentials are the service account's token, and they work.
	var server string
	for _, line := range strings.Split(e.ok(t, "cluster", "list", "-o", "server"), "\n") {
		if line != "" && line != "https://kubernetes.default.svc" {
			server = line
		}
	}
	admCheckClusterToken(t, e, server, sa)

	goldenFile(t, "cluster-list.golden", admNormalize(e.ok(t, "cluster", "list")))
	get := e.ok(t, "cluster", "get", "local-e2e", "-o", "json")
	var c map[string]any
	if err := json.Unmarshal([]byte(get), &c); err != nil || c["server"] != server || c["name"] != "local-e2e" {
		t.Errorf("cluster get -o json: %v\n%s", err, get)
	}
	if strings.Contains(get, "bearerToken") {
		t.Errorf("cluster get printed the token:\n%s", get)
	}
	if out := e.ok(t, "cluster", "get", server); !strings.Contains(out, "name: local-e2e") {
		t.Errorf("cluster get SERVER (yaml):\n%s", out)
	}
	e.fails(t, cli.ExitNotFound, "not found", "cluster", "get", "nope")
	e.ok(t, "cluster", "rm", "local-e2e", "-y")
	if out := e.ok(t, "cluster", "list", "-o", "name"); out != "in-cluster\n" {
		t.Errorf("clusters after rm: %q", out)
	}
}

// admCheckClusterToken reads the stored cluster Secret and calls the cluster with only its token and CA.
func admCheckClusterToken(t *testing.T, e *admEnv, server, sa string) {
	t.Helper()
	ctx := t.Context()
	secrets, err := e.st.Kube.CoreV1().Secrets(e.st.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "argocd.argoproj.io/secret-type=cluster"})
	if err != nil || len(secrets.Items) != 1 {
		t.Fatalf("cluster secrets: %v (%d)", err, len(secrets.Items))
	}
	s := secrets.Items[0]
	var cfg struct {
		BearerToken     string `json:"bearerToken"`
		TLSClientConfig struct {
			CAData   []byte `json:"caData"`
			Insecure bool   `json:"insecure"`
		} `json:"tlsClientConfig"`
	}
	if err := json.Unmarshal(s.Data["config"], &cfg); err != nil {
		t.Fatal(err)
	}
	if string(s.Data["server"]) != server || string(s.Data["name"]) != "local-e2e" || cfg.BearerToken == "" {
		t.Fatalf("cluster secret: server %q name %q token set %v", s.Data["server"], s.Data["name"], cfg.BearerToken != "")
	}
	rc := &rest.Config{Host: server, BearerToken: cfg.BearerToken, TLSClientConfig: rest.TLSClientConfig{CAData: cfg.TLSClientConfig.CAData, Insecure: cfg.TLSClientConfig.Insecure}}
	kube, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	review, err := kube.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("calling the cluster with the registered token: %v", err)
	}
	if want := "system:serviceaccount:kube-system:" + sa; review.Status.UserInfo.Username != want {
		t.Errorf("the registered token is %q's, want %q's", review.Status.UserInfo.Username, want)
	}
	if _, err := kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
		t.Errorf("the registered token cannot list namespaces: %v", err)
	}
}

// admRemoveManager deletes what cluster add created on the cluster.
func admRemoveManager(t *testing.T, kube kubernetes.Interface, sa string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errs := []error{
		kube.RbacV1().ClusterRoleBindings().Delete(ctx, sa+"-role-binding", metav1.DeleteOptions{}),
		kube.RbacV1().ClusterRoles().Delete(ctx, sa+"-role", metav1.DeleteOptions{}),
		kube.CoreV1().Secrets("kube-system").Delete(ctx, sa+"-token", metav1.DeleteOptions{}),
		kube.CoreV1().ServiceAccounts("kube-system").Delete(ctx, sa, metav1.DeleteOptions{}),
	}
	for _, err := range errs {
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("clean up %s: %v", sa, err)
		}
	}
}
