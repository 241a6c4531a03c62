package repocreds

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/moorcd/moor/pkg/git"
)

// Errors of the Store. Handlers compare with errors.Is; FieldError matches ErrInvalidRepository.
var (
	ErrNotFound          = errors.New("repository not found")
	ErrAlreadyExists     = errors.New("repository already exists")
	ErrInvalidRepository = errors.New("invalid repository")
)

// FieldError is input the Store refuses. Field is the Secret key at fault (url, type, sshPrivateKey...);
// Reason never quotes a value, which could be a credential.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return "field " + e.Field + ": " + e.Reason }

// Is makes every FieldError match ErrInvalidRepository.
func (e *FieldError) Is(target error) bool { return target == ErrInvalidRepository }

// ownedKeys are the Secret keys the Store writes: the ones parse reads. Other keys (gcpServiceAccountKey,
// keys added by hand) are left as they are.
var ownedKeys = []string{
	"url", "type", "name", "project", "username", "password", "bearerToken", "sshPrivateKey",
	"tlsClientCertData", "tlsClientCertKey", "proxy", "noProxy", "insecure", "insecureIgnoreHostKey",
	"enableLfs", "enableOCI", "forceHttpBasicAuth", "depth", "githubAppID", "githubAppInstallationID",
	"githubAppPrivateKey", "githubAppEnterpriseBaseUrl",
}

// Store writes repository and credential-template Secrets (kind SecretTypeRepository or SecretTypeRepoCreds)
// in one namespace, in the format Resolve reads. The URL is the key: the Store keeps at most one Secret per
// URL and kind. Repositories match by git.NormalizeURL; templates match by their exact url, since the url is
// a prefix and "https://h/org" and "https://h/org/" select different repositories.
//
// Secrets it creates are named repo-<hash> or creds-<hash> (a short sha256 of the matching key); Secrets
// written by hand under any name are found, updated and deleted too. Writes touch only the keys parse reads
// and add labels, so keys, labels and annotations added by users stay.
type Store struct {
	kube      kubernetes.Interface
	namespace string
}

// NewStore returns a Store for the Secrets of namespace (Argo CD's namespace).
func NewStore(kube kubernetes.Interface, namespace string) *Store {
	return &Store{kube: kube, namespace: namespace}
}

// List returns the Secrets of kind as stored (no credentials inherited from templates, so a Get, change
// and Update never copies a template's credentials), sorted by URL then Secret name. An invalid Secret
// fails the list, as it fails Resolve.
func (s *Store) List(ctx context.Context, kind string) ([]*Repository, error) {
	secrets, err := s.list(ctx, kind)
	if err != nil {
		return nil, err
	}
	out := make([]*Repository, 0, len(secrets))
	for i := range secrets {
		r, err := fromSecret(&secrets[i], kind)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].URL != out[j].URL {
			return out[i].URL < out[j].URL
		}
		return out[i].SecretName < out[j].SecretName
	})
	return out, nil
}

// Get returns the Secret of kind for repoURL as stored, or ErrNotFound.
func (s *Store) Get(ctx context.Context, kind, repoURL string) (*Repository, error) {
	sec, err := s.find(ctx, kind, repoURL)
	if err != nil {
		return nil, err
	}
	return fromSecret(sec, kind)
}

