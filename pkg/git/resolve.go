package git

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"
)

// RevisionKind says what a revision named.
type RevisionKind string

// Revision kinds.
const (
	KindBranch RevisionKind = "branch" // a branch, or HEAD / "" (the default branch)
	KindTag    RevisionKind = "tag"
	KindCommit RevisionKind = "commit" // a full or short commit id
	KindSemver RevisionKind = "semver" // a semver constraint matched against tags
)

// Resolution is a revision resolved to a commit.
type Resolution struct {
	// SHA is the full commit id.
	SHA string
	// Kind says what the revision named.
	Kind RevisionKind
	// Ref is the full reference the revision matched ("refs/heads/main", "refs/tags/v1.2.3"); empty for
	// commit ids.
	Ref string
}

// ResolveOptions tune one Resolve.
type ResolveOptions struct {
	// NoCache bypasses the resolution cache (a hard refresh); the fresh result replaces the cached one.
	NoCache bool
}

// Refs are a remote's branches and tags, short names, sorted.
type Refs struct {
	Branches []string
	Tags     []string
	// HEAD is the default branch's short name, when the server advertises it.
	HEAD string
}

// Resolve turns a revision into a commit id: a branch, a tag, a full or short commit id, HEAD or "" (the
// default branch), or a semver constraint over tags ("1.2.*", ">=1.0.0 <2.0.0", "~1.2", "^1"; tags may
// have a "v" prefix) that picks the highest matching tag. Names are matched like git rev-parse: a full
// ref name, then a tag, then a branch. The remote's refs are listed once per ResolveTTL per repository and
// credentials; short ids need the objects, so they may fetch.
func (s *Store) Resolve(ctx context.Context, repo Repo, revision string, opts ResolveOptions) (Resolution, error) {
	revision = strings.TrimSpace(revision)
	snap, err := s.refSnapshot(ctx, repo, opts.NoCache)
	if err != nil {
		return Resolution{}, err
	}
	if res, ok := snap.memo(revision); ok {
		return res, nil
	}
	res, err := snap.set.resolve(revision)
	if errors.Is(err, errNeedObjects) {
		res, err = s.resolveCommitID(ctx, repo, revision)
	}
	if err != nil {
		return Resolution{}, fmt.Errorf("resolve %q in %s: %w", revision, repo.RedactedURL(), err)
	}
	snap.remember(revision, res)
	return res, nil
}

// ListRefs lists the remote's branches and tags (from the ls-remote cache when it is fresh).
func (s *Store) ListRefs(ctx context.Context, repo Repo) (*Refs, error) {
	snap, err := s.refSnapshot(ctx, repo, false)
	if err != nil {
		return nil, err
	}
	return snap.set.refs(), nil
}

// TestRepository checks that the remote is reachable with the credentials: nil, or one of the package's
// sentinel errors. An empty repository passes.
func (s *Store) TestRepository(ctx context.Context, repo Repo) error {
	_, err := s.refSnapshot(ctx, repo, true)
	return err
}

// resolveCommitID finds the commit a full or abbreviated id names, fetching when it is not in the store.
func (s *Store) resolveCommitID(ctx context.Context, repo Repo, id string) (Resolution, error) {
	st, err := s.state(repo)
	if err != nil {
		return Resolution{}, err
	}
	if h, ok := parseSHA(id); ok {
		if err := s.ensureCommit(ctx, repo, st, h); err != nil {
			return Resolution{}, err
		}
		return Resolution{SHA: h.String(), Kind: KindCommit}, nil
	}
	id = strings.ToLower(id)
	found, err := st.commitsWithPrefix(id)
	if err != nil {
		return Resolution{}, err
	}
	if len(found) == 0 {
		if _, err := s.fetch(ctx, repo, st, plumbing.ZeroHash); err != nil {
			return Resolution{}, err
		}
		if found, err = st.commitsWithPrefix(id); err != nil {
			return Resolution{}, err
		}
	}
	switch len(found) {
	case 0:
		return Resolution{}, fmt.Errorf("%w: no commit starts with %s", ErrRevisionNotFound, id)
	case 1:
		return Resolution{SHA: found[0].String(), Kind: KindCommit}, nil
	default:
		return Resolution{}, fmt.Errorf("%w: short id %s is ambiguous (%d commits)", ErrRevisionNotFound, id, len(found))
	}
}

