package repoclient_test

import (
	"net"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	reposerverv1 "github.com/moorcd/moor/pkg/api/moor/reposerver/v1"
	"github.com/moorcd/moor/pkg/git"
	"github.com/moorcd/moor/pkg/repoclient"
	"github.com/moorcd/moor/pkg/repocreds"
	"github.com/moorcd/moor/test/gittest"
	"github.com/moorcd/moor/test/reposervertest"
)

func TestGenerateThroughRealRepoServer(t *testing.T) {
	t.Parallel()
	repo := gittest.NewRepo(t)
	repo.Write("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")
	repo.Commit("one")
	srv := gittest.NewHTTPServer(t, gittest.HTTPOptions{Username: "u", Password: "p"})
	url := srv.Add(t, "r.git", repo)

	c, err := repoclient.Dial(reposervertest.Start(t), repoclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	src, _ := structpb.NewStruct(map[string]any{"path": "app"})
	creds := &repocreds.Repository{URL: url, Git: git.Repo{URL: url, Username: "u", Password: "p"}}
	res, err := c.GenerateManifests(t.Context(), &reposerverv1.GenerateManifestsRequest{
		Repo: repoclient.Repository(creds), Source: src, Revision: "HEAD", AppName: "x"})
	if err != nil || len(res.GetManifests()) != 1 {
		t.Fatalf("GenerateManifests = %v, %v", res, err)
	}
}

func TestRetriesThenGivesUp(t *testing.T) {
	t.Parallel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close() // nothing listens: every attempt is Unavailable
	c, err := repoclient.Dial(addr, repoclient.Options{Attempts: 3, Backoff: 10 * time.Millisecond, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	_, err = c.ResolveRevision(t.Context(), &reposerverv1.ResolveRevisionRequest{Repo: &reposerverv1.Repository{Url: "https://x"}})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("err = %v, want Unavailable", err)
	}
	if time.Since(start) < 15*time.Millisecond {
		t.Errorf("gave up after %v: no backoff between attempts", time.Since(start))
	}
}
