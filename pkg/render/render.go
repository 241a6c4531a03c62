package render

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

// Source types, as Argo CD reports them in status.sourceType.
const (
	SourceTypeDirectory = "Directory"
	SourceTypeHelm      = "Helm"
	SourceTypeKustomize = "Kustomize"
)

// Renderer renders one application source.
type Renderer interface {
	Render(ctx context.Context, req *Request) (*Result, error)
}

// Request is everything a render may read. Renderers must not read anything else (no network unless the
// source names a chart repository, no local files outside FS).
type Request struct {
	// FS is the commit's tree rooted at the repository root. For a chart from a Helm or OCI repository it
	// is nil.
	FS fs.FS
	// Path is the application's directory inside FS: slash-separated, cleaned, "." for the root.
	Path string
	// Source is the application source as written in the Application (after .argocd-source overrides).
	Source *v1alpha1.ApplicationSource
	// AppName is the Application's name (Helm's default release name).
	AppName string
	// Namespace is the destination namespace.
	Namespace string
	// KubeVersion ("1.37.2") and APIVersions ("apps/v1", "apps/v1/Deployment") feed Helm's .Capabilities
	// and Kustomize/Helm version checks.
	KubeVersion string
	APIVersions []string
	// RefSources maps a `ref` name (without "$") to that source's tree, for `$ref/values.yaml` value files.
	RefSources map[string]fs.FS
	// Limits bound the work; zero values take the defaults.
	Limits Limits
}

// Limits bound one render.
type Limits struct {
	// MaxManifestBytes caps the total size of the rendered output. Default 64 MiB.
	MaxManifestBytes int64
	// MaxFileBytes caps any single file read from the tree or an archive. Default 16 MiB.
	MaxFileBytes int64
	// Timeout caps the render's wall time. Default 90 s.
	Timeout time.Duration
}

// Defaults for Limits.
const (
	DefaultMaxManifestBytes = 64 << 20
	DefaultMaxFileBytes     = 16 << 20
	DefaultTimeout          = 90 * time.Second
)

// WithDefaults returns l with zero fields set to their defaults.
func (l Limits) WithDefaults() Limits {
	if l.MaxManifestBytes <= 0 {
		l.MaxManifestBytes = DefaultMaxManifestBytes
	}
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = DefaultMaxFileBytes
	}
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	return l
}

// Result is a render's output.
type Result struct {
	// Objects are the rendered resources in a stable order (the order the source produced them).
	Objects []*unstructured.Unstructured
	// SourceType is Directory, Helm or Kustomize.
	SourceType string
}

// Sentinel errors; wrap them with the path that failed.
var (
	// ErrPathEscape is a path (app path, value file, file parameter, symlink) that resolves outside the tree.
	ErrPathEscape = errors.New("path escapes the repository")
	// ErrNotFound is a path, chart or chart version that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrTooLarge is an input or output over a size limit.
	ErrTooLarge = errors.New("size limit exceeded")
)

// Error is bad input: a manifest that does not parse, a template that fails, a chart that is invalid.
// File and Line say where, when known.
type Error struct {
	File string // path inside the repository (or chart), slash-separated
	Line int    // 1-based; 0 when unknown
	Err  error
}

func (e *Error) Error() string {
	switch {
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	case e.File != "":
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	default:
		return e.Err.Error()
	}
}

func (e *Error) Unwrap() error { return e.Err }