func (st *repoState) commitsWithPrefix(hexPrefix string) ([]plumbing.Hash, error) {
	stor := st.readStorage()
	raw := make([]byte, len(hexPrefix)/2)
	for i := range raw {
		fmt.Sscanf(hexPrefix[2*i:2*i+2], "%02x", &raw[i])
	}
	hashes, err := stor.HashesWithPrefix(raw)
	if err != nil {
		return nil, fmt.Errorf("search object store: %w", err)
	}
	var out []plumbing.Hash
	for _, h := range hashes {
		if !strings.HasPrefix(h.String(), hexPrefix) {
			continue
		}
		if _, err := stor.EncodedObject(plumbing.CommitObject, h); err == nil {
			out = append(out, h)
		}
	}
	return out, nil
}

// errNeedObjects says a revision looks like a commit id that is not a ref tip.
var errNeedObjects = errors.New("need objects")

// refSet indexes one ls-remote answer.
type refSet struct {
	head string                   // full name HEAD points at; "" when unknown
	hash map[string]plumbing.Hash // full ref name -> commit (annotated tags peeled)
	tags []string                 // full tag names
}

func newRefSet(refs []*plumbing.Reference) *refSet {
	rs := &refSet{hash: map[string]plumbing.Hash{}}
	var headHash plumbing.Hash
	peeled := map[string]plumbing.Hash{}
	for _, r := range refs {
		name := r.Name().String()
		switch {
		case name == "HEAD" && r.Type() == plumbing.SymbolicReference:
			rs.head = r.Target().String()
		case name == "HEAD":
			headHash = r.Hash()
		case strings.HasSuffix(name, "^{}"):
			peeled[strings.TrimSuffix(name, "^{}")] = r.Hash()
		case r.Type() == plumbing.HashReference:
			rs.hash[name] = r.Hash()
		}
	}
	for name, h := range peeled {
		rs.hash[name] = h
	}
	for name := range rs.hash {
		if strings.HasPrefix(name, "refs/tags/") {
			rs.tags = append(rs.tags, name)
		}
	}
	sort.Strings(rs.tags)
	if rs.head == "" && !headHash.IsZero() {
		// No symref capability: pick the branch HEAD's commit is on, preferring main and master.
		var candidates []string
		for name, h := range rs.hash {
			if h == headHash && strings.HasPrefix(name, "refs/heads/") {
				candidates = append(candidates, name)
			}
		}
		sort.Slice(candidates, func(i, j int) bool { return rankBranch(candidates[i]) < rankBranch(candidates[j]) })
		if len(candidates) > 0 {
			rs.head = candidates[0]
		} else {
			rs.hash["HEAD"] = headHash
			rs.head = "HEAD"
		}
	}
	return rs
}

func rankBranch(name string) string {
	switch name {
	case "refs/heads/main":
		return "0"
	case "refs/heads/master":
		return "1"
	}
	return "2" + name
}

// resolve answers from the ref list alone, or returns errNeedObjects for a commit id that is no ref tip.
func (rs *refSet) resolve(revision string) (Resolution, error) {
	if revision == "" || revision == "HEAD" {
		h, ok := rs.hash[rs.head]
		if !ok {
			return Resolution{}, fmt.Errorf("%w: the remote advertises no default branch", ErrRevisionNotFound)
		}
		return Resolution{SHA: h.String(), Kind: KindBranch, Ref: rs.head}, nil
	}
	for _, name := range []string{revision, "refs/" + revision, "refs/tags/" + revision, "refs/heads/" + revision} {
		if !strings.HasPrefix(name, "refs/") {
			continue
		}
		if h, ok := rs.hash[name]; ok {
			kind := KindBranch
			if strings.HasPrefix(name, "refs/tags/") {
				kind = KindTag
			}
			return Resolution{SHA: h.String(), Kind: kind, Ref: name}, nil
		}
	}
	if len(revision) >= 7 && len(revision) <= 40 && isHex(revision) {
		lower := strings.ToLower(revision)
		var match plumbing.Hash
		n := 0
		for _, h := range rs.hash {
			if strings.HasPrefix(h.String(), lower) && h != match {
				match = h
				n++
			}
		}
		if n == 1 {
			return Resolution{SHA: match.String(), Kind: KindCommit}, nil
		}
		return Resolution{}, errNeedObjects
	}
	if c, err := semver.NewConstraint(revision); err == nil {
		var best *semver.Version
		var bestRef string
		for _, name := range rs.tags {
			v, err := semver.NewVersion(strings.TrimPrefix(name, "refs/tags/"))
			if err != nil || !c.Check(v) {
				continue
			}
			if best == nil || v.GreaterThan(best) || (v.Equal(best) && name < bestRef) {
				best, bestRef = v, name
			}
		}
		if best != nil {
			return Resolution{SHA: rs.hash[bestRef].String(), Kind: KindSemver, Ref: bestRef}, nil
		}
		return Resolution{}, fmt.Errorf("%w: no tag matches the semver constraint %q", ErrRevisionNotFound, revision)
	}
	return Resolution{}, fmt.Errorf("%w: no branch, tag or commit named %q", ErrRevisionNotFound, revision)
}

