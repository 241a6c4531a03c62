package gittest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// baseTime is the fixed date of the first commit; each later commit is one minute later, so SHAs are
// reproducible.
var baseTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// Repo is a non-bare repository built with the git CLI.
type Repo struct {
	t   testing.TB
	Dir string

	mu      sync.Mutex
	commits int
}

// NewRepo initialises an empty repository with default branch main in a temporary directory.
func NewRepo(t testing.TB) *Repo {
	t.Helper()
	RequireGit(t)
	r := &Repo{t: t, Dir: filepath.Join(t.TempDir(), "repo")}
	if err := os.MkdirAll(r.Dir, 0o755); err != nil {
		t.Fatalf("gittest: %v", err)
	}
	r.Git("init", "-q", "-b", "main")
	return r
}

// RequireGit skips the test when the git CLI is missing.
func RequireGit(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("gittest: git CLI not installed")
	}
}

// Env is the hermetic environment every git process of this package runs with.
func Env() []string {
	env := []string{}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GIT_") || strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "XDG_CONFIG_HOME=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0",
		"HOME=/nonexistent",
		"GIT_AUTHOR_NAME=Moor Test",
		"GIT_AUTHOR_EMAIL=test@moor.invalid",
		"GIT_COMMITTER_NAME=Moor Test",
		"GIT_COMMITTER_EMAIL=test@moor.invalid",
		// No background gc or maintenance: it would write into repositories while tests remove them.
		"GIT_CONFIG_COUNT=2",
		"GIT_CONFIG_KEY_0=gc.auto", "GIT_CONFIG_VALUE_0=0",
		"GIT_CONFIG_KEY_1=maintenance.auto", "GIT_CONFIG_VALUE_1=false",
	)
}

// Git runs git in the repository and returns its trimmed stdout; it fails the test on error.
func (r *Repo) Git(args ...string) string {
	r.t.Helper()
	out, err := r.run(nil, args...)
	if err != nil {
		r.t.Fatalf("gittest: %v", err)
	}
	return out
}

func (r *Repo) run(extraEnv []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = r.Dir
	cmd.Env = append(Env(), extraEnv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(stdout.String()), nil
}

// Write writes a file (creating directories) and stages it.
func (r *Repo) Write(path, content string) *Repo {
	r.t.Helper()
	full := filepath.Join(r.Dir, filepath.FromSlash(path))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		r.t.Fatalf("gittest: %v", err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		r.t.Fatalf("gittest: %v", err)
	}
	r.Git("add", "--", path)
	return r
}

// WriteFiles writes many files (path to content) and stages them with one git call, for large fixtures.
func (r *Repo) WriteFiles(files map[string]string) *Repo {
	r.t.Helper()
	for path, content := range files {
		full := filepath.Join(r.Dir, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			r.t.Fatalf("gittest: %v", err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			r.t.Fatalf("gittest: %v", err)
		}
	}
	r.Git("add", "-A")
	return r
}

// Remove deletes a file or directory and stages the removal.
func (r *Repo) Remove(path string) *Repo {
	r.t.Helper()
	r.Git("rm", "-r", "-q", "--", path)
	return r
}

// Symlink creates a symlink at path pointing at target (stored verbatim) and stages it.
func (r *Repo) Symlink(path, target string) *Repo {
	r.t.Helper()
	full := filepath.Join(r.Dir, filepath.FromSlash(path))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		r.t.Fatalf("gittest: %v", err)
	}
	_ = os.Remove(full)
	if err := os.Symlink(target, full); err != nil {
		r.t.Fatalf("gittest: %v", err)
	}
	r.Git("add", "--", path)
	return r
}

// Commit commits everything staged (empty commits allowed) and returns the commit id.
func (r *Repo) Commit(msg string) string {
	r.t.Helper()
	r.mu.Lock()
	when := baseTime.Add(time.Duration(r.commits) * time.Minute).Format(time.RFC3339)
	r.commits++
	r.mu.Unlock()
	env := []string{"GIT_AUTHOR_DATE=" + when, "GIT_COMMITTER_DATE=" + when}
	if _, err := r.run(env, "commit", "-q", "--allow-empty", "--no-gpg-sign", "-m", msg); err != nil {
		r.t.Fatalf("gittest: %v", err)
	}
	return r.Head()
}

// Head returns the current commit id.
func (r *Repo) Head() string {
	r.t.Helper()
	return r.Git("rev-parse", "HEAD")
}

// Tag creates a lightweight tag at HEAD.
func (r *Repo) Tag(name string) *Repo {
	r.t.Helper()
	r.Git("tag", name)
	return r
}

// AnnotatedTag creates an annotated tag at HEAD.
func (r *Repo) AnnotatedTag(name, msg string) *Repo {
	r.t.Helper()
	when := baseTime.Format(time.RFC3339)
	if _, err := r.run([]string{"GIT_COMMITTER_DATE=" + when}, "tag", "-a", "-m", msg, name); err != nil {
		r.t.Fatalf("gittest: %v", err)
	}
	return r
}

// Branch creates (or resets) branch name at HEAD and checks it out.
func (r *Repo) Branch(name string) *Repo {
	r.t.Helper()
	r.Git("checkout", "-q", "-B", name)
	return r
}

// Checkout switches to an existing branch, tag or commit.
func (r *Repo) Checkout(rev string) *Repo {
	r.t.Helper()
	r.Git("checkout", "-q", rev)
	return r
}
