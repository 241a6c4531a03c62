package cli

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
)

// loginFlags are the flags of `moor login` (argocd's).
type loginFlags struct {
	username, password, name string
	sso, skipTestTLS         bool
	ssoPort                  int
	ssoTimeout               time.Duration
}

func newLoginCommand(g *globalOptions) *cobra.Command {
	var o loginFlags
	cmd := &cobra.Command{
		Use:   "login SERVER",
		Short: "Log in to moor-server and save the session in a context of the config file",
		Long: `Log in to moor-server with a local account (prompting for what --username and --password do not give;
the password without echo on a terminal) or with --sso, and save the session token in the config file
under a context (named after the server, or --name), which becomes the current one.

Without --plaintext or --insecure, login first checks how the server speaks: for a server without TLS
(started with --insecure) it asks before sending the password in plaintext (off a terminal it refuses;
pass --plaintext), and a certificate the system does not trust is refused unless --insecure is given.
--skip-test-tls skips the check.

--sso logs in through the server's SSO (OIDC, argocd-cm oidc.config) in a browser: the CLI listens on
127.0.0.1:--sso-port (8085), opens the server's /auth/login (or prints the address to open), and the server
sends the browser back to that loopback address with the session once the provider has logged you in.
The browser must run on the same machine; --sso-timeout bounds the wait.`,
		Example: `  moor login localhost:8080 --plaintext --username admin
  moor login moor.example.com --name prod --sso
  echo "$PASSWORD" | moor login moor.example.com --username ci`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			server := g.server
			if len(args) == 1 {
				server = args[0]
			}
			if server == "" {
				server = os.Getenv("MOOR_SERVER")
			}
			if server == "" {
				return usageErrorf("name the server: moor login SERVER")
			}
			return runLogin(cmd, g, server, &o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.username, "username", "", "user name (prompted for when not given)")
	f.StringVar(&o.password, "password", "", "password (prompted for when not given; prefer the prompt or standard input)")
	f.StringVar(&o.name, "name", "", "name of the context to save (default: the server address)")
	f.BoolVar(&o.sso, "sso", false, "log in through the server's SSO (OIDC) in a browser")
	f.IntVar(&o.ssoPort, "sso-port", 8085, "loopback port the browser returns to after an SSO login (0: any free port)")
	f.DurationVar(&o.ssoTimeout, "sso-timeout", 5*time.Minute, "how long to wait for the SSO login in the browser")
	f.BoolVar(&o.skipTestTLS, "skip-test-tls", false, "do not check whether the server speaks TLS")
	return cmd
}

func runLogin(cmd *cobra.Command, g *globalOptions, server string, o *loginFlags) error {
	ctx := cmd.Context()
	t := target{ServerConfig: ServerConfig{Server: server, Insecure: g.insecure, PlainText: g.plaintext}}
	switch {
	case strings.HasPrefix(server, "http://"):
		t.PlainText = true
	case strings.HasPrefix(server, "https://"):
		if t.PlainText {
			return usageErrorf("--plaintext with an https:// server")
		}
	}
	t.Server = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(server, "https://"), "http://"), "/")
	if !t.PlainText && !o.skipTestTLS {
		plain, err := probeTLS(ctx, t.Server, t.Insecure)
		if err != nil {
			return err
		}
		if plain {
			// Never fall back to plaintext silently: an attacker who strips TLS would get the password.
			if _, onTerminal := stdinIsTerminal(cmd); !onTerminal {
				return exitf(ExitConnectionFailure, "%s does not speak TLS: pass --plaintext to log in without it", t.Server)
			}
			if !askConfirmation(cmd, fmt.Sprintf("%s does not speak TLS. Log in over plaintext (the password travels unencrypted)?", t.Server)) {
				return usageErrorf("login cancelled: %s does not speak TLS (pass --plaintext to log in without it)", t.Server)
			}
			t.PlainText = true
		}
	}
	var token, user string
	if o.sso {
		var err error
		if token, user, err = ssoLogin(ctx, cmd, t, o); err != nil {
			return err
		}
	} else {
		var err error
		if token, user, err = passwordLogin(ctx, cmd, t, o); err != nil {
			return err
		}
	}
	path, cfg, err := g.configFile()
	if err != nil {
		return err
	}
	name := o.name
	if name == "" {
		name = t.Server
	}
	cfg.Upsert(name, t.ServerConfig, token)
	if err := cfg.Write(path); err != nil {
		return fmt.Errorf("saving the session: %w", err)
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "'%s:login' logged in successfully\n", user)
	fmt.Fprintf(w, "Context '%s' updated\n", name)
	return nil
}

