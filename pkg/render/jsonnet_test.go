package render

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

func jsonnetSource(j *v1alpha1.ApplicationSourceJsonnet) *v1alpha1.ApplicationSource {
	return &v1alpha1.ApplicationSource{Directory: &v1alpha1.ApplicationSourceDirectory{Jsonnet: j}}
}

func TestJsonnet(t *testing.T) {
	t.Parallel()
	tree := fstest.MapFS{
		"app/ext.jsonnet":       {Data: []byte(`{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: std.extVar('name')}, data: {n: std.toString(std.extVar('n'))}}`)},
		"app/tla.jsonnet":       {Data: []byte(`function(name, n) {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: name}, data: {n: std.toString(n)}}`)},
		"app/lib.jsonnet":       {Data: []byte(`local k = import 'k.libsonnet'; k.cm('from-lib')`)},
		"app/rel.jsonnet":       {Data: []byte(`(import 'parts/p.libsonnet') + {metadata: {name: importstr 'parts/name.txt'}}`)},
		"app/parts/p.libsonnet": {Data: []byte(`{apiVersion: 'v1', kind: 'ConfigMap'}`)},
		"app/parts/name.txt":    {Data: []byte(`relative`)},
		"vendor/k.libsonnet":    {Data: []byte(`{cm(name):: {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: name}}}`)},
		"app/other.libsonnet":   {Data: []byte(`this is not evaluated on its own`)},
	}
	cases := []struct {
		name    string
		include string
		j       *v1alpha1.ApplicationSourceJsonnet
		want    []string
		data    string
	}{
		{name: "extVars as strings", include: "ext.jsonnet", j: &v1alpha1.ApplicationSourceJsonnet{
			ExtVars: []v1alpha1.JsonnetVar{{Name: "name", Value: "ext"}, {Name: "n", Value: "1+1"}}}, want: []string{"ext"}, data: "1+1"},
		{name: "extVars as code", include: "ext.jsonnet", j: &v1alpha1.ApplicationSourceJsonnet{
			ExtVars: []v1alpha1.JsonnetVar{{Name: "name", Value: "'co' + 'de'", Code: ptr(true)}, {Name: "n", Value: "1+1", Code: ptr(true)}}}, want: []string{"code"}, data: "2"},
		{name: "TLAs as strings and code", include: "tla.jsonnet", j: &v1alpha1.ApplicationSourceJsonnet{
			TLAs: []v1alpha1.JsonnetVar{{Name: "name", Value: "tla"}, {Name: "n", Value: "[1, 2][1]", Code: ptr(true)}}}, want: []string{"tla"}, data: "2"},
		{name: "libs from the repository root", include: "lib.jsonnet", j: &v1alpha1.ApplicationSourceJsonnet{Libs: []string{"vendor"}},
			want: []string{"from-lib"}},
		{name: "relative import and importstr", include: "rel.jsonnet", want: []string{"relative"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := jsonnetSource(tc.j)
			src.Directory.Include = tc.include
			res, err := (&DirectoryRenderer{}).Render(t.Context(), &Request{FS: tree, Path: "app", Source: src})
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if got := names(res); !slices.Equal(got, tc.want) {
				t.Fatalf("rendered %v, want %v", got, tc.want)
			}
			if tc.data != "" {
				if got, _, _ := unstructuredString(res.Objects[0].Object, "data", "n"); got != tc.data {
					t.Errorf("data.n = %q, want %q", got, tc.data)
				}
			}
		})
	}
}

func unstructuredString(obj map[string]any, fields ...string) (string, bool, error) {
	var cur any = obj
	for _, f := range fields {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false, nil
		}
		cur = m[f]
	}
	s, ok := cur.(string)
	return s, ok, nil
}

func TestJsonnetErrors(t *testing.T) {
	t.Parallel()
	tree := fstest.MapFS{
		"secret.libsonnet":         {Data: []byte(`{}`)},
		"repo/app/up.jsonnet":      {Data: []byte(`import '../../../etc/passwd'`)},
		"repo/app/abs.jsonnet":     {Data: []byte(`import '/etc/passwd'`)},
		"repo/app/lib.jsonnet":     {Data: []byte(`import 'x.libsonnet'`)},
		"repo/app/runtime.jsonnet": {Data: []byte("local f = import 'f.libsonnet';\nf.boom()\n")},
		"repo/app/f.libsonnet":     {Data: []byte("{\n  boom():: error 'kaboom',\n}\n")},
		"repo/app/syntax.jsonnet":  {Data: []byte("{\n  a: 1,\n  b: ,\n}\n")},
		"repo/app/shape.jsonnet":   {Data: []byte(`[{metadata: {name: 'x'}}]`)},
		"repo/app/deep.jsonnet":    {Data: []byte(`local f(n) = if n == 0 then 0 else 1 + f(n - 1); {apiVersion: 'v1', kind: 'X', n: f(100000)}`)},
		"repo/app/missing.jsonnet": {Data: []byte(`import 'nowhere.libsonnet'`)},
	}
	cases := []struct {
		name, file string
		libs       []string
		wantFile   string
		wantLine   int
		is         error
		msg        string
	}{
		{name: "import climbing out of the tree", file: "up.jsonnet", is: ErrPathEscape},
		{name: "absolute import", file: "abs.jsonnet", is: ErrPathEscape},
		{name: "lib outside the tree", file: "lib.jsonnet", libs: []string{"../outside"}, is: ErrPathEscape},
		{name: "runtime error in an imported file", file: "runtime.jsonnet", wantFile: "repo/app/f.libsonnet", wantLine: 2, msg: "kaboom"},
		{name: "syntax error", file: "syntax.jsonnet", wantFile: "repo/app/syntax.jsonnet", wantLine: 3},
		{name: "output without kind", file: "shape.jsonnet", wantFile: "repo/app/shape.jsonnet", msg: "no apiVersion or kind"},
		{name: "stack limit", file: "deep.jsonnet", wantFile: "repo/app/deep.jsonnet", wantLine: 1, msg: "max stack frames exceeded"},
		{name: "missing import", file: "missing.jsonnet", wantFile: "repo/app/missing.jsonnet", wantLine: 1, msg: "nowhere.libsonnet"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := jsonnetSource(&v1alpha1.ApplicationSourceJsonnet{Libs: tc.libs})
			src.Directory.Include = tc.file
			_, err := (&DirectoryRenderer{}).Render(t.Context(), &Request{FS: tree, Path: "repo/app", Source: src})
			if err == nil {
				t.Fatal("Render succeeded, want an error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v, want %v", err, tc.is)
			}
			if tc.wantFile != "" {
				var re *Error
				if !errors.As(err, &re) {
					t.Fatalf("error %v (%T), want *render.Error", err, err)
				}
				if re.File != tc.wantFile || re.Line != tc.wantLine {
					t.Errorf("error at %s:%d, want %s:%d (%v)", re.File, re.Line, tc.wantFile, tc.wantLine, err)
				}
			}
			if tc.msg != "" && !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
		})
	}
}

func TestJsonnetTimeout(t *testing.T) {
	t.Parallel()
	tree := fstest.MapFS{
		// Quadratic work: seconds of CPU, far longer than the timeout.
		"app/slow.jsonnet": {Data: []byte(`{apiVersion: 'v1', kind: 'X', n: std.length(std.foldl(function(acc, i) acc + [i], std.range(0, 40000), []))}`)},
	}
	start := time.Now()
	_, err := New(Options{}).Render(t.Context(), &Request{FS: tree, Path: "app", Limits: Limits{Timeout: 100 * time.Millisecond}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Render returned after %v, want about the 100ms timeout", d)
	}
}
