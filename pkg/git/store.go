package git

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"golang.org/x/sync/singleflight"

	"github.com/moorcd/moor/pkg/render"
)

// Defaults for Options.
const (
	DefaultFetchTimeout     = 5 * time.Minute
	DefaultMaxRepoBytes     = 2 << 30
	DefaultMaxFileBytes     = render.DefaultMaxFileBytes
	DefaultResolveTTL       = 3 * time.Minute
	DefaultObjectCacheBytes = 16 << 20
)

// Clock tells the time; tests inject a fake one to expire cached resolutions without sleeping.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Options configure a Store. Zero values take the defaults.
type Options struct {
	// Root is the directory holding one bare object store per repository. Required.
	Root string
	// FetchTimeout bounds one fetch or ls-remote. Default 5 minutes.
	FetchTimeout time.Duration
	// MaxRepoBytes caps the on-disk size of one repository's object store; a fetch that would exceed it is
	// stopped while it streams and fails with ErrTooLarge. Default 2 GiB.
	MaxRepoBytes int64
	// MaxFileBytes caps one file read from a Tree. Default render.DefaultMaxFileBytes.
	MaxFileBytes int64
	// ResolveTTL is how long an ls-remote result, and the revisions resolved from it, are reused.
	// Default 3 minutes.
	ResolveTTL time.Duration
	// ObjectCacheBytes bounds the in-memory cache of decoded objects shared by the Trees of one
	// repository. Default 16 MiB.
	ObjectCacheBytes int64
	// Clock defaults to the system clock.
	Clock Clock
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.FetchTimeout <= 0 {
		o.FetchTimeout = DefaultFetchTimeout
	}
	if o.MaxRepoBytes <= 0 {
		o.MaxRepoBytes = DefaultMaxRepoBytes
	}
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = DefaultMaxFileBytes
	}
	if o.ResolveTTL <= 0 {
		o.ResolveTTL = DefaultResolveTTL
	}
	if o.ObjectCacheBytes <= 0 {
		o.ObjectCacheBytes = DefaultObjectCacheBytes
	}
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Store keeps one bare object store per normalized repository URL under Options.Root, resolves revisions
// with ls-remote, fetches what is missing, and serves commits as read-only trees. It is safe for
// concurrent use; fetches of one repository are coalesced and serialized, reads never wait for a fetch.
type Store struct {
	opts Options
	tmp  string

	mu    sync.Mutex
	repos map[string]*repoState

	fetches singleflight.Group
	lists   singleflight.Group
	refs    *refsCache
}

// repoState is one repository's object store.
type repoState struct {
	url   string // normalized
	dir   string
	cache cache.Object // decoded objects, shared by this repository's Trees (cache.ObjectLRU is goroutine-safe)

	initOnce sync.Once
	initErr  error
	fetchMu  sync.Mutex   // one writer at a time
	fetchSeq atomic.Int64 // incremented when a fetch starts
	packGen  atomic.Int64 // incremented when a fetch ends: storages opened before it miss its packs

	poolMu sync.Mutex
	pool   *storagePool
	trees  *treeCache
	known  sync.Map // plumbing.Hash of commits seen in the store
}

// storagePool holds a few open storages of one pack generation. Opening a storage is cheap, but its first
// read loads every pack index; pooling makes that once per generation and slot instead of once per Tree.
type storagePool struct {
	gen   int64
	slots []*pooledStorage
	next  atomic.Uint64
}

// pooledStorage is one open storage; mu serializes its use (go-git storage is not goroutine-safe).
type pooledStorage struct {
	mu   sync.Mutex
	stor *filesystem.Storage
}

// storage returns a pooled storage of the current pack generation, round-robin.
func (st *repoState) storage() *pooledStorage {
	gen := st.packGen.Load()
	st.poolMu.Lock()
	p := st.pool
	if p == nil || p.gen != gen {
		p = &storagePool{gen: gen, slots: make([]*pooledStorage, 2*runtime.GOMAXPROCS(0))}
		for i := range p.slots {
			p.slots[i] = &pooledStorage{stor: st.readStorage()}
		}
		st.pool = p
	}
	st.poolMu.Unlock()
	return p.slots[p.next.Add(1)%uint64(len(p.slots))]
}

// NewStore creates the root directory and returns a Store.
func NewStore(opts Options) (*Store, error) {
	opts = opts.withDefaults()
	if opts.Root == "" {
		return nil, errors.New("git store: root directory is required")
	}
	tmp := filepath.Join(opts.Root, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, fmt.Errorf("create git store root: %w", err)
	}
	return &Store{
		opts:  opts,
		tmp:   tmp,
		repos: map[string]*repoState{},
		refs:  newRefsCache(opts.Clock, opts.ResolveTTL),
	}, nil
}

