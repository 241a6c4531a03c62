package cache_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moorcd/moor/pkg/cache"
	"github.com/moorcd/moor/test/redistest"
)

// BenchmarkL1Hit is a warm in-process hit, the repo-server's common case. Goal: well under 1 µs.
func BenchmarkL1Hit(b *testing.B) {
	c := newCache(b, cache.Options{MemoryBytes: 64 << 20})
	key := "https://git.example.com/org/monorepo.git|0123456789abcdef0123456789abcdef01234567|apps/guestbook|9f86d081"
	c.Set(b.Context(), key, manifests(16<<10), time.Hour)
	fn := func(context.Context) ([]byte, error) { panic("not reached") }

	b.Run("Get", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := c.Get(b.Context(), key); !ok {
				b.Fatal("miss")
			}
		}
	})
	b.Run("Do", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, hit, _ := c.Do(b.Context(), key, time.Hour, cache.DoOptions{}, fn); !hit {
				b.Fatal("miss")
			}
		}
	})
	b.Run("Do-parallel", func(b *testing.B) {
		b.ReportAllocs()
		ctx := b.Context()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, hit, _ := c.Do(ctx, key, time.Hour, cache.DoOptions{}, fn); !hit {
					b.Error("miss")
					return
				}
			}
		})
	})
}

// BenchmarkL2Hit reads a real redis-server on loopback with level 1 off, so every call is a Redis round
// trip (GET and PTTL pipelined) plus decompression.
func BenchmarkL2Hit(b *testing.B) {
	srv := redistest.Start(b)
	for _, bc := range []struct {
		name        string
		size        int
		compression string
	}{
		{"1KiB-zstd", 1 << 10, cache.CompressionZstd},
		{"64KiB-zstd", 64 << 10, cache.CompressionZstd},
		{"64KiB-none", 64 << 10, cache.CompressionNone},
	} {
		b.Run(bc.name, func(b *testing.B) {
			o := *cache.NewOptions()
			o.MemoryBytes, o.RedisAddr, o.RedisCompression, o.KeyPrefix = 0, srv.Addr, bc.compression, "bench:"+bc.name+":"
			c := newCache(b, o)
			c.Set(b.Context(), "k", manifests(bc.size), time.Hour)
			b.SetBytes(int64(bc.size))
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := c.Get(b.Context(), "k"); !ok {
					b.Fatal("miss")
				}
			}
		})
	}
}

// BenchmarkDoCoalesced has many goroutines miss one key at once (level 1 off, no Redis) with a 100 µs load,
// so most calls join a running load. loads/op is the share of calls that ran the load.
func BenchmarkDoCoalesced(b *testing.B) {
	c := newCache(b, cache.Options{})
	var loads atomic.Int64
	value := []byte("rendered")
	fn := func(context.Context) ([]byte, error) {
		loads.Add(1)
		time.Sleep(100 * time.Microsecond)
		return value, nil
	}
	ctx := b.Context()
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := c.Do(ctx, "app", time.Hour, cache.DoOptions{}, fn); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(loads.Load())/float64(b.N), "loads/op")
}
