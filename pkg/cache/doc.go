// Package cache is the repo-server's two-level byte cache: an in-process LRU bounded in bytes, then an
// optional Redis shared by replicas. Keys are opaque strings built by the caller; values are opaque bytes.
//
// Design:
//   - Level 1 counts the bytes of keys and values (not entries) against --cache-memory-bytes, evicts the
//     least recently used first, and expires entries by an injected Clock. A value larger than the whole
//     budget is not kept in process but still goes to Redis.
//   - Level 2 (--redis) stores each entry behind a one-byte format header (raw, zstd, or negative entry),
//     under --redis-key-prefix ("moor:v1:"), with the entry's TTL set in Redis. A Redis hit fills level 1
//     for the time Redis has left on the key. Redis failures never fail a call: they are logged once per
//     outage, counted in moor_cache_redis_errors_total, and Redis is skipped for a second before it is
//     tried again.
//   - Do coalesces concurrent misses of one key into one load. Each caller waits with its own context; the
//     load's context is cancelled only when every caller has left, and a failure caused by cancellation is
//     never cached. Other failures are cached for DoOptions.ErrorTTL (10 s by default) as negative entries
//     in both levels; an ErrorCodec turns errors into a stable kind and a message and back, so callers in
//     every replica still match sentinels with errors.Is. A load that panics fails with ErrLoadPanic.
//   - DoOptions.Bypass (hard refresh) reads neither level, coalesces only with other bypassing callers,
//     and overwrites both levels with whatever the load returns.
//   - Metrics (moor_cache_*) are registered on the registry each service passes to New.
//
// Known limits:
//   - Values handed out are shared, not copied: callers must not modify them.
//   - Level 1 is one mutex-guarded list; it is not sharded. A hit costs well under a microsecond, which is
//     far below a render, so contention has not mattered.
//   - Level 2 is one Redis server (no Cluster or Sentinel); TLS verifies against the system roots only.
//     Entries in Redis are only as fresh as their TTL: Delete removes them, but nothing invalidates
//     another replica's level 1, so keys must name immutable content (a commit, a spec hash).
//   - Redis failures are swallowed by design; a Set may therefore be lost silently (see the metrics). While
//     Redis is backed off, Set skips it, so a replica may re-render what another one already stored.
//   - go-redis prints its own connection errors through a package-level logger; a main may route them to
//     slog with redis.SetLogger(cache.RedisLogger{...}). This package never touches that global.
package cache
