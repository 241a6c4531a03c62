package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"
)

// Errors of a manifest's shape, wrapped in *Error with the file and line.
var (
	errNoKind      = errors.New("document has no apiVersion or kind")
	errNotAnObject = errors.New("document is not an object")
)

// yamlDoc is one document of a multi-document YAML file.
type yamlDoc struct {
	body []byte
	line int // 1-based line of the document's first byte in the file
}

// splitYAML splits a YAML stream on "---" separator lines, as kubectl does: a line that starts with
// "---" followed by nothing, blanks or a comment. A "--- value" line starts a document whose first line
// is the value. Line numbers are kept so errors can point into the file.
func splitYAML(data []byte) []yamlDoc {
	var docs []yamlDoc
	start, startLine := 0, 1
	line := 1
	for pos := 0; pos < len(data); {
		end := bytes.IndexByte(data[pos:], '\n')
		next := len(data)
		if end >= 0 {
			next = pos + end + 1
		}
		l := data[pos:next]
		if bytes.HasPrefix(l, []byte("---")) {
			rest := bytes.TrimSpace(l[3:])
			if len(rest) == 0 || rest[0] == '#' {
				docs = append(docs, yamlDoc{body: data[start:pos], line: startLine})
				start, startLine = next, line+1
			} else if l[3] == ' ' || l[3] == '\t' {
				docs = append(docs, yamlDoc{body: data[start:pos], line: startLine})
				// Keep the document's content on its own line, padded so columns stay right.
				start, startLine = pos+4, line
			}
		}
		pos = next
		line++
	}
	docs = append(docs, yamlDoc{body: data[start:], line: startLine})
	return docs
}

// isBlankYAML reports whether a document holds only blanks and comments (or a lone "..." end marker).
func isBlankYAML(b []byte) bool {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		var l []byte
		if i < 0 {
			l, b = b, nil
		} else {
			l, b = b[:i], b[i+1:]
		}
		l = bytes.TrimSpace(l)
		if len(l) == 0 || l[0] == '#' || string(l) == "..." {
			continue
		}
		return false
	}
	return true
}

// firstContentLine is the line of the first non-blank, non-comment line of a document.
func firstContentLine(d yamlDoc) int {
	b := d.body
	for n := d.line; len(b) > 0; n++ {
		i := bytes.IndexByte(b, '\n')
		var l []byte
		if i < 0 {
			l, b = b, nil
		} else {
			l, b = b[:i], b[i+1:]
		}
		l = bytes.TrimSpace(l)
		if len(l) > 0 && l[0] != '#' {
			return n
		}
	}
	return d.line
}

var yamlLineRe = regexp.MustCompile(`line (\d+)`)

// yamlParserProblems are the errors of the YAML parser (as opposed to its scanner). The parser reports
// them at the 0-based line of the offending token, the scanner at the 1-based one (a quirk of the YAML
// library kubectl and Argo CD share), so their line is one more than the message says.
var yamlParserProblems = []string{
	"did not find expected key",
	"did not find expected node content",
	"did not find expected '-' indicator",
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected <document start>",
	"found undefined tag handle",
	"found duplicate %YAML directive",
	"found duplicate %TAG directive",
	"found incompatible YAML document",
}

// yamlErrorLine finds the 1-based line, inside the document doc, of a YAML error; 1 when the error
// names none.
func yamlErrorLine(err error, doc []byte) int {
	msg := err.Error()
	m := yamlLineRe.FindStringSubmatch(msg)
	if m == nil {
		return 1
	}
	n, _ := strconv.Atoi(m[1])
	for _, p := range yamlParserProblems {
		if strings.Contains(msg, p) {
			n++
			break
		}
	}
	// An error at the end of the stream (an unclosed bracket) points past the last line.
	lines := bytes.Count(bytes.TrimRight(doc, " \t\r\n"), []byte("\n")) + 1
	if n > lines {
		n = lines
	}
	if n < 1 {
		n = 1
	}
	return n
}

