package server

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/rbac"
	"github.com/moorcd/moor/pkg/session"
	"github.com/moorcd/moor/services/apiserver/auth"
)

// AccountServer serves moor.api.v1.AccountService: the local accounts of argocd-cm and argocd-secret.
type AccountServer struct {
	apiv1.UnimplementedAccountServiceServer
	*core

	once  sync.Once
	store *session.Store
}

// accounts returns the account store. It is a Store of its own over the same objects as the Manager's: its
// writes reach the Manager's view within the Store's cache lifetime (about a second).
func (s *AccountServer) accounts() *session.Store {
	s.once.Do(func() {
		s.store = s.d.Accounts
		if s.store == nil {
			s.store = session.NewStore(s.d.Kube, s.d.Namespace)
		}
	})
	return s.store
}

// resources are the RBAC resources CanI answers about.
var resources = []string{
	rbac.ResourceApplications, rbac.ResourceApplicationSets, rbac.ResourceClusters, rbac.ResourceProjects,
	rbac.ResourceRepositories, rbac.ResourceAccounts, rbac.ResourceCertificates, rbac.ResourceGPGKeys,
	rbac.ResourceLogs, rbac.ResourceExec, rbac.ResourceExtensions,
}

// CanI tells whether the caller may do action on resource's object (subresource).
func (s *AccountServer) CanI(ctx context.Context, req *apiv1.AccountServiceCanIRequest) (*apiv1.AccountServiceCanIResponse, error) {
	if !slices.Contains(resources, req.GetResource()) {
		return nil, toStatus(ctx, s.d.Log, invalid("resource", "unknown resource %q", req.GetResource()))
	}
	if req.GetAction() == "" {
		return nil, toStatus(ctx, s.d.Log, invalid("action", "is required"))
	}
	if s.allowed(ctx, req.GetResource(), req.GetAction(), req.GetSubresource()) {
		return &apiv1.AccountServiceCanIResponse{Value: "yes"}, nil
	}
	return &apiv1.AccountServiceCanIResponse{Value: "no"}, nil
}

// ListAccounts returns the accounts the caller may get.
func (s *AccountServer) ListAccounts(ctx context.Context, _ *apiv1.AccountServiceListAccountsRequest) (*apiv1.AccountServiceListAccountsResponse, error) {
	all, err := s.accounts().Accounts(ctx)
	if err != nil {
		return nil, accountStatus(ctx, s.core, err)
	}
	out := &apiv1.AccountServiceListAccountsResponse{Items: make([]*apiv1.Account, 0, len(all))}
	for _, a := range all {
		if s.allowed(ctx, rbac.ResourceAccounts, rbac.ActionGet, a.Name) {
			out.Items = append(out.Items, accountMessage(&a))
		}
	}
	return out, nil
}

// GetAccount returns one account.
func (s *AccountServer) GetAccount(ctx context.Context, req *apiv1.AccountServiceGetAccountRequest) (*apiv1.AccountServiceGetAccountResponse, error) {
	if err := s.authorize(ctx, rbac.ResourceAccounts, rbac.ActionGet, req.GetName()); err != nil {
		return nil, err
	}
	a, err := s.accounts().Account(ctx, req.GetName())
	if err != nil {
		return nil, accountStatus(ctx, s.core, err)
	}
	return &apiv1.AccountServiceGetAccountResponse{Account: accountMessage(a)}, nil
}

// UpdatePassword sets the password of account name (the caller when empty). The caller proves who they are
// with their own current password, also when changing another account's (which needs accounts update), as
// in Argo CD. The change ends every earlier session and API token of the account.
func (s *AccountServer) UpdatePassword(ctx context.Context, req *apiv1.AccountServiceUpdatePasswordRequest) (*apiv1.AccountServiceUpdatePasswordResponse, error) {
	caller, err := localCaller(ctx)
	if err != nil {
		return nil, err
	}
	name := req.GetName()
	if name == "" {
		name = caller
	}
	if name != caller {
		if err := s.authorize(ctx, rbac.ResourceAccounts, rbac.ActionUpdate, name); err != nil {
			return nil, err
		}
	}
	if req.GetCurrentPassword() == "" {
		return nil, toStatus(ctx, s.d.Log, invalid("currentPassword", "is required"))
	}
	if req.GetNewPassword() == "" {
		return nil, toStatus(ctx, s.d.Log, invalid("newPassword", "is required"))
	}
	// Login checks the password in constant time and counts failures, so this cannot be used to guess it.
	if _, err := s.d.Sessions.Login(ctx, caller, req.GetCurrentPassword()); err != nil {
		if errors.Is(err, session.ErrInvalidCredentials) {
			return nil, toStatus(ctx, s.d.Log, invalid("currentPassword", "does not match the password of %s", caller))
		}
		return nil, accountStatus(ctx, s.core, err)
	}
	if err := s.accounts().SetPassword(ctx, name, req.GetNewPassword()); err != nil {
		return nil, accountStatus(ctx, s.core, err)
	}
	s.d.Log.InfoContext(ctx, "password updated", "account", name, "user", caller)
	return &apiv1.AccountServiceUpdatePasswordResponse{}, nil
}

