package auth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/moorcd/moor/pkg/session"
)

// CookieName is the cookie that carries the session token of web clients, Argo CD's name.
const CookieName = "argocd.token"

// gatewayCookieKey is the metadata key under which grpc-gateway forwards the HTTP Cookie header.
const gatewayCookieKey = "grpcgateway-cookie"

// Identity is the authenticated caller.
type Identity struct {
	// Subject is the account name or project-role subject; empty when Anonymous.
	Subject string
	Groups  []string
	Issuer  string
	// Anonymous callers hold only policy.default.
	Anonymous bool
}

// Subjects are the RBAC subjects of the caller: its subject and its groups; none when anonymous.
func (id *Identity) Subjects() []string {
	if id == nil || id.Anonymous {
		return nil
	}
	return append([]string{id.Subject}, id.Groups...)
}

type identityKey struct{}

// WithIdentity returns ctx carrying id.
func WithIdentity(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// FromContext returns the caller's identity; an anonymous one when the context carries none.
func FromContext(ctx context.Context) *Identity {
	if id, ok := ctx.Value(identityKey{}).(*Identity); ok && id != nil {
		return id
	}
	return &Identity{Anonymous: true}
}

// Verifier checks a token; session.Manager is one.
type Verifier interface {
	Verify(ctx context.Context, token string) (*session.Claims, error)
}

var _ Verifier = (*session.Manager)(nil)

// publicMethods run without a token. Entries ending in "/" are whole services.
var publicMethods = []string{
	"/moor.api.v1.SessionService/Create",
	"/moor.api.v1.VersionService/Version",
	"/moor.api.v1.SettingsService/Get",
	"/grpc.health.v1.Health/",
	"/grpc.reflection.v1.ServerReflection/",
	"/grpc.reflection.v1alpha.ServerReflection/",
}

// IsPublic reports whether fullMethod runs without a token.
func IsPublic(fullMethod string) bool {
	for _, p := range publicMethods {
		if fullMethod == p || strings.HasSuffix(p, "/") && strings.HasPrefix(fullMethod, p) {
			return true
		}
	}
	return false
}

// Authenticator turns the token of a call into an Identity.
type Authenticator struct {
	Verifier Verifier
	// AnonymousEnabled reports whether callers without a token are let in as anonymous (read per call, so a
	// settings change takes effect at once).
	AnonymousEnabled func() bool
	Log              *slog.Logger
}

// Authenticate returns ctx carrying the caller's identity, or an Unauthenticated error.
func (a *Authenticator) Authenticate(ctx context.Context, fullMethod string) (context.Context, error) {
	token := TokenFromMetadata(ctx)
	public := IsPublic(fullMethod)
	if token == "" {
		if public || a.AnonymousEnabled != nil && a.AnonymousEnabled() {
			return WithIdentity(ctx, &Identity{Anonymous: true}), nil
		}
		return nil, status.Error(codes.Unauthenticated, "no session information")
	}
	claims, err := a.Verifier.Verify(ctx, token)
	if err != nil {
		if public {
			return WithIdentity(ctx, &Identity{Anonymous: true}), nil
		}
		if !errors.Is(err, session.ErrInvalidToken) {
			a.Log.ErrorContext(ctx, "verify token", "error", err)
			return nil, status.Error(codes.Unavailable, "cannot verify the session now")
		}
		return nil, status.Error(codes.Unauthenticated, "invalid session")
	}
	return WithIdentity(ctx, &Identity{Subject: claims.Subject, Groups: claims.Groups, Issuer: claims.Issuer}), nil
}

// UnaryInterceptor authenticates unary calls.
func (a *Authenticator) UnaryInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		ctx, err := a.Authenticate(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return h(ctx, req)
	}
}

// StreamInterceptor authenticates streaming calls.
func (a *Authenticator) StreamInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		ctx, err := a.Authenticate(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		return h(srv, &identityStream{ServerStream: ss, ctx: ctx})
	}
}

type identityStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *identityStream) Context() context.Context { return s.ctx }

// TokenFromMetadata returns the bearer token of the call's metadata, else the argocd.token cookie the
// gateway forwarded; "" when there is none.
func TokenFromMetadata(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		scheme, token, ok := strings.Cut(strings.TrimSpace(v), " ")
		if ok && strings.EqualFold(scheme, "bearer") && strings.TrimSpace(token) != "" {
			return strings.TrimSpace(token)
		}
	}
	for _, v := range md.Get(gatewayCookieKey) {
		if token := cookieValue(v, CookieName); token != "" {
			return token
		}
	}
	return ""
}

// cookieValue finds name in a Cookie header value.
func cookieValue(header, name string) string {
	cookies, err := http.ParseCookie(header)
	if err != nil {
		return ""
	}
	for _, c := range cookies {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// AuthenticateHTTP authenticates a REST request that Moor serves without the gateway, reading the token
// where the gateway would forward it from: the Authorization header, else the argocd.token cookie.
func (a *Authenticator) AuthenticateHTTP(r *http.Request, fullMethod string) (context.Context, error) {
	md := metadata.MD{}
	if v := r.Header.Values("Authorization"); len(v) > 0 {
		md["authorization"] = v
	}
	if v := r.Header.Values("Cookie"); len(v) > 0 {
		md[gatewayCookieKey] = v
	}
	return a.Authenticate(metadata.NewIncomingContext(r.Context(), md), fullMethod)
}
