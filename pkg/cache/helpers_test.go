package cache_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/moorcd/moor/pkg/cache"
	"github.com/moorcd/moor/test/redistest"
)

// fakeClock is the only fake in these tests: time.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// testCache is a Cache with its own registry, so each test reads only its own metrics.
type testCache struct {
	*cache.Cache
	reg *prometheus.Registry
}

func newCache(t testing.TB, opts cache.Options) *testCache {
	t.Helper()
	reg := prometheus.NewRegistry()
	c, err := cache.New(opts, reg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &testCache{Cache: c, reg: reg}
}

// metric returns the value of the series name{labels} (labels as "k=v" pairs), or 0 when absent.
func (c *testCache) metric(t testing.TB, name string, labels ...string) float64 {
	t.Helper()
	families, err := c.reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for _, kv := range labels {
				k, v, _ := strings.Cut(kv, "=")
				if have[k] != v {
					continue series
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

func (c *testCache) wantMetric(t testing.TB, want float64, name string, labels ...string) {
	t.Helper()
	if got := c.metric(t, name, labels...); got != want {
		t.Errorf("%s%v = %v, want %v", name, labels, got, want)
	}
}

// redisClient talks to a test server directly, to look at what the cache stored.
func redisClient(t testing.TB, srv *redistest.Server) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, Protocol: 2, DisableIdentity: true})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// counter is a load function that counts its runs and returns a fixed result.
type counter struct {
	runs  atomic.Int64
	value []byte
	err   error
}

func (c *counter) load(context.Context) ([]byte, error) {
	c.runs.Add(1)
	return c.value, c.err
}

func mustGet(t testing.TB, c *testCache, key string) []byte {
	t.Helper()
	v, ok := c.Get(t.Context(), key)
	if !ok {
		t.Fatalf("Get(%q): miss, want hit", key)
	}
	return v
}
