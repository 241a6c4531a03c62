package git

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// maxSymlinkHops bounds symlink chains, like the kernel's ELOOP limit.
const maxSymlinkHops = 40

// maxSymlinkTarget bounds the size of a symlink's target.
const maxSymlinkTarget = 4096

// Compile-time checks: a TreeFS is a complete read-only file system.
var (
	_ fs.FS         = (*TreeFS)(nil)
	_ fs.ReadDirFS  = (*TreeFS)(nil)
	_ fs.ReadFileFS = (*TreeFS)(nil)
	_ fs.StatFS     = (*TreeFS)(nil)
	_ fs.ReadLinkFS = (*TreeFS)(nil)
)

// TreeFS is one commit's tree as a read-only file system, read straight from the object store: there is
// no checkout, so trees of different commits are read concurrently. Paths are slash-separated and
// relative to the repository root, as fs.ValidPath requires. Symlinks are followed inside the tree; one
// that is absolute or leads outside the root fails with an error wrapping ErrPathEscape. Reads larger than
// the store's MaxFileBytes fail with ErrTooLarge. A TreeFS is safe for concurrent use.
type TreeFS struct {
	core *treeCore
	rec  *recorder // nil unless recording
}

// treeCore is the state shared by a TreeFS and its recording views.
type treeCore struct {
	commit  plumbing.Hash
	root    plumbing.Hash
	modTime time.Time
	maxFile int64

	mu     sync.Mutex // guards trees
	stor   *pooledStorage
	trees  map[plumbing.Hash]*treeNode
	shared *treeCache // the repository's decoded trees; trees are content-addressed, so any commit may use them
}

type treeNode struct {
	entries []object.TreeEntry // sorted by name
	index   map[string]int
}

// node is a resolved path.
type node struct {
	path string // slash-separated, "." for the root
	mode filemode.FileMode
	hash plumbing.Hash
}

// commit returns commit sha, fetching it when it is not in the store yet, and the pooled storage it was read
// with.
func (s *Store) commit(ctx context.Context, repo Repo, sha string) (*repoState, *pooledStorage, *object.Commit, error) {
	h, ok := parseSHA(sha)
	if !ok {
		return nil, nil, nil, fmt.Errorf("%w: %q is not a full commit id", ErrRevisionNotFound, sha)
	}
	st, err := s.state(repo)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := s.ensureCommit(ctx, repo, st, h); err != nil {
		return nil, nil, nil, err
	}
	stor := st.storage()
	stor.mu.Lock()
	c, err := object.GetCommit(stor.stor, h)
	stor.mu.Unlock()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: read commit %s: %w", ErrRevisionNotFound, h, err)
	}
	return st, stor, c, nil
}

func (n node) isDir() bool { return n.mode == filemode.Dir || n.mode == filemode.Submodule }

// Tree returns commit sha's tree, fetching the commit when it is not in the store yet.
func (s *Store) Tree(ctx context.Context, repo Repo, sha string) (*TreeFS, error) {
	st, stor, c, err := s.commit(ctx, repo, sha)
	if err != nil {
		return nil, err
	}
	h := c.Hash
	return &TreeFS{core: &treeCore{
		commit:  h,
		root:    c.TreeHash,
		modTime: c.Committer.When,
		maxFile: s.opts.MaxFileBytes,
		stor:    stor,
		trees:   map[plumbing.Hash]*treeNode{},
		shared:  st.trees,
	}}, nil
}

// Commit is the commit id this tree belongs to.
func (t *TreeFS) Commit() string { return t.core.commit.String() }

// Open implements fs.FS.
func (t *TreeFS) Open(name string) (fs.File, error) {
	n, err := t.resolve("open", name, true)
	if err != nil {
		return nil, err
	}
	info := t.info(n, path.Base(name))
	if n.isDir() {
		entries, err := t.readDir(n)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return &dirFile{info: info, entries: entries}, nil
	}
	data, err := t.readBlob(n.hash, t.core.maxFile)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return &file{info: info, r: bytes.NewReader(data)}, nil
}

// ReadFile implements fs.ReadFileFS.
func (t *TreeFS) ReadFile(name string) ([]byte, error) {
	n, err := t.resolve("read", name, true)
	if err != nil {
		return nil, err
	}
	if n.isDir() {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errors.New("is a directory")}
	}
	data, err := t.readBlob(n.hash, t.core.maxFile)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return data, nil
}

