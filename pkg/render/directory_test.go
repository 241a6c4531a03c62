package render

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

// cm is a one-ConfigMap manifest named name.
func cm(name string) *fstest.MapFile {
	return &fstest.MapFile{Data: []byte(fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n", name))}
}

func names(res *Result) []string {
	var out []string
	for _, o := range res.Objects {
		out = append(out, o.GetName())
	}
	return out
}

func TestDirectorySelection(t *testing.T) {
	t.Parallel()
	tree := fstest.MapFS{
		"app/a.yaml":            cm("a"),
		"app/b.yml":             cm("b"),
		"app/c.json":            {Data: []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}`)},
		"app/d.txt":             cm("d"),
		"app/noext":             cm("noext"),
		"app/config.yaml":       cm("config"),
		"app/sub/e.yaml":        cm("e"),
		"app/sub/deeper/f.yaml": cm("f"),
		"app/env-usw2/g.yaml":   cm("g"),
		"app/.git/h.yaml":       cm("h"),
		"other/x.yaml":          cm("x"),
	}
	cases := []struct {
		name string
		dir  *v1alpha1.ApplicationSourceDirectory
		want []string
	}{
		{name: "defaults: top level, manifest extensions", want: []string{"a", "b", "c", "config"}},
		{name: "recurse", dir: &v1alpha1.ApplicationSourceDirectory{Recurse: ptr(true)},
			want: []string{"a", "b", "c", "config", "g", "f", "e"}},
		{name: "include one glob", dir: &v1alpha1.ApplicationSourceDirectory{Include: "*.yaml"},
			want: []string{"a", "config"}},
		{name: "include brace set", dir: &v1alpha1.ApplicationSourceDirectory{Include: "{a.yaml,c.json}"},
			want: []string{"a", "c"}},
		{name: "star crosses directories when recursing", dir: &v1alpha1.ApplicationSourceDirectory{Recurse: ptr(true), Include: "*.yaml"},
			want: []string{"a", "config", "g", "f", "e"}},
		{name: "include a subdirectory", dir: &v1alpha1.ApplicationSourceDirectory{Recurse: ptr(true), Include: "sub/*"},
			want: []string{"f", "e"}},
		{name: "exclude brace set with a directory glob", dir: &v1alpha1.ApplicationSourceDirectory{Recurse: ptr(true), Exclude: "{config.yaml,env-usw2/*}"},
			want: []string{"a", "b", "c", "f", "e"}},
		{name: "exclude wins over include", dir: &v1alpha1.ApplicationSourceDirectory{Include: "*.y*ml", Exclude: "b.*"},
			want: []string{"a", "config"}},
		{name: "class and single character", dir: &v1alpha1.ApplicationSourceDirectory{Include: "[ab].y*ml"},
			want: []string{"a", "b"}},
		{name: "extension filter disabled", dir: &v1alpha1.ApplicationSourceDirectory{DisableExtensionFilter: ptr(true)},
			want: []string{"a", "b", "c", "config", "d", "noext"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := (&DirectoryRenderer{}).Render(t.Context(), &Request{FS: tree, Path: "app", Source: &v1alpha1.ApplicationSource{Directory: tc.dir}})
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if got := names(res); !slices.Equal(got, tc.want) {
				t.Errorf("rendered %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDirectoryListFlattening(t *testing.T) {
	t.Parallel()
	tree := fstest.MapFS{
		"app/list.yaml": {Data: []byte(`apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: one}
- apiVersion: v1
  kind: ConfigMapList
  items:
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: nested}
`)},
		"app/typed.yaml": {Data: []byte(`apiVersion: v1
kind: ServiceList
items:
- {apiVersion: v1, kind: Service, metadata: {name: svc}}
`)},
		"app/array.json": {Data: []byte(`[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"j1"}},
 [{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"j2"}}]]`)},
		"app/emptylist.yaml": {Data: []byte("apiVersion: v1\nkind: List\nitems: []\n")},
		"app/notalist.yaml":  {Data: []byte("apiVersion: example.com/v1\nkind: Playlist\nmetadata: {name: kept}\nspec: {}\n")},
	}
	res, err := (&DirectoryRenderer{}).Render(t.Context(), &Request{FS: tree, Path: "app"})
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	want := []string{"j1", "j2", "one", "nested", "kept", "svc"}
	if got := names(res); !slices.Equal(got, want) {
		t.Errorf("rendered %v, want %v", got, want)
	}
}

func TestParseErrorsNameFileAndLine(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, file, data string
		line             int
		msg              string
	}{
		{name: "bad indentation in the only document", file: "app/bad.yaml",
			data: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n bad: indent\n", line: 5},
		{name: "error in the third document", file: "app/multi.yaml",
			data: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n---\n# third\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  labels: [unclosed\n",
			line: 14},
		{name: "tab indentation after separators with comments", file: "app/tab.yaml",
			data: "--- # first\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: b\n", line: 10},
		{name: "missing kind names the document's first line", file: "app/nokind.yaml",
			data: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n\n# comment\nmetadata:\n  name: b\n", line: 7, msg: "no apiVersion or kind"},
		{name: "scanner error in the second document", file: "app/colon.yaml",
			data: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a: b\n", line: 8},
		{name: "unclosed flow sequence mid-document", file: "app/flow.yaml",
			data: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: [a, b\n  name: x\ndata: {}\n", line: 5},
		{name: "scalar document", file: "app/scalar.yaml", data: "just a string\n", line: 1, msg: "not an object"},
		{name: "json syntax error", file: "app/bad.json",
			data: "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"ConfigMap\"\n  \"metadata\": {}\n}\n", line: 4},
		{name: "list item not an object", file: "app/list.yaml",
			data: "apiVersion: v1\nkind: List\nitems:\n- 42\n", line: 1, msg: "not an object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tree := fstest.MapFS{tc.file: {Data: []byte(tc.data)}}
			_, err := (&DirectoryRenderer{}).Render(t.Context(), &Request{FS: tree, Path: "app"})
			var re *Error
			if !errors.As(err, &re) {
				t.Fatalf("error %v (%T), want *render.Error", err, err)
			}
			if re.File != tc.file || re.Line != tc.line {
				t.Errorf("error at %s:%d, want %s:%d (%v)", re.File, re.Line, tc.file, tc.line, err)
			}
			if tc.msg != "" && !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
		})
	}
}

func TestDirectoryPathsAndLimits(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 2048)
	tree := fstest.MapFS{
		"app/a.yaml":     cm("a"),
		"app/b.yaml":     cm("b"),
		"big/big.yaml":   {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata: {k: " + big + "}\n")},
		"file/only.yaml": cm("f"),
	}
	cases := []struct {
		name   string
		path   string
		limits Limits
		want   error
	}{
		{name: "parent path refused", path: "../app", want: ErrPathEscape},
		{name: "climbing path refused", path: "app/../../x", want: ErrPathEscape},
		{name: "absolute path refused", path: "/app", want: ErrPathEscape},
		{name: "missing app path", path: "nope", want: ErrNotFound},
		{name: "file over MaxFileBytes", path: "big", limits: Limits{MaxFileBytes: 1024}, want: ErrTooLarge},
		{name: "output over MaxManifestBytes", path: "app", limits: Limits{MaxManifestBytes: 100}, want: ErrTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := (&DirectoryRenderer{}).Render(t.Context(), &Request{FS: tree, Path: tc.path, Limits: tc.limits})
			if !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestGlob(t *testing.T) {
	t.Parallel()
	cases := []struct {
		pattern, name string
		match         bool
	}{
		{"*.yaml", "a.yaml", true},
		{"*.yaml", "sub/a.yaml", true},
		{"*.yaml", "a.yml", false},
		{"{a.yaml,b.yaml}", "b.yaml", true},
		{"{a.yaml,b.yaml}", "c.yaml", false},
		{"{*.yml,base/{x,y}.yaml}", "base/y.yaml", true},
		{"[!a]*.yaml", "a.yaml", false},
		{"[!a]*.yaml", "b.yaml", true},
		{"[a-c].yaml", "c.yaml", true},
		{`a\*.yaml`, "a*.yaml", true},
		{`a\*.yaml`, "ab.yaml", false},
		{"a.yaml", "xa.yaml", false},
		{"**/x.yaml", "a/b/x.yaml", true},
		{"file(1).yaml", "file(1).yaml", true},
	}
	for _, tc := range cases {
		g, err := compileGlob(tc.pattern)
		if err != nil {
			t.Fatalf("compileGlob(%q): %v", tc.pattern, err)
		}
		if got := g.match(tc.name); got != tc.match {
			t.Errorf("glob %q on %q = %v, want %v", tc.pattern, tc.name, got, tc.match)
		}
	}
	for _, bad := range []string{"{a,b", "[ab", `a\`} {
		if _, err := compileGlob(bad); err == nil {
			t.Errorf("compileGlob(%q) succeeded, want an error", bad)
		}
	}
}
