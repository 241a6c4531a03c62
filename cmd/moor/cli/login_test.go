package cli_test

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/moorcd/moor/cmd/moor/cli"
)

// TestLoginProbesTLS checks how login finds out the way a server speaks, against real HTTP servers that
// are not moor-server (so the login itself then fails to reach a gRPC service).
func TestLoginProbesTLS(t *testing.T) {
	t.Parallel()
	quiet := func(tls bool) *httptest.Server {
		s := httptest.NewUnstartedServer(http.NotFoundHandler())
		s.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes fail on purpose
		if tls {
			s.StartTLS()
		} else {
			s.Start()
		}
		t.Cleanup(s.Close)
		return s
	}
	tlsServer, plainServer := quiet(true), quiet(false)
	closed := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return addr
	}()
	hostOf := func(u string) string { return strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://") }
	cases := []struct {
		name       string
		args       []string
		code       int
		message    string
		stderr     string
		notMessage string
	}{
		{name: "untrusted certificate", args: []string{hostOf(tlsServer.URL)}, code: cli.ExitConnectionFailure, message: "pass --insecure"},
		{name: "untrusted certificate accepted", args: []string{hostOf(tlsServer.URL), "--insecure"}, code: cli.ExitConnectionFailure,
			notMessage: "pass --insecure"},
		{name: "plaintext server", args: []string{hostOf(plainServer.URL)}, code: cli.ExitConnectionFailure, message: "does not speak TLS: pass --plaintext"},
		{name: "nothing listens", args: []string{closed}, code: cli.ExitConnectionFailure, message: "cannot reach"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			config := filepath.Join(t.TempDir(), "config")
			args := append([]string{"--config", config, "login", "--username", "u", "--password", "p"}, c.args...)
			r := appRun(t, "", args...)
			if r.Code != c.code || !strings.Contains(r.Message, c.message) || !strings.Contains(r.Stderr, c.stderr) ||
				c.notMessage != "" && strings.Contains(r.Message, c.notMessage) {
				t.Errorf("exit %d %q, stderr %q; want exit %d, message with %q, stderr with %q", r.Code, r.Message, r.Stderr, c.code, c.message, c.stderr)
			}
			cfg, err := cli.ReadConfig(config)
			if err != nil || len(cfg.Contexts) != 0 {
				t.Errorf("a failed login wrote the config: %+v %v", cfg, err)
			}
		})
	}
}

func TestLoginNeedsAServer(t *testing.T) {
	t.Setenv("MOOR_SERVER", "")
	r := appRun(t, "", "--config", filepath.Join(t.TempDir(), "config"), "login")
	if r.Code != cli.ExitGeneric || !strings.Contains(r.Message, "moor login SERVER") {
		t.Errorf("exit %d %q", r.Code, r.Message)
	}
}

// TestContextAndLogout works on a config file alone: list, switch, log out (the server being unreachable
// only warns) and delete.
func TestContextAndLogout(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "config")
	cfg := &cli.Config{}
	cfg.Upsert("prod", cli.ServerConfig{Server: "127.0.0.1:1"}, "token-prod")
	cfg.Upsert("dev", cli.ServerConfig{Server: "localhost:8080", PlainText: true}, "")
	if err := cfg.Write(path); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) appResult {
		t.Helper()
		return appRun(t, "", append([]string{"--config", path}, args...)...)
	}
	ok := func(args ...string) string {
		t.Helper()
		r := run(args...)
		if r.Err != nil {
			t.Fatalf("moor %v: exit %d %s", args, r.Code, r.Message)
		}
		return r.Stdout
	}
	if diff := cmp.Diff("CURRENT  NAME  SERVER\n         prod  127.0.0.1:1\n*        dev   localhost:8080\n", ok("context")); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}
	if out := ok("context", "prod"); out != "Switched to context 'prod'\n" {
		t.Errorf("switch: %q", out)
	}
	if r := run("context", "staging"); r.Code != cli.ExitNotFound {
		t.Errorf("unknown context: exit %d %q", r.Code, r.Message)
	}
	r := run("logout")
	if r.Err != nil || r.Stdout != "Logged out from 'prod'\n" || !strings.Contains(r.Stderr, "warning: the server did not end the session") {
		t.Errorf("logout: exit %d %q, stdout %q, stderr %q", r.Code, r.Message, r.Stdout, r.Stderr)
	}
	got, err := cli.ReadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, u, _ := got.Context("prod"); u.AuthToken != "" {
		t.Errorf("logout kept the token")
	}
	if out := ok("context", "dev", "--delete"); out != "Context 'dev' deleted\n" {
		t.Errorf("delete: %q", out)
	}
	got, _ = cli.ReadConfig(path)
	if len(got.Contexts) != 1 || len(got.Servers) != 1 || got.CurrentContext != "prod" {
		t.Errorf("after delete: %+v", got)
	}
	if r := run("logout", "dev"); r.Code != cli.ExitNotFound {
		t.Errorf("logout of a deleted context: exit %d %q", r.Code, r.Message)
	}
}

func TestAnotherServerNeverGetsTheContextsToken(t *testing.T) {
	t.Setenv("MOOR_SERVER", "")
	t.Setenv("MOOR_AUTH_TOKEN", "")
	path := filepath.Join(t.TempDir(), "config")
	cfg := &cli.Config{}
	cfg.Upsert("staging", cli.ServerConfig{Server: "staging.example.com"}, "token-staging")
	cfg.Upsert("prod", cli.ServerConfig{Server: "prod.example.com"}, "token-prod")
	if err := cfg.Write(path); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ flag, server, token string }{
		{"", "prod.example.com", "token-prod"},
		{"prod.example.com", "prod.example.com", "token-prod"},
		{"staging.example.com", "staging.example.com", "token-staging"},
		{"evil.example.com", "evil.example.com", ""},
	} {
		server, token, err := cli.ResolveTarget(path, c.flag)
		if err != nil || server != c.server || token != c.token {
			t.Errorf("--server %q: %s with token %q (%v), want %s with %q", c.flag, server, token, err, c.server, c.token)
		}
	}
}
