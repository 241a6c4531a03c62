package cache_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/moorcd/moor/pkg/cache"
	"github.com/moorcd/moor/test/redistest"
)

// manifests returns n bytes of YAML-like text, which compresses the way rendered manifests do.
func manifests(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%d\n  namespace: default\ndata:\n  key: value-%d\n---\n", i, i)
	}
	return b.Bytes()[:n]
}

func redisOptions(srv *redistest.Server, mutate ...func(*cache.Options)) cache.Options {
	o := *cache.NewOptions()
	o.RedisAddr = srv.Addr
	o.MemoryBytes = 1 << 20
	o.Codec = testCodec
	for _, m := range mutate {
		m(&o)
	}
	return o
}

func TestRedisRoundTripAndFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		compression string
		value       []byte
		wantFormat  byte
		smaller     bool
	}{
		{name: "zstd compresses a large value", compression: cache.CompressionZstd, value: manifests(64 << 10), wantFormat: 0x02, smaller: true},
		{name: "zstd leaves a small value raw", compression: cache.CompressionZstd, value: []byte("kind: Namespace"), wantFormat: 0x01},
		{name: "none stores raw", compression: cache.CompressionNone, value: manifests(64 << 10), wantFormat: 0x01},
		{name: "empty value", compression: cache.CompressionZstd, value: []byte{}, wantFormat: 0x01},
	}
	srv := redistest.Start(t)
	raw := redisClient(t, srv)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			key := fmt.Sprintf("k%d", i)
			writer := newCache(t, redisOptions(srv, func(o *cache.Options) { o.RedisCompression = tt.compression }))
			writer.Set(t.Context(), key, tt.value, time.Hour)

			stored, err := raw.Get(t.Context(), cache.DefaultKeyPrefix+key).Bytes()
			if err != nil {
				t.Fatalf("raw GET under the prefix: %v", err)
			}
			if stored[0] != tt.wantFormat {
				t.Errorf("format byte = %#x, want %#x", stored[0], tt.wantFormat)
			}
			if tt.smaller && len(stored) >= len(tt.value)/4 {
				t.Errorf("stored %d bytes for a %d-byte value, want under a quarter", len(stored), len(tt.value))
			}
			if ttl := raw.PTTL(t.Context(), cache.DefaultKeyPrefix+key).Val(); ttl <= 59*time.Minute || ttl > time.Hour {
				t.Errorf("Redis TTL = %v, want about an hour", ttl)
			}

			// A reader with the other compression setting reads every format.
			reader := newCache(t, redisOptions(srv, func(o *cache.Options) { o.RedisCompression = cache.CompressionNone }))
			if got := mustGet(t, reader, key); !bytes.Equal(got, tt.value) {
				t.Fatalf("read back %d bytes, want the %d written", len(got), len(tt.value))
			}
			reader.wantMetric(t, 1, "moor_cache_hits_total", "level=l2")
		})
	}
}

func TestRedisUnknownFormatIsAMiss(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	raw := redisClient(t, srv)
	raw.Set(t.Context(), cache.DefaultKeyPrefix+"future", []byte{0x7f, 'x'}, 0)
	raw.Set(t.Context(), cache.DefaultKeyPrefix+"corrupt", []byte{0x02, 'n', 'o', 't', 'z', 's', 't', 'd'}, 0)
	c := newCache(t, redisOptions(srv))
	for _, k := range []string{"future", "corrupt"} {
		if _, ok := c.Get(t.Context(), k); ok {
			t.Errorf("Get(%q): hit on an unreadable entry", k)
		}
	}
	c.wantMetric(t, 2, "moor_cache_redis_errors_total", "op=decode")
	load := &counter{value: []byte("fresh")}
	if v, _, err := c.Do(t.Context(), "future", time.Hour, cache.DoOptions{}, load.load); err != nil || string(v) != "fresh" {
		t.Fatalf("Do over an unreadable entry = %q, %v; want a fresh load", v, err)
	}
}

