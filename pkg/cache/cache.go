package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DoOptions tune one Do call.
type DoOptions struct {
	// Bypass is a hard refresh: skip both levels, run the load (coalesced only with other bypassing callers
	// of the key) and overwrite what the levels held with its result, a failure included.
	Bypass bool
	// ErrorTTL is how long a failed load is remembered as a negative entry. 0 means DefaultErrorTTL;
	// negative means failures are not cached.
	ErrorTTL time.Duration
}

// Cache is a two-level byte cache: an in-process LRU bounded in bytes, then an optional Redis shared by
// replicas. It is safe for concurrent use. Returned slices are shared with the cache and other callers:
// never modify them.
type Cache struct {
	l1      *lru
	l1On    bool
	l2      *remote // nil without Redis
	wire    *wireCodec
	codec   ErrorCodec
	flights group
	m       *metrics
	logger  *slog.Logger
}

// New builds a Cache. It registers the cache metrics on reg (nil: not registered) and logs through logger
// (nil: slog.Default()). It does not contact Redis: an unreachable Redis shows in logs and metrics, and the
// cache works in-process until Redis answers.
func New(opts Options, reg prometheus.Registerer, logger *slog.Logger) (*Cache, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	if logger == nil {
		logger = slog.Default()
	}
	c := &Cache{l1On: opts.MemoryBytes > 0, codec: opts.Codec, logger: logger}
	c.l1 = newLRU(opts.MemoryBytes, opts.Clock, func(r evictReason, n int) { c.m.evicted(r, n) })
	m, err := newMetrics(reg, c.l1)
	if err != nil {
		return nil, err
	}
	c.m = m
	c.flights.onJoin = m.coalesced.Inc
	if opts.RedisAddr != "" {
		if c.wire, err = newWireCodec(opts.RedisCompression == CompressionZstd); err != nil {
			return nil, err
		}
		c.l2 = newRemote(opts, c.wire, logger, m)
	}
	return c, nil
}

// Close releases the Redis connections. The Cache must not be used afterwards.
func (c *Cache) Close() error {
	if c.l2 == nil {
		return nil
	}
	err := c.l2.close()
	c.wire.close()
	return err
}

// Get returns the value stored under key. Negative entries read as misses.
func (c *Cache) Get(ctx context.Context, key string) ([]byte, bool) {
	if e, ok := c.getL1(key); ok {
		return e.value, e.neg == nil
	}
	e, ok := c.getL2(ctx, key)
	if !ok || e.neg != nil {
		return nil, false
	}
	return e.value, true
}

// GetLatest is Get for a key whose value another process replaces (published state, not content named by
// its hash): with Redis it asks Redis every time and keeps no copy in process, so a replacement shows at
// once; when Redis has nothing, or without Redis, it reads the in-process level, where this process's own
// Set put the value.
func (c *Cache) GetLatest(ctx context.Context, key string) ([]byte, bool) {
	if c.l2 != nil {
		e, ok := c.l2.get(ctx, key)
		if ok {
			c.m.l2Hit.Inc()
			if e.neg != nil {
				return nil, false
			}
			return e.value, true
		}
		c.m.l2Miss.Inc()
	}
	if e, ok := c.getL1(key); ok && e.neg == nil {
		return e.value, true
	}
	return nil, false
}

// Set stores a copy of value under key in both levels for ttl (ttl <= 0: until evicted). A value larger
// than the in-process budget goes to Redis only.
func (c *Cache) Set(ctx context.Context, key string, value []byte, ttl time.Duration) {
	c.store(ctx, key, bytes.Clone(value), nil, ttl)
}

// Delete removes key from both levels.
func (c *Cache) Delete(ctx context.Context, key string) {
	c.l1.delete(key)
	if c.l2 != nil {
		c.l2.del(ctx, key)
	}
}

