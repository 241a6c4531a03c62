package clusters

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// Errors of the Store besides ErrNotFound. FieldError matches ErrInvalidCluster.
var (
	ErrAlreadyExists  = errors.New("cluster already exists")
	ErrInvalidCluster = errors.New("invalid cluster")
)

// FieldError is input the Store refuses. Field is the Secret key at fault (server, namespaces,
// config.tlsClientConfig.keyData...); Reason never quotes a value.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return "field " + e.Field + ": " + e.Reason }

// Is makes every FieldError match ErrInvalidCluster.
func (e *FieldError) Is(target error) bool { return target == ErrInvalidCluster }

// configKeys are the top-level keys of the config JSON that Config carries. Others (execProviderConfig,
// awsAuthConfig) are kept as they are in the Secret.
var configKeys = []string{"username", "password", "bearerToken", "tlsClientConfig", "disableCompression", "proxyUrl"}

// Store writes cluster Secrets in one namespace, in the format FromSecret reads. The server URL (without a
// trailing "/") is the key: the Store keeps at most one Secret per server.
//
// Secrets it creates are named cluster-<host>-<hash> (a short sha256 of the server); Secrets written by hand
// under any name are found, updated and deleted too. Writes touch only the keys FromSecret reads, add the
// cluster's labels and annotations and keep any others, so keys, labels and annotations added by users stay.
// The Store knows Secrets only: the in-cluster entry without a Secret is the caller's to add.
type Store struct {
	kube      kubernetes.Interface
	namespace string
}

// NewStore returns a Store for the cluster Secrets of namespace (Argo CD's namespace).
func NewStore(kube kubernetes.Interface, namespace string) *Store {
	return &Store{kube: kube, namespace: namespace}
}

// List returns the clusters of the Secrets, sorted by server. An invalid Secret fails the list.
func (s *Store) List(ctx context.Context) ([]*Cluster, error) {
	secrets, err := s.list(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*Cluster, 0, len(secrets))
	for i := range secrets {
		c, err := FromSecret(&secrets[i])
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Server < out[j].Server })
	return out, nil
}

// Get returns the cluster with server URL server, or ErrNotFound.
func (s *Store) Get(ctx context.Context, server string) (*Cluster, error) {
	sec, err := s.find(ctx, server)
	if err != nil {
		return nil, err
	}
	return FromSecret(sec)
}

// GetByName returns the cluster named name (a Secret without a name is named by its server), or
// ErrNotFound. Should several share the name, the first by server wins.
func (s *Store) GetByName(ctx context.Context, name string) (*Cluster, error) {
	list, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range list {
		if c.Name == name {
			return c, nil
		}
	}
	return nil, fmt.Errorf("%w: no cluster named %q", ErrNotFound, name)
}

// Create writes c as a new cluster Secret. When a Secret for c.Server exists it returns ErrAlreadyExists,
// unless upsert, which updates that Secret instead.
func (s *Store) Create(ctx context.Context, c *Cluster, upsert bool) (*Cluster, error) {
	if err := validate(c); err != nil {
		return nil, err
	}
	server := normalizeServer(c.Server)
	for attempt := 0; ; attempt++ {
		existing, err := s.find(ctx, server)
		switch {
		case err == nil && !upsert && sameData(existing, c):
			return FromSecret(existing) // as Argo CD: creating what exists already is no error
		case err == nil && !upsert:
			return nil, fmt.Errorf("%w: %s (secret %s)", ErrAlreadyExists, server, existing.Name)
		case err == nil:
			return s.update(ctx, existing.Name, c)
		case !errors.Is(err, ErrNotFound):
			return nil, err
		}
		sec := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: newSecretName(server), Namespace: s.namespace},
			Type:       corev1.SecretTypeOpaque,
		}
		if err := write(sec, c); err != nil {
			return nil, err
		}
		created, err := s.kube.CoreV1().Secrets(s.namespace).Create(ctx, sec, metav1.CreateOptions{})
		switch {
		case apierrors.IsAlreadyExists(err) && upsert && attempt == 0:
			continue // created concurrently: the next find sees it and updates
		case apierrors.IsAlreadyExists(err):
			return nil, fmt.Errorf("%w: %s (secret %s)", ErrAlreadyExists, server, sec.Name)
		case err != nil:
			return nil, fmt.Errorf("create secret %s/%s: %w", s.namespace, sec.Name, err)
		}
		return FromSecret(created)
	}
}

