package cache_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/moorcd/moor/pkg/cache"
)

var (
	errNotFound = errors.New("revision not found")
	errInvalid  = errors.New("invalid manifest")
)

var testCodec = cache.SentinelCodec{
	{Kind: "not-found", Err: errNotFound},
	{Kind: "invalid", Err: errInvalid},
}

func TestDoHitsAfterLoad(t *testing.T) {
	t.Parallel()
	c := newCache(t, cache.Options{MemoryBytes: 1 << 20})
	load := &counter{value: []byte("manifests")}
	for i, wantHit := range []bool{false, true, true} {
		v, hit, err := c.Do(t.Context(), "k", time.Minute, cache.DoOptions{}, load.load)
		if err != nil || string(v) != "manifests" || hit != wantHit {
			t.Fatalf("call %d: Do = %q, %v, %v; want %q, %v, nil", i, v, hit, err, "manifests", wantHit)
		}
	}
	if n := load.runs.Load(); n != 1 {
		t.Fatalf("load ran %d times, want 1", n)
	}
	c.wantMetric(t, 2, "moor_cache_hits_total", "level=l1")
	c.wantMetric(t, 1, "moor_cache_misses_total", "level=l1")
	c.wantMetric(t, 1, "moor_cache_loads_total", "result=ok")
}

func TestDoCoalescesConcurrentMisses(t *testing.T) {
	t.Parallel()
	const callers = 100
	c := newCache(t, cache.Options{MemoryBytes: 1 << 20})
	release := make(chan struct{})
	var runs sync.Map
	var runCount int
	var mu sync.Mutex
	fn := func(context.Context) ([]byte, error) {
		mu.Lock()
		runCount++
		mu.Unlock()
		<-release
		return []byte("rendered"), nil
	}
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			v, hit, err := c.Do(t.Context(), "app", time.Minute, cache.DoOptions{}, fn)
			runs.Store(i, fmt.Sprintf("%s %v %v", v, hit, err))
		})
	}
	// Hold the load until every other caller is waiting on it.
	waitFor(t, func() bool { return c.metric(t, "moor_cache_coalesced_waits_total") == callers-1 })
	close(release)
	wg.Wait()
	if runCount != 1 {
		t.Fatalf("load ran %d times for %d concurrent callers, want 1", runCount, callers)
	}
	for i := range callers {
		if got, _ := runs.Load(i); got != "rendered false <nil>" {
			t.Errorf("caller %d got %v", i, got)
		}
	}
}

func TestDoNegativeCaching(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		err       error
		errorTTL  time.Duration
		cached    bool
		wantIs    error
		wantKind  string
		expiresIn time.Duration
	}{
		{name: "sentinel kept through the cache", err: fmt.Errorf("resolve main: %w", errNotFound), cached: true, wantIs: errNotFound, wantKind: "not-found", expiresIn: cache.DefaultErrorTTL},
		{name: "second sentinel", err: fmt.Errorf("parse a.yaml line 3: %w", errInvalid), cached: true, wantIs: errInvalid, wantKind: "invalid", expiresIn: cache.DefaultErrorTTL},
		{name: "unknown error keeps its message", err: errors.New("boom"), cached: true, wantKind: cache.KindUnknown, expiresIn: cache.DefaultErrorTTL},
		{name: "custom error TTL", err: errNotFound, errorTTL: 3 * time.Second, cached: true, wantIs: errNotFound, wantKind: "not-found", expiresIn: 3 * time.Second},
		{name: "negative TTL caches nothing", err: errNotFound, errorTTL: -1},
		{name: "a load's own cancellation is not cached", err: fmt.Errorf("fetch: %w", context.Canceled)},
		{name: "a load's own timeout is cached", err: fmt.Errorf("render: %w", context.DeadlineExceeded), cached: true, wantIs: nil, wantKind: cache.KindUnknown, expiresIn: cache.DefaultErrorTTL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			c := newCache(t, cache.Options{MemoryBytes: 1 << 20, Clock: clock, Codec: testCodec})
			load := &counter{err: tt.err}
			opts := cache.DoOptions{ErrorTTL: tt.errorTTL}

			_, hit, err := c.Do(t.Context(), "k", time.Hour, opts, load.load)
			if err != tt.err || hit {
				t.Fatalf("first Do: err = %v, hit = %v; want the load's own error and no hit", err, hit)
			}
			_, hit, err = c.Do(t.Context(), "k", time.Hour, opts, load.load)
			if !tt.cached {
				if load.runs.Load() != 2 || err != tt.err {
					t.Fatalf("uncached failure: runs = %d, err = %v; want 2 runs and the load's error", load.runs.Load(), err)
				}
				return
			}
			if load.runs.Load() != 1 || !hit {
				t.Fatalf("second Do: runs = %d, hit = %v; want the negative entry", load.runs.Load(), hit)
			}
			var ce *cache.CachedError
			if !errors.As(err, &ce) || ce.Kind != tt.wantKind || ce.Message != tt.err.Error() {
				t.Fatalf("negative hit error %#v, want CachedError{%q, %q}", err, tt.wantKind, tt.err.Error())
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Fatalf("negative hit error %v does not match %v", err, tt.wantIs)
			}
			c.wantMetric(t, 1, "moor_cache_negative_hits_total", "level=l1")

			clock.Advance(tt.expiresIn - time.Nanosecond)
			c.Do(t.Context(), "k", time.Hour, opts, load.load)
			if load.runs.Load() != 1 {
				t.Fatalf("negative entry expired early")
			}
			clock.Advance(time.Nanosecond)
			load.err, load.value = nil, []byte("fixed")
			v, hit, err := c.Do(t.Context(), "k", time.Hour, opts, load.load)
			if err != nil || hit || string(v) != "fixed" || load.runs.Load() != 2 {
				t.Fatalf("after the error TTL: Do = %q, %v, %v (runs %d); want a fresh load", v, hit, err, load.runs.Load())
			}
		})
	}
}