func TestTwoInstancesShareRedis(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	a := newCache(t, redisOptions(srv))
	b := newCache(t, redisOptions(srv))

	renderA := &counter{value: manifests(8 << 10)}
	if _, hit, err := a.Do(t.Context(), "app@abc", time.Hour, cache.DoOptions{}, renderA.load); err != nil || hit {
		t.Fatalf("A Do: hit = %v, err = %v; want a render", hit, err)
	}
	renderB := &counter{value: []byte("B must not render")}
	for i := range 2 {
		v, hit, err := b.Do(t.Context(), "app@abc", time.Hour, cache.DoOptions{}, renderB.load)
		if err != nil || !hit || !bytes.Equal(v, renderA.value) {
			t.Fatalf("B Do %d: hit = %v, err = %v, %d bytes; want A's render", i, hit, err, len(v))
		}
	}
	if renderA.runs.Load() != 1 || renderB.runs.Load() != 0 {
		t.Fatalf("renders: A %d, B %d; want 1 and 0", renderA.runs.Load(), renderB.runs.Load())
	}
	b.wantMetric(t, 1, "moor_cache_hits_total", "level=l2")
	b.wantMetric(t, 1, "moor_cache_hits_total", "level=l1") // the L2 hit filled B's L1

	// A failure rendered by A is replayed by B, sentinel and all.
	failA := &counter{err: fmt.Errorf("parse deploy.yaml line 4: %w", errInvalid)}
	a.Do(t.Context(), "app@bad", time.Hour, cache.DoOptions{}, failA.load)
	_, hit, err := b.Do(t.Context(), "app@bad", time.Hour, cache.DoOptions{}, renderB.load)
	if !hit || !errors.Is(err, errInvalid) || err.Error() != failA.err.Error() || renderB.runs.Load() != 0 {
		t.Fatalf("B on A's failure: hit = %v, err = %v; want the negative entry", hit, err)
	}
	b.wantMetric(t, 1, "moor_cache_negative_hits_total", "level=l2")
	raw := redisClient(t, srv)
	if ttl := raw.PTTL(t.Context(), cache.DefaultKeyPrefix+"app@bad").Val(); ttl <= 0 || ttl > cache.DefaultErrorTTL {
		t.Fatalf("negative entry TTL in Redis = %v, want at most %v", ttl, cache.DefaultErrorTTL)
	}

	// A hard refresh on B overwrites what A sees.
	fresh := &counter{value: []byte("refreshed")}
	b.Do(t.Context(), "app@abc", time.Hour, cache.DoOptions{Bypass: true}, fresh.load)
	a.Delete(t.Context(), "nothing") // Delete of a missing key is fine
	c := newCache(t, redisOptions(srv))
	if got := mustGet(t, c, "app@abc"); string(got) != "refreshed" {
		t.Fatalf("a third instance reads %q after B's hard refresh, want %q", got, "refreshed")
	}
	b.Delete(t.Context(), "app@abc")
	if n := raw.Exists(t.Context(), cache.DefaultKeyPrefix+"app@abc").Val(); n != 0 {
		t.Fatalf("key still in Redis after Delete")
	}
}

func TestRedisDownFallsBackToL1(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	c := newCache(t, redisOptions(srv))
	c.Set(t.Context(), "before", []byte("v"), time.Hour)
	srv.Stop()

	load := &counter{value: []byte("rendered")}
	for i, wantHit := range []bool{false, true} {
		v, hit, err := c.Do(t.Context(), "k", time.Hour, cache.DoOptions{}, load.load)
		if err != nil || hit != wantHit || string(v) != "rendered" {
			t.Fatalf("Do %d with Redis down = %q, %v, %v; want %q, hit %v", i, v, hit, err, "rendered", wantHit)
		}
	}
	mustGet(t, c, "before")
	c.Set(t.Context(), "after", []byte("v"), time.Hour)
	mustGet(t, c, "after")
	c.Delete(t.Context(), "after")
	if load.runs.Load() != 1 {
		t.Fatalf("load ran %d times, want 1", load.runs.Load())
	}
	if n := c.metric(t, "moor_cache_redis_errors_total", "op=get") + c.metric(t, "moor_cache_redis_errors_total", "op=del"); n < 1 {
		t.Fatalf("no Redis errors counted with Redis down")
	}
}

