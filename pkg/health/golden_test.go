package health_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/moorcd/moor/pkg/health"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// TestGoldenBuiltins assesses every object under testdata/objects (one file per kind, one case per document,
// named by metadata.name) and compares with testdata/golden/<file>.golden.
func TestGoldenBuiltins(t *testing.T) {
	t.Parallel()
	a := mustAssessor(t, health.Options{})
	files, err := filepath.Glob("testdata/objects/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			t.Parallel()
			checkGolden(t, a, file)
		})
	}
}

// TestGoldenLua runs the Lua checks of testdata/lua/argocd-cm.yaml (an Argo CD argocd-cm) on
// testdata/lua/objects.yaml: overrides that win over built-ins, core and glob keys, and scripts that loop,
// escape the sandbox, recurse, allocate or return nonsense.
func TestGoldenLua(t *testing.T) {
	t.Parallel()
	a := mustAssessor(t, health.Options{Lua: configMapLua(t, "testdata/lua/argocd-cm.yaml"), LuaTimeout: 100 * time.Millisecond})
	checkGolden(t, a, "testdata/lua/objects.yaml")
}

func checkGolden(t *testing.T, a *health.Assessor, file string) {
	t.Helper()
	var got bytes.Buffer
	for _, obj := range readObjects(t, file) {
		res, err := a.Assess(obj)
		line := fmt.Sprintf("%s/%s: ", obj.GetKind(), obj.GetName())
		if res == nil {
			line += "<no health>"
		} else {
			line += fmt.Sprintf("%s %q", res.Status, res.Message)
		}
		if err != nil {
			line += fmt.Sprintf(" error=%q", err)
		}
		got.WriteString(line + "\n")
	}
	golden := filepath.Join("testdata", "golden", strings.TrimSuffix(filepath.Base(file), ".yaml")+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden (run with -update to create): %v", err)
	}
	if diff := cmp.Diff(string(want), got.String()); diff != "" {
		t.Errorf("%s: health differs from %s (-want +got):\n%s", file, golden, diff)
	}
}

func mustAssessor(t testing.TB, opts health.Options) *health.Assessor {
	t.Helper()
	a, err := health.New(opts)
	if err != nil {
		t.Fatalf("health.New: %v", err)
	}
	return a
}

func configMapLua(t testing.TB, file string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict(b, &cm); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return health.LuaFromConfigMap(cm.Data)
}

func readObjects(t testing.TB, file string) []*unstructured.Unstructured {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	var out []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return out
			}
			t.Fatalf("%s: %v", file, err)
		}
		if m == nil {
			continue
		}
		// Numbers as the API server's JSON decoding gives them (int64), not float64.
		m = runtime.DeepCopyJSON(normalize(m).(map[string]any))
		out = append(out, &unstructured.Unstructured{Object: m})
	}
}

// normalize turns whole float64s into int64 as client-go's unstructured decoding does.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
	case float64:
		if x == float64(int64(x)) {
			return int64(x)
		}
	}
	return v
}
