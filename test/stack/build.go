package stack

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// Service names, as Kill, Restart and Usage take them.
const (
	RepoServer = "repo-server"
	Controller = "controller"
	Server     = "server"
)

// Binaries maps each binary Build knows to its package.
var Binaries = map[string]string{
	"moor":             "./cmd/moor",
	"moor-repo-server": "./services/reposerver",
	"moor-controller":  "./services/controller",
	"moor-server":      "./services/apiserver",
}

// binaryOf names each service's binary.
var binaryOf = map[string]string{RepoServer: "moor-repo-server", Controller: "moor-controller", Server: "moor-server"}

// ServiceBinaries are the binaries Start runs (Build(ctx, root, dir, ServiceBinaries...) skips the CLI).
var ServiceBinaries = []string{"moor-repo-server", "moor-controller", "moor-server"}

// Build compiles the named binaries (default: all of Binaries) of the repository at repoRoot into dir and
// returns dir. It runs `go build -o dir/NAME PKG` one binary after the other, so a cold build compiles the
// shared packages once; a warm one costs about half a second per binary, since go build neither compiles
// nor links again when dir/NAME is up to date. Concurrent Builds into one dir (test binaries of several
// packages) are serialized with a lock file.
func Build(ctx context.Context, repoRoot, dir string, names ...string) (string, error) {
	if len(names) == 0 {
		names = []string{"moor", "moor-repo-server", "moor-controller", "moor-server"}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".build.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("lock %s: %w", dir, err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing releases it too
	for _, name := range names {
		pkg, ok := Binaries[name]
		if !ok {
			return "", fmt.Errorf("build: unknown binary %q", name)
		}
		cmd := exec.CommandContext(ctx, "go", "build", "-buildvcs=false", "-o", filepath.Join(dir, name), pkg)
		cmd.Dir = repoRoot
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, out.Bytes())
		}
	}
	return dir, nil
}

// RepoRoot finds the repository root by walking up from the working directory to Moor's go.mod. It is
// the one copy: test/kubetest.RepoRoot calls it (this package stays free of "testing", for hack/quickstart).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.HasPrefix(b, []byte("module github.com/moorcd/moor\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("repository root (go.mod of github.com/moorcd/moor) not found above the working directory")
		}
		dir = parent
	}
}
