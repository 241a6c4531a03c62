package git

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/moorcd/moor/pkg/render"
)

// Sentinel errors. Every error returned by this package that stems from one of these conditions wraps the
// matching sentinel, so callers map them to status codes with errors.Is.
var (
	// ErrRevisionNotFound is a branch, tag, SHA or semver constraint that matches nothing (NotFound).
	ErrRevisionNotFound = errors.New("revision not found")
	// ErrRepositoryNotFound is a remote that says the repository does not exist (NotFound).
	ErrRepositoryNotFound = errors.New("repository not found")
	// ErrAuthentication is missing or wrong credentials (Unauthenticated).
	ErrAuthentication = errors.New("authentication failed")
	// ErrHostKey is an SSH host key that is unknown or does not match known_hosts. It wraps ErrAuthentication:
	// the server failed to prove who it is.
	ErrHostKey = fmt.Errorf("%w: ssh host key verification failed", ErrAuthentication)
	// ErrPermissionDenied is valid credentials that may not read the repository (PermissionDenied).
	ErrPermissionDenied = errors.New("permission denied")
	// ErrUnreachable is a remote that cannot be reached: DNS, connection refused, network errors (Unavailable).
	ErrUnreachable = errors.New("remote unreachable")
	// ErrTLS is a TLS handshake that failed certificate verification. It wraps ErrUnreachable.
	ErrTLS = fmt.Errorf("%w: tls certificate verification failed", ErrUnreachable)
	// ErrTooLarge is a repository over the store's size cap or a file over the tree's read cap. It wraps
	// render.ErrTooLarge so renderers see one sentinel.
	ErrTooLarge = fmt.Errorf("git: %w", render.ErrTooLarge)
	// ErrPathEscape is a path or symlink that resolves outside the commit's tree. It is render.ErrPathEscape,
	// so a render that reads through a Tree reports the same sentinel as one that reads a directory.
	ErrPathEscape = render.ErrPathEscape
	// ErrInvalidRepo is a Repo that cannot be used: an unparsable URL, an unsupported scheme, a bad key.
	ErrInvalidRepo = errors.New("invalid repository")
)

// classify wraps err with the sentinel that describes it. Errors that already carry one of this package's
// sentinels, and context errors, pass through unchanged.
func classify(err error) error {
	if err == nil {
		return nil
	}
	for _, s := range []error{ErrRevisionNotFound, ErrRepositoryNotFound, ErrAuthentication, ErrPermissionDenied,
		ErrUnreachable, ErrTooLarge, ErrPathEscape, ErrInvalidRepo, context.DeadlineExceeded, context.Canceled} {
		if errors.Is(err, s) {
			return err
		}
	}
	var (
		keyErr  *knownhosts.KeyError
		unknown x509.UnknownAuthorityError
		invalid x509.CertificateInvalidError
		host    x509.HostnameError
		netErr  net.Error
		opErr   *net.OpError
		dnsErr  *net.DNSError
	)
	switch {
	case anyCause(err, func(e error) bool { return errors.As(e, &keyErr) }):
		return fmt.Errorf("%w: %w", ErrHostKey, err)
	case anyCause(err, func(e error) bool {
		return errors.As(e, &unknown) || errors.As(e, &invalid) || errors.As(e, &host)
	}):
		return fmt.Errorf("%w: %w", ErrTLS, err)
	case anyCause(err, func(e error) bool { return errors.Is(e, transport.ErrAuthenticationRequired) }):
		return fmt.Errorf("%w: %w", ErrAuthentication, err)
	case anyCause(err, func(e error) bool { return errors.Is(e, transport.ErrAuthorizationFailed) }):
		return fmt.Errorf("%w: %w", ErrPermissionDenied, err)
	case anyCause(err, func(e error) bool { return errors.Is(e, transport.ErrRepositoryNotFound) }):
		return fmt.Errorf("%w: %w", ErrRepositoryNotFound, err)
	case anyCause(err, func(e error) bool {
		return errors.Is(e, context.DeadlineExceeded)
	}):
		return fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
	case anyCause(err, func(e error) bool {
		return errors.As(e, &dnsErr) || errors.As(e, &opErr) || errors.As(e, &netErr)
	}):
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "knownhosts:") || strings.Contains(msg, "host key"):
		return fmt.Errorf("%w: %w", ErrHostKey, err)
	case strings.Contains(msg, "ssh: unable to authenticate"):
		return fmt.Errorf("%w: %w", ErrAuthentication, err)
	case strings.Contains(msg, "x509:") || strings.Contains(msg, "tls:"):
		return fmt.Errorf("%w: %w", ErrTLS, err)
	}
	return err
}

// anyCause reports whether match holds for err or any error it wraps, including go-git's
// plumbing.UnexpectedError and PermanentError, which do not implement Unwrap.
func anyCause(err error, match func(error) bool) bool {
	for depth := 0; err != nil && depth < 32; depth++ {
		if match(err) {
			return true
		}
		var ue *plumbing.UnexpectedError
		var pe *plumbing.PermanentError
		switch {
		case errors.As(err, &ue) && ue.Err != nil:
			err = ue.Err
		case errors.As(err, &pe) && pe.Err != nil:
			err = pe.Err
		default:
			return false
		}
	}
	return false
}

// scrubbedError replaces secrets in an error's text while keeping its chain for errors.Is and errors.As.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// scrub returns err with every non-empty secret in its message replaced by "***".
func scrub(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	changed := false
	for _, s := range secrets {
		if len(s) >= 4 && strings.Contains(msg, s) {
			msg = strings.ReplaceAll(msg, s, "***")
			changed = true
		}
	}
	if !changed {
		return err
	}
	return &scrubbedError{msg: msg, err: err}
}
