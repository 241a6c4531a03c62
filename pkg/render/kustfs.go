package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// kustRoot is where kustFS mounts the repository. Kustomize works with absolute paths; anything it asks
// for outside this directory is outside the repository and refused.
const kustRoot = "/repo"

// errReadOnly is returned by kustFS's write methods: a render never writes to the tree.
var errReadOnly = errors.New("the repository tree is read-only")

// kustFS is kustomize's filesys.FileSystem over the commit tree (an fs.FS), read-only, without copying
// the tree. Files in edits replace the tree's (the kustomization with the Application's overrides).
// Reads fail once ctx is done, so an abandoned build stops at its next read.
//
// When remote bases are allowed, paths in kustomize's own clone directories ($TMPDIR/kustomize-*) go to
// the disk, where kustomize's git clone puts them; nothing else on the disk is reachable.
type kustFS struct {
	ctx     context.Context
	fsys    fs.FS
	maxFile int64
	edits   map[string][]byte // tree path -> content
	disk    filesys.FileSystem
	tmp     string // prefix of kustomize's clone dirs, with remote bases allowed

	mu      sync.Mutex
	cache   map[string][]byte
	escaped error
}

var _ filesys.FileSystem = (*kustFS)(nil)

func newKustFS(ctx context.Context, fsys fs.FS, maxFile int64, allowRemote bool) *kustFS {
	k := &kustFS{ctx: ctx, fsys: fsys, maxFile: maxFile, edits: map[string][]byte{}, cache: map[string][]byte{}}
	if allowRemote {
		k.disk = filesys.MakeFsOnDisk()
		tmp := os.TempDir()
		if real, err := filepath.EvalSymlinks(tmp); err == nil {
			tmp = real
		}
		k.tmp = filepath.Join(tmp, "kustomize-")
	}
	return k
}

// abs is the kustomize path of a tree path.
func (k *kustFS) abs(treePath string) string {
	if treePath == "." {
		return kustRoot
	}
	return kustRoot + "/" + treePath
}

// resolve maps a kustomize path to a tree path; ok is false for a path outside the repository.
func (k *kustFS) resolve(p string) (string, bool) {
	p = filepath.ToSlash(p)
	if !path.IsAbs(p) {
		p = "/" + p
	}
	p = path.Clean(p)
	switch {
	case p == kustRoot:
		return ".", true
	case strings.HasPrefix(p, kustRoot+"/"):
		return p[len(kustRoot)+1:], true
	}
	return "", false
}

// onDisk reports whether p is in one of kustomize's clone directories (remote bases allowed only).
func (k *kustFS) onDisk(p string) bool {
	return k.disk != nil && strings.HasPrefix(filepath.Clean(p), k.tmp)
}

// outside records and returns the refusal of a path outside the repository.
func (k *kustFS) outside(p string) error {
	rel := strings.TrimPrefix(path.Clean("/"+filepath.ToSlash(p)), "/")
	err := fmt.Errorf("%q is outside the repository: %w", rel, ErrPathEscape)
	k.mu.Lock()
	if k.escaped == nil {
		k.escaped = err
	}
	k.mu.Unlock()
	return &fs.PathError{Op: "open", Path: p, Err: err}
}

func (k *kustFS) escapeError() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.escaped
}

func (k *kustFS) readTree(rel string) ([]byte, error) {
	if err := k.ctx.Err(); err != nil {
		return nil, err
	}
	if b, ok := k.edits[rel]; ok {
		return b, nil
	}
	k.mu.Lock()
	b, ok := k.cache[rel]
	k.mu.Unlock()
	if ok {
		return b, nil
	}
	b, err := readFileLimited(k.fsys, rel, k.maxFile)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			// kustomize tells a missing file by os.IsNotExist.
			return nil, &fs.PathError{Op: "open", Path: k.abs(rel), Err: fs.ErrNotExist}
		}
		return nil, err
	}
	k.mu.Lock()
	k.cache[rel] = b
	k.mu.Unlock()
	return b, nil
}

func (k *kustFS) stat(rel string) (fs.FileInfo, error) {
	if err := k.ctx.Err(); err != nil {
		return nil, err
	}
	if b, ok := k.edits[rel]; ok {
		return memInfo{name: path.Base(rel), size: int64(len(b))}, nil
	}
	return fs.Stat(k.fsys, rel)
}

// ReadFile implements filesys.FileSystem.
func (k *kustFS) ReadFile(p string) ([]byte, error) {
	rel, ok := k.resolve(p)
	if !ok {
		if k.onDisk(p) {
			return k.disk.ReadFile(p)
		}
		return nil, k.outside(p)
	}
	return k.readTree(rel)
}

// Open implements filesys.FileSystem.
func (k *kustFS) Open(p string) (filesys.File, error) {
	rel, ok := k.resolve(p)
	if !ok {
		if k.onDisk(p) {
			return k.disk.Open(p)
		}
		return nil, k.outside(p)
	}
	b, err := k.readTree(rel)
	if err != nil {
		return nil, err
	}
	return &memFile{Reader: bytes.NewReader(b), info: memInfo{name: path.Base(rel), size: int64(len(b))}}, nil
}

