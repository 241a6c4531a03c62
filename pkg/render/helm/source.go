package helm

import (
	"container/list"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"
	"golang.org/x/sync/singleflight"

	"github.com/moorcd/moor/pkg/render"
)

// Errors of chart repositories, beside render.ErrNotFound and render.ErrTooLarge.
var (
	// ErrUnauthorized is a chart repository or registry that refused the credentials (HTTP 401 or 403).
	ErrUnauthorized = errors.New("chart repository refused the credentials")
	// ErrUnavailable is a chart repository or registry that could not be reached or failed (5xx).
	ErrUnavailable = errors.New("chart repository unavailable")
)

// ChartRef names a chart in a Helm HTTP repository or an OCI registry.
type ChartRef struct {
	// RepoURL is an HTTP(S) repository ("https://charts.example.com"), an OCI registry path
	// ("oci://ghcr.io/org/charts", or "ghcr.io/org/charts" with Creds.EnableOCI).
	RepoURL string
	// Chart is the chart's name. For OCI it may be empty when RepoURL names the chart's repository itself.
	Chart string
	// Version is an exact version or a semver constraint ("1.2.*", ">=1.0.0 <2.0.0"); "" and "*" mean the
	// latest stable version.
	Version string
	// PassCredentials sends the repository's credentials to a chart URL on another host (Helm's
	// --pass-credentials; Argo CD's helm.passCredentials).
	PassCredentials bool
}

func (r ChartRef) String() string {
	return strings.TrimSuffix(r.RepoURL, "/") + "/" + r.Chart
}

// Creds are the credentials and transport options of one chart repository.
type Creds struct {
	Username, Password string
	// BearerToken is sent as "Authorization: Bearer" (OCI: a registry token) when there is no username.
	BearerToken string
	// CAData is a PEM bundle of extra CAs; CertData and KeyData a PEM client certificate and key.
	CAData, CertData, KeyData []byte
	InsecureSkipVerify        bool
	// EnableOCI marks a repoURL without "oci://" as an OCI registry (Argo CD's enableOCI).
	EnableOCI bool
	// PlainHTTP talks to an OCI registry over plain HTTP (Argo CD's insecureOCIForceHttp).
	PlainHTTP bool
}

// CredentialsFunc returns the credentials for a repository URL (a source's repoURL, or a dependency's
// repository in Chart.yaml). Zero Creds mean anonymous.
type CredentialsFunc func(repoURL string) Creds

// Archive is a downloaded chart archive (.tgz) and where it came from.
type Archive struct {
	Data []byte
	// Version is the resolved chart version.
	Version string
	// Digest is "sha256:<hex>" of Data.
	Digest string
	// URL is where the archive was downloaded from (credentials never appear in it).
	URL string
}

// SourceOptions configure a ChartSource. Zero values take the defaults.
type SourceOptions struct {
	// MaxArchiveBytes caps a downloaded chart archive. Default 20 MiB.
	MaxArchiveBytes int64
	// MaxIndexBytes caps a repository's index.yaml. Default 64 MiB.
	MaxIndexBytes int64
	// Timeout caps one Fetch (index, tags and download). Default 60 s.
	Timeout time.Duration
	// IndexTTL is how long an index.yaml or an OCI tag list is reused. Default 3 minutes.
	IndexTTL time.Duration
	// CacheBytes bounds the in-memory archive cache. Default 256 MiB; negative disables it.
	CacheBytes int64
	// CacheDir, when set, also keeps archives on disk (content-addressed; safe to share between replicas).
	CacheDir string
	// Now is the clock (tests inject one). Default time.Now.
	Now func() time.Time
}

