// Package clusters turns destinations into clusters to talk to: the controller's own cluster
// (https://kubernetes.default.svc, name "in-cluster") and Argo CD cluster Secrets
// (label argocd.argoproj.io/secret-type: cluster), shared by the controller and the api-server.
package clusters

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
)

// Well-known names of the controller's own cluster.
const (
	InClusterServer = "https://kubernetes.default.svc"
	InClusterName   = "in-cluster"
	SecretTypeLabel = "argocd.argoproj.io/secret-type"
	SecretTypeValue = "cluster"
)

// ErrNotFound is a destination no cluster matches.
var ErrNotFound = errors.New("cluster not found")

// Cluster is a destination cluster and how to reach it.
type Cluster struct {
	Name             string
	Server           string
	Namespaces       []string // when set, Moor manages only these namespaces
	ClusterResources bool
	Project          string
	Labels           map[string]string
	Annotations      map[string]string
	Config           Config
	// rest is set for the in-cluster entry: the controller's own configuration.
	rest *rest.Config
}

// Config is the `config` JSON of a cluster Secret (Argo CD's shape).
type Config struct {
	Username           string          `json:"username,omitempty"`
	Password           string          `json:"password,omitempty"`
	BearerToken        string          `json:"bearerToken,omitempty"`
	TLSClientConfig    TLSClientConfig `json:"tlsClientConfig,omitzero"`
	DisableCompression bool            `json:"disableCompression,omitempty"`
	ProxyURL           string          `json:"proxyUrl,omitempty"`
}

// TLSClientConfig holds PEM data base64-encoded, as Argo CD writes it.
type TLSClientConfig struct {
	Insecure   bool   `json:"insecure,omitempty"`
	ServerName string `json:"serverName,omitempty"`
	CertData   []byte `json:"certData,omitempty"`
	KeyData    []byte `json:"keyData,omitempty"`
	CAData     []byte `json:"caData,omitempty"`
}

// InCluster returns the controller's own cluster, reached with cfg.
func InCluster(cfg *rest.Config) *Cluster {
	return &Cluster{Name: InClusterName, Server: InClusterServer, ClusterResources: true, rest: cfg}
}

// FromSecret reads a cluster Secret. Errors name the Secret and the field, never a credential.
func FromSecret(s *corev1.Secret) (*Cluster, error) {
	field := func(k string) string { return strings.TrimSpace(string(s.Data[k])) }
	c := &Cluster{
		Name: field("name"), Server: strings.TrimSuffix(field("server"), "/"), Project: field("project"),
		Labels: s.Labels, Annotations: s.Annotations,
	}
	if c.Server == "" {
		return nil, fmt.Errorf("cluster secret %s/%s: field server is empty", s.Namespace, s.Name)
	}
	if ns := field("namespaces"); ns != "" {
		for _, n := range strings.Split(ns, ",") {
			if n = strings.TrimSpace(n); n != "" {
				c.Namespaces = append(c.Namespaces, n)
			}
		}
	}
	if v := field("clusterResources"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("cluster secret %s/%s: field clusterResources: %q is not a boolean", s.Namespace, s.Name, v)
		}
		c.ClusterResources = b
	} else {
		c.ClusterResources = len(c.Namespaces) == 0
	}
	if raw := s.Data["config"]; len(raw) > 0 {
		if err := json.Unmarshal(raw, &c.Config); err != nil {
			var syn *json.SyntaxError
			if errors.As(err, &syn) {
				return nil, fmt.Errorf("cluster secret %s/%s: field config: invalid JSON at offset %d", s.Namespace, s.Name, syn.Offset)
			}
			return nil, fmt.Errorf("cluster secret %s/%s: field config: %s", s.Namespace, s.Name, typeErrorOnly(err))
		}
	}
	if c.Name == "" {
		c.Name = c.Server
	}
	return c, nil
}

// typeErrorOnly keeps a JSON error's shape without any value from the document.
func typeErrorOnly(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %s: want %s", te.Field, te.Type)
	}
	return "cannot be decoded"
}

// RESTConfig returns the client configuration for the cluster.
func (c *Cluster) RESTConfig() *rest.Config {
	if c.rest != nil {
		return rest.CopyConfig(c.rest)
	}
	cfg := &rest.Config{
		Host:        c.Server,
		Username:    c.Config.Username,
		Password:    c.Config.Password,
		BearerToken: c.Config.BearerToken,
		TLSClientConfig: rest.TLSClientConfig{
			Insecure: c.Config.TLSClientConfig.Insecure, ServerName: c.Config.TLSClientConfig.ServerName,
			CertData: pem(c.Config.TLSClientConfig.CertData), KeyData: pem(c.Config.TLSClientConfig.KeyData),
			CAData: pem(c.Config.TLSClientConfig.CAData),
		},
		DisableCompression: c.Config.DisableCompression,
		QPS:                50,
		Burst:              100,
	}
	return cfg
}

// pem accepts PEM given either raw or base64-encoded once more (both forms exist in the wild).
func pem(b []byte) []byte {
	if len(b) == 0 || strings.HasPrefix(string(b), "-----BEGIN") {
		return b
	}
	if dec, err := base64.StdEncoding.DecodeString(string(b)); err == nil && strings.HasPrefix(string(dec), "-----BEGIN") {
		return dec
	}
	return b
}

// Set is the known clusters, looked up by server URL or name.
type Set struct {
	byServer map[string]*Cluster
	byName   map[string]*Cluster
}

// NewSet builds a Set from the in-cluster entry (may be nil) and cluster Secrets. A Secret for
// https://kubernetes.default.svc overrides the in-cluster entry's name and namespaces, as in Argo CD.
// Invalid Secrets are returned as errors and skipped.
func NewSet(in *Cluster, secrets []corev1.Secret) (*Set, []error) {
	s := &Set{byServer: map[string]*Cluster{}, byName: map[string]*Cluster{}}
	if in != nil {
		s.add(in)
	}
	var errs []error
	for i := range secrets {
		if secrets[i].Labels[SecretTypeLabel] != SecretTypeValue {
			continue
		}
		c, err := FromSecret(&secrets[i])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if c.Server == InClusterServer && in != nil {
			c.rest = in.rest
			delete(s.byName, in.Name)
		}
		s.add(c)
	}
	return s, errs
}

func (s *Set) add(c *Cluster) {
	s.byServer[c.Server] = c
	s.byName[c.Name] = c
}

// Lookup finds the cluster of a destination: by server URL when set, else by name.
func (s *Set) Lookup(server, name string) (*Cluster, error) {
	if server != "" {
		if c, ok := s.byServer[strings.TrimSuffix(server, "/")]; ok {
			return c, nil
		}
		return nil, fmt.Errorf("%w: no cluster with server %s", ErrNotFound, server)
	}
	if c, ok := s.byName[name]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("%w: no cluster named %q", ErrNotFound, name)
}
