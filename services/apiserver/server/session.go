package server

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/session"
	"github.com/moorcd/moor/services/apiserver/auth"
)

// SessionServer implements moor.api.v1.SessionService. The REST gateway turns Create's token into the
// argocd.token cookie and clears it on Delete (see the app package).
type SessionServer struct {
	apiv1.UnimplementedSessionServiceServer
	*core
}

// Create logs a local user in, or renews nothing and returns a still valid token it was given.
func (s *SessionServer) Create(ctx context.Context, req *apiv1.SessionServiceCreateRequest) (*apiv1.SessionServiceCreateResponse, error) {
	if req.GetToken() != "" {
		if _, err := s.d.Sessions.Verify(ctx, req.GetToken()); err != nil {
			if errors.Is(err, session.ErrInvalidToken) {
				return nil, status.Error(codes.Unauthenticated, "invalid session")
			}
			return nil, toStatus(ctx, s.d.Log, err)
		}
		return &apiv1.SessionServiceCreateResponse{Token: req.GetToken()}, nil
	}
	if req.GetUsername() == "" || req.GetPassword() == "" {
		return nil, invalidStatus(invalid("username", "username and password are required"))
	}
	token, err := s.d.Sessions.Login(ctx, req.GetUsername(), req.GetPassword())
	if err != nil {
		if errors.Is(err, session.ErrInvalidCredentials) {
			s.d.Log.InfoContext(ctx, "login failed", "user", req.GetUsername())
		}
		return nil, toStatus(ctx, s.d.Log, err)
	}
	return &apiv1.SessionServiceCreateResponse{Token: token}, nil
}

// Delete ends the caller's session: its token is refused from then on (the gateway also clears the cookie).
// An API token is not ended this way: delete it from its account or project.
func (s *SessionServer) Delete(ctx context.Context, _ *apiv1.SessionServiceDeleteRequest) (*apiv1.SessionServiceDeleteResponse, error) {
	if token := auth.TokenFromMetadata(ctx); token != "" {
		if err := s.d.Sessions.Revoke(ctx, token); errors.Is(err, session.ErrTooManyRevoked) {
			return nil, status.Error(codes.ResourceExhausted, err.Error())
		} else if err != nil {
			return nil, toStatus(ctx, s.d.Log, err)
		}
	}
	return &apiv1.SessionServiceDeleteResponse{}, nil
}

// GetUserInfo tells who the caller is.
func (s *SessionServer) GetUserInfo(ctx context.Context, _ *apiv1.SessionServiceGetUserInfoRequest) (*apiv1.SessionServiceGetUserInfoResponse, error) {
	id := auth.FromContext(ctx)
	if id.Anonymous {
		return &apiv1.SessionServiceGetUserInfoResponse{}, nil
	}
	return &apiv1.SessionServiceGetUserInfoResponse{LoggedIn: true, Username: id.Subject, Iss: id.Issuer, Groups: id.Groups}, nil
}