func (o SourceOptions) withDefaults() SourceOptions {
	if o.MaxArchiveBytes <= 0 {
		o.MaxArchiveBytes = 20 << 20
	}
	if o.MaxIndexBytes <= 0 {
		o.MaxIndexBytes = 64 << 20
	}
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	if o.IndexTTL <= 0 {
		o.IndexTTL = 3 * time.Minute
	}
	if o.CacheBytes == 0 {
		o.CacheBytes = 256 << 20
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// ChartSource downloads charts from Helm HTTP repositories and OCI registries, resolving semver
// constraints, and caches the archives. It is safe for concurrent use; concurrent fetches of the same
// index or archive are coalesced.
type ChartSource struct {
	opts   SourceOptions
	flight singleflight.Group

	mu         sync.Mutex
	transports map[string]*http.Transport
	indexes    map[string]indexEntry // key: repo URL + credentials fingerprint
	tags       map[string]tagsEntry
	archives   *lru
}

type indexEntry struct {
	idx     *repoIndex
	fetched time.Time
}

type tagsEntry struct {
	tags    []string
	fetched time.Time
}

// NewChartSource returns a ChartSource.
func NewChartSource(opts SourceOptions) *ChartSource {
	opts = opts.withDefaults()
	return &ChartSource{
		opts:       opts,
		transports: map[string]*http.Transport{},
		indexes:    map[string]indexEntry{},
		tags:       map[string]tagsEntry{},
		archives:   newLRU(opts.CacheBytes),
	}
}

// IsOCI reports whether ref names an OCI registry.
func IsOCI(repoURL string, creds Creds) bool {
	return strings.HasPrefix(repoURL, "oci://") || (creds.EnableOCI && !strings.Contains(repoURL, "://"))
}

// Fetch resolves ref's version and returns the chart archive. Errors wrap render.ErrNotFound (unknown
// chart or no matching version), render.ErrTooLarge, ErrUnauthorized or ErrUnavailable.
func (s *ChartSource) Fetch(ctx context.Context, ref ChartRef, creds Creds) (*Archive, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	if IsOCI(ref.RepoURL, creds) {
		return s.fetchOCI(ctx, ref, creds)
	}
	if ref.Chart == "" {
		return nil, &render.Error{Err: fmt.Errorf("helm repository %s: no chart name", redact(ref.RepoURL))}
	}
	return s.fetchHTTP(ctx, ref, creds)
}

// cached returns an archive from memory or disk.
func (s *ChartSource) cached(key string, digest string) []byte {
	if data := s.archives.get(key); data != nil {
		return data
	}
	if s.opts.CacheDir == "" {
		return nil
	}
	data, err := os.ReadFile(s.diskPath(key))
	if err != nil || int64(len(data)) > s.opts.MaxArchiveBytes {
		return nil
	}
	if digest != "" && sha256Digest(data) != digest {
		return nil // a torn or tampered file: download again
	}
	s.archives.add(key, data)
	return data
}

func (s *ChartSource) store(key string, data []byte) {
	s.archives.add(key, data)
	if s.opts.CacheDir == "" {
		return
	}
	// Best effort: a failed disk write only costs a download next time.
	if err := os.MkdirAll(s.opts.CacheDir, 0o700); err != nil {
		return
	}
	tmp, err := os.CreateTemp(s.opts.CacheDir, ".tmp-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Rename(tmp.Name(), s.diskPath(key)) != nil {
		_ = os.Remove(tmp.Name())
	}
}

func (s *ChartSource) diskPath(key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(s.opts.CacheDir, hex.EncodeToString(sum[:])+".tgz")
}

// archiveKey is the cache key of one archive: where, which chart, which version, which content.
func archiveKey(url, chart, version, digest string) string {
	return strings.Join([]string{url, chart, version, digest}, "\x00")
}

// credsKey fingerprints credentials so cached indexes are never shared between different credentials.
func credsKey(c Creds) string {
	h := sha256.New()
	for _, p := range [][]byte{[]byte(c.Username), []byte(c.Password), []byte(c.BearerToken), c.CAData, c.CertData, c.KeyData} {
		fmt.Fprintf(h, "%d:", len(p))
		h.Write(p)
	}
	fmt.Fprintf(h, "%t%t", c.InsecureSkipVerify, c.PlainHTTP)
	return hex.EncodeToString(h.Sum(nil))
}

// transport returns a shared transport for the TLS options of c (connections are reused across fetches).
func (s *ChartSource) transport(c Creds) (*http.Transport, error) {
	h := sha256.New()
	for _, p := range [][]byte{c.CAData, c.CertData, c.KeyData} {
		fmt.Fprintf(h, "%d:", len(p))
		h.Write(p)
	}
	fmt.Fprintf(h, "%t", c.InsecureSkipVerify)
	key := hex.EncodeToString(h.Sum(nil))

	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.transports[key]; ok {
		return t, nil
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.InsecureSkipVerify} //nolint:gosec // an explicit per-repository option
	if len(c.CAData) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(c.CAData) {
			return nil, errors.New("repository CA data holds no PEM certificate")
		}
		tlsConfig.RootCAs = pool
	}
	if len(c.CertData) > 0 || len(c.KeyData) > 0 {
		cert, err := tls.X509KeyPair(c.CertData, c.KeyData)
		if err != nil {
			return nil, fmt.Errorf("repository client certificate: %w", err)
		}
		tlsConfig.Certificates = []tls.Certificate{cert}
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = tlsConfig
	s.transports[key] = t
	return t, nil
}

// statusError maps an HTTP status to the package's errors.
func statusError(what string, code int) error {
	switch {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return fmt.Errorf("%s: HTTP %d: %w", what, code, ErrUnauthorized)
	case code == http.StatusNotFound:
		return fmt.Errorf("%s: HTTP %d: %w", what, code, render.ErrNotFound)
	case code >= 500 || code == http.StatusTooManyRequests:
		return fmt.Errorf("%s: HTTP %d: %w", what, code, ErrUnavailable)
	default:
		return fmt.Errorf("%s: HTTP %d", what, code)
	}
}

// readCapped reads r up to max bytes; more is render.ErrTooLarge.
func readCapped(r io.Reader, max int64, what string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s is over %d bytes: %w", what, max, render.ErrTooLarge)
	}
	return data, nil
}

func sha256Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// redact removes credentials from a URL for messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Redacted()
}

