package v1alpha1_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

// corpusDir holds manifests written the way Argo CD users write them (and the way Argo CD writes status).
const corpusDir = "../../../../test/testdata/manifests"

// TestManifestsRoundTrip proves the Go types lose nothing: every corpus manifest decodes strictly (an unknown
// field fails) and encodes back to the same JSON document.
func TestManifestsRoundTrip(t *testing.T) {
	t.Parallel()
	for _, m := range loadManifests(t, corpusDir) {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			obj, err := newObject(m.data)
			if err != nil {
				t.Fatal(err)
			}
			if err := yaml.UnmarshalStrict(m.data, obj); err != nil {
				t.Fatalf("strict decode: %v", err)
			}
			encoded, err := json.Marshal(obj)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			original, err := yaml.YAMLToJSON(m.data)
			if err != nil {
				t.Fatalf("convert YAML to JSON: %v", err)
			}
			want, got := decodeJSON(t, original), decodeJSON(t, encoded)
			if !reflect.DeepEqual(want, got) {
				t.Errorf("round-trip changed the manifest:\n%s", strings.Join(jsonDiff("", want, got), "\n"))
			}
		})
	}
}

// TestCorpusCoversEveryKind guards the corpus against losing a kind.
func TestCorpusCoversEveryKind(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, m := range loadManifests(t, corpusDir) {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(m.data, &tm); err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
		seen[tm.Kind] = true
	}
	for _, kind := range []string{v1alpha1.ApplicationKind, v1alpha1.AppProjectKind, v1alpha1.ApplicationSetKind} {
		if !seen[kind] {
			t.Errorf("no %s in %s", kind, corpusDir)
		}
	}
}

// TestInvalidManifestsDeclareExpectation checks that each invalid manifest says which API server error it
// must produce, in a first line `# expect: <substring>`.
func TestInvalidManifestsDeclareExpectation(t *testing.T) {
	t.Parallel()
	invalid := loadManifests(t, filepath.Join(corpusDir, "invalid"))
	if len(invalid) == 0 {
		t.Fatal("no invalid manifests")
	}
	for _, m := range invalid {
		first, _, _ := bytes.Cut(m.data, []byte("\n"))
		if expect, ok := strings.CutPrefix(string(first), "# expect: "); !ok || strings.TrimSpace(expect) == "" {
			t.Errorf("%s: first line %q is not `# expect: <error substring>`", m.name, first)
		}
	}
}

type manifest struct {
	name string
	data []byte
}

// loadManifests reads the *.yaml files directly in dir, sorted by name.
func loadManifests(t *testing.T, dir string) []manifest {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(paths)
	out := make([]manifest, 0, len(paths))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, manifest{name: strings.TrimSuffix(filepath.Base(p), ".yaml"), data: data})
	}
	if len(out) == 0 {
		t.Fatalf("no manifests in %s", dir)
	}
	return out
}

// newObject returns an empty typed object for the manifest's apiVersion and kind.
func newObject(data []byte) (runtime.Object, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(data, &tm); err != nil {
		return nil, fmt.Errorf("read apiVersion and kind: %w", err)
	}
	if tm.APIVersion != v1alpha1.SchemeGroupVersion.String() {
		return nil, fmt.Errorf("apiVersion %q, want %q", tm.APIVersion, v1alpha1.SchemeGroupVersion)
	}
	switch tm.Kind {
	case v1alpha1.ApplicationKind:
		return &v1alpha1.Application{}, nil
	case v1alpha1.AppProjectKind:
		return &v1alpha1.AppProject{}, nil
	case v1alpha1.ApplicationSetKind:
		return &v1alpha1.ApplicationSet{}, nil
	}
	return nil, fmt.Errorf("unknown kind %q", tm.Kind)
}

// decodeJSON decodes a document keeping numbers as written, so 1 and 1.0 are not confused.
func decodeJSON(t *testing.T, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return v
}

// jsonDiff lists the paths where two decoded JSON documents differ.
func jsonDiff(path string, want, got any) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			break
		}
		var out []string
		keys := make([]string, 0, len(w)+len(g))
		for k := range w {
			keys = append(keys, k)
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			wv, inWant := w[k]
			gv, inGot := g[k]
			switch {
			case !inGot:
				out = append(out, fmt.Sprintf("  %s.%s: lost (was %s)", path, k, compact(wv)))
			case !inWant:
				out = append(out, fmt.Sprintf("  %s.%s: added %s", path, k, compact(gv)))
			default:
				out = append(out, jsonDiff(path+"."+k, wv, gv)...)
			}
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			break
		}
		var out []string
		for i := range w {
			out = append(out, jsonDiff(fmt.Sprintf("%s[%d]", path, i), w[i], g[i])...)
		}
		return out
	}
	if reflect.DeepEqual(want, got) {
		return nil
	}
	return []string{fmt.Sprintf("  %s: want %s, got %s", path, compact(want), compact(got))}
}

func compact(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
