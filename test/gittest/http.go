package gittest

import (
	"crypto/subtle"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// HTTPOptions configure an HTTP Git server.
type HTTPOptions struct {
	// Username and Password, when set, are required as HTTP basic auth; anything else gets 401.
	Username string
	Password string
	// TLS serves HTTPS with a certificate from a generated CA (HTTPServer.CA).
	TLS bool
	// RequireClientCert makes the TLS server demand a client certificate signed by the CA
	// (HTTPServer.ClientCertPEM and ClientKeyPEM). Implies TLS.
	RequireClientCert bool
	// UploadPackDelay delays every fetch (POST git-upload-pack), to make concurrent callers overlap.
	UploadPackDelay time.Duration
}

// HTTPServer is git http-backend behind net/http/cgi on a loopback port.
type HTTPServer struct {
	// URL is the base URL; repositories are at URL + "/" + name.
	URL string
	// CA is set when serving TLS.
	CA *CA
	// ClientCertPEM and ClientKeyPEM are a client certificate the server accepts (TLS only).
	ClientCertPEM []byte
	ClientKeyPEM  []byte

	root      string
	infoRefs  atomic.Int64
	fetches   atomic.Int64
	authFails atomic.Int64
}

// NewHTTPServer starts a server; t.Cleanup stops it.
func NewHTTPServer(t testing.TB, opts HTTPOptions) *HTTPServer {
	t.Helper()
	RequireGit(t)
	backend := filepath.Join(ExecPath(t), "git-http-backend")
	if _, err := os.Stat(backend); err != nil {
		t.Skipf("gittest: git-http-backend not found: %v", err)
	}
	s := &HTTPServer{root: t.TempDir()}
	cgiHandler := &cgi.Handler{
		Path:   backend,
		Root:   "/",
		Stderr: io.Discard,
		Logger: log.New(io.Discard, "", 0),
		Env: append(Env(),
			"GIT_PROJECT_ROOT="+s.root,
			"GIT_HTTP_EXPORT_ALL=1",
		),
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if opts.Username != "" || opts.Password != "" {
			u, p, ok := r.BasicAuth()
			if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(opts.Username)) != 1 ||
				subtle.ConstantTimeCompare([]byte(p), []byte(opts.Password)) != 1 {
				s.authFails.Add(1)
				w.Header().Set("WWW-Authenticate", `Basic realm="gittest"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
		}
		switch {
		case strings.HasSuffix(r.URL.Path, "/info/refs") && r.URL.Query().Get("service") == "git-upload-pack":
			s.infoRefs.Add(1)
		case strings.HasSuffix(r.URL.Path, "/git-upload-pack") && r.Method == http.MethodPost:
			s.fetches.Add(1)
			if opts.UploadPackDelay > 0 {
				select {
				case <-time.After(opts.UploadPackDelay):
				case <-r.Context().Done():
					return
				}
			}
		}
		cgiHandler.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("gittest: %v", err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute,
		ErrorLog: log.New(io.Discard, "", 0)}
	scheme := "http"
	if opts.TLS || opts.RequireClientCert {
		scheme = "https"
		s.CA = NewCA(t)
		srv.TLSConfig = s.CA.serverConfig(t, opts.RequireClientCert)
		s.ClientCertPEM, s.ClientKeyPEM = s.CA.Issue(t, "gittest-client", false)
		go func() { _ = srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { _ = srv.Serve(ln) }()
	}
	t.Cleanup(func() { _ = srv.Close() })
	s.URL = scheme + "://" + ln.Addr().String()
	return s
}

// Add serves repo r under name (for example "team/app.git") and returns its URL.
func (s *HTTPServer) Add(t testing.TB, name string, r *Repo) string {
	t.Helper()
	link(t, s.root, name, r)
	return s.URL + "/" + name
}

// Fetches counts fetches (POST git-upload-pack requests) that passed authentication.
func (s *HTTPServer) Fetches() int64 { return s.fetches.Load() }

// RefListings counts ref advertisements (GET info/refs?service=git-upload-pack): every ls-remote and
// every fetch makes one.
func (s *HTTPServer) RefListings() int64 { return s.infoRefs.Load() }

// AuthFailures counts requests refused with 401.
func (s *HTTPServer) AuthFailures() int64 { return s.authFails.Load() }

// ExecPath is `git --exec-path`, where git-http-backend and friends live.
func ExecPath(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Fatalf("gittest: git --exec-path: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// link makes root/name point at the repository.
func link(t testing.TB, root, name string, r *Repo) {
	t.Helper()
	name = strings.Trim(filepath.ToSlash(filepath.Clean("/"+name)), "/")
	if name == "" {
		t.Fatalf("gittest: empty repository name")
	}
	dst := filepath.Join(root, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatalf("gittest: %v", err)
	}
	if err := os.Symlink(r.Dir, dst); err != nil {
		t.Fatalf("gittest: %v", err)
	}
}
