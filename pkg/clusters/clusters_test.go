package clusters

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/moorcd/moor/test/kubetest"
)

func TestMain(m *testing.M) { kubetest.Main(m) }

func secret(name string, data map[string]string) corev1.Secret {
	s := corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "moor", Labels: map[string]string{SecretTypeLabel: SecretTypeValue}}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func TestFromSecret(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		data    map[string]string
		wantErr string
		check   func(t *testing.T, c *Cluster)
	}{
		{"full", map[string]string{"name": "prod", "server": "https://prod.example.com/", "namespaces": "a, b",
			"config": `{"bearerToken":"tok","tlsClientConfig":{"insecure":false,"caData":"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="}}`}, "",
			func(t *testing.T, c *Cluster) {
				if c.Server != "https://prod.example.com" || c.Name != "prod" || len(c.Namespaces) != 2 || c.ClusterResources {
					t.Errorf("cluster = %+v", c)
				}
				if rc := c.RESTConfig(); rc.BearerToken != "tok" || !strings.HasPrefix(string(rc.CAData), "-----BEGIN CERTIFICATE") {
					t.Errorf("rest config = %+v", rc)
				}
			}},
		{"name defaults to server", map[string]string{"server": "https://x"}, "", func(t *testing.T, c *Cluster) {
			if c.Name != "https://x" || !c.ClusterResources {
				t.Errorf("cluster = %+v", c)
			}
		}},
		{"no server", map[string]string{"name": "x"}, "field server is empty", nil},
		{"bad config keeps the token out of the error", map[string]string{"server": "https://x", "config": `{"bearerToken": "s3cret",`}, "field config: invalid JSON", nil},
		{"bad clusterResources", map[string]string{"server": "https://x", "clusterResources": "maybe"}, "clusterResources", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := secret("c", tt.data)
			c, err := FromSecret(&s)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "s3cret") {
					t.Fatalf("err = %v, want %q without secrets", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestSetLookup(t *testing.T) {
	t.Parallel()
	in := InCluster(&rest.Config{Host: "https://127.0.0.1:6443"})
	set, errs := NewSet(in, []corev1.Secret{
		secret("prod", map[string]string{"name": "prod", "server": "https://prod"}),
		secret("local", map[string]string{"name": "local", "server": InClusterServer}),
		secret("broken", map[string]string{"name": "broken"}),
	})
	if len(errs) != 1 {
		t.Fatalf("errs = %v, want the broken secret only", errs)
	}
	if c, err := set.Lookup("https://prod/", ""); err != nil || c.Name != "prod" {
		t.Errorf("lookup by server = %v, %v", c, err)
	}
	if c, err := set.Lookup("", "local"); err != nil || c.RESTConfig().Host != "https://127.0.0.1:6443" {
		t.Errorf("renamed in-cluster = %v, %v", c, err)
	}
	if _, err := set.Lookup("", InClusterName); !errors.Is(err, ErrNotFound) {
		t.Errorf("old in-cluster name still resolves: %v", err)
	}
}

// TestSecretReachesRealCluster builds a cluster Secret from the local cluster's credentials and talks to it.
func TestSecretReachesRealCluster(t *testing.T) {
	t.Parallel()
	kc := kubetest.Start(t)
	cfg, _ := json.Marshal(Config{TLSClientConfig: TLSClientConfig{
		CAData: kc.Config.CAData, CertData: kc.Config.CertData, KeyData: kc.Config.KeyData}})
	s := secret("local", map[string]string{"name": "local", "server": kc.Config.Host, "config": string(cfg)})
	c, err := FromSecret(&s)
	if err != nil {
		t.Fatal(err)
	}
	client, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	v, err := client.Discovery().ServerVersion()
	if err != nil || v.GitVersion != "v1.37.2" {
		t.Fatalf("server version = %v, %v", v, err)
	}
}
