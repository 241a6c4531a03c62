package cache

import (
	"context"
	"sync"
)

// flightKey separates bypass loads from ordinary ones: a hard refresh never joins a load that may be
// answering from the cache, only another hard refresh.
type flightKey struct {
	key    string
	bypass bool
}

// result is what one load hands to every caller that waited for it.
type result struct {
	value []byte
	hit   bool
	err   error
}

type flight struct {
	done    chan struct{}
	res     result
	waiters int // guarded by group.mu
	cancel  context.CancelFunc
}

// group coalesces concurrent loads of one key. It is singleflight with two changes the cache needs: each
// caller waits with its own context and may leave early, and the load runs under a context detached from
// any one caller that is cancelled only when every caller has left. So one impatient caller neither fails
// the others nor leaves a render running that nobody wants.
type group struct {
	onJoin func() // called when a caller joins a running load, before it waits

	mu sync.Mutex
	m  map[flightKey]*flight
}

// do runs load once for all concurrent callers of k. err is the caller's own ctx.Err() when it stopped
// waiting; load's outcome is in the result.
func (g *group) do(ctx context.Context, k flightKey, load func(context.Context) result) (result, error) {
	g.mu.Lock()
	if g.m == nil {
		g.m = make(map[flightKey]*flight)
	}
	f, joined := g.m[k]
	if joined {
		f.waiters++
	} else {
		// WithoutCancel keeps the first caller's values (logger, trace) but not its deadline or cancellation.
		lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{done: make(chan struct{}), waiters: 1, cancel: cancel}
		g.m[k] = f
		go g.run(lctx, k, f, load)
	}
	g.mu.Unlock()
	if joined && g.onJoin != nil {
		g.onJoin()
	}

	select {
	case <-f.done:
		return f.res, nil
	case <-ctx.Done():
		g.mu.Lock()
		f.waiters--
		if f.waiters == 0 {
			// Nobody waits any more: stop the load, and let the next caller start afresh rather than join
			// a load that is being cancelled.
			f.cancel()
			if g.m[k] == f {
				delete(g.m, k)
			}
		}
		g.mu.Unlock()
		return result{}, ctx.Err()
	}
}

func (g *group) run(ctx context.Context, k flightKey, f *flight, load func(context.Context) result) {
	defer f.cancel()
	res := load(ctx)
	g.mu.Lock()
	if g.m[k] == f {
		delete(g.m, k)
	}
	g.mu.Unlock()
	f.res = res
	close(f.done)
}