// Create writes r as a new Secret of kind. When a Secret for r.URL exists it returns ErrAlreadyExists,
// unless upsert, which updates that Secret instead.
func (s *Store) Create(ctx context.Context, kind string, r *Repository, upsert bool) (*Repository, error) {
	if err := validate(kind, r); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		existing, err := s.find(ctx, kind, r.URL)
		switch {
		case err == nil && !upsert && sameData(existing, kind, r):
			return fromSecret(existing, kind) // as Argo CD: creating what exists already is no error
		case err == nil && !upsert:
			return nil, fmt.Errorf("%w: %s (secret %s)", ErrAlreadyExists, git.RedactURL(r.URL), existing.Name)
		case err == nil:
			return s.update(ctx, kind, existing.Name, r)
		case !errors.Is(err, ErrNotFound):
			return nil, err
		}
		sec := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{
				Name: newSecretName(kind, r.URL), Namespace: s.namespace,
				Labels: map[string]string{LabelSecretType: kind},
			},
			Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{},
		}
		write(sec, kind, r)
		created, err := s.kube.CoreV1().Secrets(s.namespace).Create(ctx, sec, metav1.CreateOptions{})
		switch {
		case apierrors.IsAlreadyExists(err) && upsert && attempt == 0:
			continue // created concurrently: the next find sees it and updates
		case apierrors.IsAlreadyExists(err):
			return nil, fmt.Errorf("%w: %s (secret %s)", ErrAlreadyExists, git.RedactURL(r.URL), sec.Name)
		case err != nil:
			return nil, fmt.Errorf("create secret %s/%s: %w", s.namespace, sec.Name, err)
		}
		return fromSecret(created, kind)
	}
}

// sameData reports whether writing r would store exactly what sec holds.
func sameData(sec *corev1.Secret, kind string, r *Repository) bool {
	probe := &corev1.Secret{Data: map[string][]byte{}}
	write(probe, kind, r)
	return maps.EqualFunc(probe.Data, sec.Data, bytes.Equal)
}

// Update replaces the stored fields of the Secret of kind for r.URL with r's: an empty field removes its key.
// It returns ErrNotFound when there is no such Secret.
func (s *Store) Update(ctx context.Context, kind string, r *Repository) (*Repository, error) {
	if err := validate(kind, r); err != nil {
		return nil, err
	}
	existing, err := s.find(ctx, kind, r.URL)
	if err != nil {
		return nil, err
	}
	return s.update(ctx, kind, existing.Name, r)
}

// Delete removes the Secret of kind for repoURL, or returns ErrNotFound.
func (s *Store) Delete(ctx context.Context, kind, repoURL string) error {
	sec, err := s.find(ctx, kind, repoURL)
	if err != nil {
		return err
	}
	err = s.kube.CoreV1().Secrets(s.namespace).Delete(ctx, sec.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &sec.UID},
	})
	switch {
	case apierrors.IsNotFound(err), apierrors.IsConflict(err):
		return fmt.Errorf("%w: %s", ErrNotFound, git.RedactURL(repoURL))
	case err != nil:
		return fmt.Errorf("delete secret %s/%s: %w", s.namespace, sec.Name, err)
	}
	return nil
}

// Redacted returns a copy of r without secrets: password, bearer token, SSH key and passphrase, TLS client
// key and GitHub App key are emptied, and passwords in the URL and proxy URL are masked. Call
// r.HasCredentials on the original to tell a client that credentials exist.
func Redacted(r *Repository) *Repository {
	if r == nil {
		return nil
	}
	out := *r
	out.URL = git.RedactURL(r.URL)
	out.CredsURL = git.RedactURL(r.CredsURL)
	out.Git.URL = git.RedactURL(r.Git.URL)
	out.Git.Proxy = git.RedactURL(r.Git.Proxy)
	out.Git.Password = ""
	out.Git.BearerToken = ""
	out.Git.SSHPrivateKey = ""
	out.Git.SSHKeyPassphrase = ""
	out.Git.TLSClientCertKey = ""
	if r.GitHubApp != nil {
		app := *r.GitHubApp
		app.PrivateKey = ""
		out.GitHubApp = &app
	}
	return &out
}

// newSecretName is the name the Store gives a new Secret of kind for repoURL.
func newSecretName(kind, repoURL string) string {
	prefix := "repo-"
	if kind == SecretTypeRepoCreds {
		prefix = "creds-"
	}
	sum := sha256.Sum256([]byte(matchKey(kind, repoURL)))
	return prefix + hex.EncodeToString(sum[:6])
}