// probeTLS reports whether server answers without TLS. A certificate the system does not trust is an error
// unless insecure.
func probeTLS(ctx context.Context, server string, insecure bool) (plaintext bool, err error) {
	host := server
	if _, _, err := net.SplitHostPort(server); err != nil {
		host = net.JoinHostPort(server, "443")
	}
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: &tls.Config{
		InsecureSkipVerify: insecure, //nolint:gosec // only with --insecure
		MinVersion:         tls.VersionTLS12,
	}}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := d.DialContext(ctx, "tcp", host)
	if err == nil {
		_ = conn.Close()
		return false, nil
	}
	if _, ok := errors.AsType[tls.RecordHeaderError](err); ok {
		return true, nil
	}
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var hostname x509.HostnameError
	if errors.As(err, &unknown) || errors.As(err, &invalid) || errors.As(err, &hostname) {
		return false, &ExitError{Code: ExitConnectionFailure, Err: fmt.Errorf("%s: %w", server, err),
			Hint: "pass --insecure to accept this certificate"}
	}
	if _, ok := errors.AsType[*net.OpError](err); ok || errors.Is(err, context.DeadlineExceeded) {
		return false, &ExitError{Code: ExitConnectionFailure, Err: fmt.Errorf("cannot reach %s: %w", server, err),
			Hint: "check the address and that moor-server runs"}
	}
	return false, &ExitError{Code: ExitConnectionFailure, Err: fmt.Errorf("%s: %w", server, err)}
}

func passwordLogin(ctx context.Context, cmd *cobra.Command, t target, o *loginFlags) (token, user string, err error) {
	user = o.username
	if user == "" {
		if user, err = promptLine(cmd, "Username: "); err != nil {
			return "", "", err
		}
	}
	password := o.password
	if password == "" {
		if password, err = promptSecret(cmd, "Password: "); err != nil {
			return "", "", err
		}
	}
	if user == "" || password == "" {
		return "", "", usageErrorf("a user name and a password are needed (or --sso)")
	}
	conn, err := dial(target{ServerConfig: t.ServerConfig})
	if err != nil {
		return "", "", err
	}
	defer conn.Close()
	resp, err := apiv1.NewSessionServiceClient(conn).Create(ctx, &apiv1.SessionServiceCreateRequest{Username: user, Password: password})
	if err != nil {
		return "", "", fmt.Errorf("login: %w", err)
	}
	return resp.GetToken(), user, nil
}

// ssoLogin runs the server's SSO login in a browser and receives the session on a loopback listener.
func ssoLogin(ctx context.Context, cmd *cobra.Command, t target, o *loginFlags) (token, user string, err error) {
	conn, err := dial(target{ServerConfig: t.ServerConfig})
	if err != nil {
		return "", "", err
	}
	defer conn.Close()
	settings, err := apiv1.NewSettingsServiceClient(conn).Get(ctx, &apiv1.SettingsServiceGetRequest{})
	if err != nil {
		return "", "", fmt.Errorf("reading the server's settings: %w", err)
	}
	st := settings.GetSettings()
	if st.GetOidcConfig().GetIssuer() == "" {
		return "", "", exitf(ExitAPIError, "SSO is not configured on %s (argocd-cm oidc.config)", t.Server)
	}
	base := st.GetUrl()
	if base == "" {
		scheme := "https"
		if t.PlainText {
			scheme = "http"
		}
		base = scheme + "://" + t.Server
	}
	lis, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(o.ssoPort)))
	if err != nil {
		return "", "", usageErrorf("listening for the SSO callback on 127.0.0.1:%d: %v (choose another --sso-port)", o.ssoPort, err)
	}
	defer lis.Close()
	callback := "http://" + lis.Addr().String() + "/auth/callback"
	state, verifier := rand.Text(), rand.Text()+rand.Text()
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	got := make(chan string, 1)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.URL.Path != "/auth/callback" || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 || q.Get("code") == "" {
			http.Error(w, "This is not the answer to the login moor is waiting for.", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><title>moor</title><p>Logged in. You can close this window and return to the terminal.</p>")
		select {
		case got <- q.Get("code"):
		default:
		}
	})}
	go func() { _ = srv.Serve(lis) }()
	defer srv.Close()

	base = strings.TrimSuffix(base, "/")
	loginURL := base + "/auth/login?cli_callback=" + url.QueryEscape(callback) + "&cli_state=" + state + "&cli_challenge=" + challenge
	errOut := cmd.ErrOrStderr()
	fmt.Fprintf(errOut, "Log in with %s in your browser:\n  %s\n", loginOrDefault(st.GetOidcConfig().GetName(), "SSO"), loginURL)
	if err := loginOpenBrowser(loginURL); err == nil {
		fmt.Fprintln(errOut, "(opened in your browser; waiting for the login)")
	}
	wait, cancel := context.WithTimeout(ctx, o.ssoTimeout)
	defer cancel()
	var code string
	select {
	case code = <-got:
	case <-wait.Done():
		if ctx.Err() != nil {
			return "", "", ctx.Err()
		}
		return "", "", exitf(ExitCommandSpecific, "no SSO login arrived within %s", o.ssoTimeout)
	}
	if token, err = redeemSSOCode(wait, t, base, code, verifier); err != nil {
		return "", "", err
	}
	authed, err := dial(target{ServerConfig: t.ServerConfig, Token: token})
	if err != nil {
		return "", "", err
	}
	defer authed.Close()
	info, err := apiv1.NewSessionServiceClient(authed).GetUserInfo(ctx, &apiv1.SessionServiceGetUserInfoRequest{})
	if err != nil {
		return "", "", fmt.Errorf("checking the SSO session: %w", err)
	}
	return token, info.GetUsername(), nil
}

