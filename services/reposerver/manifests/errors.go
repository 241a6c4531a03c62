package manifests

import (
	"context"
	"errors"
	"io/fs"

	"github.com/moorcd/moor/pkg/git"
	"github.com/moorcd/moor/pkg/render"
	"github.com/moorcd/moor/pkg/render/helm"
)

// Kind classifies an error for callers (the gRPC layer maps kinds to codes) and for the failure cache.
type Kind string

// Error kinds.
const (
	KindInvalid         Kind = "invalid"
	KindNotFound        Kind = "notfound"
	KindUnauthenticated Kind = "unauthenticated"
	KindPermission      Kind = "permission"
	KindUnavailable     Kind = "unavailable"
	KindTooLarge        Kind = "toolarge"
	KindDeadline        Kind = "deadline"
	KindCanceled        Kind = "canceled"
	KindInternal        Kind = "internal"
)

// ErrInvalidRequest is a request the engine cannot act on (missing repository, bad source).
var ErrInvalidRequest = errors.New("invalid request")

// KindOf classifies err.
func KindOf(err error) Kind {
	var rerr *render.Error
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.Canceled):
		return KindCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return KindDeadline
	case errors.Is(err, render.ErrPathEscape), errors.As(err, &rerr), errors.Is(err, ErrInvalidRequest),
		errors.Is(err, git.ErrInvalidRepo), errors.Is(err, fs.ErrInvalid):
		return KindInvalid
	case errors.Is(err, render.ErrTooLarge):
		return KindTooLarge
	case errors.Is(err, git.ErrRevisionNotFound), errors.Is(err, git.ErrRepositoryNotFound),
		errors.Is(err, render.ErrNotFound), errors.Is(err, fs.ErrNotExist):
		return KindNotFound
	case errors.Is(err, git.ErrAuthentication), errors.Is(err, helm.ErrUnauthorized):
		return KindUnauthenticated
	case errors.Is(err, git.ErrPermissionDenied):
		return KindPermission
	case errors.Is(err, git.ErrUnreachable), errors.Is(err, helm.ErrUnavailable):
		return KindUnavailable
	default:
		return KindInternal
	}
}

// kindError is an error rebuilt from the failure cache: its text is the original message and errors.Is
// matches the sentinel of its kind, so it maps to the same gRPC code as the original.
type kindError struct {
	msg      string
	sentinel error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.sentinel }

var kindSentinels = map[Kind]error{
	KindInvalid:         ErrInvalidRequest,
	KindNotFound:        render.ErrNotFound,
	KindUnauthenticated: git.ErrAuthentication,
	KindPermission:      git.ErrPermissionDenied,
	KindUnavailable:     git.ErrUnreachable,
	KindTooLarge:        render.ErrTooLarge,
	KindDeadline:        context.DeadlineExceeded,
}

// errorCodec stores failed renders in the cache and rebuilds them.
type errorCodec struct{}

func (errorCodec) Encode(err error) (string, string) { return string(KindOf(err)), err.Error() }

func (errorCodec) Decode(kind, msg string) error {
	if s, ok := kindSentinels[Kind(kind)]; ok {
		return &kindError{msg: msg, sentinel: s}
	}
	return errors.New(msg)
}