// sameData reports whether writing c would store exactly what sec holds.
func sameData(sec *corev1.Secret, c *Cluster) bool {
	probe := &corev1.Secret{}
	if err := write(probe, c); err != nil {
		return false
	}
	if !maps.EqualFunc(probe.Data, sec.Data, bytes.Equal) {
		return false
	}
	for k, v := range probe.Labels {
		if sec.Labels[k] != v {
			return false
		}
	}
	for k, v := range probe.Annotations {
		if sec.Annotations[k] != v {
			return false
		}
	}
	return true
}

// Update replaces the stored fields of the Secret for c.Server with c's: an empty field removes its key,
// except labels and annotations, which are added to the Secret's. It returns ErrNotFound when there is
// no such Secret.
func (s *Store) Update(ctx context.Context, c *Cluster) (*Cluster, error) {
	if err := validate(c); err != nil {
		return nil, err
	}
	existing, err := s.find(ctx, c.Server)
	if err != nil {
		return nil, err
	}
	return s.update(ctx, existing.Name, c)
}

// Delete removes the Secret for server, or returns ErrNotFound.
func (s *Store) Delete(ctx context.Context, server string) error {
	sec, err := s.find(ctx, server)
	if err != nil {
		return err
	}
	err = s.kube.CoreV1().Secrets(s.namespace).Delete(ctx, sec.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &sec.UID},
	})
	switch {
	case apierrors.IsNotFound(err), apierrors.IsConflict(err):
		return fmt.Errorf("%w: no cluster with server %s", ErrNotFound, normalizeServer(server))
	case err != nil:
		return fmt.Errorf("delete secret %s/%s: %w", s.namespace, sec.Name, err)
	}
	return nil
}

// Redacted returns a copy of c without secrets: the password, bearer token and TLS client key of its
// config are emptied, and the in-cluster entry loses the controller's own credentials.
func Redacted(c *Cluster) *Cluster {
	if c == nil {
		return nil
	}
	out := *c
	out.rest = nil
	out.Namespaces = slices.Clone(c.Namespaces)
	out.Labels = maps.Clone(c.Labels)
	out.Annotations = maps.Clone(c.Annotations)
	out.Config.Password = ""
	out.Config.BearerToken = ""
	out.Config.TLSClientConfig.KeyData = nil
	out.Config.TLSClientConfig.CertData = slices.Clone(c.Config.TLSClientConfig.CertData)
	out.Config.TLSClientConfig.CAData = slices.Clone(c.Config.TLSClientConfig.CAData)
	return &out
}

// normalizeServer is the key of a cluster, as FromSecret and Set.Lookup read it.
func normalizeServer(server string) string {
	return strings.TrimSuffix(strings.TrimSpace(server), "/")
}

// newSecretName is the name the Store gives a new Secret for server: cluster-<host>-<hash>, a valid
// Secret name whatever the host.
func newSecretName(server string) string {
	sum := sha256.Sum256([]byte(server))
	host := ""
	if u, err := url.Parse(server); err == nil {
		host = strings.ToLower(u.Hostname())
	}
	host = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '-'
	}, host)
	host = strings.Trim(host[:min(len(host), 48)], "-.")
	if host == "" {
		return "cluster-" + hex.EncodeToString(sum[:6])
	}
	return "cluster-" + host + "-" + hex.EncodeToString(sum[:6])
}

func (s *Store) update(ctx context.Context, name string, c *Cluster) (*Cluster, error) {
	secrets := s.kube.CoreV1().Secrets(s.namespace)
	var updated *corev1.Secret
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		sec, err := secrets.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if err := write(sec, c); err != nil {
			return err
		}
		updated, err = secrets.Update(ctx, sec, metav1.UpdateOptions{})
		return err
	})
	switch {
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("%w: no cluster with server %s", ErrNotFound, normalizeServer(c.Server))
	case err != nil:
		return nil, fmt.Errorf("update secret %s/%s: %w", s.namespace, name, err)
	}
	return FromSecret(updated)
}

func (s *Store) list(ctx context.Context) ([]corev1.Secret, error) {
	list, err := s.kube.CoreV1().Secrets(s.namespace).List(ctx, metav1.ListOptions{LabelSelector: SecretTypeLabel + "=" + SecretTypeValue})
	if err != nil {
		return nil, fmt.Errorf("list cluster secrets: %w", err)
	}
	return list.Items, nil
}

