package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/kubeproto"
)

// walk lists /api/v1/applications page by page with limit and returns the names in the order served and the
// remainingItemCount of every page but the last.
func walk(t *testing.T, f *fixture, token string, limit int) (names []string, remaining []int64) {
	t.Helper()
	cont := ""
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("the list does not end")
		}
		path := fmt.Sprintf("/api/v1/applications?limit=%d", limit)
		if cont != "" {
			path += "&continue=" + url.QueryEscape(cont)
		}
		code, body, _ := f.do(t, http.MethodGet, path, token, nil)
		if code != http.StatusOK {
			t.Fatalf("page %d: %d %s", pages, code, body)
		}
		var l struct {
			Items []struct {
				Metadata struct{ Name string }
			}
			Metadata struct {
				Continue           string
				RemainingItemCount *int64
			}
		}
		if err := json.Unmarshal(body, &l); err != nil {
			t.Fatal(err)
		}
		if len(l.Items) > limit {
			t.Fatalf("page %d holds %d apps, limit %d", pages, len(l.Items), limit)
		}
		for _, it := range l.Items {
			names = append(names, it.Metadata.Name)
		}
		cont = l.Metadata.Continue
		if cont == "" {
			if l.Metadata.RemainingItemCount != nil {
				t.Errorf("last page has remainingItemCount %d", *l.Metadata.RemainingItemCount)
			}
			return names, remaining
		}
		if l.Metadata.RemainingItemCount == nil {
			t.Fatalf("page %d has a continue token but no remainingItemCount", pages)
		}
		remaining = append(remaining, *l.Metadata.RemainingItemCount)
	}
}

