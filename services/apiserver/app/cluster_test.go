package app_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/clusters"
	"github.com/moorcd/moor/test/kubetest"
)

func TestClusters(t *testing.T) {
	t.Parallel()
	f := start(t, defaultSettings(), false)
	admin := f.login(t, "admin", f.adminPassword(t))
	readonly := f.login(t, "alice", userPassword)
	const (
		server = "https://prod.example.com:6443"
		token  = "cluster-bearer-t0ken"
	)
	names := func(token string) map[string]string {
		t.Helper()
		code, body, _ := f.do(t, http.MethodGet, "/api/v1/clusters", token, nil)
		if code != http.StatusOK {
			t.Fatalf("list: %d %s", code, body)
		}
		if strings.Contains(string(body), "bearerToken") || strings.Contains(string(body), "cluster-bearer") {
			t.Fatalf("list leaks the token: %s", body)
		}
		var list struct {
			Items []struct{ Server, Name string }
		}
		if err := json.Unmarshal(body, &list); err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, it := range list.Items {
			out[it.Server] = it.Name
		}
		return out
	}
	if got := names(readonly); len(got) != 1 || got[clusters.InClusterServer] != clusters.InClusterName {
		t.Fatalf("list before create = %v, want only in-cluster", got)
	}

	body := map[string]any{"server": server, "name": "prod", "config": map[string]any{"bearerToken": token}}
	code, resp, _ := f.do(t, http.MethodPost, "/api/v1/clusters", readonly, body)
	if code != http.StatusForbidden {
		t.Fatalf("readonly create: %d %s, want 403", code, resp)
	}
	code, resp, _ = f.do(t, http.MethodPost, "/api/v1/clusters", admin, body)
	if code != http.StatusOK || strings.Contains(string(resp), token) {
		t.Fatalf("create: %d %s", code, resp)
	}
	code, resp, _ = f.do(t, http.MethodPost, "/api/v1/clusters", admin, body)
	if code != http.StatusOK {
		t.Fatalf("create the same again: %d %s, want 200 (as Argo CD)", code, resp)
	}
	changed := map[string]any{"server": server, "name": "prod", "config": map[string]any{"bearerToken": token + "-other"}}
	code, resp, _ = f.do(t, http.MethodPost, "/api/v1/clusters", admin, changed)
	if code != http.StatusConflict {
		t.Fatalf("create a different one at the same server: %d %s, want 409", code, resp)
	}
	code, resp, _ = f.do(t, http.MethodPost, "/api/v1/clusters", admin, map[string]any{"server": "not a url"})
	if code != http.StatusBadRequest || !strings.Contains(string(resp), "server") {
		t.Fatalf("invalid server: %d %s, want 400 naming server", code, resp)
	}

	kc := kubetest.Start(t)
	secrets, err := kc.Kube.CoreV1().Secrets(f.ns).List(t.Context(), metav1.ListOptions{LabelSelector: clusters.SecretTypeLabel + "=" + clusters.SecretTypeValue})
	if err != nil || len(secrets.Items) != 1 || !strings.Contains(string(secrets.Items[0].Data["config"]), token) {
		t.Fatalf("cluster secrets: %v, %d items, want one holding the token", err, len(secrets.Items))
	}

	if got := names(readonly); got[server] != "prod" || got[clusters.InClusterServer] != clusters.InClusterName {
		t.Fatalf("list = %v, want prod and in-cluster", got)
	}

	// Get by name over gRPC; the token stays on the server.
	c, err := apiv1.NewClusterServiceClient(f.conn).Get(bearer(t.Context(), admin), &apiv1.ClusterServiceGetRequest{Id: &apiv1.ClusterID{Type: "name", Value: "prod"}})
	if err != nil || c.GetCluster().GetServer() != server || c.GetCluster().GetConfig().GetBearerToken() != "" {
		t.Fatalf("get by name: %v, %v", c, err)
	}
	if st := c.GetCluster().GetInfo().GetConnectionState(); st.GetStatus() != "Failed" || strings.Contains(st.GetMessage(), token) {
		t.Errorf("an unreachable cluster's connection state = %v, want Failed without the token", st)
	}
	code, resp, _ = f.do(t, http.MethodGet, "/api/v1/clusters/"+url.PathEscape(clusters.InClusterServer), readonly, nil)
	if code != http.StatusOK || !strings.Contains(string(resp), clusters.InClusterName) {
		t.Fatalf("get in-cluster: %d %s", code, resp)
	}
	var in struct {
		Info struct {
			ConnectionState struct{ Status string }
			ServerVersion   string
		}
	}
	if err := json.Unmarshal(resp, &in); err != nil || in.Info.ConnectionState.Status != "Successful" || !strings.HasPrefix(in.Info.ServerVersion, "v1.") {
		t.Errorf("in-cluster info = %+v (%v), want Successful and the server's version", in.Info, err)
	}

	_, err = apiv1.NewClusterServiceClient(f.conn).Delete(bearer(t.Context(), readonly), &apiv1.ClusterServiceDeleteRequest{Id: &apiv1.ClusterID{Value: server}})
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("readonly delete: %v, want PermissionDenied", err)
	}
	code, resp, _ = f.do(t, http.MethodDelete, "/api/v1/clusters/"+url.PathEscape(server), admin, nil)
	if code != http.StatusOK {
		t.Fatalf("delete: %d %s", code, resp)
	}
	if got := names(admin); len(got) != 1 {
		t.Fatalf("list after delete = %v, want only in-cluster", got)
	}
	code, resp, _ = f.do(t, http.MethodGet, "/api/v1/clusters/"+url.PathEscape(server), admin, nil)
	if code != http.StatusNotFound {
		t.Fatalf("get after delete: %d %s, want 404", code, resp)
	}
}