func TestRedisUnreachableFromStart(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens here now
	c := newCache(t, cache.Options{MemoryBytes: 1 << 20, RedisAddr: addr})
	v, _, err := c.Do(t.Context(), "k", time.Hour, cache.DoOptions{}, (&counter{value: []byte("v")}).load)
	if err != nil || string(v) != "v" {
		t.Fatalf("Do = %q, %v; want the load's value", v, err)
	}
	mustGet(t, c, "k")
}

func TestValueOverL1BudgetGoesToRedisOnly(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	c := newCache(t, redisOptions(srv, func(o *cache.Options) { o.MemoryBytes = 1 << 10 }))
	big := []byte(strings.Repeat("x", 4<<10))
	load := &counter{value: big}
	for i := range 2 {
		v, _, err := c.Do(t.Context(), "big", time.Hour, cache.DoOptions{}, load.load)
		if err != nil || !bytes.Equal(v, big) {
			t.Fatalf("Do %d: err = %v, %d bytes", i, err, len(v))
		}
	}
	if load.runs.Load() != 1 {
		t.Fatalf("load ran %d times, want 1 (the second call should hit Redis)", load.runs.Load())
	}
	c.wantMetric(t, 0, "moor_cache_l1_bytes")
	c.wantMetric(t, 1, "moor_cache_hits_total", "level=l2")
	if n := redisClient(t, srv).Exists(t.Context(), cache.DefaultKeyPrefix+"big").Val(); n != 1 {
		t.Fatalf("big value not in Redis")
	}
}

func TestKeyPrefixAndDBSeparate(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	tests := []struct {
		name   string
		mutate func(*cache.Options)
	}{
		{name: "another prefix", mutate: func(o *cache.Options) { o.KeyPrefix = "moor:v2:" }},
		{name: "another database", mutate: func(o *cache.Options) { o.RedisDB = 3 }},
	}
	writer := newCache(t, redisOptions(srv))
	writer.Set(t.Context(), "k", []byte("v"), time.Hour)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newCache(t, redisOptions(srv, tt.mutate))
			if _, ok := c.Get(t.Context(), "k"); ok {
				t.Fatalf("Get found another namespace's entry")
			}
		})
	}
}

func TestRedisLoggerAdapter(t *testing.T) {
	t.Parallel()
	var sb strings.Builder
	var _ interface {
		Printf(context.Context, string, ...any)
	} = cache.RedisLogger{}
	cache.RedisLogger{Logger: slog.New(slog.NewTextHandler(&sb, nil))}.Printf(t.Context(), "dial %s: %v", "x:1", "refused")
	if !strings.Contains(sb.String(), `message="dial x:1: refused"`) {
		t.Fatalf("log line %q", sb.String())
	}
}

func TestGetLatestSeesAnotherInstancesReplacement(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	a := newCache(t, redisOptions(srv))
	b := newCache(t, redisOptions(srv))
	a.Set(t.Context(), "state:app", []byte("v1"), time.Hour)
	if v, ok := b.Get(t.Context(), "state:app"); !ok || string(v) != "v1" { // fills B's in-process level
		t.Fatalf("B Get = %q %v", v, ok)
	}
	a.Set(t.Context(), "state:app", []byte("v2"), time.Hour)
	if v, ok := b.GetLatest(t.Context(), "state:app"); !ok || string(v) != "v2" {
		t.Errorf("B GetLatest = %q %v, want v2", v, ok)
	}
	// Redis loses its data: the writer still reads its own value.
	redisClient(t, srv).FlushAll(t.Context())
	if v, ok := a.GetLatest(t.Context(), "state:app"); !ok || string(v) != "v2" {
		t.Errorf("A GetLatest after a flush = %q %v, want its own v2", v, ok)
	}
}
