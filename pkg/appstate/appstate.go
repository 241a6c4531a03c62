// Package appstate is where the controller publishes what the api-server shows of each Application beyond
// its status: the resource tree (nodes with parent refs, health and images) and the managed resources (target,
// live and predicted states, Secret values masked). It is stored in pkg/cache, so with Redis (--redis) the
// api-server and every controller replica read what the controller wrote; without Redis it stays in process.
package appstate

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/cache"
)

// TTL bounds how long a published state outlives its app if the controller stops publishing it.
const TTL = 24 * time.Hour

// State is one app's published view.
type State struct {
	Tree    *apiv1.ApplicationTree
	Managed []*apiv1.ResourceDiff
}

// Store publishes and reads app states.
type Store struct {
	cache *cache.Cache

	mu   sync.Mutex
	last map[string]written // by key: what was last written, so unchanged states cost no write
}

// written is a digest of a published value and when it was written.
type written struct {
	sum [32]byte
	at  time.Time
}

// rewriteAfter is how old a write may be before an unchanged state is written again: a Redis that lost its
// data (flushed, restarted without persistence) has every state back within it.
const rewriteAfter = time.Minute

// New returns a Store over c.
func New(c *cache.Cache) *Store { return &Store{cache: c, last: map[string]written{}} }

func treeKey(ns, app string) string    { return "appstate:tree:" + ns + "/" + app }
func managedKey(ns, app string) string { return "appstate:managed:" + ns + "/" + app }

// Publish stores an app's tree and managed resources; unchanged parts are not written again.
func (s *Store) Publish(ctx context.Context, ns, app string, st *State) error {
	tree, err := proto.MarshalOptions{Deterministic: true}.Marshal(st.Tree)
	if err != nil {
		return fmt.Errorf("encode tree of %s: %w", app, err)
	}
	managed, err := proto.MarshalOptions{Deterministic: true}.Marshal(&apiv1.ApplicationServiceManagedResourcesResponse{Items: st.Managed})
	if err != nil {
		return fmt.Errorf("encode managed resources of %s: %w", app, err)
	}
	s.put(ctx, treeKey(ns, app), tree)
	s.put(ctx, managedKey(ns, app), managed)
	return nil
}

func (s *Store) put(ctx context.Context, key string, val []byte) {
	now := time.Now()
	w := written{sum: sha256.Sum256(val), at: now}
	s.mu.Lock()
	prev, ok := s.last[key]
	fresh := ok && prev.sum == w.sum && now.Sub(prev.at) < rewriteAfter
	if !fresh {
		s.last[key] = w
	}
	s.mu.Unlock()
	if !fresh {
		s.cache.Set(ctx, key, val, TTL)
	}
}

// Delete forgets an app's state.
func (s *Store) Delete(ctx context.Context, ns, app string) {
	for _, k := range []string{treeKey(ns, app), managedKey(ns, app)} {
		s.cache.Delete(ctx, k)
		s.mu.Lock()
		delete(s.last, k)
		s.mu.Unlock()
	}
}

// Tree reads an app's resource tree; ok is false when none was published.
func (s *Store) Tree(ctx context.Context, ns, app string) (*apiv1.ApplicationTree, bool, error) {
	b, ok := s.cache.GetLatest(ctx, treeKey(ns, app))
	if !ok {
		return nil, false, nil
	}
	t := &apiv1.ApplicationTree{}
	if err := proto.Unmarshal(b, t); err != nil {
		return nil, false, fmt.Errorf("decode tree of %s: %w", app, err)
	}
	return t, true, nil
}

// Managed reads an app's managed resources; ok is false when none were published.
func (s *Store) Managed(ctx context.Context, ns, app string) ([]*apiv1.ResourceDiff, bool, error) {
	b, ok := s.cache.GetLatest(ctx, managedKey(ns, app))
	if !ok {
		return nil, false, nil
	}
	m := &apiv1.ApplicationServiceManagedResourcesResponse{}
	if err := proto.Unmarshal(b, m); err != nil {
		return nil, false, fmt.Errorf("decode managed resources of %s: %w", app, err)
	}
	return m.Items, true, nil
}
