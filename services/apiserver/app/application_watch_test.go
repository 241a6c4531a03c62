package app_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
)

// event is a watch event as "TYPE name".
func event(r *apiv1.ApplicationServiceWatchResponse) string {
	return r.GetType() + " " + r.GetApplication().GetMetadata().GetName()
}

func recvEvents(t *testing.T, stream grpc.ServerStreamingClient[apiv1.ApplicationServiceWatchResponse], n int) []string {
	t.Helper()
	var out []string
	for range n {
		r, err := stream.Recv()
		if err != nil {
			t.Fatalf("after %v: %v", out, err)
		}
		out = append(out, event(r))
	}
	return out
}

func TestApplicationWatch(t *testing.T) {
	f := start(t, defaultSettings(), false, newApp("w-default"), newApp("w-team", inProject("team-a")), newApp("w-other", inProject("team-a")))
	admin := f.login(t, "admin", f.adminPassword(t))
	carol := f.login(t, "carol", userPassword)
	apps := apiv1.NewApplicationServiceClient(f.conn)
	touch := func(name string) {
		t.Helper()
		patch := fmt.Appendf(nil, `{"metadata":{"annotations":{"touched":%q}}}`, time.Now().Format(time.RFC3339Nano))
		if _, err := f.client.ArgoprojV1alpha1().Applications(f.ns).Patch(t.Context(), name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("admin sees every app first as ADDED", func(t *testing.T) {
		ctx, cancel := contextWithTimeout(t, 30*time.Second)
		defer cancel()
		stream, err := apps.Watch(bearer(ctx, admin), &apiv1.ApplicationServiceWatchRequest{})
		if err != nil {
			t.Fatal(err)
		}
		got := recvEvents(t, stream, 3)
		slices.Sort(got)
		if want := []string{"ADDED w-default", "ADDED w-other", "ADDED w-team"}; !slices.Equal(got, want) {
			t.Errorf("initial events %v, want %v", got, want)
		}
	})

	t.Run("carol's unfiltered watch skips apps she may not get", func(t *testing.T) {
		ctx, cancel := contextWithTimeout(t, 30*time.Second)
		defer cancel()
		stream, err := apps.Watch(bearer(ctx, carol), &apiv1.ApplicationServiceWatchRequest{Projects: []string{"default", "team-a"}})
		if err != nil {
			t.Fatal(err)
		}
		if got := recvEvents(t, stream, 1); got[0] == "ADDED w-default" {
			t.Fatalf("carol was sent %v", got)
		}
		touch("w-default")
		touch("w-other")
		for {
			r, err := stream.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if name := r.GetApplication().GetMetadata().GetName(); name == "w-default" {
				t.Fatalf("carol was sent %s", event(r))
			} else if name == "w-other" && r.GetType() == "MODIFIED" {
				return
			}
		}
	})

	t.Run("REST streams newline-delimited results", func(t *testing.T) {
		ctx, cancel := contextWithTimeout(t, 30*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.base+"/api/v1/stream/applications?name=w-default", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stream: %d", resp.StatusCode)
		}
		line, err := bufio.NewReader(resp.Body).ReadBytes('\n')
		if err != nil {
			t.Fatal(err)
		}
		var chunk struct {
			Result struct {
				Type        string
				Application struct {
					APIVersion string
					Metadata   struct{ Name string }
				}
			}
		}
		if err := json.Unmarshal(line, &chunk); err != nil || chunk.Result.Type != "ADDED" ||
			chunk.Result.Application.Metadata.Name != "w-default" || chunk.Result.Application.APIVersion != "argoproj.io/v1alpha1" {
			t.Errorf("first line %s (%v)", line, err)
		}
	})
	t.Run("resource tree stream sends the current tree to callers who may get the app", func(t *testing.T) {
		ctx, cancel := contextWithTimeout(t, 30*time.Second)
		defer cancel()
		stream, err := apps.WatchResourceTree(bearer(ctx, admin), &apiv1.ApplicationServiceWatchResourceTreeRequest{ApplicationName: "w-default"})
		if err != nil {
			t.Fatal(err)
		}
		if r, err := stream.Recv(); err != nil || r.GetTree() == nil {
			t.Errorf("first tree: %v %v", r, err)
		}
		stream, err = apps.WatchResourceTree(bearer(ctx, carol), &apiv1.ApplicationServiceWatchResourceTreeRequest{ApplicationName: "w-default"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Recv(); status.Code(err) != codes.PermissionDenied {
			t.Errorf("carol's tree stream: %v, want PermissionDenied", err)
		}
	})

	t.Run("carol sees only team-a apps: ADDED, MODIFIED, DELETED", func(t *testing.T) {
		ctx, cancel := contextWithTimeout(t, 30*time.Second)
		defer cancel()
		stream, err := apps.Watch(bearer(ctx, carol), &apiv1.ApplicationServiceWatchRequest{Name: "w-team"})
		if err != nil {
			t.Fatal(err)
		}
		if got := recvEvents(t, stream, 1); got[0] != "ADDED w-team" {
			t.Fatalf("first event %v, want ADDED w-team", got)
		}
		touch("w-default") // filtered by name and by RBAC
		touch("w-team")
		if got := recvEvents(t, stream, 1); got[0] != "MODIFIED w-team" {
			t.Fatalf("after a change: %v, want MODIFIED w-team", got)
		}
		if err := f.client.ArgoprojV1alpha1().Applications(f.ns).Delete(t.Context(), "w-team", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := recvEvents(t, stream, 1); got[0] != "DELETED w-team" {
			t.Fatalf("after delete: %v, want DELETED w-team", got)
		}
	})
}
