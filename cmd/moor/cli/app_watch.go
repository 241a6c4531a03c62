package cli

import (
	"context"
	"errors"
	"io"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

// appCondition is what a watch waits for. deleted says the application is gone (app is then its last
// known state, nil when it was never seen).
type appCondition func(app *v1alpha1.Application, deleted bool) bool

// watchApp follows one application until cond holds and returns the state it held for. It streams
// ApplicationService.Watch; when the stream fails it reads the application with Get, waits a little and
// watches again (and polls with Get alone if the server has no Watch). When ctx ends first it returns the
// last state seen with ctx's error. A missing application is an error (NotFound) unless cond accepts it,
// and so is one deleted while watched (a DELETED event or a Get answering NotFound).
func watchApp(ctx context.Context, s *appSession, name string, cond appCondition) (*v1alpha1.Application, error) {
	return watchAppFunc(ctx, s, name, cond, nil)
}

// watchAppFunc is watchApp calling onChange with every new state (for live progress).
func watchAppFunc(ctx context.Context, s *appSession, name string, cond appCondition, onChange func(*v1alpha1.Application)) (*v1alpha1.Application, error) {
	w := &appWatcher{s: s, name: name, cond: cond, onChange: onChange}
	return w.run(ctx)
}

type appWatcher struct {
	s        *appSession
	name     string
	cond     appCondition
	onChange func(*v1alpha1.Application)
	last     *v1alpha1.Application
	lastRV   string
}

// errCondition ends the stream loop when the condition holds.
var errCondition = errors.New("condition met")

func (w *appWatcher) run(ctx context.Context) (*v1alpha1.Application, error) {
	if done, err := w.poll(ctx); done || err != nil {
		return w.last, err
	}
	backoff := time.Second
	streaming := true
	for {
		if streaming {
			err := w.stream(ctx)
			switch {
			case errors.Is(err, errCondition):
				return w.last, nil
			case ctx.Err() != nil:
				return w.last, ctx.Err()
			case status.Code(err) == codes.Unimplemented:
				streaming = false
			case status.Code(err) == codes.NotFound || status.Code(err) == codes.PermissionDenied || status.Code(err) == codes.Unauthenticated:
				return w.last, err
			}
		}
		// Fallback: one Get now, then again after a pause.
		if done, err := w.poll(ctx); done || err != nil {
			return w.last, err
		}
		select {
		case <-ctx.Done():
			return w.last, ctx.Err()
		case <-time.After(backoff):
		}
		if streaming {
			backoff = min(2*backoff, 5*time.Second)
		} else {
			backoff = 2 * time.Second
		}
	}
}

// poll reads the application once and checks the condition.
func (w *appWatcher) poll(ctx context.Context) (bool, error) {
	app, err := w.s.get(ctx, w.name, "")
	if status.Code(err) == codes.NotFound {
		if w.cond(w.last, true) {
			return true, nil
		}
		if w.last != nil {
			return false, w.deletedError()
		}
		return false, err
	}
	if err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		if st, ok := status.FromError(err); ok && st.Code() == codes.Unavailable {
			return false, nil // keep trying until the deadline
		}
		return false, err
	}
	return w.observe(app), nil
}

// deletedError is the error of an application deleted while watched for a condition that needs it to
// exist: NotFound (exit 13), since waiting longer could only time out.
func (w *appWatcher) deletedError() error {
	return status.Errorf(codes.NotFound, "application %q was deleted", w.name)
}

// observe records a new state and checks the condition.
func (w *appWatcher) observe(app *v1alpha1.Application) bool {
	if app.ResourceVersion == "" || app.ResourceVersion != w.lastRV {
		w.last, w.lastRV = app, app.ResourceVersion
		if w.onChange != nil {
			w.onChange(app)
		}
	}
	return w.cond(app, false)
}

// stream follows the Watch stream; it returns errCondition when the condition holds.
func (w *appWatcher) stream(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := w.s.apps.Watch(ctx, &apiv1.ApplicationServiceWatchRequest{Name: w.name})
	if err != nil {
		return err
	}
	for {
		ev, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return errors.New("watch ended")
		}
		if err != nil {
			return err
		}
		if ev.GetApplication().GetMetadata().GetName() != w.name {
			continue
		}
		if ev.GetType() == "DELETED" {
			if w.cond(w.last, true) {
				return errCondition
			}
			return w.deletedError()
		}
		app, err := appFromMessage(ev.GetApplication())
		if err != nil {
			return err
		}
		if w.observe(app) {
			return errCondition
		}
	}
}
