package helm

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"helm.sh/helm/v4/pkg/chart/loader/archive"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/ignore"

	"github.com/moorcd/moor/pkg/render"
)

// maxLinkHops bounds symlink resolution (like the kernel's ELOOP limit).
const maxLinkHops = 40

// maxDirDepth bounds directory nesting in a chart, which also stops symlinked directory loops.
const maxDirDepth = 64

// joinInside joins a slash-separated relative path to base inside a tree and refuses anything that would
// leave the tree: absolute paths, drive paths, and ".." that climbs above the root.
func joinInside(base, p string) (string, error) {
	if p == "" {
		return "", errors.New("empty path")
	}
	if strings.HasPrefix(p, "/") || strings.HasPrefix(p, `\`) || isDrivePath(p) {
		return "", fmt.Errorf("%s: %w", p, render.ErrPathEscape)
	}
	j := path.Join(base, p)
	if j == ".." || strings.HasPrefix(j, "../") {
		return "", fmt.Errorf("%s: %w", p, render.ErrPathEscape)
	}
	return j, nil
}

// resolveInside follows the symlinks along name (a clean path inside fsys) and returns the path it really
// names, refusing links that leave the tree. A tree that cannot report links (no fs.ReadLinkFS) is taken as
// is: pkg/git's trees refuse escaping links themselves. A missing component ends resolution early; the
// caller's open then reports it.
func resolveInside(fsys fs.FS, name string) (string, error) {
	if _, ok := fsys.(fs.ReadLinkFS); !ok || name == "." {
		return name, nil
	}
	parts := strings.Split(name, "/")
	resolved := "."
	for hops := 0; len(parts) > 0; {
		cur := path.Join(resolved, parts[0])
		fi, err := fs.Lstat(fsys, cur)
		if err != nil {
			return path.Join(append([]string{cur}, parts[1:]...)...), nil
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			resolved, parts = cur, parts[1:]
			continue
		}
		if hops++; hops > maxLinkHops {
			return "", fmt.Errorf("%s: too many levels of symbolic links", name)
		}
		target, err := fs.ReadLink(fsys, cur)
		if err != nil {
			return "", fmt.Errorf("read link %s: %w", cur, err)
		}
		next, err := joinInside(path.Dir(cur), target)
		if err != nil {
			return "", fmt.Errorf("symlink %s -> %s: %w", cur, target, render.ErrPathEscape)
		}
		// Start again from the root with the link replaced by its target.
		parts = append(strings.Split(next, "/"), parts[1:]...)
		resolved = "."
	}
	return resolved, nil
}

// readInside reads one file of the tree, jailed and capped at max bytes.
func readInside(fsys fs.FS, name string, max int64) ([]byte, error) {
	real, err := resolveInside(fsys, name)
	if err != nil {
		return nil, err
	}
	return readResolved(fsys, real, name, max)
}

// readResolved reads a file whose path has no symlinks left in it (display names it in errors).
func readResolved(fsys fs.FS, real, name string, max int64) ([]byte, error) {
	f, err := fsys.Open(real)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", name, render.ErrNotFound)
		}
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("%s is a directory", name)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s is over %d bytes: %w", name, max, render.ErrTooLarge)
	}
	return data, nil
}

// chartFiles reads the chart rooted at dir of fsys into memory, honouring the chart's .helmignore (and
// Helm's default rule that skips templates/.*), skipping .git, following symlinks only inside the tree and
// charging every byte to b.
func chartFiles(fsys fs.FS, dir string, b *budget) ([]*archive.BufferedFile, error) {
	root, err := resolveInside(fsys, dir)
	if err != nil {
		return nil, err
	}
	rules := ignore.Empty()
	if data, err := readInside(fsys, path.Join(root, ignore.HelmIgnore), b.maxFileBytes); err == nil {
		if rules, err = ignore.Parse(strings.NewReader(string(data))); err != nil {
			return nil, &render.Error{File: path.Join(dir, ignore.HelmIgnore), Err: err}
		}
	} else if !errors.Is(err, render.ErrNotFound) {
		return nil, err
	}
	rules.AddDefaults()

	var files []*archive.BufferedFile
	var walk func(real, rel string, depth int) error
	walk = func(real, rel string, depth int) error {
		if depth > maxDirDepth {
			return fmt.Errorf("%s: directories nested more than %d deep", path.Join(dir, rel), maxDirDepth)
		}
		entries, err := fs.ReadDir(fsys, real)
		if err != nil {
			return fmt.Errorf("read chart directory %s: %w", path.Join(dir, rel), err)
		}
		for _, e := range entries {
			if e.Name() == ".git" {
				continue
			}
			name := path.Join(rel, e.Name())
			target := path.Join(real, e.Name())
			fi, err := e.Info()
			if err != nil {
				return err
			}
			if e.Type()&fs.ModeSymlink != 0 {
				if target, err = resolveInside(fsys, target); err != nil {
					return err
				}
				if fi, err = fs.Stat(fsys, target); err != nil {
					return fmt.Errorf("chart file %s: %w", path.Join(dir, name), err)
				}
			}
			if rules.Ignore(name, fi) {
				continue
			}
			if fi.IsDir() {
				if err := walk(target, name, depth+1); err != nil {
					return err
				}
				continue
			}
			if !fi.Mode().IsRegular() {
				return fmt.Errorf("chart file %s is not a regular file", path.Join(dir, name))
			}
			if fi.Size() > b.remaining() {
				return b.take(path.Join(dir, name), fi.Size())
			}
			data, err := readResolved(fsys, target, path.Join(dir, name), b.remaining())
			if err != nil {
				if errors.Is(err, render.ErrTooLarge) {
					return b.take(path.Join(dir, name), b.remaining()+1)
				}
				return err
			}
			if err := b.take(path.Join(dir, name), int64(len(data))); err != nil {
				return err
			}
			files = append(files, &archive.BufferedFile{Name: name, ModTime: fi.ModTime(), Data: trimBOM(data)})
		}
		return nil
	}
	if err := walk(root, "", 0); err != nil {
		return nil, err
	}
	return expandSubcharts(files, b)
}

func trimBOM(b []byte) []byte {
	if len(b) >= 3 && b[0] == utf8BOM[0] && b[1] == utf8BOM[1] && b[2] == utf8BOM[2] {
		return b[3:]
	}
	return b
}

// loadChart builds a chart from in-memory files. file names the chart in errors.
func loadChart(files []*archive.BufferedFile, file string) (*chart.Chart, error) {
	c, err := loader.LoadFiles(files)
	if err != nil {
		return nil, &render.Error{File: file, Err: fmt.Errorf("load chart: %w", err)}
	}
	return c, nil
}