func (rs *refSet) refs() *Refs {
	out := &Refs{}
	for name := range rs.hash {
		switch {
		case strings.HasPrefix(name, "refs/heads/"):
			out.Branches = append(out.Branches, strings.TrimPrefix(name, "refs/heads/"))
		case strings.HasPrefix(name, "refs/tags/"):
			out.Tags = append(out.Tags, strings.TrimPrefix(name, "refs/tags/"))
		}
	}
	sort.Strings(out.Branches)
	sort.Strings(out.Tags)
	out.HEAD = strings.TrimPrefix(rs.head, "refs/heads/")
	return out
}

// refSnapshot is one ls-remote answer and the revisions resolved from it.
type refSnapshot struct {
	set     *refSet
	expires time.Time

	mu       sync.Mutex
	resolved map[string]Resolution
}

func (s *refSnapshot) memo(rev string) (Resolution, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.resolved[rev]
	return r, ok
}

func (s *refSnapshot) remember(rev string, r Resolution) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.resolved) < 4096 {
		s.resolved[rev] = r
	}
}

// refsCache holds ls-remote answers per (repository, credentials) for a TTL.
type refsCache struct {
	clock Clock
	ttl   time.Duration

	mu      sync.Mutex
	entries map[string]*refSnapshot
}

func newRefsCache(clock Clock, ttl time.Duration) *refsCache {
	return &refsCache{clock: clock, ttl: ttl, entries: map[string]*refSnapshot{}}
}

func (c *refsCache) get(key string) *refSnapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || !c.clock.Now().Before(e.expires) {
		return nil
	}
	return e
}

func (c *refsCache) put(key string, set *refSet) *refSnapshot {
	now := c.clock.Now()
	snap := &refSnapshot{set: set, expires: now.Add(c.ttl), resolved: map[string]Resolution{}}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= 1024 {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
	}
	c.entries[key] = snap
	return snap
}

// refSnapshot returns the cached ls-remote answer or lists the remote; concurrent callers share one listing.
func (s *Store) refSnapshot(ctx context.Context, repo Repo, noCache bool) (*refSnapshot, error) {
	key := NormalizeURL(repo.URL) + "\x00" + repo.fingerprint()
	if !noCache {
		if snap := s.refs.get(key); snap != nil {
			return snap, nil
		}
	}
	ch := s.lists.DoChan(key, func() (any, error) {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.FetchTimeout)
		defer cancel()
		refs, err := s.lsRemote(lctx, repo)
		if err != nil {
			return nil, err
		}
		return s.refs.put(key, newRefSet(refs)), nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*refSnapshot), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *Store) lsRemote(ctx context.Context, repo Repo) ([]*plumbing.Reference, error) {
	tc, err := repo.transport(s.tmp)
	if err != nil {
		return nil, err
	}
	remote := gogit.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{tc.url}})
	refs, err := remote.ListContext(ctx, &gogit.ListOptions{
		Auth:            tc.auth,
		InsecureSkipTLS: tc.insecure,
		CABundle:        tc.caBundle,
		ClientCert:      tc.clientCert,
		ClientKey:       tc.clientKey,
		ProxyOptions:    tc.proxy,
		PeelingOption:   gogit.AppendPeeled,
	})
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list refs of %s: %w", repo.RedactedURL(), scrub(classify(err), repo.secrets()...))
	}
	return refs, nil
}
