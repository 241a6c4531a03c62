package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/moorcd/moor/cmd/moor/cli"
)

func TestAdmVersionClient(t *testing.T) {
	t.Parallel()
	r := appRun(t, "", append(admOffline(t), "version", "--client")...)
	if r.Err != nil {
		t.Fatal(r.Message)
	}
	if !regexp.MustCompile(`^moor: v\S+\n  GoVersion: go\S+\n  Platform: \w+/\w+\n$`).MatchString(r.Stdout) {
		t.Errorf("version --client printed %q", r.Stdout)
	}

	r = appRun(t, "", append(admOffline(t), "version", "--client", "-o", "json")...)
	var doc map[string]map[string]string
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil || doc["client"]["version"] == "" || doc["server"] != nil {
		t.Errorf("version --client -o json printed %q (%v), want only the client", r.Stdout, err)
	}

	r = appRun(t, "", append(admOffline(t), "version", "--client", "--short")...)
	if !regexp.MustCompile(`^moor: v\S+\n$`).MatchString(r.Stdout) {
		t.Errorf("version --client --short printed %q", r.Stdout)
	}
}

// TestAdmVersionNoServer: without a server the client's version is printed and the error says how to name
// a server.
func TestAdmVersionNoServer(t *testing.T) {
	if os.Getenv("MOOR_SERVER") != "" {
		t.Skip("MOOR_SERVER is set")
	}
	t.Parallel()
	r := appRun(t, "", "--config", filepath.Join(t.TempDir(), "config"), "version")
	if r.Code != cli.ExitGeneric || !strings.Contains(r.Message, "no server") || !strings.HasPrefix(r.Stdout, "moor: ") {
		t.Errorf("exit %d %q, stdout %q; want the client version and a 'no server' error", r.Code, r.Message, r.Stdout)
	}
	r = appRun(t, "", append(admOffline(t), "version")...)
	if r.Code != cli.ExitConnectionFailure || !strings.HasPrefix(r.Stdout, "moor: ") {
		t.Errorf("unreachable server: exit %d %q, stdout %q", r.Code, r.Message, r.Stdout)
	}
	r = appRun(t, "", append(admOffline(t), "version", "-o", "xml")...)
	if r.Code != cli.ExitGeneric {
		t.Errorf("-o xml: exit %d %q", r.Code, r.Message)
	}
}

func TestAdmCompletion(t *testing.T) {
	t.Parallel()
	for shell, marker := range map[string]string{
		"bash":       "__start_moor",
		"zsh":        "#compdef moor",
		"fish":       "complete -c moor",
		"powershell": "Register-ArgumentCompleter",
	} {
		r := appRun(t, "", "completion", shell)
		if r.Err != nil || !strings.Contains(r.Stdout, marker) {
			t.Errorf("completion %s: err %v, output lacks %q", shell, r.Err, marker)
		}
	}
	if r := appRun(t, "", "completion", "tcsh"); r.Code != cli.ExitGeneric {
		t.Errorf("completion tcsh: exit %d, want %d", r.Code, cli.ExitGeneric)
	}
}