// matchKey is what two URLs of one kind must share to name the same Secret.
func matchKey(kind, repoURL string) string {
	if kind == SecretTypeRepoCreds {
		return strings.TrimSpace(repoURL)
	}
	return git.NormalizeURL(repoURL)
}

func (s *Store) update(ctx context.Context, kind, name string, r *Repository) (*Repository, error) {
	secrets := s.kube.CoreV1().Secrets(s.namespace)
	var updated *corev1.Secret
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		sec, err := secrets.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if sec.Labels == nil {
			sec.Labels = map[string]string{}
		}
		sec.Labels[LabelSecretType] = kind
		if sec.Data == nil {
			sec.Data = map[string][]byte{}
		}
		write(sec, kind, r)
		updated, err = secrets.Update(ctx, sec, metav1.UpdateOptions{})
		return err
	})
	switch {
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("%w: %s", ErrNotFound, git.RedactURL(r.URL))
	case err != nil:
		return nil, fmt.Errorf("update secret %s/%s: %w", s.namespace, name, err)
	}
	return fromSecret(updated, kind)
}

func (s *Store) list(ctx context.Context, kind string) ([]corev1.Secret, error) {
	if kind != SecretTypeRepository && kind != SecretTypeRepoCreds {
		return nil, &FieldError{Field: "kind", Reason: fmt.Sprintf("want %s or %s", SecretTypeRepository, SecretTypeRepoCreds)}
	}
	list, err := s.kube.CoreV1().Secrets(s.namespace).List(ctx, metav1.ListOptions{LabelSelector: LabelSecretType + "=" + kind})
	if err != nil {
		return nil, fmt.Errorf("list %s secrets: %w", kind, err)
	}
	return list.Items, nil
}

// find returns the Secret of kind for repoURL. Should hand-written Secrets share a URL, a global one wins
// over project-scoped ones, then the first by name, so the answer does not depend on list order.
func (s *Store) find(ctx context.Context, kind, repoURL string) (*corev1.Secret, error) {
	secrets, err := s.list(ctx, kind)
	if err != nil {
		return nil, err
	}
	want := matchKey(kind, repoURL)
	var best *corev1.Secret
	for i := range secrets {
		sec := &secrets[i]
		u := strings.TrimSpace(string(sec.Data["url"]))
		if u == "" || matchKey(kind, u) != want {
			continue
		}
		if best == nil || betterSecret(sec, best) {
			best = sec
		}
	}
	if best == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, git.RedactURL(repoURL))
	}
	return best, nil
}

func betterSecret(a, b *corev1.Secret) bool {
	ag, bg := len(a.Data["project"]) == 0, len(b.Data["project"]) == 0
	if ag != bg {
		return ag
	}
	return a.Name < b.Name
}

func fromSecret(sec *corev1.Secret, kind string) (*Repository, error) {
	e, err := parse(sec, kind)
	if err != nil {
		return nil, err
	}
	r := e.repo
	r.SecretName = sec.Name
	r.Git.URL = r.URL
	return &r, nil
}