func TestDoCallerCancellation(t *testing.T) {
	t.Parallel()
	t.Run("the last caller leaving cancels the load and nothing is cached", func(t *testing.T) {
		t.Parallel()
		c := newCache(t, cache.Options{MemoryBytes: 1 << 20})
		ctx, cancel := context.WithCancel(t.Context())
		loadCancelled := make(chan struct{})
		go func() {
			waitFor(t, func() bool { return c.metric(t, "moor_cache_misses_total", "level=l1") == 1 })
			cancel()
		}()
		_, _, err := c.Do(ctx, "k", time.Minute, cache.DoOptions{}, func(lctx context.Context) ([]byte, error) {
			<-lctx.Done()
			close(loadCancelled)
			return nil, lctx.Err()
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Do = %v, want context.Canceled", err)
		}
		<-loadCancelled
		waitFor(t, func() bool { return c.metric(t, "moor_cache_loads_total", "result=error") == 1 })

		load := &counter{value: []byte("ok")}
		v, hit, err := c.Do(t.Context(), "k", time.Minute, cache.DoOptions{}, load.load)
		if err != nil || hit || string(v) != "ok" || load.runs.Load() != 1 {
			t.Fatalf("Do after a cancelled load = %q, %v, %v (runs %d); want a fresh load", v, hit, err, load.runs.Load())
		}
	})
	t.Run("one caller leaving does not cancel the others", func(t *testing.T) {
		t.Parallel()
		c := newCache(t, cache.Options{MemoryBytes: 1 << 20})
		release := make(chan struct{})
		fn := func(lctx context.Context) ([]byte, error) {
			select {
			case <-release:
				return []byte("ok"), nil
			case <-lctx.Done():
				return nil, lctx.Err()
			}
		}
		ctx, cancel := context.WithCancel(t.Context())
		first := make(chan error, 1)
		go func() { _, _, err := c.Do(ctx, "k", time.Minute, cache.DoOptions{}, fn); first <- err }()
		waitFor(t, func() bool { return c.metric(t, "moor_cache_misses_total", "level=l1") == 1 })
		second := make(chan string, 1)
		go func() {
			v, _, err := c.Do(t.Context(), "k", time.Minute, cache.DoOptions{}, fn)
			second <- fmt.Sprintf("%s %v", v, err)
		}()
		waitFor(t, func() bool { return c.metric(t, "moor_cache_coalesced_waits_total") == 1 })
		cancel()
		if err := <-first; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled caller got %v, want context.Canceled", err)
		}
		close(release)
		if got := <-second; got != "ok <nil>" {
			t.Fatalf("remaining caller got %q, want the value", got)
		}
	})
}

func TestDoBypass(t *testing.T) {
	t.Parallel()
	c := newCache(t, cache.Options{MemoryBytes: 1 << 20, Codec: testCodec})
	c.Set(t.Context(), "k", []byte("old"), time.Hour)

	load := &counter{value: []byte("new")}
	v, hit, err := c.Do(t.Context(), "k", time.Hour, cache.DoOptions{Bypass: true}, load.load)
	if err != nil || hit || string(v) != "new" || load.runs.Load() != 1 {
		t.Fatalf("bypass Do = %q, %v, %v (runs %d); want a fresh load", v, hit, err, load.runs.Load())
	}
	if got := mustGet(t, c, "k"); string(got) != "new" {
		t.Fatalf("Get after bypass = %q, want the fresh value", got)
	}

	// A failing hard refresh replaces the value with a negative entry.
	load.err = errNotFound
	if _, _, err := c.Do(t.Context(), "k", time.Hour, cache.DoOptions{Bypass: true}, load.load); err != errNotFound {
		t.Fatalf("failing bypass Do: err = %v", err)
	}
	if _, hit, err := c.Do(t.Context(), "k", time.Hour, cache.DoOptions{}, load.load); !hit || !errors.Is(err, errNotFound) {
		t.Fatalf("Do after failing bypass: hit = %v, err = %v; want the negative entry", hit, err)
	}

	t.Run("bypassing callers coalesce", func(t *testing.T) {
		release := make(chan struct{})
		var runs sync.WaitGroup
		runs.Add(1) // a second run would panic the WaitGroup
		fn := func(context.Context) ([]byte, error) { runs.Done(); <-release; return []byte("v"), nil }
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() { c.Do(t.Context(), "b", time.Hour, cache.DoOptions{Bypass: true}, fn) })
		}
		waitFor(t, func() bool { return c.metric(t, "moor_cache_coalesced_waits_total") >= 1 })
		close(release)
		wg.Wait()
	})
}

func TestDoPanicBecomesCachedError(t *testing.T) {
	t.Parallel()
	c := newCache(t, cache.Options{MemoryBytes: 1 << 20})
	_, _, err := c.Do(t.Context(), "k", time.Hour, cache.DoOptions{}, func(context.Context) ([]byte, error) { panic("chart bomb") })
	if !errors.Is(err, cache.ErrLoadPanic) {
		t.Fatalf("Do = %v, want ErrLoadPanic", err)
	}
	_, hit, err := c.Do(t.Context(), "k", time.Hour, cache.DoOptions{}, func(context.Context) ([]byte, error) { return nil, nil })
	if !hit || !errors.Is(err, cache.ErrLoadPanic) {
		t.Fatalf("second Do: hit = %v, err = %v; want the cached panic", hit, err)
	}
}

// waitFor polls cond: tests wait for goroutines to reach a state without sleeping a guessed time.
func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not reached within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}