// Do returns the value under key, loading it with fn on a miss. Lookups go to the in-process level, then
// Redis (a Redis hit fills the in-process level). On a miss, concurrent calls for the key share one run of
// fn; its result is stored in both levels for ttl (ttl <= 0: until evicted) and handed to all of them, the
// cache keeping fn's slice.
//
// When fn fails, the failure is stored as a negative entry for opts.ErrorTTL, so callers in every replica
// get the error back (hit is true) instead of running fn again; the error is rebuilt by the Options.Codec
// and matches *CachedError with errors.As. A failure caused by cancellation is not stored: fn's context
// is cancelled when every waiting caller has given up, and a caller that gives up gets its own ctx.Err().
//
// hit reports that the value (or error) came from the cache rather than from a run of fn. Redis failures
// never fail Do.
func (c *Cache) Do(ctx context.Context, key string, ttl time.Duration, opts DoOptions, fn func(context.Context) ([]byte, error)) (value []byte, hit bool, err error) {
	if !opts.Bypass {
		if e, ok := c.getL1(key); ok {
			return c.answer(e.value, e.neg)
		}
	}
	res, err := c.flights.do(ctx, flightKey{key: key, bypass: opts.Bypass}, func(lctx context.Context) result {
		return c.load(lctx, key, ttl, opts, fn)
	})
	if err != nil {
		return nil, false, err
	}
	return res.value, res.hit, res.err
}

// load runs inside a flight: it looks in the levels again (an earlier flight may just have filled them, and
// only one caller per key should ask Redis), then runs fn and stores what it returned.
func (c *Cache) load(ctx context.Context, key string, ttl time.Duration, opts DoOptions, fn func(context.Context) ([]byte, error)) result {
	if !opts.Bypass {
		if e, ok := c.l1.get(key); ok {
			return c.result(e.value, e.neg)
		}
		if e, ok := c.getL2(ctx, key); ok {
			return c.result(e.value, e.neg)
		}
	}
	value, err := c.call(ctx, fn)
	if err == nil {
		c.m.loadOK.Inc()
		c.store(ctx, key, value, nil, ttl)
		return result{value: value}
	}
	c.m.loadErr.Inc()
	errorTTL := opts.ErrorTTL
	if errorTTL == 0 {
		errorTTL = DefaultErrorTTL
	}
	if errorTTL < 0 || ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return result{err: err}
	}
	kind, msg := c.codec.Encode(err)
	c.store(ctx, key, nil, &CachedError{Kind: kind, Message: truncateMessage(msg)}, errorTTL)
	return result{err: err}
}

// call runs fn, turning a panic into ErrLoadPanic so it reaches every waiting caller instead of crashing
// the process from the flight's goroutine.
func (c *Cache) call(ctx context.Context, fn func(context.Context) ([]byte, error)) (value []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			c.logger.ErrorContext(ctx, "cache load panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			value, err = nil, fmt.Errorf("%w: %v", ErrLoadPanic, r)
		}
	}()
	return fn(ctx)
}

// store writes both levels. It uses a context detached from cancellation: a value that was worth computing
// is worth keeping even if every caller has left.
func (c *Cache) store(ctx context.Context, key string, value []byte, neg *CachedError, ttl time.Duration) {
	if c.l1On {
		c.l1.set(key, value, neg, ttl)
	}
	if c.l2 != nil {
		c.l2.set(context.WithoutCancel(ctx), key, value, neg, ttl)
	}
}

func (c *Cache) getL1(key string) (lruEntry, bool) {
	if !c.l1On {
		return lruEntry{}, false
	}
	e, ok := c.l1.get(key)
	if !ok {
		c.m.l1Miss.Inc()
		return e, false
	}
	c.m.l1Hit.Inc()
	if e.neg != nil {
		c.m.l1NegHit.Inc()
	}
	return e, true
}

// getL2 reads Redis and copies a hit into the in-process level for the time Redis has left on it.
func (c *Cache) getL2(ctx context.Context, key string) (remoteEntry, bool) {
	if c.l2 == nil {
		return remoteEntry{}, false
	}
	e, ok := c.l2.get(ctx, key)
	if !ok {
		c.m.l2Miss.Inc()
		return e, false
	}
	c.m.l2Hit.Inc()
	if e.neg != nil {
		c.m.l2NegHit.Inc()
	}
	if c.l1On {
		c.l1.set(key, e.value, e.neg, e.ttl)
	}
	return e, true
}

func (c *Cache) answer(value []byte, neg *CachedError) ([]byte, bool, error) {
	r := c.result(value, neg)
	return r.value, r.hit, r.err
}

func (c *Cache) result(value []byte, neg *CachedError) result {
	if neg != nil {
		return result{hit: true, err: c.codec.Decode(neg.Kind, neg.Message)}
	}
	return result{value: value, hit: true}
}