// redeemSSOCode trades the code of a CLI login for the session at the server's /auth/token, proving with the
// verifier that this CLI started the login.
func redeemSSOCode(ctx context.Context, t target, base, code, verifier string) (string, error) {
	hc := &http.Client{Timeout: 30 * time.Second}
	if !t.PlainText {
		hc.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: t.Insecure, MinVersion: tls.VersionTLS12}} //nolint:gosec // only with --insecure
	}
	form := url.Values{"code": {code}, "code_verifier": {verifier}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/auth/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	if err != nil {
		return "", exitf(ExitConnectionFailure, "redeeming the SSO login: %v", err)
	}
	defer resp.Body.Close()
	var out struct {
		Token string `json:"token"`
		Error string `json:"error"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out)
	if resp.StatusCode != http.StatusOK || out.Token == "" {
		return "", exitf(ExitAPIError, "the server refused the SSO login: %s %s", resp.Status, out.Error)
	}
	return out.Token, nil
}

func loginOrDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// loginOpenBrowser opens u in the user's browser; tests replace it.
var loginOpenBrowser = openInBrowser

func openInBrowser(u string) error {
	var c *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		c = exec.Command("open", u)
	case "windows":
		c = exec.Command("rundll32", "url.dll,FileProtocolHandler", u)
	default:
		c = exec.Command("xdg-open", u)
	}
	if err := c.Start(); err != nil {
		return err
	}
	go func() { _ = c.Wait() }()
	return nil
}

func newLogoutCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "logout [CONTEXT]",
		Short: "End the session of a context (the current one by default) and forget its token",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, cfg, err := g.configFile()
			if err != nil {
				return err
			}
			name := cfg.CurrentContext
			if g.context != "" {
				name = g.context
			}
			if len(args) == 1 {
				name = args[0]
			}
			if name == "" {
				return usageErrorf("no current context: name one (see 'moor context')")
			}
			ref, srv, user, ok := cfg.Context(name)
			if !ok {
				return exitf(ExitNotFound, "no context %q in %s (see 'moor context')", name, path)
			}
			if user.AuthToken != "" {
				if conn, err := dial(target{ServerConfig: srv, Token: user.AuthToken}); err == nil {
					ctx, cancel := context.WithTimeout(cmd.Context(), 10*time.Second)
					if _, err := apiv1.NewSessionServiceClient(conn).Delete(ctx, &apiv1.SessionServiceDeleteRequest{}); err != nil {
						msg, _ := Explain(err)
						fmt.Fprintf(cmd.ErrOrStderr(), "warning: the server did not end the session: %s\n", msg)
					}
					cancel()
					_ = conn.Close()
				}
			}
			if i := slices.IndexFunc(cfg.Users, func(u UserConfig) bool { return u.Name == ref.User }); i >= 0 {
				cfg.Users[i].AuthToken = ""
			}
			if err := cfg.Write(path); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Logged out from '%s'\n", name)
			return nil
		},
	}
}
