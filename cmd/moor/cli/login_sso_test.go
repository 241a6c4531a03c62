package cli_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/moorcd/moor/cmd/moor/cli"
	"github.com/moorcd/moor/test/stack/stacktest"
)

// TestLoginSSO runs `moor login --sso` against moor-server with an OIDC provider on loopback; a scripted
// browser follows the redirects from the server's login to the provider and back to the CLI's listener.
func TestLoginSSO(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the services")
	}
	provider, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = provider.Shutdown() })
	st := stacktest.Start(t)
	ctx := t.Context()
	if err := st.SetSecretKeys(ctx, map[string]string{"oidc.clientSecret": provider.ClientSecret}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetConfigMapKeys(ctx, "argocd-cm", map[string]string{"oidc.config": fmt.Sprintf(
		"name: Mock\nissuer: %s\nclientID: %s\nclientSecret: $oidc.clientSecret\nenablePKCEAuthentication: true\n",
		provider.Issuer(), provider.ClientID)}); err != nil {
		t.Fatal(err)
	}
	// The server takes the new settings from its informer: wait until its login answers.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).
			Get("http://" + st.ServerAddr + "/auth/login")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusFound {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("moor-server did not take oidc.config: %v", err)
		}
	}

	provider.QueueUser(&mockoidc.MockUser{Subject: "sso-ada", Email: "ada@example.com", Groups: []string{"staff"}})
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	landed := make(chan string, 1)
	t.Cleanup(cli.SetBrowser(func(u string) error {
		go func() {
			resp, err := browser.Get(u)
			if err != nil {
				landed <- err.Error()
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			landed <- string(b)
		}()
		return nil
	}))
	config := filepath.Join(t.TempDir(), "config")
	r := appRun(t, "", "--config", config, "login", st.ServerAddr, "--plaintext", "--sso", "--sso-port", "0", "--sso-timeout", "60s")
	if r.Err != nil {
		t.Fatalf("login --sso: exit %d %s\n%s", r.Code, r.Message, r.Stderr)
	}
	if page := <-landed; !strings.Contains(page, "Logged in") {
		t.Errorf("the browser ended on %q", page)
	}
	r = appRun(t, "", "--config", config, "account", "get-user-info")
	if r.Err != nil || !strings.Contains(r.Stdout, "sso-ada") {
		t.Errorf("get-user-info after the SSO login: exit %d %s %s", r.Code, r.Message, r.Stdout)
	}
}
