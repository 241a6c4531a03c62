package clusters_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/moorcd/moor/pkg/clusters"
	"github.com/moorcd/moor/test/kubetest"
)

// storeFixture is a Store over a fresh namespace of the local cluster.
type storeFixture struct {
	kc    *kubetest.Cluster
	store *clusters.Store
	kube  kubernetes.Interface
	ns    string
}

func newStore(t *testing.T) storeFixture {
	t.Helper()
	kc := kubetest.Start(t)
	ns := kc.Namespace(t)
	return storeFixture{kc: kc, store: clusters.NewStore(kc.Kube, ns), kube: kc.Kube, ns: ns}
}

// fromKube reads the cluster Secret back through the read side.
func (f storeFixture) fromKube(t *testing.T, name string) *clusters.Cluster {
	t.Helper()
	s, err := f.kube.CoreV1().Secrets(f.ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := clusters.FromSecret(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f storeFixture) secretFor(t *testing.T, server string) *corev1.Secret {
	t.Helper()
	list, err := f.kube.CoreV1().Secrets(f.ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range list.Items {
		if strings.TrimSuffix(string(list.Items[i].Data["server"]), "/") == strings.TrimSuffix(server, "/") {
			return &list.Items[i]
		}
	}
	t.Fatalf("no Secret for %s", server)
	return nil
}

var ignoreRest = cmpopts.IgnoreUnexported(clusters.Cluster{})

// stored is c as the read side returns it: defaults applied, the type label added.
func stored(c clusters.Cluster) *clusters.Cluster {
	c.Server = strings.TrimSuffix(c.Server, "/")
	if c.Name == "" {
		c.Name = c.Server
	}
	labels := map[string]string{clusters.SecretTypeLabel: clusters.SecretTypeValue}
	for k, v := range c.Labels {
		labels[k] = v
	}
	c.Labels = labels
	return &c
}

func TestStoreClusterLifecycle(t *testing.T) {
	t.Parallel()
	f := newStore(t)
	ca := []byte("-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n")
	tests := []struct {
		name    string
		cluster clusters.Cluster
		change  func(c *clusters.Cluster)
	}{
		{
			name: "bearer token and CA",
			cluster: clusters.Cluster{Name: "prod", Server: "https://prod.example.com:6443/", Project: "team", ClusterResources: true,
				Labels: map[string]string{"env": "prod"}, Annotations: map[string]string{"owner": "alice"},
				Config: clusters.Config{BearerToken: "s3cret-token", TLSClientConfig: clusters.TLSClientConfig{CAData: ca, ServerName: "prod"}}},
			change: func(c *clusters.Cluster) {
				c.Config.BearerToken = "rotated"
				c.Namespaces = []string{"a", "b"}
				c.ClusterResources = false
			},
		},
		{
			name: "client certificate, namespaces",
			cluster: clusters.Cluster{Name: "edge", Server: "https://10.0.0.1", Namespaces: []string{"apps", "infra"},
				Config: clusters.Config{TLSClientConfig: clusters.TLSClientConfig{CertData: []byte("CERT"), KeyData: []byte("s3cret-key"), Insecure: true}}},
			change: func(c *clusters.Cluster) { c.ClusterResources = true; c.Config.ProxyURL = "http://proxy:3128" },
		},
		{
			name:    "basic auth, named by its server",
			cluster: clusters.Cluster{Server: "http://legacy.example.com", Config: clusters.Config{Username: "admin", Password: "s3cret-pass"}},
			change:  func(c *clusters.Cluster) { c.Name = "legacy"; c.Config.Username, c.Config.Password = "", "" },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			in := tt.cluster
			if in.Namespaces == nil && !in.ClusterResources {
				in.ClusterResources = true // the read side's default without namespaces
			}
			created, err := f.store.Create(ctx, &in, false)
			if err != nil {
				t.Fatal(err)
			}
			want := stored(in)
			if d := cmp.Diff(want, created, ignoreRest); d != "" {
				t.Errorf("Create (-want +got):\n%s", d)
			}
			sec := f.secretFor(t, in.Server)
			if !strings.HasPrefix(sec.Name, "cluster-") {
				t.Errorf("secret name %q, want cluster-<host>-<hash>", sec.Name)
			}
			if d := cmp.Diff(want, f.fromKube(t, sec.Name), ignoreRest); d != "" {
				t.Errorf("FromSecret (-want +got):\n%s", d)
			}
			got, err := f.store.Get(ctx, want.Server+"/")
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, got, ignoreRest); d != "" {
				t.Errorf("Get (-want +got):\n%s", d)
			}
			if byName, err := f.store.GetByName(ctx, want.Name); err != nil || byName.Server != want.Server {
				t.Errorf("GetByName(%q) = %v, %v", want.Name, byName, err)
			}

			next := in
			tt.change(&next)
			updated, err := f.store.Update(ctx, &next)
			if err != nil {
				t.Fatal(err)
			}
			want = stored(next)
			if d := cmp.Diff(want, updated, ignoreRest); d != "" {
				t.Errorf("Update (-want +got):\n%s", d)
			}
			if d := cmp.Diff(want, f.fromKube(t, sec.Name), ignoreRest); d != "" {
				t.Errorf("FromSecret after Update (-want +got):\n%s", d)
			}

			if err := f.store.Delete(ctx, in.Server); err != nil {
				t.Fatal(err)
			}
			if _, err := f.store.Get(ctx, in.Server); !errors.Is(err, clusters.ErrNotFound) {
				t.Errorf("Get after Delete = %v, want ErrNotFound", err)
			}
		})
	}
}

// TestStoreClusterReachesRealCluster writes the local cluster's credentials through the Store and talks to
// the cluster with what the read side makes of them.
func TestStoreClusterReachesRealCluster(t *testing.T) {
	t.Parallel()
	f := newStore(t)
	_, err := f.store.Create(t.Context(), &clusters.Cluster{Name: "local", Server: f.kc.Config.Host, Config: clusters.Config{
		TLSClientConfig: clusters.TLSClientConfig{CAData: f.kc.Config.CAData, CertData: f.kc.Config.CertData, KeyData: f.kc.Config.KeyData},
		BearerToken:     f.kc.Config.BearerToken,
	}}, false)
	if err != nil {
		t.Fatal(err)
	}
	c := f.fromKube(t, f.secretFor(t, f.kc.Config.Host).Name)
	client, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Discovery().ServerVersion(); err != nil {
		t.Fatalf("server version through the stored cluster: %v", err)
	}
}

// TestStoreCreateUpsert starts from a Secret written by hand, with a name, labels, annotations, keys and
// config keys of its user's choosing: the Store finds it by server and keeps what it does not own.
func TestStoreCreateUpsert(t *testing.T) {
	t.Parallel()
	f := newStore(t)
	_, err := f.kube.CoreV1().Secrets(f.ns).Create(t.Context(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:        "hand-written",
			Labels:      map[string]string{clusters.SecretTypeLabel: clusters.SecretTypeValue, "team": "a"},
			Annotations: map[string]string{"owner": "alice"},
		},
		StringData: map[string]string{
			"name": "eks", "server": "https://eks.example.com", "shard": "2",
			"config": `{"awsAuthConfig":{"clusterName":"eks"},"bearerToken":"old","tlsClientConfig":{"insecure":false}}`,
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		server  string
		upsert  bool
		wantErr error
	}{
		{name: "same server", server: "https://eks.example.com", wantErr: clusters.ErrAlreadyExists},
		{name: "same server with a slash", server: "https://eks.example.com/", wantErr: clusters.ErrAlreadyExists},
		{name: "upsert updates", server: "https://eks.example.com/", upsert: true},
	}
	for _, tt := range tests { // in order: each case sees the Secret the previous left
		t.Run(tt.name, func(t *testing.T) {
			c := &clusters.Cluster{Name: "eks", Server: tt.server, ClusterResources: true,
				Labels: map[string]string{"env": "prod"}, Config: clusters.Config{BearerToken: "new-token"}}
			got, err := f.store.Create(t.Context(), c, tt.upsert)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || strings.Contains(err.Error(), "new-token") {
					t.Fatalf("err = %v, want %v without the token", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Config.BearerToken != "new-token" || got.Labels["env"] != "prod" || got.Labels["team"] != "a" {
				t.Errorf("Create = %+v", got)
			}
		})
	}
	sec := f.secretFor(t, "https://eks.example.com")
	if sec.Name != "hand-written" || sec.Annotations["owner"] != "alice" || string(sec.Data["shard"]) != "2" {
		t.Errorf("user data lost: name %s annotations %v keys %d", sec.Name, sec.Annotations, len(sec.Data))
	}
	var config map[string]json.RawMessage
	if err := json.Unmarshal(sec.Data["config"], &config); err != nil {
		t.Fatal(err)
	}
	if string(config["awsAuthConfig"]) != `{"clusterName":"eks"}` || string(config["bearerToken"]) != `"new-token"` {
		t.Errorf("config keys Config does not carry were lost or ours not written: %d keys", len(config))
	}
	list, err := f.store.List(t.Context())
	if err != nil || len(list) != 1 {
		t.Errorf("List = %v, %v; want the one cluster", list, err)
	}
}

func TestStoreClusterValidation(t *testing.T) {
	t.Parallel()
	f := newStore(t)
	const secret = "s3cret-value"
	tests := []struct {
		name      string
		cluster   clusters.Cluster
		wantField string
	}{
		{"missing server", clusters.Cluster{Name: "x", Config: clusters.Config{Password: secret}}, "server"},
		{"server is no URL", clusters.Cluster{Server: "prod.example.com"}, "server"},
		{"credentials in the server", clusters.Cluster{Server: "https://admin:" + secret + "@h"}, "server"},
		{"empty namespace", clusters.Cluster{Server: "https://h", Namespaces: []string{"a", " "}}, "namespaces"},
		{"client cert without key", clusters.Cluster{Server: "https://h", Config: clusters.Config{TLSClientConfig: clusters.TLSClientConfig{CertData: []byte("CERT")}}}, "config.tlsClientConfig.keyData"},
		{"client key without cert", clusters.Cluster{Server: "https://h", Config: clusters.Config{TLSClientConfig: clusters.TLSClientConfig{KeyData: []byte(secret)}}}, "config.tlsClientConfig.certData"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for op, call := range map[string]func() error{
				"create": func() error { _, err := f.store.Create(t.Context(), &tt.cluster, true); return err },
				"update": func() error { _, err := f.store.Update(t.Context(), &tt.cluster); return err },
			} {
				err := call()
				var fe *clusters.FieldError
				if !errors.Is(err, clusters.ErrInvalidCluster) || !errors.As(err, &fe) || fe.Field != tt.wantField {
					t.Errorf("%s: err = %v, want a FieldError for %s", op, err, tt.wantField)
				}
				if err != nil && strings.Contains(err.Error(), secret) {
					t.Errorf("%s: secret value in error: %v", op, err)
				}
			}
		})
	}
	t.Cleanup(func() { // after the parallel cases, before the namespace goes
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		list, err := f.kube.CoreV1().Secrets(f.ns).List(ctx, metav1.ListOptions{})
		if err != nil || len(list.Items) != 0 {
			t.Errorf("invalid input wrote Secrets: %v", err)
		}
	})
}

func TestStoreClusterNotFound(t *testing.T) {
	t.Parallel()
	f := newStore(t)
	tests := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"get", func(ctx context.Context) error { _, err := f.store.Get(ctx, "https://missing"); return err }},
		{"get by name", func(ctx context.Context) error { _, err := f.store.GetByName(ctx, "missing"); return err }},
		{"update", func(ctx context.Context) error {
			_, err := f.store.Update(ctx, &clusters.Cluster{Server: "https://missing"})
			return err
		}},
		{"delete", func(ctx context.Context) error { return f.store.Delete(ctx, "https://missing") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := tt.call(t.Context()); !errors.Is(err, clusters.ErrNotFound) {
				t.Errorf("err = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestRedacted(t *testing.T) {
	t.Parallel()
	secrets := []string{"the-password", "the-token", "the-key"}
	full := &clusters.Cluster{Name: "c", Server: "https://h", Labels: map[string]string{"a": "b"}, Config: clusters.Config{
		Username: "admin", Password: "the-password", BearerToken: "the-token",
		TLSClientConfig: clusters.TLSClientConfig{CertData: []byte("CERT"), KeyData: []byte("the-key"), CAData: []byte("CA")},
	}}
	tests := []struct {
		name string
		in   *clusters.Cluster
	}{
		{"every secret", full},
		{"none", &clusters.Cluster{Name: "c", Server: "https://h"}},
		{"nil", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := clusters.Redacted(tt.in)
			if tt.in == nil {
				if out != nil {
					t.Fatalf("Redacted(nil) = %+v", out)
				}
				return
			}
			dump := fmt.Sprintf("%+v %s", out, out.Config.TLSClientConfig.KeyData)
			for _, s := range secrets {
				if strings.Contains(dump, s) {
					t.Errorf("%s survives redaction: %s", s, dump)
				}
			}
			if out.Config.Username != tt.in.Config.Username || string(out.Config.TLSClientConfig.CAData) != string(tt.in.Config.TLSClientConfig.CAData) {
				t.Errorf("non-secret fields lost: %+v", out.Config)
			}
		})
	}
	if full.Config.Password != "the-password" || string(full.Config.TLSClientConfig.KeyData) != "the-key" {
		t.Error("Redacted changed its input")
	}
}
