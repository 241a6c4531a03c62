package cache_test

import (
	"strings"
	"testing"
	"time"

	"github.com/moorcd/moor/pkg/cache"
)

func TestL1ByteBudgetAndEvictionOrder(t *testing.T) {
	t.Parallel()
	v9 := []byte("123456789") // with a one-byte key, an entry costs 10 bytes
	type op struct {
		set, get string // one of them
		value    []byte
	}
	tests := []struct {
		name      string
		budget    int64
		ops       []op
		present   []string
		absent    []string
		bytes     float64
		evictions float64
	}{
		{
			name:    "fills the budget exactly",
			budget:  30,
			ops:     []op{{set: "a", value: v9}, {set: "b", value: v9}, {set: "c", value: v9}},
			present: []string{"a", "b", "c"},
			bytes:   30,
		},
		{
			name:      "least recently set goes first",
			budget:    30,
			ops:       []op{{set: "a", value: v9}, {set: "b", value: v9}, {set: "c", value: v9}, {set: "d", value: v9}},
			present:   []string{"b", "c", "d"},
			absent:    []string{"a"},
			bytes:     30,
			evictions: 1,
		},
		{
			name:   "a read makes an entry recent",
			budget: 30,
			ops: []op{
				{set: "a", value: v9}, {set: "b", value: v9}, {set: "c", value: v9},
				{get: "a"}, {set: "d", value: v9},
			},
			present:   []string{"a", "c", "d"},
			absent:    []string{"b"},
			bytes:     30,
			evictions: 1,
		},
		{
			name:   "a large entry evicts as many as it needs",
			budget: 30,
			ops: []op{
				{set: "a", value: v9}, {set: "b", value: v9}, {set: "c", value: v9},
				{set: "d", value: []byte(strings.Repeat("x", 19))},
			},
			present:   []string{"c", "d"},
			absent:    []string{"a", "b"},
			bytes:     30,
			evictions: 2,
		},
		{
			name:    "overwriting replaces the size",
			budget:  30,
			ops:     []op{{set: "a", value: v9}, {set: "a", value: []byte("1")}},
			present: []string{"a"},
			bytes:   2,
		},
		{
			name:    "an entry over the budget is not kept, and drops the older value",
			budget:  30,
			ops:     []op{{set: "a", value: v9}, {set: "b", value: v9}, {set: "a", value: []byte(strings.Repeat("x", 30))}},
			present: []string{"b"},
			absent:  []string{"a"},
			bytes:   10,
		},
		{
			name:   "a zero budget keeps nothing",
			budget: 0,
			ops:    []op{{set: "a", value: nil}},
			absent: []string{"a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newCache(t, cache.Options{MemoryBytes: tt.budget})
			for _, o := range tt.ops {
				if o.set != "" {
					c.Set(t.Context(), o.set, o.value, 0)
				} else {
					mustGet(t, c, o.get)
				}
			}
			for _, k := range tt.present {
				mustGet(t, c, k)
			}
			for _, k := range tt.absent {
				if _, ok := c.Get(t.Context(), k); ok {
					t.Errorf("Get(%q): hit, want miss", k)
				}
			}
			c.wantMetric(t, tt.bytes, "moor_cache_l1_bytes")
			c.wantMetric(t, tt.evictions, "moor_cache_evictions_total", "reason=size")
		})
	}
}

func TestL1TTL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		ttl     time.Duration
		advance time.Duration
		hit     bool
	}{
		{name: "alive before its deadline", ttl: time.Minute, advance: time.Minute - time.Nanosecond, hit: true},
		{name: "gone at its deadline", ttl: time.Minute, advance: time.Minute},
		{name: "zero TTL never expires", ttl: 0, advance: 24 * 365 * time.Hour, hit: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			c := newCache(t, cache.Options{MemoryBytes: 1 << 20, Clock: clock})
			c.Set(t.Context(), "k", []byte("v"), tt.ttl)
			clock.Advance(tt.advance)
			_, hit := c.Get(t.Context(), "k")
			if hit != tt.hit {
				t.Fatalf("hit = %v, want %v", hit, tt.hit)
			}
			if !tt.hit {
				c.wantMetric(t, 1, "moor_cache_evictions_total", "reason=expired")
				c.wantMetric(t, 0, "moor_cache_l1_bytes")
			}
		})
	}
}

func TestSetCopiesAndDeleteRemoves(t *testing.T) {
	t.Parallel()
	c := newCache(t, cache.Options{MemoryBytes: 1 << 20})
	buf := []byte("value")
	c.Set(t.Context(), "k", buf, time.Minute)
	copy(buf, "XXXXX")
	if got := mustGet(t, c, "k"); string(got) != "value" {
		t.Fatalf("Get = %q after the caller reused its buffer, want %q", got, "value")
	}
	c.Delete(t.Context(), "k")
	if _, ok := c.Get(t.Context(), "k"); ok {
		t.Fatalf("Get after Delete: hit")
	}
	c.wantMetric(t, 0, "moor_cache_l1_bytes")
}
