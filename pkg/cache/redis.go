package cache

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Redis operations, as the op label of moor_cache_redis_errors_total.
const (
	opGet    = "get"
	opSet    = "set"
	opDel    = "del"
	opDecode = "decode"
)

// remote is the shared second level. Every failure is logged, counted and swallowed: the cache works
// without Redis, only less well. After a failure Redis is left alone for a short backoff, so an outage
// costs one timeout per backoff period rather than one per call, and logs once rather than per call.
type remote struct {
	client  *redis.Client
	prefix  string
	codec   *wireCodec
	clock   Clock
	backoff time.Duration
	logger  *slog.Logger
	m       *metrics

	downUntil atomic.Int64 // unix nanoseconds; 0 while Redis is believed up
}

// remoteEntry is what Redis held under a key: a value or a negative entry, and how long it has left
// (0: no expiry).
type remoteEntry struct {
	value []byte
	neg   *CachedError
	ttl   time.Duration
}

func newRemote(o Options, codec *wireCodec, logger *slog.Logger, m *metrics) *remote {
	ro := &redis.Options{
		Addr:                  o.RedisAddr,
		DB:                    o.RedisDB,
		Username:              o.RedisUsername,
		Password:              o.RedisPassword,
		Protocol:              2,
		DialTimeout:           o.RedisTimeout,
		ReadTimeout:           o.RedisTimeout,
		WriteTimeout:          o.RedisTimeout,
		PoolTimeout:           o.RedisTimeout,
		ContextTimeoutEnabled: true,
		// The cache has its own fallback; retrying a dead server only multiplies the wait.
		MaxRetries:               -1,
		DialerRetries:            1, // attempts, not retries
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	}
	if o.RedisTLS {
		host, _, _ := net.SplitHostPort(o.RedisAddr)
		ro.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host}
	}
	return &remote{
		client:  redis.NewClient(ro),
		prefix:  o.KeyPrefix,
		codec:   codec,
		clock:   o.Clock,
		backoff: DefaultRedisBackoff,
		logger:  logger,
		m:       m,
	}
}

func (r *remote) close() error { return r.client.Close() }

// available reports whether Redis is worth asking: it has not failed within the backoff period.
func (r *remote) available() bool {
	until := r.downUntil.Load()
	return until == 0 || r.clock.Now().UnixNano() >= until
}

func (r *remote) failed(ctx context.Context, op string, err error) {
	if ctx.Err() != nil {
		// The caller gave up; that says nothing about Redis.
		return
	}
	r.m.redisErrors.WithLabelValues(op).Inc()
	if op == opDecode {
		r.logger.WarnContext(ctx, "unreadable redis cache entry, treated as a miss", "error", err)
		return
	}
	if r.downUntil.Swap(r.clock.Now().Add(r.backoff).UnixNano()) == 0 {
		r.logger.WarnContext(ctx, "redis cache unavailable, continuing without it", "op", op, "error", err, "retryAfter", r.backoff)
	}
}

func (r *remote) succeeded(ctx context.Context) {
	if r.downUntil.Load() != 0 && r.downUntil.Swap(0) != 0 {
		r.logger.InfoContext(ctx, "redis cache reachable again")
	}
}

// get returns the entry under key and its remaining time to live, in one round trip.
func (r *remote) get(ctx context.Context, key string) (remoteEntry, bool) {
	if !r.available() {
		return remoteEntry{}, false
	}
	var get *redis.StringCmd
	var pttl *redis.DurationCmd
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		get = p.Get(ctx, r.prefix+key)
		pttl = p.PTTL(ctx, r.prefix+key)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		r.failed(ctx, opGet, err)
		return remoteEntry{}, false
	}
	r.succeeded(ctx)
	raw, err := get.Bytes()
	if err != nil { // redis.Nil: no such key
		return remoteEntry{}, false
	}
	value, neg, err := r.codec.decode(raw)
	if err != nil {
		r.failed(ctx, opDecode, err)
		return remoteEntry{}, false
	}
	e := remoteEntry{value: value, neg: neg}
	switch d := pttl.Val(); {
	case d == -1: // no expiry
	case d > 0:
		e.ttl = d
	default: // expired between the two commands
		return remoteEntry{}, false
	}
	return e, true
}

// set stores a value, or a negative entry when neg is not nil, for ttl (ttl <= 0: no expiry).
func (r *remote) set(ctx context.Context, key string, value []byte, neg *CachedError, ttl time.Duration) {
	if !r.available() {
		return
	}
	var payload []byte
	if neg != nil {
		payload = encodeError(neg)
	} else {
		payload = r.codec.encodeValue(value)
	}
	if err := r.client.Set(ctx, r.prefix+key, payload, max(ttl, 0)).Err(); err != nil {
		r.failed(ctx, opSet, err)
		return
	}
	r.succeeded(ctx)
}

// del is tried even while Redis is believed down: a delete that is skipped would leave a stale entry behind.
func (r *remote) del(ctx context.Context, key string) {
	if err := r.client.Del(ctx, r.prefix+key).Err(); err != nil {
		r.failed(ctx, opDel, err)
		return
	}
	r.succeeded(ctx)
}

// RedisLogger routes go-redis's own messages (connection pool dial failures and the like) to slog at warn
// level. go-redis keeps its logger in a package variable, so this package never installs it; a service's
// main may, once: redis.SetLogger(cache.RedisLogger{Logger: logger}).
type RedisLogger struct {
	Logger *slog.Logger
}

// Printf implements go-redis's logging interface.
func (l RedisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.Logger.WarnContext(ctx, "redis client", "message", fmt.Sprintf(format, v...))
}
