package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"
)

// Event types of a Watch stream, Kubernetes' names.
const (
	eventAdded    = string(watch.Added)
	eventModified = string(watch.Modified)
	eventDeleted  = string(watch.Deleted)
)

// errWatchExpired is a watch whose resourceVersion the API server no longer has; the stream lists again.
var errWatchExpired = errors.New("watch expired")

// watchOptions are the list options of a Watch request's label selector and name.
func watchOptions(selector, name string) (metav1.ListOptions, error) {
	opts := metav1.ListOptions{}
	if selector != "" {
		sel, err := labels.Parse(selector)
		if err != nil {
			return opts, invalidStatus(invalid("selector", "%v", err))
		}
		opts.LabelSelector = sel.String()
	}
	if name != "" {
		opts.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
	}
	return opts, nil
}

// objectWatch is one Watch stream of Applications or ApplicationSets: without a resourceVersion it starts
// with an ADDED event for every visible object; an object that stops being visible (moved to another
// project, or the caller lost access) is sent as DELETED, one that becomes visible as ADDED; an expired
// resourceVersion lists again. Visibility is checked per event, so a policy change applies to running
// streams.
type objectWatch[T metav1.Object] struct {
	resource string // for errors: "applications"
	log      *slog.Logger
	list     func(context.Context, metav1.ListOptions) ([]T, string, error)
	watch    func(context.Context, metav1.ListOptions) (watch.Interface, error)
	visible  func(context.Context, T) bool
	emit     func(typ string, obj T) error
	gone     func(name string) T // a stand-in for an object that is no longer there

	// sent holds the names the client currently knows as present.
	sent map[string]bool
	// resumed streams start from a client's resourceVersion: the client knows the objects of that time.
	resumed bool
}

// run streams from rv ("" lists first) until ctx ends.
func (w *objectWatch[T]) run(ctx context.Context, opts metav1.ListOptions, rv string) error {
	w.sent, w.resumed = map[string]bool{}, rv != ""
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			// A watch the API server closes at once must not turn into a tight loop of new watches.
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(min(time.Duration(attempt)*100*time.Millisecond, 2*time.Second)):
			}
		}
		var err error
		if rv == "" {
			if rv, err = w.relist(ctx, opts); err != nil {
				return w.end(ctx, err)
			}
		}
		rv, err = w.watchFrom(ctx, opts, rv)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, errWatchExpired):
			rv = ""
		case err != nil:
			return w.end(ctx, err)
		}
	}
}

func (w *objectWatch[T]) end(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return toStatus(ctx, w.log, err)
}

// relist lists the objects, sends each visible one and DELETED for those that are gone, and returns the
// resourceVersion to watch from.
func (w *objectWatch[T]) relist(ctx context.Context, opts metav1.ListOptions) (string, error) {
	items, rv, err := w.list(ctx, opts)
	if err != nil {
		return "", fmt.Errorf("list %s: %w", w.resource, err)
	}
	present := make(map[string]bool, len(items))
	for _, obj := range items {
		present[obj.GetName()] = true
		if err := w.send(ctx, watch.Added, obj); err != nil {
			return "", err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(w.sent)) {
		if !present[name] {
			delete(w.sent, name)
			if err := w.emit(eventDeleted, w.gone(name)); err != nil {
				return "", err
			}
		}
	}
	return rv, nil
}

// watchFrom watches from rv until the watch ends and returns the last resourceVersion seen;
// errWatchExpired when the API server no longer has rv.
func (w *objectWatch[T]) watchFrom(ctx context.Context, opts metav1.ListOptions, rv string) (string, error) {
	opts.ResourceVersion, opts.AllowWatchBookmarks = rv, true
	watcher, err := w.watch(ctx, opts)
	if apierrors.IsGone(err) || apierrors.IsResourceExpired(err) {
		return rv, errWatchExpired
	}
	if err != nil {
		return rv, fmt.Errorf("watch %s: %w", w.resource, err)
	}
	defer watcher.Stop()
	for {
		select {
		case <-ctx.Done():
			return rv, ctx.Err()
		case ev, ok := <-watcher.ResultChan():
			if !ok {
				return rv, nil
			}
			switch ev.Type {
			case watch.Error:
				err := apierrors.FromObject(ev.Object)
				if apierrors.IsGone(err) || apierrors.IsResourceExpired(err) {
					return rv, errWatchExpired
				}
				return rv, fmt.Errorf("watch %s: %w", w.resource, err)
			case watch.Bookmark:
				if obj, ok := ev.Object.(T); ok {
					rv = obj.GetResourceVersion()
				}
			case watch.Added, watch.Modified, watch.Deleted:
				obj, ok := ev.Object.(T)
				if !ok {
					continue
				}
				rv = obj.GetResourceVersion()
				if err := w.send(ctx, ev.Type, obj); err != nil {
					return rv, err
				}
			}
		}
	}
}

// send turns a change of obj into the event the client should see, if any.
func (w *objectWatch[T]) send(ctx context.Context, typ watch.EventType, obj T) error {
	name := obj.GetName()
	known := w.sent[name]
	visible := w.visible(ctx, obj)
	switch {
	case typ == watch.Deleted:
		if known || w.resumed && visible {
			delete(w.sent, name)
			return w.emit(eventDeleted, obj)
		}
	case visible:
		out := eventModified
		if !known && !(w.resumed && typ == watch.Modified) {
			out = eventAdded
		}
		w.sent[name] = true
		return w.emit(out, obj)
	case known:
		delete(w.sent, name)
		return w.emit(eventDeleted, obj)
	}
	return nil
}
