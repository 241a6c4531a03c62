package helm_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/render"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// tgz packages files as a chart archive, every path under top/ like `helm package` does.
func tgz(t testing.TB, top string, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		body := files[n]
		if err := tw.WriteHeader(&tar.Header{Name: top + "/" + n, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// zipBomb is a chart archive whose one file decompresses to size bytes of zeros.
func zipBomb(t testing.TB, name string, size int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	tw := tar.NewWriter(zw)
	chartYAML := "apiVersion: v2\nname: " + name + "\nversion: 0.1.0\n"
	_ = tw.WriteHeader(&tar.Header{Name: name + "/Chart.yaml", Mode: 0o644, Size: int64(len(chartYAML)), Typeflag: tar.TypeReg})
	_, _ = tw.Write([]byte(chartYAML))
	_ = tw.WriteHeader(&tar.Header{Name: name + "/files/zeros", Mode: 0o644, Size: size, Typeflag: tar.TypeReg})
	zeros := make([]byte, 1<<20)
	for left := size; left > 0; left -= int64(len(zeros)) {
		_, _ = tw.Write(zeros[:min(int64(len(zeros)), left)])
	}
	_ = tw.Close()
	_ = zw.Close()
	return buf.Bytes()
}

// chartFiles is a chart's files for a MapFS or an archive.
type chartFiles map[string]string

// simpleChart returns a chart whose one ConfigMap shows the values named in keys, with their Go kinds.
func simpleChart(name, version string, defaults string) chartFiles {
	return chartFiles{
		"Chart.yaml":  "apiVersion: v2\nname: " + name + "\nversion: " + version + "\n",
		"values.yaml": defaults,
		"templates/cm.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-{{ .Chart.Name }}
  namespace: {{ .Release.Namespace }}
data:
  chartVersion: {{ .Chart.Version | quote }}
{{- range $k, $v := .Values }}
  {{ $k }}: {{ printf "%v (%s)" $v (kindOf $v) | quote }}
{{- end }}
`,
	}
}

// mapFS puts files under dir of a MapFS.
func mapFS(trees map[string]chartFiles) fstest.MapFS {
	m := fstest.MapFS{}
	for dir, files := range trees {
		for n, body := range files {
			m[filepath.ToSlash(filepath.Join(dir, n))] = &fstest.MapFile{Data: []byte(body), Mode: 0o644}
		}
	}
	return m
}

func boolPtr(b bool) *bool { return &b }

func helmSource(mut ...func(*v1alpha1.ApplicationSourceHelm)) *v1alpha1.ApplicationSource {
	h := &v1alpha1.ApplicationSourceHelm{}
	for _, m := range mut {
		m(h)
	}
	return &v1alpha1.ApplicationSource{RepoURL: "https://git.example.com/repo.git", Path: "chart", Helm: h}
}

// data returns a ConfigMap's data from the rendered objects.
func data(t testing.TB, res *render.Result, name string) map[string]string {
	t.Helper()
	for _, o := range res.Objects {
		if o.GetKind() == "ConfigMap" && o.GetName() == name {
			m, _, _ := unstructured.NestedStringMap(o.Object, "data")
			return m
		}
	}
	t.Fatalf("no ConfigMap %s in %s", name, names(res))
	return nil
}

func names(res *render.Result) string {
	var out []string
	for _, o := range res.Objects {
		out = append(out, o.GetKind()+"/"+o.GetName())
	}
	return strings.Join(out, ", ")
}

// golden compares the rendered objects with testdata/golden/<name>.yaml (rewritten with -update).
func golden(t *testing.T, name string, res *render.Result) {
	t.Helper()
	var b strings.Builder
	for _, o := range res.Objects {
		y, err := yaml.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("---\n")
		b.Write(y)
	}
	file := filepath.Join("testdata", "golden", name+".yaml")
	if *update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("render differs from %s (go test -update rewrites it):\n%s", file, got)
	}
}