// write sets the keys of r in sec.Data and removes the owned keys r leaves empty. A false boolean is
// written only when the Secret already had the key: absent, a template may still supply it.
func write(sec *corev1.Secret, kind string, r *Repository) {
	str := func(k, v string) {
		if v == "" {
			delete(sec.Data, k)
			return
		}
		sec.Data[k] = []byte(v)
	}
	boolean := func(k string, v bool) {
		_, had := sec.Data[k]
		switch {
		case v:
			sec.Data[k] = []byte("true")
		case had:
			sec.Data[k] = []byte("false")
		}
	}
	integer := func(k string, v int64) {
		if v == 0 {
			delete(sec.Data, k)
			return
		}
		sec.Data[k] = []byte(strconv.FormatInt(v, 10))
	}
	typ := r.Type
	if typ == "" && kind == SecretTypeRepository {
		typ = TypeGit
	}
	str("url", strings.TrimSpace(r.URL))
	str("type", typ)
	str("name", r.Name)
	str("project", r.Project)
	str("username", r.Git.Username)
	str("password", r.Git.Password)
	str("bearerToken", r.Git.BearerToken)
	str("sshPrivateKey", r.Git.SSHPrivateKey)
	str("tlsClientCertData", r.Git.TLSClientCertData)
	str("tlsClientCertKey", r.Git.TLSClientCertKey)
	str("proxy", strings.TrimSpace(r.Git.Proxy))
	str("noProxy", strings.TrimSpace(r.Git.NoProxy))
	boolean("insecure", r.Git.Insecure)
	// parse reads insecure as implying insecureIgnoreHostKey; write the latter only when it adds something.
	boolean("insecureIgnoreHostKey", r.Git.InsecureIgnoreHostKey && !r.Git.Insecure)
	boolean("enableLfs", r.EnableLFS)
	boolean("enableOCI", r.EnableOCI)
	boolean("forceHttpBasicAuth", r.ForceHTTPBasicAuth)
	integer("depth", r.Depth)
	var app GitHubApp
	if r.GitHubApp != nil {
		app = *r.GitHubApp
	}
	integer("githubAppID", app.ID)
	integer("githubAppInstallationID", app.InstallationID)
	str("githubAppPrivateKey", app.PrivateKey)
	str("githubAppEnterpriseBaseUrl", strings.TrimSpace(app.EnterpriseBaseURL))
}

// validate checks r before a write. Every error is a FieldError naming the key; none quotes a value.
func validate(kind string, r *Repository) error {
	if kind != SecretTypeRepository && kind != SecretTypeRepoCreds {
		return &FieldError{Field: "kind", Reason: fmt.Sprintf("want %s or %s", SecretTypeRepository, SecretTypeRepoCreds)}
	}
	if r == nil {
		return &FieldError{Field: "url", Reason: "required"}
	}
	var errs []error
	fail := func(field, reason string) { errs = append(errs, &FieldError{Field: field, Reason: reason}) }
	if strings.TrimSpace(r.URL) == "" {
		fail("url", "required")
	}
	switch r.Type {
	case "", TypeGit, TypeHelm, TypeOCI:
	default:
		fail("type", fmt.Sprintf("want %s, %s or %s", TypeGit, TypeHelm, TypeOCI))
	}
	if k := r.Git.SSHPrivateKey; k != "" {
		_, err := ssh.ParsePrivateKey([]byte(k))
		var missing *ssh.PassphraseMissingError
		switch {
		case errors.As(err, &missing):
			fail("sshPrivateKey", "the key is protected by a passphrase, which cannot be stored")
		case err != nil:
			fail("sshPrivateKey", "not a PEM or OpenSSH private key")
		}
	}
	cert, key := r.Git.TLSClientCertData, r.Git.TLSClientCertKey
	switch {
	case cert != "" && key == "":
		fail("tlsClientCertKey", "required with tlsClientCertData")
	case cert == "" && key != "":
		fail("tlsClientCertData", "required with tlsClientCertKey")
	case cert != "":
		if _, err := tls.X509KeyPair([]byte(cert), []byte(key)); err != nil {
			fail("tlsClientCertData", "certificate and key do not form a PEM key pair")
		}
	}
	if p := strings.TrimSpace(r.Git.Proxy); p != "" {
		if u, err := url.Parse(p); err != nil || u.Host == "" {
			fail("proxy", "not a URL with a host")
		}
	}
	if r.Depth < 0 {
		fail("depth", "must not be negative")
	}
	if app := r.GitHubApp; app != nil {
		if app.ID <= 0 {
			fail("githubAppID", "required for GitHub App credentials")
		}
		if app.InstallationID <= 0 {
			fail("githubAppInstallationID", "required for GitHub App credentials")
		}
		if app.PrivateKey == "" {
			fail("githubAppPrivateKey", "required for GitHub App credentials")
		}
	}
	return errors.Join(errs...)
}
