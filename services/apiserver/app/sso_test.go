package app_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/moorcd/moor/pkg/session"
	"github.com/moorcd/moor/services/apiserver/auth"
	"github.com/moorcd/moor/services/apiserver/sso"
	"github.com/moorcd/moor/test/kubetest"
)

// TestSSO drives the browser flow of /auth/login and /auth/callback against an OIDC provider on loopback,
// then uses the session it set.
func TestSSO(t *testing.T) {
	provider, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = provider.Shutdown() })

	s := defaultSettings()
	s.rbac["policy.csv"] += "g, admins, role:admin\n"
	f := start(t, s, false, newApp("guestbook"), newApp("billing", inProject("team-a")))
	kc := f.kube(t)
	sec, err := kc.CoreV1().Secrets(f.ns).Get(t.Context(), session.SecretName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sec.Data["oidc.clientSecret"] = []byte(provider.ClientSecret)
	if _, err := kc.CoreV1().Secrets(f.ns).Update(t.Context(), sec, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.setOIDCConfig(t, fmt.Sprintf("name: Mock\nissuer: %s\nclientID: %s\nclientSecret: $oidc.clientSecret\nenablePKCEAuthentication: true\n",
		provider.Issuer(), provider.ClientID))

	browser := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	t.Run("the public settings name the provider, not the secret", func(t *testing.T) {
		code, body, _ := f.do(t, http.MethodGet, "/api/v1/settings", "", nil)
		if code != http.StatusOK || !strings.Contains(string(body), provider.Issuer()) || strings.Contains(string(body), provider.ClientSecret) {
			t.Errorf("settings: %d %s", code, body)
		}
	})

	t.Run("a CLI login hands a code only its verifier redeems to its loopback callback only", func(t *testing.T) {
		provider.QueueUser(&mockoidc.MockUser{Subject: "u-cli", Email: "cli@example.com", Groups: []string{"admins"}})
		const cliState, verifier = "c1i-state-0123456789", "a-verifier-only-the-cli-knows-0123456789"
		challenge := sso.Challenge(verifier)
		loopback := "http://127.0.0.1:8085/auth/callback"
		query := "cli_callback=" + url.QueryEscape(loopback) + "&cli_state=" + cliState + "&cli_challenge=" + challenge
		callback, state := f.ssoAuthorizeQuery(t, browser, query)
		code, res := f.getCallback(t, browser, callback, state)
		if code != http.StatusFound || res.token != "" {
			t.Fatalf("callback = %d (cookie set: %t), want 302 and no session cookie", code, res.token != "")
		}
		to, err := url.Parse(res.location)
		if err != nil || !strings.HasPrefix(res.location, loopback+"?") || to.Query().Get("state") != cliState || to.Query().Get("code") == "" {
			t.Fatalf("redirected to %q, want the loopback callback with a code and the CLI's state", res.location)
		}
		if to.Query().Get("token") != "" {
			t.Fatal("the session travelled in the URL")
		}
		redeem := func(verifier string) (int, string) {
			resp, err := f.http.PostForm(f.base+"/auth/token", url.Values{"code": {to.Query().Get("code")}, "code_verifier": {verifier}})
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out struct{ Token string }
			_ = json.NewDecoder(resp.Body).Decode(&out)
			return resp.StatusCode, out.Token
		}
		if status, token := redeem("someone-elses-verifier-0123456789"); status != http.StatusBadRequest || token != "" {
			t.Errorf("redeemed with a wrong verifier: %d", status)
		}
		status, token := redeem(verifier)
		if status != http.StatusOK || token == "" {
			t.Fatalf("redeem: %d", status)
		}
		var info struct{ Username string }
		f.getWithCookie(t, "/api/v1/session/userinfo", token, &info)
		if info.Username != "u-cli" {
			t.Errorf("the CLI's session is of %q, want u-cli", info.Username)
		}
		for _, bad := range []string{
			"cli_callback=" + url.QueryEscape("http://evil.example.com:8085/cb") + "&cli_state=" + cliState + "&cli_challenge=" + challenge,
			"cli_callback=" + url.QueryEscape("https://127.0.0.1:8085/cb") + "&cli_state=" + cliState + "&cli_challenge=" + challenge,
			"cli_callback=" + url.QueryEscape("http://127.0.0.1/cb") + "&cli_state=" + cliState + "&cli_challenge=" + challenge,
			"cli_callback=" + url.QueryEscape(loopback) + "&cli_state=short&cli_challenge=" + challenge,
			"cli_callback=" + url.QueryEscape(loopback) + "&cli_state=" + cliState,
		} {
			resp, err := browser.Get(f.base + "/auth/login?" + bad)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("login with %s = %d, want 400", bad, resp.StatusCode)
			}
		}
	})

	t.Run("a group bound to role:admin sees every app", func(t *testing.T) {
		provider.QueueUser(&mockoidc.MockUser{Subject: "u-1001", Email: "ada@example.com", Groups: []string{"admins", "staff"}})
		token, where := f.ssoLogin(t, browser, "/applications?view=tree")
		if where != "/applications?view=tree" {
			t.Errorf("redirected to %q after login, want the return_url", where)
		}
		var info struct {
			LoggedIn bool
			Username string
			Iss      string
			Groups   []string
		}
		f.getWithCookie(t, "/api/v1/session/userinfo", token, &info)
		if !info.LoggedIn || info.Username != "u-1001" || info.Iss != session.Issuer || !slices.Equal(info.Groups, []string{"admins", "staff"}) {
			t.Errorf("userinfo = %+v, want u-1001 with groups admins, staff", info)
		}
		if got := f.appNames(t, token); !slices.Equal(got, []string{"billing", "guestbook"}) {
			t.Errorf("apps = %v, want billing and guestbook", got)
		}
	})

	t.Run("a group without rules sees nothing", func(t *testing.T) {
		provider.QueueUser(&mockoidc.MockUser{Subject: "u-1002", Groups: []string{"visitors"}})
		token, where := f.ssoLogin(t, browser, "")
		if where != "/" {
			t.Errorf("redirected to %q, want /", where)
		}
		if got := f.appNames(t, token); len(got) != 0 {
			t.Errorf("apps = %v, want none", got)
		}
	})

	t.Run("return_url to another host is ignored", func(t *testing.T) {
		for _, ret := range []string{"https://evil.example/steal", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"} {
			provider.QueueUser(mockoidc.DefaultUser())
			if _, where := f.ssoLogin(t, browser, ret); where != "/" {
				t.Errorf("return_url %q: redirected to %q, want /", ret, where)
			}
		}
		provider.QueueUser(mockoidc.DefaultUser())
		if _, where := f.ssoLogin(t, browser, f.base+"/applications/guestbook"); where != "/applications/guestbook" {
			t.Errorf("own origin: redirected to %q, want /applications/guestbook", where)
		}
	})

	t.Run("a local account name is refused as SSO subject", func(t *testing.T) {
		provider.QueueUser(&mockoidc.MockUser{Subject: "alice", Groups: []string{"admins"}})
		callback, stateCookie := f.ssoAuthorize(t, browser, "")
		if code, _ := f.getCallback(t, browser, callback, stateCookie); code != http.StatusForbidden {
			t.Errorf("callback = %d, want 403", code)
		}
	})

	t.Run("bad state", func(t *testing.T) {
		provider.QueueUser(mockoidc.DefaultUser())
		callback, stateCookie := f.ssoAuthorize(t, browser, "")
		u, err := url.Parse(callback)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("state", "forged")
		u.RawQuery = q.Encode()
		if code, resp := f.getCallback(t, browser, u.String(), stateCookie); code != http.StatusBadRequest || resp.token != "" {
			t.Errorf("forged state: %d (token set: %t), want 400 without a session", code, resp.token != "")
		}
		if code, resp := f.getCallback(t, browser, callback, nil); code != http.StatusBadRequest || resp.token != "" {
			t.Errorf("no state cookie: %d (token set: %t), want 400 without a session", code, resp.token != "")
		}
	})

	t.Run("provider down", func(t *testing.T) {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		dead := "http://" + lis.Addr().String() + "/oidc"
		lis.Close()
		f.setOIDCConfig(t, fmt.Sprintf("issuer: %s\nclientID: moor\n", dead))
		resp, err := browser.Get(f.base + "/auth/login")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("login = %d %s, want 503", resp.StatusCode, body)
		}
	})
}

