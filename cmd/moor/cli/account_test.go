package cli_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/moorcd/moor/cmd/moor/cli"
	"github.com/moorcd/moor/test/stack/stacktest"
)

func TestAdmAccountFlags(t *testing.T) {
	t.Parallel()
	admCheckUsage(t, []admUsageCase{
		{name: "token lifetime", args: []string{"account", "generate-token", "--account", "ci", "-e", "soon"}, want: "--expires-in"},
		{name: "can-i arity", args: []string{"account", "can-i", "get", "applications"}, want: "accepts 3 arg(s)"},
		{name: "list output", args: []string{"account", "list", "-o", "wide"}, want: "unknown output format"},
		{name: "bcrypt without input", args: []string{"account", "bcrypt"}, want: "nothing to answer"},
	})
}

func TestAdmAccountBcrypt(t *testing.T) {
	t.Parallel()
	r := appRun(t, "s3cret\n", "account", "bcrypt")
	if r.Err != nil {
		t.Fatal(r.Message)
	}
	hash := strings.TrimSpace(r.Stdout)
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte("s3cret")); err != nil {
		t.Errorf("%q is not a bcrypt hash of the password: %v", hash, err)
	}
}

func admTestAccount(t *testing.T, e *admEnv) {
	ctx := t.Context()
	if err := e.st.SetConfigMapKeys(ctx, "argocd-cm", map[string]string{"accounts.ci": "apiKey"}); err != nil {
		t.Fatal(err)
	}
	stacktest.Wait(t, 30*time.Second, "account ci listed", func(context.Context) (bool, error) {
		return strings.Contains(e.run(t, "", "account", "list", "-o", "name").Stdout, "ci\n"), nil
	})
	goldenFile(t, "account-list.golden", e.ok(t, "account", "list"))
	if out := e.ok(t, "account", "can-i", "create", "projects", "*"); out != "yes\n" {
		t.Errorf("admin can-i create projects: %q", out)
	}
	info := e.ok(t, "account", "get-user-info")
	if !strings.Contains(info, "Logged In:  true") || !strings.Contains(info, "Username:   admin") {
		t.Errorf("get-user-info:\n%s", info)
	}

	// An API token for ci: it works, shows in account get, and stops working once deleted.
	token := strings.TrimSpace(e.ok(t, "account", "generate-token", "--account", "ci", "--id", "ci-1", "--expires-in", "1h"))
	if r := e.runAs(t, token, "", "account", "get-user-info", "-o", "json"); r.Err != nil || !strings.Contains(r.Stdout, `"username": "ci"`) {
		t.Errorf("get-user-info with ci's token: %v %s", r.Message, r.Stdout)
	}
	if r := e.runAs(t, token, "", "account", "can-i", "delete", "clusters", "*"); r.Err != nil || r.Stdout != "no\n" {
		t.Errorf("ci can-i delete clusters: exit %d %q %q, want no and exit 0", r.Code, r.Stdout, r.Message)
	}
	goldenFile(t, "account-get.golden", admNormalize(e.ok(t, "account", "get", "--account", "ci")))
	e.fails(t, cli.ExitAPIError, "already", "account", "generate-token", "--account", "ci", "--id", "ci-1")
	e.ok(t, "account", "delete-token", "--account", "ci", "ci-1")
	admEventually(t, "the deleted API token is refused", func() bool {
		return e.runAs(t, token, "", "account", "get-user-info").Code == cli.ExitAPIError
	})
	e.fails(t, cli.ExitNotFound, "", "account", "delete-token", "--account", "ci", "ci-1")
	e.fails(t, cli.ExitAPIError, "apiKey", "account", "generate-token", "--account", "admin")

	// update-password with a session from the config file: the CLI logs in again and stores the new token.
	cfg := &cli.Config{}
	cfg.Upsert("e2e", cli.ServerConfig{Server: e.st.ServerAddr, PlainText: true}, e.token)
	if err := cfg.Write(e.config); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MOOR_AUTH_TOKEN", "")
	t.Setenv("MOOR_SERVER", "")
	const newPassword = "N3w-Passw0rd-e2e"
	fromConfig := func(stdin string, args ...string) appResult {
		return appRun(t, stdin, append([]string{"--config", e.config}, args...)...)
	}
	r := fromConfig("", "account", "update-password", "--current-password", e.st.AdminPassword, "--new-password", newPassword)
	if r.Err != nil || !strings.Contains(r.Stdout, `context "e2e" updated`) {
		t.Fatalf("update-password: %s\n%s", r.Message, r.Stdout)
	}
	if r := fromConfig("", "account", "get-user-info"); r.Err != nil {
		t.Errorf("the renewed session does not work: %s", r.Message)
	}
	admEventually(t, "the session from before the password change is refused", func() bool {
		return e.run(t, "", "account", "get-user-info").Code == cli.ExitAPIError
	})
	// Back, with the passwords on the input (as a script would pipe them).
	r = fromConfig(newPassword+"\n"+e.st.AdminPassword+"\n", "account", "update-password")
	if r.Err != nil {
		t.Fatalf("update-password from the input: %s", r.Message)
	}
	if r := fromConfig("", "account", "update-password", "--current-password", "wrong", "--new-password", "x-Y-z-123456"); r.Code != cli.ExitAPIError || !strings.Contains(r.Message, "currentPassword") {
		t.Errorf("wrong current password: exit %d %q", r.Code, r.Message)
	}
	got, err := cli.ReadConfig(e.config)
	if err != nil {
		t.Fatal(err)
	}
	_, _, user, _ := got.Context("")
	e.token = user.AuthToken
}
