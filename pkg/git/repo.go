package git

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
	"golang.org/x/net/http/httpproxy"
)

// Repo names a remote repository and the credentials to reach it. Credentials arrive per call and are
// never stored on disk, logged or put in errors.
type Repo struct {
	// URL is the remote: https://, http://, ssh://, or scp-like user@host:path. Userinfo in an HTTP URL is
	// used as Username and Password when those are empty.
	URL string

	// Username and Password are HTTP basic auth; a token works as the password.
	Username string
	Password string
	// BearerToken is sent as "Authorization: Bearer"; it wins over Username and Password.
	BearerToken string

	// SSHPrivateKey is a PEM private key; SSHKeyPassphrase decrypts it when it is encrypted.
	SSHPrivateKey    string
	SSHKeyPassphrase string
	// KnownHosts is known_hosts text used to verify the server's host key. Host keys are always checked
	// unless InsecureIgnoreHostKey is set.
	KnownHosts            string
	InsecureIgnoreHostKey bool

	// TLSClientCertData and TLSClientCertKey are a PEM client certificate and key for mutual TLS.
	TLSClientCertData string
	TLSClientCertKey  string
	// CAData is PEM CA certificates trusted in addition to the system pool.
	CAData string
	// Insecure skips TLS certificate verification.
	Insecure bool

	// Proxy is an HTTP(S) proxy URL for HTTPS remotes; NoProxy lists hosts that bypass it (NO_PROXY syntax).
	Proxy   string
	NoProxy string
}

// RedactedURL is the URL with any password or token in its userinfo replaced, safe for logs and errors.
func (r Repo) RedactedURL() string { return RedactURL(r.URL) }

// RedactURL removes a password from a URL's userinfo. Strings that do not parse as URLs are returned with
// anything between "://" and "@" replaced.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err == nil && u.Scheme != "" && u.Host != "" {
		return u.Redacted()
	}
	if i := strings.Index(raw, "://"); i >= 0 {
		if j := strings.LastIndex(raw[i+3:], "@"); j >= 0 {
			return raw[:i+3] + "***@" + raw[i+3+j+1:]
		}
	}
	return raw
}

var scpLike = regexp.MustCompile(`^(?:([^@/]+)@)?([^:/]+):(.*)$`)

// NormalizeURL returns the key under which a repository is cached: lowercase scheme and host, no userinfo,
// no trailing "/" or ".git". scp-like "git@host:org/repo" becomes "ssh://git@host/org/repo" so both
// spellings share one store. The user of an SSH URL is kept (it selects the account on some hosts).
func NormalizeURL(raw string) string {
	s := strings.TrimSpace(raw)
	if !strings.Contains(s, "://") {
		if m := scpLike.FindStringSubmatch(s); m != nil {
			user := m[1]
			if user != "" {
				user += "@"
			}
			s = "ssh://" + user + m[2] + "/" + strings.TrimPrefix(m[3], "/")
		}
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return strings.TrimSuffix(strings.TrimSuffix(strings.TrimRight(s, "/"), ".git"), "/")
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	if u.User != nil && u.Scheme != "ssh" {
		u.User = nil
	} else if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	u.RawQuery, u.Fragment, u.RawPath = "", "", ""
	u.Path = strings.TrimSuffix(strings.TrimRight(u.Path, "/"), ".git")
	u.Path = strings.TrimRight(u.Path, "/")
	return u.String()
}

// storeKey is the directory name of a repository's object store.
func storeKey(normalized string) string {
	sum := sha256.Sum256([]byte(normalized))
	return hex.EncodeToString(sum[:16])
}

// fingerprint identifies the credentials of a call, so results obtained with one set of credentials are not
// handed to a caller with another.
func (r Repo) fingerprint() string {
	h := sha256.New()
	var n [8]byte
	for _, f := range []string{r.Username, r.Password, r.BearerToken, r.SSHPrivateKey, r.SSHKeyPassphrase,
		r.KnownHosts, strconv.FormatBool(r.InsecureIgnoreHostKey), r.TLSClientCertData, r.TLSClientCertKey,
		r.CAData, strconv.FormatBool(r.Insecure), r.Proxy, r.NoProxy} {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// secrets lists the values that must never appear in an error.
func (r Repo) secrets() []string {
	out := []string{r.Password, r.BearerToken, r.SSHKeyPassphrase, r.TLSClientCertKey}
	if u, err := url.Parse(r.URL); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			out = append(out, p)
		}
	}
	if u, err := url.Parse(r.Proxy); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			out = append(out, p)
		}
	}
	return out
}

// transportConfig is what go-git needs to talk to a remote, built from a Repo for one call.
type transportConfig struct {
	url        string // without userinfo password
	auth       transport.AuthMethod
	insecure   bool
	caBundle   []byte
	clientCert []byte
	clientKey  []byte
	proxy      transport.ProxyOptions
}

func (r Repo) isSSH() bool {
	s := strings.TrimSpace(r.URL)
	if strings.HasPrefix(s, "ssh://") || strings.HasPrefix(s, "git+ssh://") {
		return true
	}
	return !strings.Contains(s, "://") && scpLike.MatchString(s)
}

