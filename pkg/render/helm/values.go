package helm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strings"

	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/strvals"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/render"
)

// composeValues builds the user-supplied values of a render in Argo CD's documented order, each layer
// merged over the one before: valueFiles (in order), then values or valuesObject (valuesObject wins when
// both are set), then parameters (`--set`, then the forceString ones as `--set-string`), then
// fileParameters (`--set-file`). The chart's own values.yaml is coalesced under all of this by Helm.
func (r *Renderer) composeValues(ctx context.Context, req *render.Request, h *v1alpha1.ApplicationSourceHelm, max int64) (map[string]any, error) {
	vals := map[string]any{}
	if h == nil {
		return vals, nil
	}
	ignoreMissing := h.IgnoreMissingValueFiles != nil && *h.IgnoreMissingValueFiles
	for _, vf := range h.ValueFiles {
		data, file, err := r.readRef(ctx, req, vf, max)
		if err != nil {
			if ignoreMissing && errors.Is(err, render.ErrNotFound) {
				continue
			}
			return nil, fmt.Errorf("value file %s: %w", vf, err)
		}
		layer, err := loader.LoadValues(strings.NewReader(string(data)))
		if err != nil {
			return nil, &render.Error{File: file, Line: yamlErrorLine(err), Err: err}
		}
		vals = loader.MergeMaps(vals, layer)
	}

	switch {
	case h.ValuesObject != nil && len(h.ValuesObject.Raw) > 0 && string(h.ValuesObject.Raw) != "null":
		layer := map[string]any{}
		if err := json.Unmarshal(h.ValuesObject.Raw, &layer); err != nil {
			return nil, &render.Error{File: "spec.source.helm.valuesObject", Err: fmt.Errorf("not an object: %w", err)}
		}
		vals = loader.MergeMaps(vals, layer)
	case strings.TrimSpace(h.Values) != "":
		layer, err := loader.LoadValues(strings.NewReader(h.Values))
		if err != nil {
			return nil, &render.Error{File: "spec.source.helm.values", Line: yamlErrorLine(err), Err: err}
		}
		vals = loader.MergeMaps(vals, layer)
	}

	// Helm applies every --set before every --set-string; so do we.
	for _, forceString := range []bool{false, true} {
		for _, p := range h.Parameters {
			if (p.ForceString != nil && *p.ForceString) != forceString {
				continue
			}
			set := p.Name + "=" + escapeSetValue(p.Value)
			parse := strvals.ParseInto
			if forceString {
				parse = strvals.ParseIntoString
			}
			if err := parse(set, vals); err != nil {
				return nil, &render.Error{File: "spec.source.helm.parameters", Err: fmt.Errorf("parameter %s: %w", p.Name, err)}
			}
		}
	}
	for _, fp := range h.FileParameters {
		data, _, err := r.readRef(ctx, req, fp.Path, max)
		if err != nil {
			return nil, fmt.Errorf("file parameter %s: %w", fp.Name, err)
		}
		content := string(data)
		err = strvals.ParseIntoFile(fp.Name+"=file", vals, func([]rune) (any, error) { return content, nil })
		if err != nil {
			return nil, &render.Error{File: "spec.source.helm.fileParameters", Err: fmt.Errorf("file parameter %s: %w", fp.Name, err)}
		}
	}
	return vals, nil
}

// escapeSetValue makes one parameter set one key: Helm's --set splits on unescaped commas, but an
// Application parameter is a single name and value. A value in braces ("{a,b}") keeps Helm's list syntax.
func escapeSetValue(v string) string {
	if strings.HasPrefix(v, "{") && strings.HasSuffix(v, "}") {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		switch {
		case v[i] == '\\' && i+1 < len(v):
			b.WriteByte(v[i])
			b.WriteByte(v[i+1])
			i++
		case v[i] == ',':
			b.WriteString(`\,`)
		default:
			b.WriteByte(v[i])
		}
	}
	return b.String()
}

// readRef reads a value file or file parameter: "$ref/path" from the named ref source, an http(s) URL
// when enabled, otherwise a path relative to the application's directory. Every tree path is jailed. The
// returned file names it in errors.
func (r *Renderer) readRef(ctx context.Context, req *render.Request, p string, max int64) ([]byte, string, error) {
	switch {
	case strings.HasPrefix(p, "$"):
		refName, rest, _ := strings.Cut(p[1:], "/")
		tree, ok := req.RefSources[refName]
		if !ok || tree == nil {
			return nil, p, &render.Error{File: p, Err: fmt.Errorf("no source with ref %q", refName)}
		}
		return readJailed(tree, ".", rest, p, max)
	case strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://"):
		if !r.opts.AllowRemoteValueFiles {
			return nil, redact(p), &render.Error{File: redact(p), Err: errors.New("remote value files are disabled")}
		}
		data, err := r.remoteValues(ctx, p, max)
		return data, redact(p), err
	default:
		if req.FS == nil {
			return nil, p, &render.Error{File: p, Err: errors.New("a chart from a repository has no files beside it: use $ref/ or values")}
		}
		return readJailed(req.FS, req.Path, p, p, max)
	}
}

func readJailed(tree fs.FS, base, p, display string, max int64) ([]byte, string, error) {
	full, err := joinInside(base, p)
	if err != nil {
		return nil, display, err
	}
	data, err := readInside(tree, full, max)
	return data, full, err
}

func (r *Renderer) remoteValues(ctx context.Context, rawURL string, max int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, statusError(redact(rawURL), resp.StatusCode)
	}
	return readCapped(resp.Body, max, redact(rawURL))
}