// ReadDir implements fs.ReadDirFS. Symlinks are listed as symlinks (type fs.ModeSymlink), as os.ReadDir
// does; Open, ReadFile and Stat follow them.
func (t *TreeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	n, err := t.resolve("readdir", name, true)
	if err != nil {
		return nil, err
	}
	if !n.isDir() {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	entries, err := t.readDir(n)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	return entries, nil
}

// Stat implements fs.StatFS; it follows symlinks.
func (t *TreeFS) Stat(name string) (fs.FileInfo, error) {
	n, err := t.resolve("stat", name, true)
	if err != nil {
		return nil, err
	}
	return t.info(n, path.Base(name)), nil
}

// Lstat implements fs.ReadLinkFS; it does not follow a final symlink.
func (t *TreeFS) Lstat(name string) (fs.FileInfo, error) {
	n, err := t.resolve("lstat", name, false)
	if err != nil {
		return nil, err
	}
	return t.info(n, path.Base(name)), nil
}

// ReadLink implements fs.ReadLinkFS: the target of symlink name, as stored.
func (t *TreeFS) ReadLink(name string) (string, error) {
	n, err := t.resolve("readlink", name, false)
	if err != nil {
		return "", err
	}
	if n.mode != filemode.Symlink {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	target, err := t.readBlob(n.hash, maxSymlinkTarget)
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: err}
	}
	return string(target), nil
}

// TreeHash returns the git object id of the tree or blob at name ("." is the root tree), without
// following symlinks: a symlink's id is that of its target text. Two commits with the same TreeHash for a
// folder have identical content below it. A path that does not exist fails with fs.ErrNotExist.
func (t *TreeFS) TreeHash(name string) (string, error) {
	if err := checkPath("treehash", name); err != nil {
		return "", err
	}
	t.core.mu.Lock()
	defer t.core.mu.Unlock()
	cur := node{path: ".", mode: filemode.Dir, hash: t.core.root}
	for _, part := range splitPath(name) {
		if cur.mode != filemode.Dir {
			return "", &fs.PathError{Op: "treehash", Path: name, Err: fs.ErrNotExist}
		}
		e, ok, err := t.entryLocked(cur.hash, part)
		if err != nil {
			return "", &fs.PathError{Op: "treehash", Path: name, Err: err}
		}
		if !ok {
			return "", &fs.PathError{Op: "treehash", Path: name, Err: fs.ErrNotExist}
		}
		cur = node{path: path.Join(cur.path, part), mode: e.Mode, hash: e.Hash}
	}
	return cur.hash.String(), nil
}

// TreeHashes returns TreeHash for each path, with "" for paths that do not exist or are not valid, so
// two commits can be compared over the set of paths a render read (see RecordingFS).
func (t *TreeFS) TreeHashes(paths []string) (map[string]string, error) {
	out := make(map[string]string, len(paths))
	for _, p := range paths {
		h, err := t.TreeHash(p)
		switch {
		case err == nil:
			out[p] = h
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrInvalid), errors.Is(err, ErrPathEscape):
			out[p] = ""
		default:
			return nil, err
		}
	}
	return out, nil
}

func checkPath(op, name string) error {
	if fs.ValidPath(name) {
		return nil
	}
	if strings.HasPrefix(name, "/") || name == ".." || strings.HasPrefix(name, "../") ||
		strings.HasSuffix(name, "/..") || strings.Contains(name, "/../") {
		return &fs.PathError{Op: op, Path: name, Err: ErrPathEscape}
	}
	return &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
}

func splitPath(name string) []string {
	if name == "." || name == "" {
		return nil
	}
	return strings.Split(name, "/")
}

