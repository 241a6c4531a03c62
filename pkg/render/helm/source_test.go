package helm_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"sigs.k8s.io/yaml"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/render"
	"github.com/moorcd/moor/pkg/render/helm"
)

// helmRepo is a Helm HTTP repository on loopback: index.yaml plus archives, behind basic auth.
type helmRepo struct {
	srv      *httptest.Server
	archives map[string][]byte // path -> archive
	index    map[string][]map[string]any
	hits     atomic.Int64 // archive downloads
}

const repoUser, repoPass = "moor", "s3cret"

func newHelmRepo(t *testing.T) *helmRepo {
	t.Helper()
	r := &helmRepo{archives: map[string][]byte{}, index: map[string][]map[string]any{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if u, p, ok := req.BasicAuth(); !ok || u != repoUser || p != repoPass {
			w.Header().Set("WWW-Authenticate", `Basic realm="charts"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if req.URL.Path == "/index.yaml" {
			y, _ := yaml.Marshal(map[string]any{"apiVersion": "v1", "entries": r.index})
			_, _ = w.Write(y)
			return
		}
		data, ok := r.archives[req.URL.Path]
		if !ok {
			http.NotFound(w, req)
			return
		}
		r.hits.Add(1)
		_, _ = w.Write(data)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// add packages a chart and lists it in the index (with a relative URL, as `helm repo index` writes).
func (r *helmRepo) add(t *testing.T, files chartFiles, name, version string) {
	t.Helper()
	data := tgz(t, name, files)
	r.addArchive(name, version, data)
}

func (r *helmRepo) addArchive(name, version string, data []byte) {
	file := name + "-" + version + ".tgz"
	r.archives["/charts/"+file] = data
	sum := sha256.Sum256(data)
	r.index[name] = append(r.index[name], map[string]any{
		"apiVersion": "v2", "name": name, "version": version,
		"urls": []string{"charts/" + file}, "digest": hex.EncodeToString(sum[:]),
	})
}

func goodCreds(string) helm.Creds { return helm.Creds{Username: repoUser, Password: repoPass} }

func TestHelmRepository(t *testing.T) {
	t.Parallel()
	repo := newHelmRepo(t)
	for _, v := range []string{"1.0.0", "1.2.0", "1.10.1", "2.0.0-rc.1"} {
		repo.add(t, simpleChart("web", v, "a: chart\n"), "web", v)
	}
	repo.addArchive("bomb", "0.1.0", zipBomb(t, "bomb", 8<<20))
	noise := make([]byte, 64<<10)
	_, _ = rand.Read(noise)
	repo.add(t, simpleChart("huge", "0.1.0", "pad: "+hex.EncodeToString(noise)+"\n"), "huge", "0.1.0")

	src := helm.NewChartSource(helm.SourceOptions{MaxArchiveBytes: 32 << 10})
	r := helm.New(helm.Options{Source: src, Credentials: goodCreds, MaxChartBytes: 1 << 20})
	request := func(chart, version string) *render.Request {
		return &render.Request{AppName: "app", Namespace: "ns", Source: &v1alpha1.ApplicationSource{RepoURL: repo.srv.URL, Chart: chart, TargetRevision: version}}
	}
	cases := []struct {
		name, chart, version, want string
		is                         error
	}{
		{name: "exact version", chart: "web", version: "1.2.0", want: "1.2.0"},
		{name: "semver range", chart: "web", version: "1.*", want: "1.10.1"},
		{name: "semver constraint", chart: "web", version: ">=1.0.0 <1.5.0", want: "1.2.0"},
		{name: "latest stable", chart: "web", version: "", want: "1.10.1"},
		{name: "star is latest stable", chart: "web", version: "*", want: "1.10.1"},
		{name: "pre-release by constraint", chart: "web", version: ">=2.0.0-0", want: "2.0.0-rc.1"},
		{name: "unknown version", chart: "web", version: "9.9.9", is: render.ErrNotFound},
		{name: "unknown chart", chart: "nope", version: "1.0.0", is: render.ErrNotFound},
		{name: "zip bomb", chart: "bomb", version: "0.1.0", is: render.ErrTooLarge},
		{name: "archive over the download cap", chart: "huge", version: "0.1.0", is: render.ErrTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := r.Render(t.Context(), request(tc.chart, tc.version))
			if tc.is != nil {
				if !errors.Is(err, tc.is) {
					t.Fatalf("error %v, want %v", err, tc.is)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := data(t, res, "app-web")["chartVersion"]; got != tc.want {
				t.Errorf("rendered version %q, want %q", got, tc.want)
			}
		})
	}

	t.Run("wrong password", func(t *testing.T) {
		t.Parallel()
		bad := helm.New(helm.Options{Credentials: func(string) helm.Creds { return helm.Creds{Username: repoUser, Password: "nope"} }})
		_, err := bad.Render(t.Context(), request("web", "1.0.0"))
		if !errors.Is(err, helm.ErrUnauthorized) {
			t.Fatalf("error %v, want ErrUnauthorized", err)
		}
		if strings.Contains(err.Error(), "nope") {
			t.Errorf("the password leaks into %q", err)
		}
	})

	t.Run("archives are cached in memory and on disk", func(t *testing.T) {
		t.Parallel()
		own := newHelmRepo(t) // its own server, so no other subtest's downloads are counted
		own.add(t, simpleChart("web", "1.0.0", "a: chart\n"), "web", "1.0.0")
		cache := helm.NewChartSource(helm.SourceOptions{CacheDir: t.TempDir()})
		ref := helm.ChartRef{RepoURL: own.srv.URL, Chart: "web", Version: "1.0.0"}
		for range 3 {
			arc, err := cache.Fetch(t.Context(), ref, goodCreds(""))
			if err != nil {
				t.Fatal(err)
			}
			if arc.Version != "1.0.0" || !strings.HasPrefix(arc.Digest, "sha256:") {
				t.Errorf("archive %+v", arc)
			}
		}
		if n := own.hits.Load(); n != 1 {
			t.Errorf("%d downloads, want 1", n)
		}
		// A second source sharing the disk cache downloads nothing.
		shared := helm.NewChartSource(helm.SourceOptions{CacheDir: cache.CacheDir()})
		if _, err := shared.Fetch(t.Context(), ref, goodCreds("")); err != nil {
			t.Fatal(err)
		}
		if n := own.hits.Load(); n != 1 {
			t.Errorf("disk cache missed: %d downloads", n)
		}
	})
}

func TestDependencyFetchedFromRepository(t *testing.T) {
	t.Parallel()
	repo := newHelmRepo(t)
	lib := simpleChart("lib", "0.3.0", "a: lib\n")
	repo.add(t, lib, "lib", "0.3.0")
	repo.add(t, simpleChart("lib", "0.4.0", "a: lib\n"), "lib", "0.4.0")

	parent := simpleChart("parent", "1.0.0", "a: parent\n")
	parent["Chart.yaml"] += "dependencies:\n  - name: lib\n    version: \"~0.3.0 || ~0.4.0\"\n    repository: " + repo.srv.URL + "\n"
	parent["Chart.lock"] = "dependencies:\n  - name: lib\n    version: 0.3.0\n    repository: " + repo.srv.URL + "\ndigest: sha256:x\ngenerated: \"2025-01-01T00:00:00Z\"\n"
	tree := mapFS(map[string]chartFiles{"parent": parent})

	r := helm.New(helm.Options{Credentials: goodCreds})
	res, err := r.Render(t.Context(), &render.Request{FS: tree, Path: "parent", AppName: "app", Source: helmSource()})
	if err != nil {
		t.Fatal(err)
	}
	if v := data(t, res, "app-lib")["chartVersion"]; v != "0.3.0" {
		t.Errorf("dependency version %q, want the locked 0.3.0", v)
	}
	data(t, res, "app-parent")
}

// ociChart is a Helm chart as an OCI artifact, for remote.Put.
type ociManifest struct{ raw []byte }

func (m ociManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m ociManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

func pushChart(t *testing.T, repo name.Repository, tag string, archive []byte, opts ...remote.Option) {
	t.Helper()
	config := static.NewLayer([]byte(`{"name":"web"}`), helm.ChartConfigMediaType)
	layer := static.NewLayer(archive, helm.ChartLayerMediaType)
	for _, l := range []v1.Layer{config, layer} {
		if err := remote.WriteLayer(repo, l, opts...); err != nil {
			t.Fatal(err)
		}
	}
	desc := func(l v1.Layer, mt string) map[string]any {
		d, _ := l.Digest()
		s, _ := l.Size()
		return map[string]any{"mediaType": mt, "digest": d.String(), "size": s}
	}
	raw, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     string(types.OCIManifestSchema1),
		"config":        desc(config, helm.ChartConfigMediaType),
		"layers":        []any{desc(layer, helm.ChartLayerMediaType)},
	})
	if err := remote.Put(repo.Tag(tag), ociManifest{raw}, opts...); err != nil {
		t.Fatal(err)
	}
}

func TestOCIRegistry(t *testing.T) {
	t.Parallel()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if u, p, ok := req.BasicAuth(); !ok || u != repoUser || p != repoPass {
			w.Header().Set("WWW-Authenticate", `Basic realm="registry"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"auth required"}]}`, http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "https://")
	repo, err := name.NewRepository(host + "/charts/web")
	if err != nil {
		t.Fatal(err)
	}
	pushOpts := []remote.Option{remote.WithTransport(srv.Client().Transport), remote.WithAuth(&authn.Basic{Username: repoUser, Password: repoPass}), remote.WithContext(context.Background())}
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0+build.7", "2.0.0"} {
		pushChart(t, repo, strings.ReplaceAll(v, "+", "_"), tgz(t, "web", simpleChart("web", v, "a: oci\n")), pushOpts...)
	}

	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	creds := func(string) helm.Creds { return helm.Creds{Username: repoUser, Password: repoPass, CAData: ca} }
	r := helm.New(helm.Options{Credentials: creds})
	cases := []struct {
		name, repoURL, chart, version, want string
		is                                  error
	}{
		{name: "exact version", repoURL: "oci://" + host + "/charts", chart: "web", version: "1.1.0", want: "1.1.0"},
		{name: "semver range over tags", repoURL: "oci://" + host + "/charts", chart: "web", version: "^1.0.0", want: "1.2.0+build.7"},
		{name: "latest", repoURL: "oci://" + host + "/charts", chart: "web", version: "", want: "2.0.0"},
		{name: "repoURL names the chart", repoURL: "oci://" + host + "/charts/web", version: "2.0.0", want: "2.0.0"},
		{name: "unknown version", repoURL: "oci://" + host + "/charts", chart: "web", version: "3.0.0", is: render.ErrNotFound},
		{name: "no matching version", repoURL: "oci://" + host + "/charts", chart: "web", version: "~5.0", is: render.ErrNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := r.Render(t.Context(), &render.Request{AppName: "app", Source: &v1alpha1.ApplicationSource{RepoURL: tc.repoURL, Chart: tc.chart, TargetRevision: tc.version}})
			if tc.is != nil {
				if !errors.Is(err, tc.is) {
					t.Fatalf("error %v, want %v", err, tc.is)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := data(t, res, "app-web")["chartVersion"]; got != tc.want {
				t.Errorf("version %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		t.Parallel()
		src := helm.NewChartSource(helm.SourceOptions{})
		_, err := src.Fetch(t.Context(), helm.ChartRef{RepoURL: "oci://" + host + "/charts", Chart: "web", Version: "1.0.0"}, helm.Creds{Username: repoUser, Password: "nope", CAData: ca})
		if !errors.Is(err, helm.ErrUnauthorized) {
			t.Fatalf("error %v, want ErrUnauthorized", err)
		}
	})
	t.Run("enableOCI without the scheme", func(t *testing.T) {
		t.Parallel()
		src := helm.NewChartSource(helm.SourceOptions{})
		arc, err := src.Fetch(t.Context(), helm.ChartRef{RepoURL: host + "/charts", Chart: "web", Version: "1.0.0"}, helm.Creds{Username: repoUser, Password: repoPass, CAData: ca, EnableOCI: true})
		if err != nil {
			t.Fatal(err)
		}
		if arc.Version != "1.0.0" {
			t.Errorf("version %q", arc.Version)
		}
	})
}
