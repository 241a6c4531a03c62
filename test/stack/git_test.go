package stack_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/moorcd/moor/pkg/webhook"
	"github.com/moorcd/moor/test/stack"
)

// TestGitServerPushSendsWebhook pushes to the Git server and checks that each provider's webhook arrives,
// passes Moor's own parser with the secret, and names the repository, the ref, the commit and the files.
func TestGitServerPushSendsWebhook(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	for _, provider := range []string{stack.ProviderGitea, stack.ProviderGitHub} {
		t.Run(provider, func(t *testing.T) {
			events := make(chan *webhook.Event, 4)
			secrets := webhook.Secrets{Gitea: "s3cret", GitHub: "s3cret"}
			hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ev, err := (&webhook.Parser{Secrets: secrets}).Parse(r)
				if err != nil {
					t.Errorf("webhook: %v", err)
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				events <- ev
			}))
			defer hook.Close()

			g, err := stack.NewGitServer(stack.GitOptions{Username: "u", Password: "p"})
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			g.SetWebhook(hook.URL, provider, "s3cret")
			files := fstest.MapFS{"app/cm.yaml": {Data: []byte("a: 1\n")}, "app/gone.yaml": {Data: []byte("b: 2\n")}}
			url, err := g.CreateRepo(t.Context(), "team/apps", files)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := g.CreateRepo(t.Context(), "team/apps", nil); err == nil {
				t.Error("creating an existing repository succeeded")
			}
			anon := exec.Command("git", "ls-remote", url)
			anon.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
			if err := anon.Run(); err == nil {
				t.Error("the server answered without credentials")
			}

			wt, err := g.Clone(t.Context(), "team/apps", filepath.Join(t.TempDir(), "apps"))
			if err != nil {
				t.Fatal(err)
			}
			_ = wt.WriteFile("app/cm.yaml", "a: 2\n")
			_ = wt.WriteFile("app/new.yaml", "c: 3\n")
			_ = wt.Remove("app/gone.yaml")
			sha, err := wt.CommitAndPush(t.Context(), "change")
			if err != nil {
				t.Fatal(err)
			}
			select {
			case ev := <-events:
				if ev.Ref != "refs/heads/main" || ev.Revision != sha || !webhook.Matches(ev, url, "HEAD") {
					t.Errorf("event %+v does not match %s at %s", ev, url, sha)
				}
				if want := []string{"app/cm.yaml", "app/gone.yaml", "app/new.yaml"}; !slices.Equal(ev.Changed, want) {
					t.Errorf("changed files %v, want %v", ev.Changed, want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no webhook after the push")
			}
			_ = g.Close() // waits for the delivery to be counted
			if s := g.Stats(); s.Pushes != 1 || s.Delivered != 1 || s.Failed != 0 {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

// TestGitServerErrorsHideThePassword clones a repository that does not exist: the error names the URL
// without the server's password, which would otherwise end up in test logs.
func TestGitServerErrorsHideThePassword(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	const password = "hunter2-s3cret"
	g, err := stack.NewGitServer(stack.GitOptions{Username: "u", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	_, err = g.Clone(t.Context(), "missing", filepath.Join(t.TempDir(), "missing"))
	if err == nil {
		t.Fatal("cloning a missing repository succeeded")
	}
	if msg := err.Error(); strings.Contains(msg, password) || !strings.Contains(msg, "REDACTED@") {
		t.Errorf("error %q shows the password or no redacted URL", msg)
	}
}
