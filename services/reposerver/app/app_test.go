package app_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	reposerverv1 "github.com/moorcd/moor/pkg/api/moor/reposerver/v1"
	"github.com/moorcd/moor/services/reposerver/app"
	"github.com/moorcd/moor/test/gittest"
	"github.com/moorcd/moor/test/redistest"
)

const (
	user = "moor"
	pass = "s3cret-token"
)

// fixture is a running repo-server and a Git server holding one repository.
type fixture struct {
	app    *app.App
	client reposerverv1.RepoServerServiceClient
	conn   *grpc.ClientConn
	repo   *gittest.Repo
	url    string
}

func start(t testing.TB) *fixture {
	t.Helper()
	repo := gittest.NewRepo(t)
	writeApps(repo)
	repo.Commit("initial")
	return startWith(t, repo)
}

func startWith(t testing.TB, repo *gittest.Repo) *fixture {
	t.Helper()
	srv := gittest.NewHTTPServer(t, gittest.HTTPOptions{Username: user, Password: pass})
	return startServer(t, repo, srv.Add(t, "apps.git", repo), "")
}

// startServer starts a repo-server (with Redis as its second cache level when redisAddr is set).
func startServer(t testing.TB, repo *gittest.Repo, url, redisAddr string) *fixture {
	t.Helper()
	opts := app.NewOptions()
	opts.Cache.RedisAddr = redisAddr
	opts.DataDir = t.TempDir()
	opts.Log.Level, opts.Log.Format = "error", "text"
	a, err := app.New(opts, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background()) // outlives the test's context until Cleanup
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, lis, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &fixture{app: a, client: reposerverv1.NewRepoServerServiceClient(conn), conn: conn, repo: repo, url: url}
}

func writeApps(r *gittest.Repo) {
	for _, name := range []string{"a", "b", "c"} {
		r.Write("apps/"+name+"/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "+name+"\ndata:\n  k: v\n")
		r.Write("apps/"+name+"/svc.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: "+name+"\nspec:\n  ports:\n  - port: 80\n")
	}
	r.Write("bad/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n")
	r.Write("chart/Chart.yaml", "apiVersion: v2\nname: demo\nversion: 1.0.0\n")
	r.Write("chart/values.yaml", "replicas: 1\nimage: nginx:1.27\n")
	r.Write("chart/templates/deploy.yaml", `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  namespace: {{ .Release.Namespace }}
spec:
  replicas: {{ .Values.replicas }}
  selector: {matchLabels: {app: demo}}
  template:
    metadata: {labels: {app: demo}}
    spec: {containers: [{name: demo, image: "{{ .Values.image }}"}]}
`)
	r.Write("kustomize/base/kustomization.yaml", "resources: [deploy.yaml]\n")
	r.Write("kustomize/base/deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.25\n")
	r.Write("kustomize/overlay/kustomization.yaml", "resources: [../base]\nnamePrefix: prod-\n")
}

func (f *fixture) repoMsg(password string) *reposerverv1.Repository {
	return &reposerverv1.Repository{Url: f.url, Credentials: &reposerverv1.Credentials{Username: user, Password: password}}
}

func (f *fixture) generate(t *testing.T, src map[string]any, mutate ...func(*reposerverv1.GenerateManifestsRequest)) (*reposerverv1.GenerateManifestsResponse, error) {
	t.Helper()
	s, err := structpb.NewStruct(src)
	if err != nil {
		t.Fatal(err)
	}
	req := &reposerverv1.GenerateManifestsRequest{Repo: f.repoMsg(pass), Source: s, Revision: "HEAD", AppName: "demo", Namespace: "team"}
	for _, m := range mutate {
		m(req)
	}
	return f.client.GenerateManifests(t.Context(), req)
}

