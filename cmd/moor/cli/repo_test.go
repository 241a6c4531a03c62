package cli_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moorcd/moor/cmd/moor/cli"
	"github.com/moorcd/moor/test/gittest"
)

func TestAdmRepoFlags(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "missing")
	admCheckUsage(t, []admUsageCase{
		{name: "type", args: []string{"repo", "add", "https://example.com/r.git", "--type", "svn"}, want: "--type must be git, helm or oci"},
		{name: "cert without key", args: []string{"repo", "add", "https://example.com/r.git", "--tls-client-cert-path", missing}, want: "give both --tls-client-cert-path and --tls-client-cert-key-path"},
		{name: "ssh key file", args: []string{"repo", "add", "git@example.com:r.git", "--ssh-private-key-path", missing}, want: "--ssh-private-key-path"},
		{name: "helm without name", args: []string{"repo", "add", "https://charts.example.com", "--type", "helm"}, want: "needs a --name"},
		{name: "password not on the input", args: []string{"repo", "add", "https://example.com/r.git", "--username", "bob"}, want: "nothing to answer"},
		{name: "list output", args: []string{"repo", "list", "-o", "name"}, want: "unknown output format"},
		{name: "get arity", args: []string{"repo", "get"}, want: "accepts 1 arg(s)"},
		{name: "rm arity", args: []string{"repo", "rm"}, want: "requires at least 1 arg(s)"},
		{name: "repocreds type", args: []string{"repocreds", "add", "https://example.com", "--type", "svn"}, want: "--type must be"},
		{name: "repocreds password not on the input", args: []string{"repocreds", "add", "https://example.com", "--username", "bob"}, want: "nothing to answer"},
		{name: "repocreds list output", args: []string{"repocreds", "list", "-o", "table"}, want: "unknown output format"},
	})
}

func admTestRepo(t *testing.T, e *admEnv) {
	const user, password = "gitbot", "pw-Zq81-never-shown"
	srv := gittest.NewHTTPServer(t, gittest.HTTPOptions{Username: user, Password: password})
	r := gittest.NewRepo(t)
	r.Write("guestbook/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: guestbook}\n")
	r.Commit("first")
	url := srv.Add(t, "team/guestbook.git", r)

	var printed strings.Builder
	run := func(stdin string, args ...string) appResult {
		t.Helper()
		res := e.run(t, stdin, args...)
		printed.WriteString(res.Stdout + res.Stderr + res.Message)
		return res
	}
	// A wrong password is refused when access is tested; nothing is stored.
	if res := run("", "repo", "add", url, "--username", user, "--password", "wrong"); res.Code != cli.ExitAPIError || !strings.Contains(res.Message, "unable to access repository") {
		t.Errorf("repo add with a wrong password: exit %d %q", res.Code, res.Message)
	}
	if res := run("", "repo", "get", url); res.Code != cli.ExitNotFound {
		t.Errorf("repo get after a refused add: exit %d %q", res.Code, res.Message)
	}
	// The password is read from the input when only --username is given.
	if res := run(password+"\n", "repo", "add", url, "--username", user, "--name", "guestbook"); res.Err != nil {
		t.Fatalf("repo add: %s", res.Message)
	}
	if res := run("", "repo", "add", url, "--username", user, "--password", password, "--name", "renamed"); res.Code != cli.ExitAPIError {
		t.Errorf("repo add of an existing repository without --upsert: exit %d %q", res.Code, res.Message)
	}
	if res := run("", "repo", "add", url, "--username", user, "--password", password, "--name", "guestbook", "--upsert", "--depth", "1"); res.Err != nil {
		t.Errorf("repo add --upsert: %s", res.Message)
	}
	list := run("", "repo", "list")
	goldenFile(t, "repo-list.golden", admNormalize(list.Stdout))
	get := run("", "repo", "get", url)
	goldenFile(t, "repo-get.golden", admNormalize(get.Stdout))
	for _, format := range []string{"json", "yaml", "url", "wide"} {
		if res := run("", "repo", "get", url, "-o", format); res.Err != nil || !strings.Contains(res.Stdout, url) {
			t.Errorf("repo get -o %s: %v\n%s", format, res.Err, res.Stdout)
		}
	}
	var repos []map[string]any
	if err := json.Unmarshal([]byte(run("", "repo", "list", "-o", "json").Stdout), &repos); err != nil || len(repos) != 1 || repos[0]["username"] != user || repos[0]["depth"] != 1.0 {
		t.Errorf("repo list -o json: %v %v", repos, err)
	}
	if res := run("", "repo", "rm", url); res.Err != nil {
		t.Errorf("repo rm: %s", res.Message)
	}
	if res := run("", "repo", "rm", url); res.Code != cli.ExitNotFound {
		t.Errorf("repo rm twice: exit %d %q", res.Code, res.Message)
	}
	if out := run("", "repo", "list", "-o", "url").Stdout; out != "" {
		t.Errorf("repositories left: %q", out)
	}
	if strings.Contains(printed.String(), password) {
		t.Errorf("the repository password was printed:\n%s", printed.String())
	}
}

func admTestRepoCreds(t *testing.T, e *admEnv) {
	const user, password = "gitbot", "pw-Tc44-never-shown"
	srv := gittest.NewHTTPServer(t, gittest.HTTPOptions{Username: user, Password: password})
	r := gittest.NewRepo(t)
	r.Write("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\n")
	r.Commit("first")
	url := srv.Add(t, "team/app.git", r)

	var printed strings.Builder
	run := func(stdin string, args ...string) appResult {
		t.Helper()
		res := e.run(t, stdin, args...)
		printed.WriteString(res.Stdout + res.Stderr + res.Message)
		return res
	}
	if res := run(password+"\n", "repocreds", "add", srv.URL+"/team", "--username", user); res.Err != nil {
		t.Fatalf("repocreds add: %s", res.Message)
	}
	goldenFile(t, "repo-creds-list.golden", admNormalize(run("", "repocreds", "list").Stdout))
	// A repository under the template needs no credentials of its own.
	add := run("", "repo", "add", url)
	if add.Err != nil || !strings.Contains(add.Stderr, "using the credentials of template") {
		t.Errorf("repo add under a template: %v %q", add.Message, add.Stderr)
	}
	var repos []map[string]any
	if err := json.Unmarshal([]byte(run("", "repo", "list", "-o", "json").Stdout), &repos); err != nil || len(repos) != 1 || repos[0]["inheritedCreds"] != true {
		t.Errorf("repo list -o json: %v %v, want one repository with inherited credentials", repos, err)
	}
	if out := run("", "repocreds", "list", "-o", "yaml").Stdout; !strings.Contains(out, "username: "+user) {
		t.Errorf("repocreds list -o yaml:\n%s", out)
	}
	run("", "repo", "rm", url)
	if res := run("", "repocreds", "rm", srv.URL+"/team"); res.Err != nil {
		t.Errorf("repocreds rm: %s", res.Message)
	}
	if out := run("", "repocreds", "list", "-o", "url").Stdout; out != "" {
		t.Errorf("templates left: %q", out)
	}
	if strings.Contains(printed.String(), password) {
		t.Errorf("the template's password was printed:\n%s", printed.String())
	}
}
