package render

import (
	"context"
	"fmt"
	"runtime/debug"
)

// guarded runs fn in its own goroutine, turns a panic into an error and returns early when ctx ends.
//
// It is for third-party code that neither honours a context nor can be trusted not to panic (go-jsonnet,
// krusty, the Helm SDK). On an early return the goroutine is abandoned and runs until fn returns: Go
// cannot stop it. Its result is dropped (the channel is buffered, so it never blocks).
func guarded[T any](ctx context.Context, what string, fn func() (T, error)) (T, error) {
	type outcome struct {
		v   T
		err error
	}
	ch := make(chan outcome, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				ch <- outcome{err: fmt.Errorf("%s panicked: %v\n%s", what, r, debug.Stack())}
			}
		}()
		v, err := fn()
		ch <- outcome{v: v, err: err}
	}()
	select {
	case o := <-ch:
		return o.v, o.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}
