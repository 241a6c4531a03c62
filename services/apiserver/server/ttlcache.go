package server

import (
	"sync"
	"time"
)

// ttlCache remembers values by key for a while: the cluster and repository probes. The zero value is ready.
type ttlCache[T any] struct {
	mu sync.Mutex
	m  map[string]ttlEntry[T]
}

type ttlEntry[T any] struct {
	at time.Time
	v  T
}

// get returns the value stored under key less than ttl ago.
func (c *ttlCache[T]) get(key string, ttl time.Duration) (T, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || time.Since(e.at) >= ttl {
		var zero T
		return zero, false
	}
	return e.v, true
}

// put stores v under key, dated now.
func (c *ttlCache[T]) put(key string, v T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]ttlEntry[T]{}
	}
	c.m[key] = ttlEntry[T]{at: time.Now(), v: v}
}
