package render

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"

	"github.com/google/go-jsonnet"
	"github.com/google/go-jsonnet/ast"
	utiljson "k8s.io/apimachinery/pkg/util/json"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

// DefaultJsonnetMaxStack is the Jsonnet VM's call depth limit when none is set (go-jsonnet's own default).
const DefaultJsonnetMaxStack = 500

// jsonnetEvaluator evaluates the .jsonnet files of one directory render. It shares one VM (and so one
// import cache) across the files.
type jsonnetEvaluator struct {
	vm  *jsonnet.VM
	imp *fsImporter
}

func newJsonnetEvaluator(ctx context.Context, fsys fs.FS, opts *v1alpha1.ApplicationSourceJsonnet, maxStack int, maxFile int64) (*jsonnetEvaluator, error) {
	imp := &fsImporter{ctx: ctx, fsys: fsys, maxFile: maxFile, cache: map[string]importEntry{}}
	vm := jsonnet.MakeVM()
	if maxStack <= 0 {
		maxStack = DefaultJsonnetMaxStack
	}
	vm.MaxStack = maxStack
	vm.Importer(imp)
	if opts != nil {
		for _, l := range opts.Libs {
			p, err := cleanTreePath(strings.TrimPrefix(l, "./"))
			if err != nil {
				return nil, fmt.Errorf("jsonnet lib: %w", err)
			}
			imp.libs = append(imp.libs, p)
		}
		for _, v := range opts.ExtVars {
			if v.Code != nil && *v.Code {
				vm.ExtCode(v.Name, v.Value)
			} else {
				vm.ExtVar(v.Name, v.Value)
			}
		}
		for _, v := range opts.TLAs {
			if v.Code != nil && *v.Code {
				vm.TLACode(v.Name, v.Value)
			} else {
				vm.TLAVar(v.Name, v.Value)
			}
		}
	}
	return &jsonnetEvaluator{vm: vm, imp: imp}, nil
}

// eval evaluates one file (a path in the tree) and returns its objects and the JSON size.
//
// go-jsonnet cannot be interrupted: the evaluation runs in its own goroutine and eval returns when ctx
// ends, but the goroutine runs on until the VM finishes (its reads of the tree fail fast once ctx is
// done, so an import-heavy program stops early; a pure CPU loop does not). MaxStack bounds recursion;
// nothing bounds the VM's memory.
func (e *jsonnetEvaluator) eval(ctx context.Context, file string) (parsed, error) {
	out, err := guarded(ctx, "jsonnet", func() (string, error) {
		node, _, err := e.vm.ImportAST("", file)
		if err != nil {
			return "", err
		}
		return e.vm.Evaluate(node)
	})
	if err != nil {
		if ctx.Err() != nil {
			return parsed{}, fmt.Errorf("jsonnet %s: %w", file, ctx.Err())
		}
		return parsed{}, e.jsonnetError(file, err)
	}
	var v any
	if err := utiljson.Unmarshal([]byte(out), &v); err != nil {
		return parsed{}, &Error{File: file, Err: fmt.Errorf("jsonnet output: %w", err)}
	}
	var p parsed
	p.bytes = len(out)
	if err := appendObjects(&p.objs, file, 0, v, true); err != nil {
		return parsed{}, err
	}
	return p, nil
}

// jsonnetError turns a go-jsonnet error into *Error with the innermost location, and keeps a refused
// import visible to errors.Is (go-jsonnet flattens importer errors into text).
func (e *jsonnetEvaluator) jsonnetError(file string, err error) error {
	re := &Error{File: file, Err: err}
	var rt jsonnet.RuntimeError
	var loc interface{ Loc() ast.LocationRange }
	switch {
	case errors.As(err, &rt):
		re.Err = errors.New(rt.Msg)
		// The trace runs from the outermost frame to the innermost, where the error is.
		for i := len(rt.StackTrace) - 1; i >= 0; i-- {
			if l := rt.StackTrace[i].Loc; l.FileName != "" && l.Begin.Line > 0 {
				re.File, re.Line = l.FileName, l.Begin.Line
				break
			}
		}
	case errors.As(err, &loc):
		l := loc.Loc()
		if l.FileName != "" {
			re.File = l.FileName
		}
		re.Line = l.Begin.Line
		msg := err.Error()
		if l.Begin.Line > 0 {
			msg = strings.TrimPrefix(msg, l.String())
		}
		re.Err = errors.New(strings.TrimSpace(msg))
	}
	if esc := e.imp.escapeError(); esc != nil {
		re.Err = fmt.Errorf("%v: %w", re.Err, esc)
	}
	return re
}

// fsImporter resolves Jsonnet imports in the tree: relative to the importing file, then in each lib
// directory (paths from the repository root). Absolute paths and paths that climb out of the tree are
// refused. foundAt values are tree paths, so error locations name files in the repository.
type fsImporter struct {
	ctx     context.Context
	fsys    fs.FS
	libs    []string
	maxFile int64

	mu      sync.Mutex
	cache   map[string]importEntry // tree path -> contents (or a miss)
	escaped error
}

type importEntry struct {
	contents jsonnet.Contents
	found    bool
}

var _ jsonnet.Importer = (*fsImporter)(nil)

func (im *fsImporter) Import(importedFrom, importedPath string) (jsonnet.Contents, string, error) {
	if err := im.ctx.Err(); err != nil {
		return jsonnet.Contents{}, "", err
	}
	if path.IsAbs(importedPath) || hasDriveLetter(importedPath) {
		return jsonnet.Contents{}, "", im.escape(importedPath)
	}
	dirs := make([]string, 0, 1+len(im.libs))
	if importedFrom == "" {
		dirs = append(dirs, ".")
	} else {
		dirs = append(dirs, path.Dir(importedFrom))
	}
	dirs = append(dirs, im.libs...)
	for _, d := range dirs {
		p, err := joinInTree(d, importedPath)
		if err != nil {
			return jsonnet.Contents{}, "", im.escape(importedPath)
		}
		c, ok, err := im.read(p)
		if err != nil {
			return jsonnet.Contents{}, "", err
		}
		if ok {
			return c, p, nil
		}
	}
	return jsonnet.Contents{}, "", fmt.Errorf("import %q: %w", importedPath, ErrNotFound)
}

func (im *fsImporter) read(p string) (jsonnet.Contents, bool, error) {
	im.mu.Lock()
	defer im.mu.Unlock()
	if e, ok := im.cache[p]; ok {
		return e.contents, e.found, nil
	}
	data, err := readFileLimited(im.fsys, p, im.maxFile)
	var e importEntry
	switch {
	case err == nil:
		e = importEntry{contents: jsonnet.MakeContentsRaw(data), found: true}
	case errors.Is(err, ErrNotFound):
		// a miss: try the next directory
	default:
		var re *Error
		if errors.As(err, &re) { // a directory: not a file to import
			break
		}
		return jsonnet.Contents{}, false, err
	}
	im.cache[p] = e
	return e.contents, e.found, nil
}

func (im *fsImporter) escape(p string) error {
	err := fmt.Errorf("import %q: %w", p, ErrPathEscape)
	im.mu.Lock()
	if im.escaped == nil {
		im.escaped = err
	}
	im.mu.Unlock()
	return err
}

func (im *fsImporter) escapeError() error {
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.escaped
}