func (f *fixture) kube(t *testing.T) kubernetes.Interface {
	t.Helper()
	return kubetest.Start(t).Kube
}

// setOIDCConfig writes oidc.config into argocd-cm and waits until the server's login answers with the new
// configuration (a redirect to its issuer, or 503 when that is down).
func (f *fixture) setOIDCConfig(t *testing.T, cfg string) {
	t.Helper()
	kc := f.kube(t)
	cm, err := kc.CoreV1().ConfigMaps(f.ns).Get(t.Context(), session.ConfigMapName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
	cm.Data["oidc.config"] = cfg
	if _, err := kc.CoreV1().ConfigMaps(f.ns).Update(t.Context(), cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	issuer := ""
	for line := range strings.SplitSeq(cfg, "\n") {
		if v, ok := strings.CutPrefix(line, "issuer: "); ok {
			issuer = v
		}
	}
	noRedirect := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := noRedirect.Get(f.base + "/auth/login")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable || strings.HasPrefix(resp.Header.Get("Location"), issuer) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not take oidc.config within 15s: login answers %d", resp.StatusCode)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ssoAuthorize starts a login and lets the provider authorize it; it returns the callback URL the provider
// redirected to and the state cookie the server set.
func (f *fixture) ssoAuthorize(t *testing.T, browser *http.Client, returnURL string) (string, *http.Cookie) {
	t.Helper()
	return f.ssoAuthorizeQuery(t, browser, "return_url="+url.QueryEscape(returnURL))
}

// ssoAuthorizeQuery is ssoAuthorize with the login's query given whole.
func (f *fixture) ssoAuthorizeQuery(t *testing.T, browser *http.Client, query string) (string, *http.Cookie) {
	t.Helper()
	resp, err := browser.Get(f.base + "/auth/login?" + query)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("login = %d, want 302", resp.StatusCode)
	}
	authorize, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	q := authorize.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" {
		t.Errorf("authorize URL lacks state, nonce or an S256 challenge: %s", authorize.RawQuery)
	}
	if want := f.base + "/auth/callback"; q.Get("redirect_uri") != want {
		t.Errorf("redirect_uri = %q, want %q", q.Get("redirect_uri"), want)
	}
	var state *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "moor.oauthstate" {
			state = c
		}
	}
	if state == nil || !state.HttpOnly || state.SameSite != http.SameSiteLaxMode {
		t.Fatalf("login set no HttpOnly, SameSite=Lax state cookie: %v", resp.Cookies())
	}
	resp, err = browser.Get(authorize.String())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("provider authorize = %d %s, want 302", resp.StatusCode, body)
	}
	return resp.Header.Get("Location"), state
}