// resolve walks name through the tree, following symlinks in directories and, when followLast, at the
// end. Every path it touches is recorded.
func (t *TreeFS) resolve(op, name string, followLast bool) (node, error) {
	if err := checkPath(op, name); err != nil {
		return node{}, err
	}
	t.record(name)
	t.core.mu.Lock()
	defer t.core.mu.Unlock()
	root := node{path: ".", mode: filemode.Dir, hash: t.core.root}
	parts := splitPath(name)
	cur := root
	hops := 0
	for i := 0; i < len(parts); i++ {
		if !cur.isDir() || cur.mode == filemode.Submodule {
			return node{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		e, ok, err := t.entryLocked(cur.hash, parts[i])
		if err != nil {
			return node{}, &fs.PathError{Op: op, Path: name, Err: err}
		}
		if !ok {
			return node{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		p := path.Join(cur.path, parts[i])
		last := i == len(parts)-1
		if e.Mode == filemode.Symlink && (!last || followLast) {
			hops++
			if hops > maxSymlinkHops {
				return node{}, &fs.PathError{Op: op, Path: name, Err: errors.New("too many levels of symbolic links")}
			}
			raw, err := t.readBlobLocked(e.Hash, maxSymlinkTarget)
			if err != nil {
				return node{}, &fs.PathError{Op: op, Path: name, Err: fmt.Errorf("read symlink %s: %w", p, err)}
			}
			target := string(raw)
			if path.IsAbs(target) || target == "" {
				return node{}, &fs.PathError{Op: op, Path: name,
					Err: fmt.Errorf("symlink %s -> %s: %w", p, target, ErrPathEscape)}
			}
			joined := path.Join(cur.path, target)
			if joined == ".." || strings.HasPrefix(joined, "../") {
				return node{}, &fs.PathError{Op: op, Path: name,
					Err: fmt.Errorf("symlink %s -> %s: %w", p, target, ErrPathEscape)}
			}
			t.record(p)
			rest := append(splitPath(joined), parts[i+1:]...)
			parts, i, cur = rest, -1, root
			continue
		}
		cur = node{path: p, mode: e.Mode, hash: e.Hash}
	}
	if cur.path != name {
		t.record(cur.path)
	}
	return cur, nil
}

func (t *TreeFS) entryLocked(tree plumbing.Hash, name string) (object.TreeEntry, bool, error) {
	tn, err := t.treeLocked(tree)
	if err != nil {
		return object.TreeEntry{}, false, err
	}
	i, ok := tn.index[name]
	if !ok {
		return object.TreeEntry{}, false, nil
	}
	return tn.entries[i], true, nil
}

func (t *TreeFS) treeLocked(h plumbing.Hash) (*treeNode, error) {
	if tn, ok := t.core.trees[h]; ok {
		return tn, nil
	}
	if tn := t.core.shared.get(h); tn != nil {
		t.core.trees[h] = tn
		return tn, nil
	}
	t.core.stor.mu.Lock()
	tree, err := object.GetTree(t.core.stor.stor, h)
	t.core.stor.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("read tree %s: %w", h, err)
	}
	tn := &treeNode{entries: append([]object.TreeEntry(nil), tree.Entries...), index: map[string]int{}}
	sort.Slice(tn.entries, func(i, j int) bool { return tn.entries[i].Name < tn.entries[j].Name })
	for i, e := range tn.entries {
		tn.index[e.Name] = i
	}
	t.core.trees[h] = tn
	t.core.shared.put(h, tn)
	return tn, nil
}

// treeCache shares decoded trees between a repository's TreeFS values. It is bounded by entry count and
// simply starts over when full: trees of the commits being read come back on first use.
type treeCache struct {
	mu  sync.Mutex
	m   map[plumbing.Hash]*treeNode
	max int
}

func newTreeCache(max int) *treeCache {
	return &treeCache{m: map[plumbing.Hash]*treeNode{}, max: max}
}

func (c *treeCache) get(h plumbing.Hash) *treeNode {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[h]
}

func (c *treeCache) put(h plumbing.Hash, tn *treeNode) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[h] = tn
}

func (t *TreeFS) readBlob(h plumbing.Hash, limit int64) ([]byte, error) {
	t.core.mu.Lock()
	defer t.core.mu.Unlock()
	return t.readBlobLocked(h, limit)
}

func (t *TreeFS) readBlobLocked(h plumbing.Hash, limit int64) ([]byte, error) {
	t.core.stor.mu.Lock()
	defer t.core.stor.mu.Unlock()
	obj, err := t.core.stor.stor.EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", h, err)
	}
	if obj.Size() > limit {
		return nil, fmt.Errorf("%w: file of %d bytes, limit %d", ErrTooLarge, obj.Size(), limit)
	}
	r, err := obj.Reader()
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", h, err)
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", h, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: file over the limit of %d bytes", ErrTooLarge, limit)
	}
	return data, nil
}

