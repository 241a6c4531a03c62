package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
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

// Event types of a Watch stream, Kubernetes' names.
const (
	eventAdded    = string(watch.Added)
	eventModified = string(watch.Modified)
	eventDeleted  = string(watch.Deleted)
)

// treePollInterval is how often WatchResourceTree looks for a newly published tree.
const treePollInterval = 2 * time.Second

// errWatchExpired is a watch whose resourceVersion the API server no longer has; the stream lists again.
var errWatchExpired = errors.New("watch expired")

// Watch streams changes of the applications that match the filters and that the caller may get. Without a
// resourceVersion it starts with an ADDED event for every such application. An application that stops being
// visible (moved to another project, or the caller lost access) is sent as DELETED; one that becomes visible
// as ADDED. The stream ends when the client goes away.
func (s *ApplicationServer) Watch(req *apiv1.ApplicationServiceWatchRequest, stream grpc.ServerStreamingServer[apiv1.ApplicationServiceWatchResponse]) error {
	ctx := stream.Context()
	if ns := req.GetAppNamespace(); ns != "" && ns != s.d.Namespace {
		return invalidStatus(invalid("appNamespace", "applications are served from namespace %s only", s.d.Namespace))
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
	w := &appWatch{s: s, stream: stream, projects: req.GetProjects(), sent: map[string]bool{}, resumed: req.GetResourceVersion() != ""}
	rv := req.GetResourceVersion()
	for {
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

// appWatch is the state of one Watch stream.
type appWatch struct {
	s        *ApplicationServer
	stream   grpc.ServerStreamingServer[apiv1.ApplicationServiceWatchResponse]
	projects []string
	// sent holds the names the client currently knows as present.
	sent map[string]bool
	// resumed streams start from a client's resourceVersion: the client knows the apps of that time.
	resumed bool
}

func (w *appWatch) end(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return toStatus(ctx, w.s.d.Log, err)
}

// relist lists the applications, sends each visible one and DELETED for those that are gone, and returns
// the resourceVersion to watch from.
func (w *appWatch) relist(ctx context.Context, opts metav1.ListOptions) (string, error) {
	list, err := w.s.d.Client.ArgoprojV1alpha1().Applications(w.s.d.Namespace).List(ctx, opts)
	if err != nil {
		return "", fmt.Errorf("list applications: %w", err)
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
			gone := &v1alpha1.Application{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.s.d.Namespace}}
			if err := w.emit(eventDeleted, gone); err != nil {
				return "", err
			}
		}
	}
	return list.ResourceVersion, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// watchFrom watches from rv until the watch ends and returns the last resourceVersion seen;
// errWatchExpired when the API server no longer has rv.
func (w *appWatch) watchFrom(ctx context.Context, opts metav1.ListOptions, rv string) (string, error) {
	opts.ResourceVersion, opts.AllowWatchBookmarks = rv, true
	watcher, err := w.s.d.Client.ArgoprojV1alpha1().Applications(w.s.d.Namespace).Watch(ctx, opts)
	if apierrors.IsGone(err) || apierrors.IsResourceExpired(err) {
		return rv, errWatchExpired
	}
	if err != nil {
		return rv, fmt.Errorf("watch applications: %w", err)
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
				return rv, fmt.Errorf("watch applications: %w", err)
			case watch.Bookmark:
				if app, ok := ev.Object.(*v1alpha1.Application); ok {
					rv = app.ResourceVersion
				}
			case watch.Added, watch.Modified, watch.Deleted:
				app, ok := ev.Object.(*v1alpha1.Application)
				if !ok {
					continue
				}
				rv = app.ResourceVersion
				if err := w.send(ev.Type, app); err != nil {
					return rv, err
				}
			}
		}
	}
}

// visible says whether the caller may get app and it passes the project filter. RBAC is checked per event,
// so a policy change applies to running streams.
func (w *appWatch) visible(ctx context.Context, app *v1alpha1.Application) bool {
	if len(w.projects) > 0 && !slices.Contains(w.projects, projectOf(app)) {
		return false
	}
	e := w.s.d.Enforcer()
	return e != nil && e.Enforce(auth.FromContext(ctx).Subjects(), rbac.ResourceApplications, rbac.ActionGet, rbac.AppObject(projectOf(app), app.Name))
}

// send turns a change of app into the event the client should see, if any.
func (w *appWatch) send(typ watch.EventType, app *v1alpha1.Application) error {
	ctx := w.stream.Context()
	known := w.sent[app.Name]
	visible := w.visible(ctx, app)
	switch {
	case typ == watch.Deleted:
		if known || w.resumed && visible {
			delete(w.sent, app.Name)
			return w.emit(eventDeleted, app)
		}
	case visible:
		out := eventModified
		if !known && !(w.resumed && typ == watch.Modified) {
			out = eventAdded
		}
		w.sent[app.Name] = true
		return w.emit(out, app)
	case known:
		delete(w.sent, app.Name)
		return w.emit(eventDeleted, app)
	}
	return nil
}

func (w *appWatch) emit(typ string, app *v1alpha1.Application) error {
	msg, err := appMessage(app)
	if err != nil {
		return err
	}
	return w.stream.Send(&apiv1.ApplicationServiceWatchResponse{Type: typ, Application: msg})
}

// WatchResourceTree streams the application's resource tree: the current one first, then each newly
// published one (checked every couple of seconds). Access is checked again at every look, so the stream
// ends with an error when the app is deleted or the caller loses access.
func (s *ApplicationServer) WatchResourceTree(req *apiv1.ApplicationServiceWatchResourceTreeRequest, stream grpc.ServerStreamingServer[apiv1.ApplicationServiceWatchResourceTreeResponse]) error {
	ctx := stream.Context()
	var last *apiv1.ApplicationTree
	tick := time.NewTicker(treePollInterval)
	defer tick.Stop()
	for {
		tree, err := s.resourceTree(ctx, req.GetApplicationName(), req.GetProject(), req.GetAppNamespace())
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		if last == nil || !proto.Equal(last, tree) {
			if err := stream.Send(&apiv1.ApplicationServiceWatchResourceTreeResponse{Tree: tree}); err != nil {
				return err
			}
			last = tree
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
