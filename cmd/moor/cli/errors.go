package cli

import (
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Exit codes, as the argocd CLI's so scripts carry over (listed in `moor --help`).
const (
	ExitOK                = 0
	ExitCommandSpecific   = 1  // e.g. `app diff` found differences; `app wait` gave up
	ExitConnectionFailure = 11 // the server could not be reached
	ExitAPIError          = 12 // the server refused the request
	ExitNotFound          = 13 // the named object does not exist
	ExitGeneric           = 20 // anything else (bad flags, local errors)
)

const exitCodesHelp = `Exit codes:
  0   success
  1   command-specific: 'app diff' found differences, 'app wait' or 'app sync' timed out
  11  the server could not be reached
  12  the server refused the request (validation, permission, conflict)
  13  the named object does not exist
  20  any other error (bad flags or arguments, local files, a sync that failed, any error of 'app diff')`

// ExitError carries an exit code and a one-line message with an optional hint.
type ExitError struct {
	Code int
	Err  error
	Hint string
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// usageErrorf is a generic error (exit 20).
func usageErrorf(format string, args ...any) error {
	return &ExitError{Code: ExitGeneric, Err: fmt.Errorf(format, args...)}
}

// exitf is an error with a given code.
func exitf(code int, format string, args ...any) error {
	return &ExitError{Code: code, Err: fmt.Errorf(format, args...)}
}

// Explain turns err into the line printed on stderr and the exit code: the server's message, and a hint for
// the usual remedies.
func Explain(err error) (string, int) {
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Hint != "" {
			return ee.Error() + " (" + ee.Hint + ")", ee.Code
		}
		if _, ok := status.FromError(ee.Err); !ok {
			return ee.Error(), ee.Code
		}
		// A server error under an explicit code (e.g. `app diff` maps every error to 20): the server's
		// message and hint, the caller's code.
		msg, _ := explainStatus(ee.Err)
		return msg, ee.Code
	}
	return explainStatus(err)
}

// explainStatus explains an error that may carry a gRPC status.
func explainStatus(err error) (string, int) {
	st, ok := status.FromError(err) // finds a status wrapped with %w too
	if !ok {
		return oneLine(err.Error()), ExitGeneric
	}
	msg := oneLine(st.Message())
	// A wrapped status reads "context: rpc error: code = X desc = message"; keep the context and the message.
	var inner interface{ GRPCStatus() *status.Status }
	if errors.As(err, &inner) && inner.GRPCStatus() != nil {
		if e, ok := inner.(error); ok {
			msg = oneLine(strings.Replace(err.Error(), e.Error(), inner.GRPCStatus().Message(), 1))
		}
	}
	switch st.Code() {
	case codes.Unavailable:
		return "cannot reach the server: " + msg + " (check --server, and --plaintext or --insecure)", ExitConnectionFailure
	case codes.DeadlineExceeded:
		return "the server did not answer in time: " + msg, ExitConnectionFailure
	case codes.Unauthenticated:
		return msg + " (run 'moor login' or pass --auth-token)", ExitAPIError
	case codes.PermissionDenied:
		return msg + " (ask an admin for the RBAC permission; 'moor account can-i' checks one)", ExitAPIError
	case codes.NotFound:
		return msg, ExitNotFound
	default:
		return msg, ExitAPIError
	}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