// IsDir implements filesys.FileSystem.
func (k *kustFS) IsDir(p string) bool {
	rel, ok := k.resolve(p)
	if !ok {
		if k.onDisk(p) {
			return k.disk.IsDir(p)
		}
		_ = k.outside(p)
		return false
	}
	fi, err := k.stat(rel)
	return err == nil && fi.IsDir()
}

// Exists implements filesys.FileSystem.
func (k *kustFS) Exists(p string) bool {
	rel, ok := k.resolve(p)
	if !ok {
		if k.onDisk(p) {
			return k.disk.Exists(p)
		}
		_ = k.outside(p)
		return false
	}
	_, err := k.stat(rel)
	return err == nil
}

// ReadDir implements filesys.FileSystem.
func (k *kustFS) ReadDir(p string) ([]string, error) {
	rel, ok := k.resolve(p)
	if !ok {
		if k.onDisk(p) {
			return k.disk.ReadDir(p)
		}
		return nil, k.outside(p)
	}
	if err := k.ctx.Err(); err != nil {
		return nil, err
	}
	ents, err := fs.ReadDir(k.fsys, rel)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name()
	}
	return names, nil
}

// CleanedAbs implements filesys.FileSystem: a directory, or a file's directory and name.
func (k *kustFS) CleanedAbs(p string) (filesys.ConfirmedDir, string, error) {
	rel, ok := k.resolve(p)
	if !ok {
		if k.onDisk(p) {
			return k.disk.CleanedAbs(p)
		}
		return "", "", k.outside(p)
	}
	fi, err := k.stat(rel)
	if err != nil {
		return "", "", fmt.Errorf("'%s' doesn't exist", k.abs(rel))
	}
	if fi.IsDir() {
		return filesys.ConfirmedDir(k.abs(rel)), "", nil
	}
	return filesys.ConfirmedDir(k.abs(path.Dir(rel))), path.Base(rel), nil
}

// Glob implements filesys.FileSystem.
func (k *kustFS) Glob(pattern string) ([]string, error) {
	rel, ok := k.resolve(pattern)
	if !ok {
		if k.onDisk(pattern) {
			return k.disk.Glob(pattern)
		}
		return nil, k.outside(pattern)
	}
	if err := k.ctx.Err(); err != nil {
		return nil, err
	}
	matches, err := fs.Glob(k.fsys, rel)
	if err != nil {
		return nil, err
	}
	for i, m := range matches {
		matches[i] = k.abs(m)
	}
	return matches, nil
}

// Walk implements filesys.FileSystem.
func (k *kustFS) Walk(p string, fn filepath.WalkFunc) error {
	rel, ok := k.resolve(p)
	if !ok {
		if k.onDisk(p) {
			return k.disk.Walk(p, fn)
		}
		return k.outside(p)
	}
	return fs.WalkDir(k.fsys, rel, func(q string, d fs.DirEntry, err error) error {
		if err != nil {
			return fn(k.abs(q), nil, err)
		}
		if cerr := k.ctx.Err(); cerr != nil {
			return cerr
		}
		info, ierr := d.Info()
		return fn(k.abs(q), info, ierr)
	})
}

// Create implements filesys.FileSystem; the tree is read-only.
func (k *kustFS) Create(p string) (filesys.File, error) {
	if k.onDisk(p) {
		return k.disk.Create(p)
	}
	return nil, &fs.PathError{Op: "create", Path: p, Err: errReadOnly}
}

// Mkdir implements filesys.FileSystem; the tree is read-only.
func (k *kustFS) Mkdir(p string) error {
	if k.onDisk(p) {
		return k.disk.Mkdir(p)
	}
	return &fs.PathError{Op: "mkdir", Path: p, Err: errReadOnly}
}

// MkdirAll implements filesys.FileSystem; the tree is read-only.
func (k *kustFS) MkdirAll(p string) error {
	if k.onDisk(p) {
		return k.disk.MkdirAll(p)
	}
	return &fs.PathError{Op: "mkdir", Path: p, Err: errReadOnly}
}

// RemoveAll implements filesys.FileSystem; the tree is read-only.
func (k *kustFS) RemoveAll(p string) error {
	if k.onDisk(p) {
		return k.disk.RemoveAll(p)
	}
	return &fs.PathError{Op: "remove", Path: p, Err: errReadOnly}
}

// WriteFile implements filesys.FileSystem; the tree is read-only.
func (k *kustFS) WriteFile(p string, data []byte) error {
	if k.onDisk(p) {
		return k.disk.WriteFile(p, data)
	}
	return &fs.PathError{Op: "write", Path: p, Err: errReadOnly}
}

// memFile is a read-only filesys.File over bytes.
type memFile struct {
	*bytes.Reader
	info memInfo
}

func (f *memFile) Write([]byte) (int, error)  { return 0, errReadOnly }
func (f *memFile) Close() error               { return nil }
func (f *memFile) Stat() (os.FileInfo, error) { return f.info, nil }

type memInfo struct {
	name string
	size int64
}

func (i memInfo) Name() string       { return i.name }
func (i memInfo) Size() int64        { return i.size }
func (i memInfo) Mode() fs.FileMode  { return 0o444 }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return false }
func (i memInfo) Sys() any           { return nil }