// cleanYAMLError drops sigs.k8s.io/yaml's wrapping and the parser's own line (Error.Line replaces it).
func cleanYAMLError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")
	msg = strings.TrimPrefix(msg, "yaml: ")
	msg = yamlLineRe.ReplaceAllString(msg, "")
	msg = strings.TrimLeft(msg, ": ")
	return errors.New(msg)
}

// parsed is what a file rendered to: its objects and their size as JSON, for the output budget.
type parsed struct {
	objs  []*unstructured.Unstructured
	bytes int
}

// parseManifests decodes a YAML (multi-document) or JSON file into objects, flattening List kinds and
// skipping empty documents. name is the file's path in the tree, for errors.
func parseManifests(name string, data []byte) (parsed, error) {
	var out parsed
	if strings.HasSuffix(name, ".json") {
		v, err := decodeJSON(name, data)
		if err != nil {
			return out, err
		}
		out.bytes = len(data)
		if err := appendObjects(&out.objs, name, 0, v, true); err != nil {
			return out, err
		}
		return out, nil
	}
	for _, d := range splitYAML(data) {
		if isBlankYAML(d.body) {
			continue
		}
		j, err := yaml.YAMLToJSON(d.body)
		if err != nil {
			return out, &Error{File: name, Line: d.line + yamlErrorLine(err, d.body) - 1, Err: cleanYAMLError(err)}
		}
		if string(j) == "null" {
			continue
		}
		var v any
		if err := utiljson.Unmarshal(j, &v); err != nil {
			return out, &Error{File: name, Line: firstContentLine(d), Err: err}
		}
		out.bytes += len(j)
		if err := appendObjects(&out.objs, name, firstContentLine(d), v, false); err != nil {
			return out, err
		}
	}
	return out, nil
}

// decodeJSON decodes one JSON value, with the line of a syntax error.
func decodeJSON(name string, data []byte) (any, error) {
	var v any
	if err := utiljson.Unmarshal(data, &v); err != nil {
		// The standard decoder says where; the Kubernetes one does not.
		var std any
		if serr := json.Unmarshal(data, &std); serr != nil {
			err = serr
		}
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, &Error{File: name, Line: lineAt(data, se.Offset), Err: errors.New(se.Error())}
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, &Error{File: name, Line: lineAt(data, te.Offset), Err: err}
		}
		return nil, &Error{File: name, Err: err}
	}
	return v, nil
}

func lineAt(data []byte, offset int64) int {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	if offset < 0 {
		offset = 0
	}
	return bytes.Count(data[:offset], []byte("\n")) + 1
}

// appendObjects turns a decoded value into objects: an object (a List kind is flattened), or, when
// arrays is set (JSON files and Jsonnet output), an array of those, nested arrays included.
func appendObjects(dst *[]*unstructured.Unstructured, file string, line int, v any, arrays bool) error {
	switch t := v.(type) {
	case nil:
		return nil
	case []any:
		if !arrays {
			return &Error{File: file, Line: line, Err: errNotAnObject}
		}
		for _, e := range t {
			if err := appendObjects(dst, file, line, e, true); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		apiVersion, _ := t["apiVersion"].(string)
		kind, _ := t["kind"].(string)
		if apiVersion == "" || kind == "" {
			return &Error{File: file, Line: line, Err: errNoKind}
		}
		if items, ok := t["items"].([]any); ok && strings.HasSuffix(kind, "List") {
			for _, it := range items {
				if _, ok := it.(map[string]any); !ok {
					return &Error{File: file, Line: line, Err: fmt.Errorf("%s item: %w", kind, errNotAnObject)}
				}
				if err := appendObjects(dst, file, line, it, false); err != nil {
					return err
				}
			}
			return nil
		}
		*dst = append(*dst, &unstructured.Unstructured{Object: t})
		return nil
	default:
		return &Error{File: file, Line: line, Err: errNotAnObject}
	}
}
