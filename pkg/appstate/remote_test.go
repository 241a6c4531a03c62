package appstate_test

import (
	"context"
	"net/http/httptest"
	"testing"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/appstate"
	"github.com/moorcd/moor/pkg/cache"
)

func TestRemoteReadsWhatTheControllerPublished(t *testing.T) {
	c, err := cache.New(*cache.NewOptions(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	store := appstate.New(c)
	key := []byte("server-key")
	keyOf := func(k []byte) func(context.Context) ([]byte, error) {
		return func(context.Context) ([]byte, error) { return k, nil }
	}
	srv := httptest.NewServer(appstate.Handler(store, keyOf(key)))
	defer srv.Close()
	remote := &appstate.Remote{Base: srv.URL, Key: keyOf(key)}

	if _, ok, err := remote.Tree(t.Context(), "moor", "guestbook"); ok || err != nil {
		t.Fatalf("Tree before publishing = %v, %v; want not found", ok, err)
	}
	st := &appstate.State{
		Tree:    &apiv1.ApplicationTree{Nodes: []*apiv1.ResourceNode{{Kind: "Deployment", Name: "web"}}},
		Managed: []*apiv1.ResourceDiff{{Kind: "ConfigMap", Name: "settings"}},
	}
	if err := store.Publish(t.Context(), "moor", "guestbook", st); err != nil {
		t.Fatal(err)
	}
	tree, ok, err := remote.Tree(t.Context(), "moor", "guestbook")
	if err != nil || !ok || len(tree.GetNodes()) != 1 || tree.GetNodes()[0].GetName() != "web" {
		t.Fatalf("Tree = %v %v %v", tree, ok, err)
	}
	managed, ok, err := remote.Managed(t.Context(), "moor", "guestbook")
	if err != nil || !ok || len(managed) != 1 || managed[0].GetName() != "settings" {
		t.Fatalf("Managed = %v %v %v", managed, ok, err)
	}
	// A newer publication shows at once.
	st.Tree.Nodes[0].Name = "web-2"
	if err := store.Publish(t.Context(), "moor", "guestbook", st); err != nil {
		t.Fatal(err)
	}
	if tree, _, _ := remote.Tree(t.Context(), "moor", "guestbook"); tree.GetNodes()[0].GetName() != "web-2" {
		t.Errorf("Tree after a new publication = %v", tree)
	}
	intruder := &appstate.Remote{Base: srv.URL, Key: keyOf([]byte("guess"))}
	if _, _, err := intruder.Managed(t.Context(), "moor", "guestbook"); err == nil {
		t.Error("a reader without the server key read the managed resources")
	}
}