// CreateToken issues an API token for an account with the apiKey capability; expiresIn 0 never expires.
func (s *AccountServer) CreateToken(ctx context.Context, req *apiv1.AccountServiceCreateTokenRequest) (*apiv1.AccountServiceCreateTokenResponse, error) {
	name := req.GetName()
	if err := s.mayManage(ctx, name); err != nil {
		return nil, err
	}
	if req.GetExpiresIn() < 0 {
		return nil, toStatus(ctx, s.d.Log, invalid("expiresIn", "must not be negative, got %d", req.GetExpiresIn()))
	}
	acct, err := s.accounts().Account(ctx, name)
	if err != nil {
		return nil, accountStatus(ctx, s.core, err)
	}
	if !acct.HasCapability(session.CapabilityAPIKey) {
		return nil, status.Errorf(codes.FailedPrecondition, "account %s lacks the %s capability", name, session.CapabilityAPIKey)
	}
	id := req.GetId()
	if id == "" {
		id = rand.Text()
	}
	token, err := s.d.Sessions.Sign(ctx, name, time.Duration(req.GetExpiresIn())*time.Second, id)
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	rec, err := tokenRecord(token)
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	// Until it is recorded the token is refused, so a failure here leaves nothing usable behind.
	t := session.Token{ID: rec.ID, IssuedAt: rec.IssuedAt, ExpiresAt: rec.ExpiresAt}
	if err := s.accounts().AddToken(ctx, name, t); err != nil {
		return nil, accountStatus(ctx, s.core, err)
	}
	s.d.Log.InfoContext(ctx, "account token created", "account", name, "id", id)
	return &apiv1.AccountServiceCreateTokenResponse{Token: token}, nil
}

// DeleteToken revokes an account's API token by id.
func (s *AccountServer) DeleteToken(ctx context.Context, req *apiv1.AccountServiceDeleteTokenRequest) (*apiv1.AccountServiceDeleteTokenResponse, error) {
	if err := s.mayManage(ctx, req.GetName()); err != nil {
		return nil, err
	}
	if req.GetId() == "" {
		return nil, toStatus(ctx, s.d.Log, invalid("id", "is required"))
	}
	if err := s.accounts().RemoveToken(ctx, req.GetName(), req.GetId()); err != nil {
		return nil, accountStatus(ctx, s.core, err)
	}
	s.d.Log.InfoContext(ctx, "account token deleted", "account", req.GetName(), "id", req.GetId())
	return &apiv1.AccountServiceDeleteTokenResponse{}, nil
}

// mayManage allows a local account to manage its own tokens and others with accounts update on the account.
func (s *AccountServer) mayManage(ctx context.Context, name string) error {
	if caller, err := localCaller(ctx); err == nil && caller == name {
		return nil
	}
	return s.authorize(ctx, rbac.ResourceAccounts, rbac.ActionUpdate, name)
}

// localCaller returns the name of the calling local account; an error for anonymous, SSO and project callers.
func localCaller(ctx context.Context) (string, error) {
	id := auth.FromContext(ctx)
	switch {
	case id.Anonymous:
		return "", status.Error(codes.Unauthenticated, "no session information")
	case id.Issuer != session.Issuer || strings.HasPrefix(id.Subject, session.ProjectSubjectPrefix):
		return "", status.Errorf(codes.InvalidArgument, "only local accounts have passwords and API tokens, not %q", id.Subject)
	}
	return id.Subject, nil
}

func accountMessage(a *session.Account) *apiv1.Account {
	msg := &apiv1.Account{Name: a.Name, Enabled: a.Enabled, Capabilities: slices.Clone(a.Capabilities)}
	for _, t := range a.Tokens {
		msg.Tokens = append(msg.Tokens, &apiv1.Token{Id: t.ID, IssuedAt: t.IssuedAt, ExpiresAt: t.ExpiresAt})
	}
	return msg
}

// accountStatus maps the session package's account errors to codes, the rest through toStatus.
func accountStatus(ctx context.Context, c *core, err error) error {
	switch {
	case errors.Is(err, session.ErrAccountNotFound), errors.Is(err, session.ErrTokenNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, session.ErrTokenExists):
		return status.Error(codes.AlreadyExists, err.Error())
	case errors.Is(err, session.ErrMissingCapability):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, session.ErrInvalidPassword):
		return toStatus(ctx, c.d.Log, invalid("newPassword", "%s", err.Error()))
	case errors.Is(err, session.ErrInvalidSettings):
		c.d.Log.ErrorContext(ctx, "invalid account settings", "error", err)
		return status.Error(codes.FailedPrecondition, "the account settings in argocd-cm or argocd-secret are invalid")
	}
	return toStatus(ctx, c.d.Log, err)
}
