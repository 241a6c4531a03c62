package cli_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/moorcd/moor/cmd/moor/cli"
)

// admUpdate is -update: rewrite the golden files. Another test file of the package may define the flag
// first; then that one is used.
var admUpdate = func() func() bool {
	if f := flag.Lookup("update"); f != nil {
		return func() bool { return f.Value.String() == "true" }
	}
	v := flag.Bool("update", false, "rewrite the golden files under testdata/golden")
	return func() bool { return *v }
}()

// admGolden compares got with testdata/golden/name, or rewrites the file with -update.
func admGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if admUpdate() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

func TestAdmVersionClient(t *testing.T) {
	t.Parallel()
	r := admRun(t, "", append(admOffline(t), "version", "--client")...)
	if r.Err != nil {
		t.Fatal(r.Message)
	}
	if !regexp.MustCompile(`^moor: v\S+\n  GoVersion: go\S+\n  Platform: \w+/\w+\n$`).MatchString(r.Stdout) {
		t.Errorf("version --client printed %q", r.Stdout)
	}

	r = admRun(t, "", append(admOffline(t), "version", "--client", "-o", "json")...)
	var doc map[string]map[string]string
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil || doc["client"]["version"] == "" || doc["server"] != nil {
		t.Errorf("version --client -o json printed %q (%v), want only the client", r.Stdout, err)
	}

	r = admRun(t, "", append(admOffline(t), "version", "--client", "--short")...)
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
	r := admRun(t, "", "--config", filepath.Join(t.TempDir(), "config"), "version")
	if r.Code != cli.ExitGeneric || !strings.Contains(r.Message, "no server") || !strings.HasPrefix(r.Stdout, "moor: ") {
		t.Errorf("exit %d %q, stdout %q; want the client version and a 'no server' error", r.Code, r.Message, r.Stdout)
	}
	r = admRun(t, "", append(admOffline(t), "version")...)
	if r.Code != cli.ExitConnectionFailure || !strings.HasPrefix(r.Stdout, "moor: ") {
		t.Errorf("unreachable server: exit %d %q, stdout %q", r.Code, r.Message, r.Stdout)
	}
	r = admRun(t, "", append(admOffline(t), "version", "-o", "xml")...)
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
		r := admRun(t, "", "completion", shell)
		if r.Err != nil || !strings.Contains(r.Stdout, marker) {
			t.Errorf("completion %s: err %v, output lacks %q", shell, r.Err, marker)
		}
	}
	if r := admRun(t, "", "completion", "tcsh"); r.Code != cli.ExitGeneric {
		t.Errorf("completion tcsh: exit %d, want %d", r.Code, cli.ExitGeneric)
	}
}