type callbackResult struct {
	token    string
	location string
}

// getCallback calls the callback as the browser would, with the state cookie (nil: none).
func (f *fixture) getCallback(t *testing.T, browser *http.Client, callback string, state *http.Cookie) (int, callbackResult) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, callback, nil)
	if err != nil {
		t.Fatal(err)
	}
	if state != nil {
		req.AddCookie(&http.Cookie{Name: state.Name, Value: state.Value})
	}
	resp, err := browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound && !strings.Contains(string(body), `"error"`) {
		t.Errorf("callback %d without an error body: %s", resp.StatusCode, body)
	}
	out := callbackResult{location: resp.Header.Get("Location")}
	for _, c := range resp.Cookies() {
		if c.Name == auth.CookieName && c.Value != "" {
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
				t.Errorf("session cookie is not HttpOnly, SameSite=Lax on /: %+v", c)
			}
			out.token = c.Value
		}
	}
	return resp.StatusCode, out
}

// ssoLogin runs the whole flow and returns the session token and where the browser was sent.
func (f *fixture) ssoLogin(t *testing.T, browser *http.Client, returnURL string) (string, string) {
	t.Helper()
	callback, state := f.ssoAuthorize(t, browser, returnURL)
	code, res := f.getCallback(t, browser, callback, state)
	if code != http.StatusFound || res.token == "" {
		t.Fatalf("callback = %d (token set: %t), want 302 with the session cookie", code, res.token != "")
	}
	return res.token, res.location
}

// getWithCookie GETs path with the session in the argocd.token cookie and decodes the JSON answer.
func (f *fixture) getWithCookie(t *testing.T, path, token string, out any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, f.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: token})
	resp, err := f.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d %s", path, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, body)
	}
}

func (f *fixture) appNames(t *testing.T, token string) []string {
	t.Helper()
	var list struct {
		Items []struct {
			Metadata struct{ Name string }
		}
	}
	f.getWithCookie(t, "/api/v1/applications", token, &list)
	var names []string
	for _, a := range list.Items {
		names = append(names, a.Metadata.Name)
	}
	slices.Sort(names)
	return names
}
