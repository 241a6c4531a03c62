package render

import (
	"errors"
	"testing"
)

// FuzzDirectoryParse feeds arbitrary bytes to the directory parser, as YAML and as JSON. It must never
// panic, and every failure must be a *render.Error naming the file with a line inside it.
// Seeds: testdata/fuzz/FuzzDirectoryParse.
func FuzzDirectoryParse(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: List\nitems: []\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := 1
		for _, c := range data {
			if c == '\n' {
				lines++
			}
		}
		for _, name := range []string{"app/f.yaml", "app/f.json"} {
			p, err := parseManifests(name, data)
			if err != nil {
				var re *Error
				if !errors.As(err, &re) {
					t.Fatalf("%s: error %v (%T), want *render.Error", name, err, err)
				}
				if re.File != name || re.Line < 0 || re.Line > lines {
					t.Fatalf("%s: error at %s:%d, the input has %d lines", name, re.File, re.Line, lines)
				}
				continue
			}
			for _, o := range p.objs {
				if o.GetAPIVersion() == "" || o.GetKind() == "" {
					t.Fatalf("%s: object without apiVersion or kind: %v", name, o.Object)
				}
				_ = o.DeepCopy() // values must be JSON-compatible (int64, float64, ...)
			}
		}
	})
}