func (s *Store) state(repo Repo) (*repoState, error) {
	norm := NormalizeURL(repo.URL)
	if norm == "" {
		return nil, fmt.Errorf("%w: empty URL", ErrInvalidRepo)
	}
	s.mu.Lock()
	st, ok := s.repos[norm]
	if !ok {
		st = &repoState{
			url:   norm,
			dir:   filepath.Join(s.opts.Root, "repos", storeKey(norm)),
			cache: cache.NewObjectLRU(cache.FileSize(s.opts.ObjectCacheBytes)),
			trees: newTreeCache(100_000),
		}
		s.repos[norm] = st
	}
	s.mu.Unlock()
	st.initOnce.Do(func() { st.initErr = st.init() })
	if st.initErr != nil {
		return nil, st.initErr
	}
	return st, nil
}

func (st *repoState) init() error {
	if err := os.MkdirAll(st.dir, 0o700); err != nil {
		return fmt.Errorf("create object store: %w", err)
	}
	stor := filesystem.NewStorage(osfs.New(st.dir), cache.NewObjectLRU(0))
	if _, err := gogit.Init(stor, nil); err != nil && !errors.Is(err, gogit.ErrRepositoryAlreadyExists) {
		return fmt.Errorf("init object store: %w", err)
	}
	// The normalized URL carries no secrets; it tells an operator which directory is which.
	_ = os.WriteFile(filepath.Join(st.dir, "moor-url"), []byte(st.url+"\n"), 0o600)
	return nil
}

// readStorage opens the object store for reading. Each reader gets its own storage because go-git's
// filesystem storage is not safe for concurrent use; the decoded-object cache is shared.
func (st *repoState) readStorage() *filesystem.Storage {
	return filesystem.NewStorageWithOptions(osfs.New(st.dir), st.cache, filesystem.Options{})
}

func (st *repoState) hasCommit(h plumbing.Hash) bool {
	if _, ok := st.known.Load(h); ok {
		return true // objects are never removed from the store
	}
	ps := st.storage()
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if _, err := ps.stor.EncodedObject(plumbing.CommitObject, h); err != nil {
		return false
	}
	st.known.Store(h, struct{}{})
	return true
}

// ensureCommit makes sure commit h is in the store, fetching when it is not. A fetch that was already
// running when the call began may predate the commit, so it is followed by one fresh fetch.
func (s *Store) ensureCommit(ctx context.Context, repo Repo, st *repoState, h plumbing.Hash) error {
	for {
		if st.hasCommit(h) {
			return nil
		}
		before := st.fetchSeq.Load()
		started, err := s.fetch(ctx, repo, st, h)
		if err != nil {
			return err
		}
		if st.hasCommit(h) {
			return nil
		}
		if started > before {
			return fmt.Errorf("%w: commit %s is not reachable from any branch or tag of %s",
				ErrRevisionNotFound, h, repo.RedactedURL())
		}
	}
}