// find returns the Secret for server; should hand-written Secrets share a server, the first by name wins.
func (s *Store) find(ctx context.Context, server string) (*corev1.Secret, error) {
	secrets, err := s.list(ctx)
	if err != nil {
		return nil, err
	}
	want := normalizeServer(server)
	var best *corev1.Secret
	for i := range secrets {
		sec := &secrets[i]
		if normalizeServer(string(sec.Data["server"])) != want {
			continue
		}
		if best == nil || sec.Name < best.Name {
			best = sec
		}
	}
	if best == nil {
		return nil, fmt.Errorf("%w: no cluster with server %s", ErrNotFound, want)
	}
	return best, nil
}

// write sets the keys of c in sec, keeping keys, labels and annotations it does not own, and the config
// JSON's keys Config does not carry.
func write(sec *corev1.Secret, c *Cluster) error {
	if sec.Data == nil {
		sec.Data = map[string][]byte{}
	}
	if sec.Labels == nil {
		sec.Labels = map[string]string{}
	}
	maps.Copy(sec.Labels, c.Labels)
	sec.Labels[SecretTypeLabel] = SecretTypeValue
	if len(c.Annotations) > 0 {
		if sec.Annotations == nil {
			sec.Annotations = map[string]string{}
		}
		maps.Copy(sec.Annotations, c.Annotations)
	}
	str := func(k, v string) {
		if v == "" {
			delete(sec.Data, k)
			return
		}
		sec.Data[k] = []byte(v)
	}
	server := normalizeServer(c.Server)
	name := strings.TrimSpace(c.Name)
	if name == server {
		name = "" // FromSecret names a cluster by its server when the key is absent
	}
	str("server", server)
	str("name", name)
	str("project", c.Project)
	str("namespaces", strings.Join(c.Namespaces, ","))
	// FromSecret defaults clusterResources to "no namespaces listed"; write the value when it differs or is true.
	switch {
	case c.ClusterResources:
		str("clusterResources", "true")
	case len(c.Namespaces) == 0:
		str("clusterResources", "false")
	default:
		str("clusterResources", "")
	}
	config, err := mergeConfig(sec.Data["config"], c.Config)
	if err != nil {
		return err
	}
	str("config", string(config))
	return nil
}

// mergeConfig writes cfg over the config JSON old, keeping the keys Config does not carry.
func mergeConfig(old []byte, cfg Config) ([]byte, error) {
	doc := map[string]json.RawMessage{}
	if len(old) > 0 {
		if err := json.Unmarshal(old, &doc); err != nil {
			doc = map[string]json.RawMessage{} // unreadable: replaced as a whole

		}
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encode field config: %w", err)
	}
	ours := map[string]json.RawMessage{}
	if err := json.Unmarshal(raw, &ours); err != nil {
		return nil, fmt.Errorf("encode field config: %w", err)
	}
	for _, k := range configKeys {
		if v, ok := ours[k]; ok {
			doc[k] = v
		} else {
			delete(doc, k)
		}
	}
	// Argo CD always writes tlsClientConfig; keep that shape for tools that expect it.
	if _, ok := doc["tlsClientConfig"]; !ok {
		doc["tlsClientConfig"] = json.RawMessage(`{"insecure":false}`)
	}
	return json.Marshal(doc)
}

// validate checks c before a write. Every error is a FieldError naming the key; none quotes a value.
func validate(c *Cluster) error {
	if c == nil {
		return &FieldError{Field: "server", Reason: "required"}
	}
	var errs []error
	fail := func(field, reason string) { errs = append(errs, &FieldError{Field: field, Reason: reason}) }
	if server := normalizeServer(c.Server); server == "" {
		fail("server", "required")
	} else if u, err := url.Parse(server); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		fail("server", "want an http or https URL with a host")
	} else if u.User != nil {
		fail("server", "must not carry credentials; put them in config")
	}
	for _, n := range c.Namespaces {
		if n = strings.TrimSpace(n); n == "" || strings.Contains(n, ",") {
			fail("namespaces", "each namespace must be a non-empty name without commas")
			break
		}
	}
	tlsc := c.Config.TLSClientConfig
	switch {
	case len(tlsc.CertData) > 0 && len(tlsc.KeyData) == 0:
		fail("config.tlsClientConfig.keyData", "required with certData")
	case len(tlsc.CertData) == 0 && len(tlsc.KeyData) > 0:
		fail("config.tlsClientConfig.certData", "required with keyData")
	}
	if p := c.Config.ProxyURL; p != "" {
		if u, err := url.Parse(p); err != nil || u.Host == "" {
			fail("config.proxyUrl", "not a URL with a host")
		}
	}
	return errors.Join(errs...)
}
