package render

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

// DirectoryRenderer renders a plain directory: YAML (multi-document) and JSON manifests, and Jsonnet
// programs, in lexical path order.
type DirectoryRenderer struct {
	// JsonnetMaxStack is the Jsonnet call depth limit; 0 means DefaultJsonnetMaxStack.
	JsonnetMaxStack int
}

var _ Renderer = (*DirectoryRenderer)(nil)

// Render implements Renderer.
func (d *DirectoryRenderer) Render(ctx context.Context, req *Request) (*Result, error) {
	if req.FS == nil {
		return nil, errors.New("render directory: no repository tree")
	}
	limits := req.Limits.WithDefaults()
	appPath, err := cleanTreePath(req.Path)
	if err != nil {
		return nil, fmt.Errorf("app path: %w", err)
	}
	var opts v1alpha1.ApplicationSourceDirectory
	if req.Source != nil && req.Source.Directory != nil {
		opts = *req.Source.Directory
	}
	sel, err := newFileSelector(opts)
	if err != nil {
		return nil, err
	}
	files, err := listFiles(ctx, req.FS, appPath, opts.Recurse != nil && *opts.Recurse)
	if err != nil {
		return nil, err
	}

	budget := sizeBudget{max: limits.MaxManifestBytes}
	var objs []*unstructured.Unstructured
	var jn *jsonnetEvaluator
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("render directory %s: %w", appPath, err)
		}
		rel := f
		if appPath != "." {
			rel = strings.TrimPrefix(f, appPath+"/")
		}
		if !sel.selected(rel) {
			continue
		}
		var p parsed
		if strings.HasSuffix(f, ".jsonnet") {
			if jn == nil {
				jn, err = newJsonnetEvaluator(ctx, req.FS, opts.Jsonnet, d.JsonnetMaxStack, limits.MaxFileBytes)
				if err != nil {
					return nil, err
				}
			}
			p, err = jn.eval(ctx, f)
		} else {
			var data []byte
			data, err = readFileLimited(req.FS, f, limits.MaxFileBytes)
			if err != nil {
				return nil, err
			}
			p, err = parseManifests(f, data)
		}
		if err != nil {
			return nil, err
		}
		if err := budget.add(p.bytes); err != nil {
			return nil, fmt.Errorf("render directory %s: %w", appPath, err)
		}
		objs = append(objs, p.objs...)
	}
	return &Result{Objects: objs, SourceType: SourceTypeDirectory}, nil
}

// fileSelector applies a directory source's extension filter, exclude and include.
type fileSelector struct {
	anyExtension     bool
	include, exclude *glob
}

func newFileSelector(opts v1alpha1.ApplicationSourceDirectory) (*fileSelector, error) {
	s := &fileSelector{anyExtension: opts.DisableExtensionFilter != nil && *opts.DisableExtensionFilter}
	var err error
	if opts.Include != "" {
		if s.include, err = compileGlob(opts.Include); err != nil {
			return nil, &Error{Err: fmt.Errorf("directory.include: %w", err)}
		}
	}
	if opts.Exclude != "" {
		if s.exclude, err = compileGlob(opts.Exclude); err != nil {
			return nil, &Error{Err: fmt.Errorf("directory.exclude: %w", err)}
		}
	}
	return s, nil
}

// manifestExtensions are the file types a directory source reads (case-sensitive, as in Argo CD).
var manifestExtensions = []string{".yaml", ".yml", ".json", ".jsonnet"}

// selected reports whether a file (path relative to the app directory) is rendered.
func (s *fileSelector) selected(rel string) bool {
	if !s.anyExtension && !hasManifestExtension(rel) {
		return false
	}
	if s.exclude != nil && s.exclude.match(rel) {
		return false
	}
	if s.include != nil && !s.include.match(rel) {
		return false
	}
	return true
}

func hasManifestExtension(name string) bool {
	ext := path.Ext(name)
	for _, e := range manifestExtensions {
		if ext == e {
			return true
		}
	}
	return false
}

// listFiles lists the regular files of an app directory (and its subdirectories when recurse is set),
// in lexical order. Symlinked directories are not followed; .git is skipped.
func listFiles(ctx context.Context, fsys fs.FS, dir string, recurse bool) ([]string, error) {
	st, err := fs.Stat(fsys, dir)
	if err != nil {
		return nil, notFound(dir, err)
	}
	if !st.IsDir() {
		return nil, &Error{File: dir, Err: errors.New("app path is not a directory")}
	}
	var files []string
	err = fs.WalkDir(fsys, dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.IsDir() {
			if p == dir {
				return nil
			}
			if !recurse || e.Name() == ".git" {
				return fs.SkipDir
			}
			return nil
		}
		if !e.Type().IsRegular() {
			// A symlink (the tree has already refused ones that escape): render it if it is a file.
			fi, err := fs.Stat(fsys, p)
			if errors.Is(err, fs.ErrNotExist) {
				return nil // dangling
			}
			if err != nil {
				return err
			}
			if !fi.Mode().IsRegular() {
				return nil
			}
		}
		files = append(files, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	return files, nil
}
