package stack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// Worktree is a clone of a repository of a GitServer, to change and push as a developer would.
type Worktree struct {
	// Dir is the clone's directory.
	Dir string
}

// Clone clones repository name into dir (which must not exist or be empty), with the server's credentials
// in the remote URL so that Push needs no prompt.
func (g *GitServer) Clone(ctx context.Context, name, dir string) (*Worktree, error) {
	if _, err := runGit(ctx, "", "clone", "-q", g.AuthURL(name), dir); err != nil {
		return nil, err
	}
	return &Worktree{Dir: dir}, nil
}

// WriteFile writes a file of the work tree (creating directories).
func (w *Worktree) WriteFile(path, content string) error {
	full := filepath.Join(w.Dir, filepath.FromSlash(path))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return err
	}
	return os.WriteFile(full, []byte(content), 0o644)
}

// Remove deletes a file or directory of the work tree.
func (w *Worktree) Remove(path string) error {
	return os.RemoveAll(filepath.Join(w.Dir, filepath.FromSlash(path)))
}

// Git runs git in the work tree and returns its trimmed output.
func (w *Worktree) Git(ctx context.Context, args ...string) (string, error) {
	return runGit(ctx, w.Dir, args...)
}

// Commit stages every change and commits it (an empty commit when nothing changed); it returns the commit id.
func (w *Worktree) Commit(ctx context.Context, message string) (string, error) {
	if _, err := w.Git(ctx, "add", "-A"); err != nil {
		return "", err
	}
	if _, err := w.Git(ctx, "commit", "-q", "--allow-empty", "--no-gpg-sign", "-m", message); err != nil {
		return "", err
	}
	return w.Git(ctx, "rev-parse", "HEAD")
}

// Push pushes the current branch to origin, returning when git push returns.
func (w *Worktree) Push(ctx context.Context) error {
	_, err := w.Git(ctx, "push", "-q", "origin", "HEAD")
	return err
}

// CommitAndPush commits every change and pushes it; it returns the commit id.
func (w *Worktree) CommitAndPush(ctx context.Context, message string) (string, error) {
	sha, err := w.Commit(ctx, message)
	if err != nil {
		return "", err
	}
	if err := w.Push(ctx); err != nil {
		return "", fmt.Errorf("push %s: %w", sha, err)
	}
	return sha, nil
}