func TestListPagination(t *testing.T) {
	var apps []*v1alpha1.Application
	var all, teamA []string
	for i := range 23 {
		name := fmt.Sprintf("app-%02d", i)
		opts := []appOption{}
		if i%3 == 0 {
			opts = append(opts, inProject("team-a"))
			teamA = append(teamA, name)
		}
		apps = append(apps, newApp(name, opts...))
		all = append(all, name)
	}
	// Created out of name order, so the order served is the server's doing.
	slices.Reverse(apps)
	f := start(t, defaultSettings(), false, apps...)
	admin := f.login(t, "admin", f.adminPassword(t))
	carol := f.login(t, "carol", userPassword) // may get team-a apps only
	waitForApps(t, f, admin, len(all))

	tests := []struct {
		name  string
		token string
		limit int
		want  []string
	}{
		{name: "admin, pages of 5", token: admin, limit: 5, want: all},
		{name: "admin, pages of 1", token: admin, limit: 1, want: all},
		{name: "admin, one page larger than the list", token: admin, limit: 100, want: all},
		{name: "admin, a page exactly the list", token: admin, limit: len(all), want: all},
		{name: "RBAC filters every page", token: carol, limit: 3, want: teamA},
		{name: "RBAC, pages of 1", token: carol, limit: 1, want: teamA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, remaining := walk(t, f, tt.token, tt.limit)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("walked %v, want %v (each once, in name order)", got, tt.want)
			}
			for i, r := range remaining {
				if served := (i + 1) * tt.limit; r != int64(len(tt.want)-served) {
					t.Errorf("page %d: remainingItemCount %d, want %d", i, r, len(tt.want)-served)
				}
			}
		})
	}

	t.Run("no limit lists everything without a continue token", func(t *testing.T) {
		code, body, _ := f.do(t, http.MethodGet, "/api/v1/applications", admin, nil)
		if code != http.StatusOK || countItems(body) != len(all) {
			t.Fatalf("full list: %d, %d items", code, countItems(body))
		}
		var l struct{ Metadata map[string]any }
		if err := json.Unmarshal(body, &l); err != nil || len(l.Metadata) != 0 {
			t.Errorf("full list metadata = %v, want {}", l.Metadata)
		}
	})
	t.Run("filters apply per page", func(t *testing.T) {
		res, err := apiv1.NewApplicationServiceClient(f.conn).List(bearer(t.Context(), admin),
			&apiv1.ApplicationServiceListRequest{Projects: []string{"team-a"}, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, it := range res.GetList().GetItems() {
			got = append(got, it.GetMetadata().GetName())
		}
		if !slices.Equal(got, teamA[:2]) || res.GetList().GetMetadata().GetRemainingItemCount() != int64(len(teamA)-2) {
			t.Errorf("project page = %v (remaining %d), want %v (remaining %d)", got,
				res.GetList().GetMetadata().GetRemainingItemCount(), teamA[:2], len(teamA)-2)
		}
	})
	for _, tc := range []struct{ name, query string }{
		{"a token that is not base64", "limit=2&continue=%25%25%25"},
		{"a token of another form", "limit=2&continue=" + url.QueryEscape("bm90LWEtdG9rZW4")},
		{"a negative limit", "limit=-1"},
	} {
		t.Run("rejects "+tc.name, func(t *testing.T) {
			if code, body, _ := f.do(t, http.MethodGet, "/api/v1/applications?"+tc.query, admin, nil); code != http.StatusBadRequest {
				t.Errorf("%s: %d %s, want 400", tc.query, code, body)
			}
		})
	}
}

// waitForApps waits until the server's cache lists n apps.
func waitForApps(t *testing.T, f *fixture, token string, n int) {
	t.Helper()
	for range 150 {
		if code, body, _ := f.do(t, http.MethodGet, "/api/v1/applications", token, nil); code == http.StatusOK && countItems(body) == n {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("the server did not list %d apps", n)
}

// TestRESTReadsMatchTheGateway checks that GET /api/v1/applications and GET /api/v1/applications/{name},
// which moor-server answers from its JSON cache without the gateway, return what the gateway would: the
// gRPC response written by the gateway's marshaler. Errors still come from the gateway.
func TestRESTReadsMatchTheGateway(t *testing.T) {
	var apps []*v1alpha1.Application
	for i := range 7 {
		opts := []appOption{}
		if i%2 == 0 {
			opts = append(opts, inProject("team-a"))
		}
		a := newApp(fmt.Sprintf("app-%02d", i), opts...)
		a.Labels = map[string]string{"tier": []string{"web", "db"}[i%2]}
		apps = append(apps, a)
	}
	f := start(t, defaultSettings(), false, apps...)
	admin := f.login(t, "admin", f.adminPassword(t))
	carol := f.login(t, "carol", userPassword)
	waitForApps(t, f, admin, len(apps))
	client := apiv1.NewApplicationServiceClient(f.conn)
	gw := kubeproto.NewGatewayMarshaler()
	same := func(t *testing.T, path, token string, want proto.Message) {
		t.Helper()
		code, body, hdr := f.do(t, http.MethodGet, path, token, nil)
		if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
			t.Fatalf("%s: %d %s (%s)", path, code, body, hdr.Get("Content-Type"))
		}
		wantJSON, err := gw.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		var got, exp any
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(wantJSON, &exp); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, exp) {
			t.Errorf("%s:\n got %s\nwant %s", path, body, wantJSON)
		}
	}
	for _, tc := range []struct {
		name, query, token string
		req                *apiv1.ApplicationServiceListRequest
	}{
		{"everything", "", admin, &apiv1.ApplicationServiceListRequest{}},
		{"a page", "?limit=2", admin, &apiv1.ApplicationServiceListRequest{Limit: 2}},
		{"a project and a selector", "?projects=team-a&selector=tier%3Dweb", admin, &apiv1.ApplicationServiceListRequest{Projects: []string{"team-a"}, Selector: "tier=web"}},
		{"RBAC", "", carol, &apiv1.ApplicationServiceListRequest{}},
		{"nothing matches", "?selector=tier%3Dnone", admin, &apiv1.ApplicationServiceListRequest{Selector: "tier=none"}},
	} {
		t.Run("list "+tc.name, func(t *testing.T) {
			res, err := client.List(bearer(t.Context(), tc.token), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			same(t, "/api/v1/applications"+tc.query, tc.token, res.GetList())
		})
	}
	t.Run("get", func(t *testing.T) {
		res, err := client.Get(bearer(t.Context(), admin), &apiv1.ApplicationServiceGetRequest{Name: "app-03"})
		if err != nil {
			t.Fatal(err)
		}
		same(t, "/api/v1/applications/app-03", admin, res.GetApplication())
	})
	for _, tc := range []struct {
		name, path, token string
		want              int
	}{
		{"an unknown app", "/api/v1/applications/nope", admin, http.StatusNotFound},
		{"an app the caller may not get", "/api/v1/applications/app-01", carol, http.StatusForbidden},
		{"no token", "/api/v1/applications", "", http.StatusUnauthorized},
		{"a bad selector", "/api/v1/applications?selector=%3D%3D", admin, http.StatusBadRequest},
		{"a bad limit", "/api/v1/applications?limit=ten", admin, http.StatusBadRequest},
	} {
		t.Run("error for "+tc.name, func(t *testing.T) {
			if code, body, _ := f.do(t, http.MethodGet, tc.path, tc.token, nil); code != tc.want {
				t.Errorf("%s: %d %s, want %d", tc.path, code, body, tc.want)
			}
		})
	}
}