// transport builds the per-call go-git configuration. tmpDir receives a short-lived known_hosts file.
func (r Repo) transport(tmpDir string) (*transportConfig, error) {
	if strings.TrimSpace(r.URL) == "" {
		return nil, fmt.Errorf("%w: empty URL", ErrInvalidRepo)
	}
	tc := &transportConfig{url: strings.TrimSpace(r.URL)}
	if r.isSSH() {
		auth, err := r.sshAuth(tmpDir)
		if err != nil {
			return nil, err
		}
		tc.auth = auth
		return tc, nil
	}
	u, err := url.Parse(tc.url)
	if err != nil {
		return nil, fmt.Errorf("%w: parse URL %s", ErrInvalidRepo, RedactURL(r.URL))
	}
	switch u.Scheme {
	case "http", "https":
	case "git":
		return tc, nil // the unauthenticated git:// protocol
	default:
		// file:// and other local transports are refused: a remote-supplied URL must not read the
		// server's own disk.
		return nil, fmt.Errorf("%w: unsupported scheme %q in %s", ErrInvalidRepo, u.Scheme, RedactURL(r.URL))
	}
	user, pass := r.Username, r.Password
	if u.User != nil {
		if user == "" && pass == "" {
			user = u.User.Username()
			pass, _ = u.User.Password()
		}
		u.User = nil
		tc.url = u.String()
	}
	switch {
	case r.BearerToken != "":
		tc.auth = &githttp.TokenAuth{Token: r.BearerToken}
	case user != "" || pass != "":
		if user == "" {
			user = "git" // a token alone: most hosts accept any user name with a token password
		}
		tc.auth = &githttp.BasicAuth{Username: user, Password: pass}
	}
	tc.insecure = r.Insecure
	if r.CAData != "" {
		tc.caBundle = []byte(r.CAData)
	}
	if r.TLSClientCertData != "" || r.TLSClientCertKey != "" {
		if r.TLSClientCertData == "" || r.TLSClientCertKey == "" {
			return nil, fmt.Errorf("%w: TLS client certificate and key must be set together", ErrInvalidRepo)
		}
		tc.clientCert, tc.clientKey = []byte(r.TLSClientCertData), []byte(r.TLSClientCertKey)
	}
	if r.Proxy != "" {
		cfg := httpproxy.Config{HTTPProxy: r.Proxy, HTTPSProxy: r.Proxy, NoProxy: r.NoProxy}
		p, err := cfg.ProxyFunc()(u)
		if err != nil {
			return nil, fmt.Errorf("%w: proxy: %s", ErrInvalidRepo, RedactURL(r.Proxy))
		}
		if p != nil {
			po := transport.ProxyOptions{URL: (&url.URL{Scheme: p.Scheme, Host: p.Host}).String()}
			if p.User != nil {
				po.Username = p.User.Username()
				po.Password, _ = p.User.Password()
			}
			tc.proxy = po
		}
	}
	return tc, nil
}

func (r Repo) sshAuth(tmpDir string) (transport.AuthMethod, error) {
	user := "git"
	s := strings.TrimSpace(r.URL)
	if strings.Contains(s, "://") {
		if u, err := url.Parse(s); err == nil && u.User != nil && u.User.Username() != "" {
			user = u.User.Username()
		}
	} else if m := scpLike.FindStringSubmatch(s); m != nil && m[1] != "" {
		user = m[1]
	}
	if r.SSHPrivateKey == "" {
		return nil, fmt.Errorf("%w: ssh URL needs an SSH private key", ErrAuthentication)
	}
	auth, err := gitssh.NewPublicKeys(user, []byte(r.SSHPrivateKey), r.SSHKeyPassphrase)
	if err != nil {
		// The parse error may quote key material; say only what failed.
		return nil, fmt.Errorf("%w: parse SSH private key", ErrInvalidRepo)
	}
	if r.InsecureIgnoreHostKey {
		auth.HostKeyCallback = ssh.InsecureIgnoreHostKey() //nolint:gosec // explicit opt-in
		return auth, nil
	}
	if strings.TrimSpace(r.KnownHosts) == "" {
		return nil, fmt.Errorf("%w: no known_hosts for the ssh remote (set KnownHosts or InsecureIgnoreHostKey)", ErrHostKey)
	}
	db, err := knownHostsDB(tmpDir, r.KnownHosts)
	if err != nil {
		return nil, err
	}
	auth.HostKeyCallback = db.HostKeyCallback()
	if host, err := sshHostWithPort(s); err == nil {
		auth.HostKeyAlgorithms = db.HostKeyAlgorithms(host)
	}
	return auth, nil
}

// knownHostsDB parses known_hosts text. The knownhosts packages read files only, so the text goes through
// a temporary file that is removed at once.
func knownHostsDB(tmpDir, text string) (*knownhosts.HostKeyDB, error) {
	f, err := os.CreateTemp(tmpDir, "known_hosts-*")
	if err != nil {
		return nil, fmt.Errorf("write known_hosts: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return nil, fmt.Errorf("write known_hosts: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write known_hosts: %w", err)
	}
	db, err := knownhosts.NewDB(filepath.Clean(f.Name()))
	if err != nil {
		return nil, fmt.Errorf("%w: parse known_hosts: %w", ErrInvalidRepo, err)
	}
	return db, nil
}

func sshHostWithPort(raw string) (string, error) {
	if strings.Contains(raw, "://") {
		u, err := url.Parse(raw)
		if err != nil {
			return "", err
		}
		port := u.Port()
		if port == "" {
			port = "22"
		}
		return u.Hostname() + ":" + port, nil
	}
	m := scpLike.FindStringSubmatch(raw)
	if m == nil {
		return "", fmt.Errorf("not an ssh address")
	}
	return m[2] + ":22", nil
}
