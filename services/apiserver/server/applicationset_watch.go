package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"google.golang.org/grpc"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/rbac"
	"github.com/moorcd/moor/services/apiserver/auth"
)

// Watch streams changes of the sets that match the filters and that the caller may get, as Application
// Watch does: without a resourceVersion it starts with an ADDED event for every such set; a set that stops
// being visible (its template moved to another project, or the caller lost access) is sent as DELETED, one
// that becomes visible as ADDED; an expired resourceVersion lists again. The stream ends when the client
// goes away.
func (s *ApplicationSetServer) Watch(req *apiv1.ApplicationSetServiceWatchRequest, stream grpc.ServerStreamingServer[apiv1.ApplicationSetServiceWatchResponse]) error {
	ctx := stream.Context()
	if err := s.checkNamespace("appsetNamespace", req.GetAppsetNamespace()); err != nil {
		return invalidStatus(err)
	}
	opts := metav1.ListOptions{}
	if req.GetSelector() != "" {
		sel, err := labels.Parse(req.GetSelector())
		if err != nil {
			return invalidStatus(invalid("selector", "%v", err))
		}
		opts.LabelSelector = sel.String()
	}
	if req.GetName() != "" {
		opts.FieldSelector = fields.OneTermEqualSelector("metadata.name", req.GetName()).String()
	}
	w := &appSetWatch{s: s, stream: stream, projects: req.GetProjects(), sent: map[string]bool{}, resumed: req.GetResourceVersion() != ""}
	rv := req.GetResourceVersion()
	for attempt := 0; ; attempt++ {
		var err error
		if attempt > 0 {
			// A watch the API server closes at once must not turn into a tight loop of new watches.
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(min(time.Duration(attempt)*100*time.Millisecond, 2*time.Second)):
			}
		}
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

// appSetWatch is the state of one Watch stream.
type appSetWatch struct {
	s        *ApplicationSetServer
	stream   grpc.ServerStreamingServer[apiv1.ApplicationSetServiceWatchResponse]
	projects []string
	// sent holds the names the client currently knows as present.
	sent map[string]bool
	// resumed streams start from a client's resourceVersion: the client knows the sets of that time.
	resumed bool
}

func (w *appSetWatch) end(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return toStatus(ctx, w.s.d.Log, err)
}

// relist lists the sets, sends each visible one and DELETED for those that are gone, and returns the
// resourceVersion to watch from.
func (w *appSetWatch) relist(ctx context.Context, opts metav1.ListOptions) (string, error) {
	list, err := w.s.d.Client.ArgoprojV1alpha1().ApplicationSets(w.s.d.Namespace).List(ctx, opts)
	if err != nil {
		return "", fmt.Errorf("list applicationsets: %w", err)
	}
	present := make(map[string]bool, len(list.Items))
	for i := range list.Items {
		present[list.Items[i].Name] = true
		if err := w.send(watch.Added, &list.Items[i]); err != nil {
			return "", err
		}
	}
	for _, name := range sortedKeys(w.sent) {
		if !present[name] {
			delete(w.sent, name)
			gone := &v1alpha1.ApplicationSet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.s.d.Namespace}}
			if err := w.emit(eventDeleted, gone); err != nil {
				return "", err
			}
		}
	}
	return list.ResourceVersion, nil
}

// watchFrom watches from rv until the watch ends and returns the last resourceVersion seen;
// errWatchExpired when the API server no longer has rv.
func (w *appSetWatch) watchFrom(ctx context.Context, opts metav1.ListOptions, rv string) (string, error) {
	opts.ResourceVersion, opts.AllowWatchBookmarks = rv, true
	watcher, err := w.s.d.Client.ArgoprojV1alpha1().ApplicationSets(w.s.d.Namespace).Watch(ctx, opts)
	if apierrors.IsGone(err) || apierrors.IsResourceExpired(err) {
		return rv, errWatchExpired
	}
	if err != nil {
		return rv, fmt.Errorf("watch applicationsets: %w", err)
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
				return rv, fmt.Errorf("watch applicationsets: %w", err)
			case watch.Bookmark:
				if set, ok := ev.Object.(*v1alpha1.ApplicationSet); ok {
					rv = set.ResourceVersion
				}
			case watch.Added, watch.Modified, watch.Deleted:
				set, ok := ev.Object.(*v1alpha1.ApplicationSet)
				if !ok {
					continue
				}
				rv = set.ResourceVersion
				if err := w.send(ev.Type, set); err != nil {
					return rv, err
				}
			}
		}
	}
}

// visible says whether the caller may get set and it passes the project filter. RBAC is checked per event,
// so a policy change applies to running streams.
func (w *appSetWatch) visible(ctx context.Context, set *v1alpha1.ApplicationSet) bool {
	if len(w.projects) > 0 && !slices.Contains(w.projects, appSetProject(set)) {
		return false
	}
	e := w.s.d.Enforcer()
	return e != nil && e.Enforce(auth.FromContext(ctx).Subjects(), rbac.ResourceApplicationSets, rbac.ActionGet, appSetObject(set))
}

// send turns a change of set into the event the client should see, if any.
func (w *appSetWatch) send(typ watch.EventType, set *v1alpha1.ApplicationSet) error {
	ctx := w.stream.Context()
	known := w.sent[set.Name]
	visible := w.visible(ctx, set)
	switch {
	case typ == watch.Deleted:
		if known || w.resumed && visible {
			delete(w.sent, set.Name)
			return w.emit(eventDeleted, set)
		}
	case visible:
		out := eventModified
		if !known && !(w.resumed && typ == watch.Modified) {
			out = eventAdded
		}
		w.sent[set.Name] = true
		return w.emit(out, set)
	case known:
		delete(w.sent, set.Name)
		return w.emit(eventDeleted, set)
	}
	return nil
}

func (w *appSetWatch) emit(typ string, set *v1alpha1.ApplicationSet) error {
	msg, err := appSetMessage(set)
	if err != nil {
		return err
	}
	return w.stream.Send(&apiv1.ApplicationSetServiceWatchResponse{Type: typ, ApplicationSet: msg})
}