// fetch runs one fetch of all branches and tags, shared by concurrent callers with the same credentials.
// It returns the sequence number of the fetch it joined.
func (s *Store) fetch(ctx context.Context, repo Repo, st *repoState, want plumbing.Hash) (int64, error) {
	ch := s.fetches.DoChan(st.url+"\x00"+repo.fingerprint(), func() (any, error) {
		// The fetch outlives a caller that gives up, so the callers still waiting are not failed; it is
		// bounded by FetchTimeout.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.FetchTimeout)
		defer cancel()
		st.fetchMu.Lock()
		defer st.fetchMu.Unlock()
		seq := st.fetchSeq.Add(1)
		if !want.IsZero() && st.hasCommit(want) {
			return seq, nil // a fetch that just finished brought it
		}
		defer st.packGen.Add(1)
		return seq, s.doFetch(fctx, repo, st, want)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return 0, res.Err
		}
		return res.Val.(int64), nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (s *Store) doFetch(ctx context.Context, repo Repo, st *repoState, want plumbing.Hash) (err error) {
	log := s.opts.Logger.With("repo", repo.RedactedURL())
	start := s.opts.Clock.Now()
	defer func() {
		if err != nil {
			cleanTempPacks(st.dir)
			log.WarnContext(ctx, "git fetch failed", "error", err)
			return
		}
		log.DebugContext(ctx, "git fetch done", "duration", s.opts.Clock.Now().Sub(start))
	}()
	tc, err := repo.transport(s.tmp)
	if err != nil {
		return err
	}
	used, err := dirBytes(filepath.Join(st.dir, "objects"))
	if err != nil {
		return fmt.Errorf("measure object store: %w", err)
	}
	remaining := s.opts.MaxRepoBytes - used
	if remaining <= 0 {
		return fmt.Errorf("%w: object store of %s holds %d bytes, cap %d", ErrTooLarge, repo.RedactedURL(), used,
			s.opts.MaxRepoBytes)
	}
	stor := &limitedStorage{Storage: filesystem.NewStorage(osfs.New(st.dir), cache.NewObjectLRU(1<<20)), limit: remaining}
	remote := gogit.NewRemote(stor, &config.RemoteConfig{Name: "origin", URLs: []string{tc.url}})
	opts := &gogit.FetchOptions{
		RemoteName: "origin",
		RefSpecs: []config.RefSpec{
			"+refs/heads/*:refs/heads/*",
			"+refs/tags/*:refs/tags/*",
		},
		Tags:            gogit.NoTags,
		Force:           true,
		Auth:            tc.auth,
		InsecureSkipTLS: tc.insecure,
		CABundle:        tc.caBundle,
		ClientCert:      tc.clientCert,
		ClientKey:       tc.clientKey,
		ProxyOptions:    tc.proxy,
	}
	err = remote.FetchContext(ctx, opts)
	if stor.exceeded.Load() {
		return fmt.Errorf("fetch %s: %w: over the cap of %d bytes", repo.RedactedURL(), ErrTooLarge, s.opts.MaxRepoBytes)
	}
	switch {
	case err == nil, errors.Is(err, gogit.NoErrAlreadyUpToDate):
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return fmt.Errorf("fetch %s: %w: the remote repository is empty", repo.RedactedURL(), ErrRevisionNotFound)
	default:
		return fmt.Errorf("fetch %s: %w", repo.RedactedURL(), scrub(classify(err), repo.secrets()...))
	}
	st.packGen.Add(1) // storages opened before this fetch do not see its pack
	if want.IsZero() || st.hasCommit(want) {
		return nil
	}
	// A commit reachable only from other refs (pull requests, notes): ask for it by id when the server
	// allows that; most do not over protocol v0, so failure here is not an error.
	opts.RefSpecs = []config.RefSpec{config.RefSpec(want.String() + ":refs/moor/" + want.String())}
	if ferr := remote.FetchContext(ctx, opts); ferr != nil && !errors.Is(ferr, gogit.NoErrAlreadyUpToDate) {
		log.DebugContext(ctx, "git fetch by commit id not possible", "revision", want.String(), "error", scrub(ferr, repo.secrets()...))
		cleanTempPacks(st.dir)
	}
	if stor.exceeded.Load() {
		return fmt.Errorf("fetch %s: %w: over the cap of %d bytes", repo.RedactedURL(), ErrTooLarge, s.opts.MaxRepoBytes)
	}
	return nil
}

// limitedStorage stops a fetch once the incoming pack exceeds the bytes left under the size cap. go-git
// streams a fetched pack into the storer's PackfileWriter, so this bounds the transfer itself, not only
// what remains on disk.
type limitedStorage struct {
	*filesystem.Storage
	limit    int64
	exceeded atomic.Bool
}

func (l *limitedStorage) PackfileWriter() (io.WriteCloser, error) {
	w, err := l.Storage.PackfileWriter()
	if err != nil {
		return nil, err
	}
	return &limitedWriter{w: w, left: l.limit, exceeded: &l.exceeded}, nil
}

type limitedWriter struct {
	w        io.WriteCloser
	left     int64
	exceeded *atomic.Bool
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.left {
		l.exceeded.Store(true)
		return 0, ErrTooLarge
	}
	l.left -= int64(len(p))
	return l.w.Write(p)
}

func (l *limitedWriter) Close() error { return l.w.Close() }

// cleanTempPacks removes the temporary pack files an interrupted fetch leaves behind.
func cleanTempPacks(dir string) {
	matches, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "tmp_*"))
	for _, m := range matches {
		_ = os.Remove(m)
	}
}

func dirBytes(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err == nil {
				total += info.Size()
			}
		}
		return nil
	})
	return total, err
}

// parseSHA reads a full 40-character hex commit id.
func parseSHA(sha string) (plumbing.Hash, bool) {
	if len(sha) != 40 || !isHex(sha) {
		return plumbing.ZeroHash, false
	}
	return plumbing.NewHash(strings.ToLower(sha)), true
}

func isHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return s != ""
}
