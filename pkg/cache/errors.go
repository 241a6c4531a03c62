package cache

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// Kinds used by the built-in codecs.
const (
	// KindUnknown marks a cached error whose kind no codec recognised.
	KindUnknown = "unknown"
	// KindPanic marks a load function that panicked.
	KindPanic = "panic"
)

// maxErrorMessageBytes caps the message kept in a negative entry; longer messages are cut.
const maxErrorMessageBytes = 16 << 10

var (
	// ErrInvalidOptions wraps every problem Options.Validate reports.
	ErrInvalidOptions = errors.New("invalid cache options")
	// ErrLoadPanic is returned (and cached as KindPanic) when a load function passed to Do panics.
	ErrLoadPanic = errors.New("cache: load function panicked")
)

// CachedError is a failed load replayed from a negative entry: the error's kind, as an ErrorCodec encoded
// it, and its message. Errors returned from a negative hit can always be matched with errors.As to
// *CachedError; whether they also match a sentinel with errors.Is depends on the codec.
type CachedError struct {
	Kind    string
	Message string
}

func (e *CachedError) Error() string { return e.Message }

// ErrorCodec turns a load error into a kind and a message for a negative entry, and back. Decode must return
// an error that keeps the meaning callers test with errors.Is (see SentinelCodec). Both run on every
// negative store and hit, in every replica, so the kinds are a wire format: keep them stable.
type ErrorCodec interface {
	Encode(err error) (kind, msg string)
	Decode(kind, msg string) error
}

// Sentinel pairs a stable kind string with the sentinel error it stands for.
type Sentinel struct {
	Kind string
	Err  error
}

// SentinelCodec encodes an error as the kind of the first sentinel it matches with errors.Is (list the more
// specific ones first) and decodes it into an error that matches both *CachedError (errors.As) and that
// sentinel (errors.Is). Errors that match none get KindUnknown and decode to a plain *CachedError.
type SentinelCodec []Sentinel

var _ ErrorCodec = SentinelCodec(nil)

// Encode implements ErrorCodec.
func (s SentinelCodec) Encode(err error) (kind, msg string) {
	kind = KindUnknown
	if errors.Is(err, ErrLoadPanic) {
		kind = KindPanic
	}
	for _, sn := range s {
		if errors.Is(err, sn.Err) {
			kind = sn.Kind
			break
		}
	}
	return kind, err.Error()
}

// Decode implements ErrorCodec.
func (s SentinelCodec) Decode(kind, msg string) error {
	ce := &CachedError{Kind: kind, Message: msg}
	if kind == KindPanic {
		return &sentinelError{CachedError: ce, sentinel: ErrLoadPanic}
	}
	for _, sn := range s {
		if sn.Kind == kind {
			return &sentinelError{CachedError: ce, sentinel: sn.Err}
		}
	}
	return ce
}

// sentinelError is a CachedError that also matches its sentinel.
type sentinelError struct {
	*CachedError
	sentinel error
}

func (e *sentinelError) Unwrap() []error { return []error{e.CachedError, e.sentinel} }

// truncateMessage keeps a negative entry small when an error carries a whole document.
func truncateMessage(msg string) string {
	if len(msg) <= maxErrorMessageBytes {
		return msg
	}
	cut := maxErrorMessageBytes
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return fmt.Sprintf("%s... (%d bytes cut)", msg[:cut], len(msg)-cut)
}
