package cache

import (
	"container/list"
	"sync"
	"time"
)

// evictReason labels why an entry left the in-process level.
type evictReason string

const (
	evictSize    evictReason = "size"
	evictExpired evictReason = "expired"
)

// lruEntry is one in-process entry: a value, or a negative entry (neg != nil) recording a failed load.
type lruEntry struct {
	key     string
	value   []byte
	neg     *CachedError
	expires int64 // unix nanoseconds; 0 never expires
	size    int64
}

// lru is an in-process cache bounded by the bytes of its keys and values (not by entry count), with a
// per-entry deadline read from an injected clock. Expired entries are dropped lazily: when read, or like
// any other entry when they reach the cold end. It is safe for concurrent use.
type lru struct {
	clock   Clock
	budget  int64
	onEvict func(reason evictReason, n int)

	mu    sync.Mutex
	used  int64
	ll    list.List // front is the most recently used; elements hold *lruEntry
	items map[string]*list.Element
}

func newLRU(budget int64, clock Clock, onEvict func(evictReason, int)) *lru {
	if onEvict == nil {
		onEvict = func(evictReason, int) {}
	}
	return &lru{clock: clock, budget: budget, onEvict: onEvict, items: make(map[string]*list.Element)}
}

// entrySize is what an entry costs against the budget: its key and its value (or error text).
func entrySize(key string, value []byte, neg *CachedError) int64 {
	n := int64(len(key) + len(value))
	if neg != nil {
		n += int64(len(neg.Kind) + len(neg.Message))
	}
	return n
}

// get returns the live entry for key and marks it recently used.
func (c *lru) get(key string) (lruEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return lruEntry{}, false
	}
	e := el.Value.(*lruEntry)
	if e.expires != 0 && c.clock.Now().UnixNano() >= e.expires {
		c.removeElement(el)
		c.onEvict(evictExpired, 1)
		return lruEntry{}, false
	}
	c.ll.MoveToFront(el)
	return *e, true
}

// set stores an entry that lives for ttl (ttl <= 0: until evicted). An entry larger than the whole budget is
// not stored, and any older entry under the key is dropped so a stale value is never served. It reports
// whether the entry was stored.
func (c *lru) set(key string, value []byte, neg *CachedError, ttl time.Duration) bool {
	size := entrySize(key, value, neg)
	var expires int64
	if ttl > 0 {
		expires = c.clock.Now().Add(ttl).UnixNano()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.removeElement(el)
	}
	if c.budget <= 0 || size > c.budget {
		return false
	}
	evicted := 0
	for c.used+size > c.budget {
		c.removeElement(c.ll.Back())
		evicted++
	}
	if evicted > 0 {
		c.onEvict(evictSize, evicted)
	}
	e := &lruEntry{key: key, value: value, neg: neg, expires: expires, size: size}
	c.items[key] = c.ll.PushFront(e)
	c.used += size
	return true
}

func (c *lru) delete(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.removeElement(el)
	}
}

func (c *lru) removeElement(el *list.Element) {
	e := c.ll.Remove(el).(*lruEntry)
	delete(c.items, e.key)
	c.used -= e.size
}

// stats returns the bytes in use and the number of entries.
func (c *lru) stats() (bytes int64, entries int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used, len(c.items)
}