// pickVersion chooses from versions the one want names: an exact version, a semver constraint, or ""/"*"
// for the latest stable version. Versions that are not semver only match exactly.
func pickVersion(want string, versions []string) (string, error) {
	want = strings.TrimSpace(want)
	if want != "" && want != "*" {
		for _, v := range versions {
			if v == want {
				return v, nil
			}
		}
	}
	var constraint *semver.Constraints
	if want != "" && want != "*" {
		c, err := semver.NewConstraint(want)
		if err != nil {
			return "", fmt.Errorf("version %q: %w", want, render.ErrNotFound)
		}
		constraint = c
	}
	var best *semver.Version
	bestRaw := ""
	for _, raw := range versions {
		v, err := semver.NewVersion(raw)
		if err != nil {
			continue
		}
		if constraint == nil && v.Prerelease() != "" {
			continue
		}
		if constraint != nil && !constraint.Check(v) {
			continue
		}
		if best == nil || v.GreaterThan(best) {
			best, bestRaw = v, raw
		}
	}
	if best == nil {
		if want == "" {
			want = "latest stable"
		}
		return "", fmt.Errorf("no version matches %q: %w", want, render.ErrNotFound)
	}
	return bestRaw, nil
}

// lru is an in-memory cache of archives bounded in bytes.
type lru struct {
	mu    sync.Mutex
	max   int64
	size  int64
	order *list.List // front: most recent
	items map[string]*list.Element
}

type lruItem struct {
	key  string
	data []byte
}

func newLRU(max int64) *lru {
	return &lru{max: max, order: list.New(), items: map[string]*list.Element{}}
}

func (c *lru) get(key string) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*lruItem).data
	}
	return nil
}

func (c *lru) add(key string, data []byte) {
	if c.max <= 0 || int64(len(data)) > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.order.MoveToFront(e)
		return
	}
	c.items[key] = c.order.PushFront(&lruItem{key: key, data: data})
	c.size += int64(len(data))
	for c.size > c.max {
		e := c.order.Back()
		it := e.Value.(*lruItem)
		c.order.Remove(e)
		delete(c.items, it.key)
		c.size -= int64(len(it.data))
	}
}

// CacheDir is the disk cache directory ("" when archives are only kept in memory).
func (s *ChartSource) CacheDir() string { return s.opts.CacheDir }
