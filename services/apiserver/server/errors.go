package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/moorcd/moor/pkg/session"
	moorsync "github.com/moorcd/moor/pkg/sync"
)

// Domain errors of the handlers.
var (
	ErrOperationInProgress = errors.New("another operation is already in progress")
	ErrNoOperation         = errors.New("no operation is in progress")
)

// invalidArgument is a request error naming the field at fault.
type invalidArgument struct {
	field, msg string
}

func (e *invalidArgument) Error() string { return e.field + ": " + e.msg }

func invalid(field, format string, args ...any) error {
	return &invalidArgument{field: field, msg: fmt.Sprintf(format, args...)}
}

// toStatus turns an error of a handler into a gRPC status error: the one place that maps Kubernetes API errors
// and domain errors to codes. Unexpected errors are logged and answered with a generic Internal error.
func toStatus(ctx context.Context, log *slog.Logger, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	var inv *invalidArgument
	switch {
	case errors.As(err, &inv):
		return status.Error(codes.InvalidArgument, inv.Error())
	case errors.Is(err, moorsync.ErrRollbackAutomated), errors.Is(err, ErrOperationInProgress), errors.Is(err, ErrNoOperation):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, session.ErrInvalidCredentials):
		return status.Error(codes.Unauthenticated, session.ErrInvalidCredentials.Error())
	case errors.Is(err, session.ErrTooManyAttempts):
		return status.Error(codes.ResourceExhausted, session.ErrTooManyAttempts.Error())
	case errors.Is(err, session.ErrLoginDisabled):
		return status.Error(codes.PermissionDenied, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "request deadline exceeded")
	case apierrors.IsNotFound(err):
		return status.Error(codes.NotFound, err.Error())
	case apierrors.IsAlreadyExists(err):
		return status.Error(codes.AlreadyExists, err.Error())
	case apierrors.IsConflict(err):
		return status.Error(codes.Aborted, err.Error())
	case apierrors.IsInvalid(err):
		return status.Error(codes.InvalidArgument, invalidMessage(err))
	case apierrors.IsBadRequest(err):
		return status.Error(codes.InvalidArgument, err.Error())
	case apierrors.IsTooManyRequests(err), apierrors.IsServerTimeout(err), apierrors.IsTimeout(err), apierrors.IsServiceUnavailable(err):
		return status.Error(codes.Unavailable, err.Error())
	}
	log.ErrorContext(ctx, "request failed", "error", err)
	return status.Error(codes.Internal, "internal error")
}

// invalidMessage names every field the API server refused.
func invalidMessage(err error) string {
	var se apierrors.APIStatus
	if !errors.As(err, &se) || se.Status().Details == nil || len(se.Status().Details.Causes) == 0 {
		return err.Error()
	}
	parts := make([]string, 0, len(se.Status().Details.Causes))
	for _, c := range se.Status().Details.Causes {
		parts = append(parts, c.Field+": "+c.Message)
	}
	return strings.Join(parts, "; ")
}
