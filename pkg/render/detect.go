package render

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
)

// DetectSourceType says how the directory at p (a path in fsys) renders: Helm when it holds Chart.yaml,
// Kustomize when it holds a kustomization file, otherwise Directory (YAML, JSON and Jsonnet files).
func DetectSourceType(fsys fs.FS, p string) (string, error) {
	dir, err := cleanTreePath(p)
	if err != nil {
		return "", fmt.Errorf("app path: %w", err)
	}
	st, err := fs.Stat(fsys, dir)
	if err != nil {
		return "", notFound(dir, err)
	}
	if !st.IsDir() {
		return "", &Error{File: dir, Err: errors.New("app path is not a directory")}
	}
	return detectIn(fsys, dir), nil
}

func detectIn(fsys fs.FS, dir string) string {
	if isFile(fsys, path.Join(dir, "Chart.yaml")) {
		return SourceTypeHelm
	}
	for _, n := range KustomizationFileNames {
		if isFile(fsys, path.Join(dir, n)) {
			return SourceTypeKustomize
		}
	}
	return SourceTypeDirectory
}

func isFile(fsys fs.FS, name string) bool {
	fi, err := fs.Stat(fsys, name)
	return err == nil && !fi.IsDir()
}

// ListApps finds the Helm charts and kustomizations under root (a path in fsys) and returns their paths
// (relative to the fsys root, "." for the root itself) with their source type. As in Argo CD, plain
// directories are not listed: any directory is one. The walk skips .git and does not descend into a
// chart or kustomization it found (a chart's charts/ and templates/, an app's own subdirectories).
func ListApps(fsys fs.FS, root string) (map[string]string, error) {
	start, err := cleanTreePath(root)
	if err != nil {
		return nil, fmt.Errorf("list apps: %w", err)
	}
	apps := map[string]string{}
	err = fs.WalkDir(fsys, start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == start {
				return notFound(p, err)
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if d.Name() == ".git" && p != start {
			return fs.SkipDir
		}
		if t := detectIn(fsys, p); t != SourceTypeDirectory {
			apps[p] = t
			return fs.SkipDir
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list apps under %s: %w", start, err)
	}
	return apps, nil
}
