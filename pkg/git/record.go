package git

import (
	"sort"
	"sync"
)

// RecordingFS is a view of a TreeFS that remembers every path opened, read, listed or stat'ed through it,
// including the symlinks followed and the paths they led to. A render cache stores Paths with its result;
// at a later commit, if TreeHashes over those paths is unchanged, the render read exactly the same bytes
// and its result can be reused.
type RecordingFS struct {
	*TreeFS
}

// Record returns a recording view of t. Views share the tree's object reads; each records separately.
func (t *TreeFS) Record() *RecordingFS {
	return &RecordingFS{TreeFS: &TreeFS{core: t.core, rec: &recorder{paths: map[string]struct{}{}}}}
}

// Paths returns the recorded paths, sorted.
func (r *RecordingFS) Paths() []string {
	rec := r.rec
	rec.mu.Lock()
	defer rec.mu.Unlock()
	out := make([]string, 0, len(rec.paths))
	for p := range rec.paths {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

type recorder struct {
	mu    sync.Mutex
	paths map[string]struct{}
}

func (t *TreeFS) record(p string) {
	if t.rec == nil {
		return
	}
	t.rec.mu.Lock()
	t.rec.paths[p] = struct{}{}
	t.rec.mu.Unlock()
}