func (t *TreeFS) blobSize(h plumbing.Hash) int64 {
	t.core.mu.Lock()
	defer t.core.mu.Unlock()
	t.core.stor.mu.Lock()
	defer t.core.stor.mu.Unlock()
	obj, err := t.core.stor.stor.EncodedObject(plumbing.AnyObject, h)
	if err != nil {
		return 0
	}
	return obj.Size()
}

func (t *TreeFS) readDir(n node) ([]fs.DirEntry, error) {
	if n.mode == filemode.Submodule {
		return []fs.DirEntry{}, nil
	}
	t.core.mu.Lock()
	tn, err := t.treeLocked(n.hash)
	t.core.mu.Unlock()
	if err != nil {
		return nil, err
	}
	out := make([]fs.DirEntry, 0, len(tn.entries))
	for _, e := range tn.entries {
		child := node{path: path.Join(n.path, e.Name), mode: e.Mode, hash: e.Hash}
		out = append(out, &dirEntry{t: t, n: child, name: e.Name})
	}
	return out, nil
}

func (t *TreeFS) info(n node, name string) *fileInfo {
	if name == "" || name == "/" {
		name = "."
	}
	fi := &fileInfo{name: name, modTime: t.core.modTime}
	switch n.mode {
	case filemode.Dir, filemode.Submodule:
		fi.mode = fs.ModeDir | 0o555
	case filemode.Symlink:
		fi.mode = fs.ModeSymlink | 0o777
		fi.size = -1
		fi.sizeOf = func() int64 { return t.blobSize(n.hash) }
	case filemode.Executable:
		fi.mode = 0o555
		fi.size = -1
		fi.sizeOf = func() int64 { return t.blobSize(n.hash) }
	default:
		fi.mode = 0o444
		fi.size = -1
		fi.sizeOf = func() int64 { return t.blobSize(n.hash) }
	}
	return fi
}

type fileInfo struct {
	name    string
	mode    fs.FileMode
	modTime time.Time

	once   sync.Once
	size   int64
	sizeOf func() int64
}

func (f *fileInfo) Name() string       { return f.name }
func (f *fileInfo) Mode() fs.FileMode  { return f.mode }
func (f *fileInfo) ModTime() time.Time { return f.modTime }
func (f *fileInfo) IsDir() bool        { return f.mode.IsDir() }
func (f *fileInfo) Sys() any           { return nil }
func (f *fileInfo) Size() int64 {
	f.once.Do(func() {
		if f.sizeOf != nil {
			f.size = f.sizeOf()
		}
	})
	return f.size
}

type dirEntry struct {
	t    *TreeFS
	n    node
	name string
}

func (d *dirEntry) Name() string               { return d.name }
func (d *dirEntry) IsDir() bool                { return d.n.isDir() }
func (d *dirEntry) Type() fs.FileMode          { return d.t.info(d.n, d.name).Mode().Type() }
func (d *dirEntry) Info() (fs.FileInfo, error) { return d.t.info(d.n, d.name), nil }
func (d *dirEntry) String() string             { return fs.FormatDirEntry(d) }

type file struct {
	info *fileInfo
	r    *bytes.Reader
}

func (f *file) Stat() (fs.FileInfo, error)                { return f.info, nil }
func (f *file) Read(p []byte) (int, error)                { return f.r.Read(p) }
func (f *file) ReadAt(p []byte, off int64) (int, error)   { return f.r.ReadAt(p, off) }
func (f *file) Seek(off int64, whence int) (int64, error) { return f.r.Seek(off, whence) }
func (f *file) Close() error                              { return nil }

type dirFile struct {
	info    *fileInfo
	entries []fs.DirEntry
	off     int
}

func (d *dirFile) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *dirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.name, Err: errors.New("is a directory")}
}
func (d *dirFile) Close() error { return nil }
func (d *dirFile) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.entries[d.off:]
	if n <= 0 {
		d.off = len(d.entries)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	if n > len(rest) {
		n = len(rest)
	}
	d.off += n
	return rest[:n], nil
}
