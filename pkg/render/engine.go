package render

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

// Options configure an Engine.
type Options struct {
	// Helm renders Helm sources (pkg/render/helm registers itself here from the caller, as this package
	// cannot import it). Nil makes Helm sources fail with ErrNoHelm.
	Helm Renderer
	// AllowRemoteBases lets kustomizations name remote bases and files (see KustomizeRenderer).
	AllowRemoteBases bool
	// JsonnetMaxStack is the Jsonnet call depth limit; 0 means DefaultJsonnetMaxStack.
	JsonnetMaxStack int
}

// ErrNoHelm is a Helm source rendered by an Engine built without a Helm renderer.
var ErrNoHelm = errors.New("no Helm renderer configured")

// Engine renders any application source: it picks the renderer (explicit source fields first, then
// detection in the tree), applies Limits.Timeout, turns panics into errors and caps the output size.
type Engine struct {
	helm      Renderer
	directory *DirectoryRenderer
	kustomize *KustomizeRenderer
}

var _ Renderer = (*Engine)(nil)

// New returns an Engine.
func New(opts Options) *Engine {
	return &Engine{
		helm:      opts.Helm,
		directory: &DirectoryRenderer{JsonnetMaxStack: opts.JsonnetMaxStack},
		kustomize: &KustomizeRenderer{AllowRemoteBases: opts.AllowRemoteBases},
	}
}

// Render implements Renderer.
func (e *Engine) Render(ctx context.Context, req *Request) (*Result, error) {
	if req == nil {
		return nil, errors.New("render: nil request")
	}
	r := *req
	r.Limits = req.Limits.WithDefaults()
	if r.Path == "" {
		r.Path = "."
	}
	typ, err := SourceTypeOf(&r)
	if err != nil {
		return nil, err
	}
	var renderer Renderer
	switch typ {
	case SourceTypeHelm:
		if e.helm == nil {
			return nil, ErrNoHelm
		}
		renderer = e.helm
	case SourceTypeKustomize:
		renderer = e.kustomize
	default:
		renderer = e.directory
	}

	ctx, cancel := context.WithTimeout(ctx, r.Limits.Timeout)
	defer cancel()
	res, err := guarded(ctx, "render "+typ, func() (*Result, error) { return renderer.Render(ctx, &r) })
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return nil, fmt.Errorf("render %s %s: %w", typ, describe(&r), err)
	}
	if res == nil {
		res = &Result{}
	}
	if res.SourceType == "" {
		res.SourceType = typ
	}
	if typ == SourceTypeHelm { // the built-in renderers keep their own budget while they render
		if err := checkSize(res, r.Limits.MaxManifestBytes); err != nil {
			return nil, fmt.Errorf("render %s %s: %w", typ, describe(&r), err)
		}
	}
	return res, nil
}

func describe(r *Request) string {
	if r.Source != nil && r.Source.Chart != "" {
		return "chart " + r.Source.Chart
	}
	return r.Path
}

func checkSize(res *Result, max int64) error {
	b := sizeBudget{max: max}
	for _, o := range res.Objects {
		j, err := json.Marshal(o.Object)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", o.GetKind(), o.GetName(), err)
		}
		if err := b.add(len(j)); err != nil {
			return err
		}
	}
	return nil
}

// SourceTypeOf says which renderer a request takes, as Argo CD decides it: a chart name or a helm,
// kustomize or directory block in the source wins (two of them are an error); otherwise the tree at
// the app path decides (see DetectSourceType). Plugins are not supported.
func SourceTypeOf(req *Request) (string, error) {
	src := req.Source
	if src == nil {
		src = &v1alpha1.ApplicationSource{}
	}
	if src.Plugin != nil {
		return "", &Error{Err: errors.New("config management plugins are not supported")}
	}
	var explicit []string
	if src.Chart != "" || src.Helm != nil {
		explicit = append(explicit, SourceTypeHelm)
	}
	if src.Kustomize != nil {
		explicit = append(explicit, SourceTypeKustomize)
	}
	if src.Directory != nil {
		explicit = append(explicit, SourceTypeDirectory)
	}
	switch len(explicit) {
	case 0:
	case 1:
		return explicit[0], nil
	default:
		return "", &Error{Err: fmt.Errorf("the source sets more than one of %v; set one", explicit)}
	}
	if req.FS == nil {
		return "", errors.New("render: no repository tree and no chart")
	}
	return DetectSourceType(req.FS, req.Path)
}
