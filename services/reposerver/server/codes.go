package server

import (
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/moorcd/moor/services/reposerver/manifests"
)

var kindCodes = map[manifests.Kind]codes.Code{
	manifests.KindInvalid:         codes.InvalidArgument,
	manifests.KindNotFound:        codes.NotFound,
	manifests.KindUnauthenticated: codes.Unauthenticated,
	manifests.KindPermission:      codes.PermissionDenied,
	manifests.KindUnavailable:     codes.Unavailable,
	manifests.KindTooLarge:        codes.ResourceExhausted,
	manifests.KindDeadline:        codes.DeadlineExceeded,
	manifests.KindCanceled:        codes.Canceled,
	manifests.KindInternal:        codes.Internal,
}

// toStatus maps an engine error to its gRPC status. Messages never hold credentials: pkg/git and the Helm
// chart source redact them at the source.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	code, ok := kindCodes[manifests.KindOf(err)]
	if !ok {
		code = codes.Unknown
	}
	return status.Error(code, err.Error())
}
