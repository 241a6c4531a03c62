package cli

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

// fakeApps answers Get with the next of gets (the last one repeats) and Watch with events, then blocks
// until the call ends; watch nil: Watch is Unimplemented.
type fakeApps struct {
	apiv1.ApplicationServiceClient
	gets  []func() (*apiv1.ApplicationServiceGetResponse, error)
	watch []*apiv1.ApplicationServiceWatchResponse
}

func (f *fakeApps) Get(context.Context, *apiv1.ApplicationServiceGetRequest, ...grpc.CallOption) (*apiv1.ApplicationServiceGetResponse, error) {
	get := f.gets[0]
	if len(f.gets) > 1 {
		f.gets = f.gets[1:]
	}
	return get()
}

func (f *fakeApps) Watch(ctx context.Context, _ *apiv1.ApplicationServiceWatchRequest, _ ...grpc.CallOption) (grpc.ServerStreamingClient[apiv1.ApplicationServiceWatchResponse], error) {
	if f.watch == nil {
		return nil, status.Error(codes.Unimplemented, "no watch")
	}
	return &fakeWatch{ctx: ctx, events: f.watch}, nil
}

type fakeWatch struct {
	grpc.ClientStream
	ctx    context.Context
	events []*apiv1.ApplicationServiceWatchResponse
}

func (w *fakeWatch) Recv() (*apiv1.ApplicationServiceWatchResponse, error) {
	if len(w.events) == 0 {
		<-w.ctx.Done()
		return nil, status.FromContextError(w.ctx.Err()).Err()
	}
	ev := w.events[0]
	w.events = w.events[1:]
	return ev, nil
}

// TestAppWaitDeleted deletes the application `moor app wait` waits for: without --delete it fails at once
// with NotFound (exit 13) instead of waiting forever, through the Watch stream and through polling alike;
// with --delete it succeeds.
func TestAppWaitDeleted(t *testing.T) {
	t.Parallel()
	app := &v1alpha1.Application{ObjectMeta: metav1.ObjectMeta{Name: "guestbook", Namespace: "moor", ResourceVersion: "1"}}
	msg, err := appToMessage(app)
	if err != nil {
		t.Fatal(err)
	}
	found := func() (*apiv1.ApplicationServiceGetResponse, error) {
		return &apiv1.ApplicationServiceGetResponse{Application: msg}, nil
	}
	notFound := func() (*apiv1.ApplicationServiceGetResponse, error) {
		return nil, status.Error(codes.NotFound, `applications.argoproj.io "guestbook" not found`)
	}
	deletedEvent := []*apiv1.ApplicationServiceWatchResponse{{Type: "DELETED", Application: msg}}
	cases := []struct {
		name    string
		apps    *fakeApps
		opts    waitOptions
		wantErr string // empty: success
	}{
		{"stream", &fakeApps{gets: []func() (*apiv1.ApplicationServiceGetResponse, error){found}, watch: deletedEvent},
			waitOptions{}.defaulted(), `application "guestbook" was deleted`},
		{"poll", &fakeApps{gets: []func() (*apiv1.ApplicationServiceGetResponse, error){found, notFound}},
			waitOptions{health: true}, `application "guestbook" was deleted`},
		{"stream with --delete", &fakeApps{gets: []func() (*apiv1.ApplicationServiceGetResponse, error){found}, watch: deletedEvent},
			waitOptions{delete: true}, ""},
		{"poll with --delete", &fakeApps{gets: []func() (*apiv1.ApplicationServiceGetResponse, error){found, notFound}},
			waitOptions{delete: true}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// No --timeout, as by default; the test's deadline only keeps a regression from hanging.
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			_, err := waitForApp(ctx, &appSession{apps: c.apps}, "guestbook", c.opts, 0)
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("wait: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("wait succeeded for a deleted application")
			}
			if msg, code := Explain(err); msg != c.wantErr || code != ExitNotFound {
				t.Errorf("wait: %q (exit %d), want %q (exit %d)", msg, code, c.wantErr, ExitNotFound)
			}
		})
	}
}