func TestGenerateManifests(t *testing.T) {
	t.Parallel()
	f := start(t)
	tests := []struct {
		name     string
		src      map[string]any
		wantType string
		want     []string // substrings, one per manifest in order
	}{
		{"directory", map[string]any{"path": "apps/a"}, "Directory", []string{`"kind":"ConfigMap"`, `"kind":"Service"`}},
		{"helm with parameters", map[string]any{"path": "chart", "helm": map[string]any{
			"parameters": []any{map[string]any{"name": "replicas", "value": "3"}}}},
			"Helm", []string{`"replicas":3`}},
		{"kustomize overlay", map[string]any{"path": "kustomize/overlay", "kustomize": map[string]any{"images": []any{"nginx:1.27"}}},
			"Kustomize", []string{`"name":"prod-web"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := f.generate(t, tt.src)
			if err != nil {
				t.Fatalf("generate: %v", err)
			}
			if res.GetSourceType() != tt.wantType {
				t.Errorf("source type %q, want %q", res.GetSourceType(), tt.wantType)
			}
			if len(res.GetRevision()) != 40 {
				t.Errorf("revision %q is not a commit SHA", res.GetRevision())
			}
			if len(res.GetManifests()) != len(tt.want) {
				t.Fatalf("got %d manifests, want %d: %v", len(res.GetManifests()), len(tt.want), res.GetManifests())
			}
			for i, w := range tt.want {
				if !strings.Contains(res.GetManifests()[i], w) {
					t.Errorf("manifest %d = %s, want it to contain %s", i, res.GetManifests()[i], w)
				}
			}
			again, err := f.generate(t, tt.src)
			if err != nil || !again.GetCached() {
				t.Errorf("second request: cached=%v err=%v, want a cache hit", again.GetCached(), err)
			}
			hard, err := f.generate(t, tt.src, func(r *reposerverv1.GenerateManifestsRequest) { r.NoCache = true })
			if err != nil || hard.GetCached() {
				t.Errorf("hard refresh: cached=%v err=%v, want a fresh render", hard.GetCached(), err)
			}
		})
	}
}

func TestGenerateManifestsErrors(t *testing.T) {
	t.Parallel()
	f := start(t)
	tests := []struct {
		name     string
		src      map[string]any
		mutate   func(*reposerverv1.GenerateManifestsRequest)
		code     codes.Code
		contains string
	}{
		{"unknown revision", map[string]any{"path": "apps/a"}, func(r *reposerverv1.GenerateManifestsRequest) { r.Revision = "no-such-branch" }, codes.NotFound, "no-such-branch"},
		{"unknown path", map[string]any{"path": "apps/zzz"}, nil, codes.NotFound, "apps/zzz"},
		{"bad yaml names file and line", map[string]any{"path": "bad"}, nil, codes.InvalidArgument, "bad/cm.yaml:4"},
		{"path escape", map[string]any{"path": "../../etc"}, nil, codes.InvalidArgument, "../../etc"},
		{"absolute path", map[string]any{"path": "/etc"}, nil, codes.InvalidArgument, "/etc"},
		{"values file escape", map[string]any{"path": "chart", "helm": map[string]any{"valueFiles": []any{"../../../etc/passwd"}}}, nil, codes.InvalidArgument, "etc/passwd"},
		{"wrong password", map[string]any{"path": "apps/a"}, func(r *reposerverv1.GenerateManifestsRequest) { r.Repo.Credentials.Password = "wrong" }, codes.Unauthenticated, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mut []func(*reposerverv1.GenerateManifestsRequest)
			if tt.mutate != nil {
				mut = append(mut, tt.mutate)
			}
			_, err := f.generate(t, tt.src, mut...)
			st := status.Convert(err)
			if st.Code() != tt.code || !strings.Contains(st.Message(), tt.contains) {
				t.Fatalf("got %v %q, want %v containing %q", st.Code(), st.Message(), tt.code, tt.contains)
			}
			if strings.Contains(st.Message(), pass) || strings.Contains(st.Message(), "wrong") && tt.name == "wrong password" {
				t.Errorf("error leaks the password: %q", st.Message())
			}
		})
	}
}

// TestMonorepoCommitReRendersOnlyTouchedApp: after a commit that changes one app folder, the other apps are
// answered from their earlier render without rendering.
func TestMonorepoCommitReRendersOnlyTouchedApp(t *testing.T) {
	t.Parallel()
	f := start(t)
	noCacheOfRevision := func(r *reposerverv1.GenerateManifestsRequest) {}
	for _, name := range []string{"a", "b", "c"} {
		if _, err := f.generate(t, map[string]any{"path": "apps/" + name}, noCacheOfRevision); err != nil {
			t.Fatal(err)
		}
	}
	f.repo.Write("apps/a/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: changed\n")
	sha := f.repo.Commit("change a")
	atSHA := func(r *reposerverv1.GenerateManifestsRequest) { r.Revision = sha }
	for _, tc := range []struct {
		name       string
		wantCached bool
	}{{"a", false}, {"b", true}, {"c", true}} {
		res, err := f.generate(t, map[string]any{"path": "apps/" + tc.name}, atSHA)
		if err != nil {
			t.Fatal(err)
		}
		if res.GetRevision() != sha {
			t.Errorf("app %s: revision %s, want %s", tc.name, res.GetRevision(), sha)
		}
		if res.GetCached() != tc.wantCached {
			t.Errorf("app %s: cached=%v, want %v", tc.name, res.GetCached(), tc.wantCached)
		}
		if tc.name == "a" && !strings.Contains(res.GetManifests()[0], "changed") {
			t.Errorf("app a was not re-rendered: %s", res.GetManifests()[0])
		}
	}
}

// TestReplicasShareRedis: two repo-servers with one Redis; what one renders the other serves from Redis.
func TestReplicasShareRedis(t *testing.T) {
	t.Parallel()
	rdb := redistest.Start(t)
	repo := gittest.NewRepo(t)
	writeApps(repo)
	repo.Commit("initial")
	srv := gittest.NewHTTPServer(t, gittest.HTTPOptions{Username: user, Password: pass})
	url := srv.Add(t, "apps.git", repo)
	first := startServer(t, repo, url, rdb.Addr)
	second := startServer(t, repo, url, rdb.Addr)

	src := map[string]any{"path": "apps/b"}
	res, err := first.generate(t, src)
	if err != nil || res.GetCached() {
		t.Fatalf("first replica: cached=%v err=%v, want a render", res.GetCached(), err)
	}
	res2, err := second.generate(t, src)
	if err != nil || !res2.GetCached() {
		t.Fatalf("second replica: cached=%v err=%v, want the first replica's render from Redis", res2.GetCached(), err)
	}
	if strings.Join(res.GetManifests(), "") != strings.Join(res2.GetManifests(), "") {
		t.Errorf("replicas disagree:\n%v\n%v", res.GetManifests(), res2.GetManifests())
	}
	if got := renders(t, second); got != 0 {
		t.Errorf("second replica rendered %v times, want 0", got)
	}
}

// TestSourceOverrideFiles: .argocd-source.yaml and .argocd-source-<app>.yaml in the app path are merged
// over the spec (the image updater's Git write-back).
func TestSourceOverrideFiles(t *testing.T) {
	t.Parallel()
	f := start(t)
	f.repo.Write("chart/.argocd-source.yaml", "helm:\n  parameters:\n  - name: replicas\n    value: \"2\"\n")
	f.repo.Write("chart/.argocd-source-demo.yaml", "helm:\n  parameters:\n  - name: image\n    value: nginx:1.29\n")
	f.repo.Commit("write-back")
	res, err := f.generate(t, map[string]any{"path": "chart"})
	if err != nil {
		t.Fatal(err)
	}
	// The app-specific file wins: merge patch replaces the parameters list.
	if m := res.GetManifests()[0]; !strings.Contains(m, "nginx:1.29") || !strings.Contains(m, `"replicas":1`) {
		t.Errorf("overrides not applied as a merge patch: %s", m)
	}
}

func TestRepoOperations(t *testing.T) {
	t.Parallel()
	f := start(t)
	ctx := t.Context()
	f.repo.Tag("v1.2.3")
	f.repo.Branch("release")

	refs, err := f.client.ListRefs(ctx, &reposerverv1.ListRefsRequest{Repo: f.repoMsg(pass)})
	if err != nil || !contains(refs.GetTags(), "v1.2.3") || !contains(refs.GetBranches(), "release") {
		t.Fatalf("ListRefs = %v, %v", refs, err)
	}
	res, err := f.client.ResolveRevision(ctx, &reposerverv1.ResolveRevisionRequest{Repo: f.repoMsg(pass), Revision: "1.2.*"})
	if err != nil || res.GetRevision() != f.repo.Head() {
		t.Fatalf("ResolveRevision(1.2.*) = %v, %v; want %s", res, err, f.repo.Head())
	}
	apps, err := f.client.ListApps(ctx, &reposerverv1.ListAppsRequest{Repo: f.repoMsg(pass), Revision: "HEAD"})
	if err != nil || apps.GetApps()["chart"] != "Helm" || apps.GetApps()["kustomize/overlay"] != "Kustomize" {
		t.Fatalf("ListApps = %v, %v", apps, err)
	}
	src, _ := structpb.NewStruct(map[string]any{"path": "chart"})
	details, err := f.client.GetAppDetails(ctx, &reposerverv1.GetAppDetailsRequest{Repo: f.repoMsg(pass), Source: src, Revision: "HEAD"})
	if err != nil || details.GetSourceType() != "Helm" || details.GetHelm().GetName() != "demo" {
		t.Fatalf("GetAppDetails = %v, %v", details, err)
	}
	meta, err := f.client.GetRevisionMetadata(ctx, &reposerverv1.GetRevisionMetadataRequest{Repo: f.repoMsg(pass), Revision: "v1.2.3"})
	if err != nil || meta.GetMessage() == "" || !contains(meta.GetTags(), "v1.2.3") {
		t.Fatalf("GetRevisionMetadata = %v, %v", meta, err)
	}
	files, err := f.client.GetGitFiles(ctx, &reposerverv1.GetGitFilesRequest{Repo: f.repoMsg(pass), Revision: "HEAD", Path: "apps/*/cm.yaml"})
	if err != nil || len(files.GetFiles()) != 3 {
		t.Fatalf("GetGitFiles = %d files, %v", len(files.GetFiles()), err)
	}
	dirs, err := f.client.GetGitDirectories(ctx, &reposerverv1.GetGitDirectoriesRequest{Repo: f.repoMsg(pass), Revision: "HEAD"})
	if err != nil || !contains(dirs.GetPaths(), "apps/b") {
		t.Fatalf("GetGitDirectories = %v, %v", dirs, err)
	}
	ok, err := f.client.TestRepository(ctx, &reposerverv1.TestRepositoryRequest{Repo: f.repoMsg(pass)})
	if err != nil || !ok.GetOk() {
		t.Fatalf("TestRepository(good) = %v, %v", ok, err)
	}
	bad, err := f.client.TestRepository(ctx, &reposerverv1.TestRepositoryRequest{Repo: f.repoMsg("nope")})
	if err != nil || bad.GetOk() || strings.Contains(bad.GetMessage(), "nope") {
		t.Fatalf("TestRepository(bad) = %v, %v", bad, err)
	}
	h, err := healthpb.NewHealthClient(f.conn).Check(ctx, &healthpb.HealthCheckRequest{Service: reposerverv1.RepoServerService_ServiceDesc.ServiceName})
	if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health = %v, %v", h, err)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
