package render

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// cleanTreePath cleans a slash-separated path inside the tree ("" and "/" are not accepted as the
// root: the root is "."). It refuses absolute paths and paths that climb above the root.
func cleanTreePath(p string) (string, error) {
	if p == "" {
		return ".", nil
	}
	if path.IsAbs(p) || strings.HasPrefix(p, `\`) || hasDriveLetter(p) {
		return "", fmt.Errorf("%q: %w", p, ErrPathEscape)
	}
	c := path.Clean(p)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("%q: %w", p, ErrPathEscape)
	}
	return c, nil
}

// joinInTree joins rel (relative to dir, both inside the tree) and refuses a result outside the tree.
func joinInTree(dir, rel string) (string, error) {
	if path.IsAbs(rel) || hasDriveLetter(rel) {
		return "", fmt.Errorf("%q: %w", rel, ErrPathEscape)
	}
	return cleanTreePath(path.Join(dir, rel))
}

func hasDriveLetter(p string) bool {
	return len(p) >= 2 && p[1] == ':' && (p[0] >= 'a' && p[0] <= 'z' || p[0] >= 'A' && p[0] <= 'Z')
}

// readFileLimited reads one file of the tree, refusing files over max bytes without reading them whole.
func readFileLimited(fsys fs.FS, name string, max int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, notFound(name, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", name, err)
	}
	if st.IsDir() {
		return nil, &Error{File: name, Err: errors.New("is a directory")}
	}
	if st.Size() > max {
		return nil, fmt.Errorf("%s is %d bytes, over the %d-byte limit: %w", name, st.Size(), max, ErrTooLarge)
	}
	// Stat may lie (a pipe, a lazily fetched blob); the LimitReader is the real guard.
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s is over the %d-byte limit: %w", name, max, ErrTooLarge)
	}
	return data, nil
}

// notFound maps fs.ErrNotExist to ErrNotFound and keeps other errors (a path escape refused by the
// tree, a permission error) as they are.
func notFound(name string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", name, ErrNotFound)
	}
	return fmt.Errorf("open %s: %w", name, err)
}

// sizeBudget tracks the rendered bytes against Limits.MaxManifestBytes.
type sizeBudget struct {
	used, max int64
}

func (b *sizeBudget) add(n int) error {
	b.used += int64(n)
	if b.used > b.max {
		return fmt.Errorf("rendered manifests exceed %d bytes: %w", b.max, ErrTooLarge)
	}
	return nil
}
