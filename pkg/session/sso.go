package session

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// SSOAudience is the aud claim that marks a session signed for a user of the OIDC provider (see SignSSO).
// Verify checks such a session's signature, issuer and expiry only: the user has no local account to check.
const SSOAudience = "moor-sso"

// ErrSSOSubject refuses an SSO subject that would be taken for a local account or a project role.
var ErrSSOSubject = errors.New("sso subject not allowed")

// SignSSO issues a login session for subject, a user the OIDC provider vouched for, with its groups (RBAC
// subjects alongside subject). ttl 0 takes Options.SessionDuration. A subject naming a local account or
// starting with proj: is refused with ErrSSOSubject, so a provider cannot hand out a local user's or a
// project role's rights.
func (m *Manager) SignSSO(ctx context.Context, subject string, groups []string, ttl time.Duration) (string, error) {
	if subject == "" {
		return "", fmt.Errorf("%w: empty subject", ErrSSOSubject)
	}
	if strings.HasPrefix(subject, ProjectSubjectPrefix) {
		return "", fmt.Errorf("%w: subject starts with %s", ErrSSOSubject, ProjectSubjectPrefix)
	}
	if ttl < 0 {
		return "", fmt.Errorf("sign sso session: negative lifetime %s", ttl)
	}
	if ttl == 0 {
		ttl = m.opts.SessionDuration
	}
	switch _, err := m.store.Account(ctx, subject); {
	case err == nil:
		return "", fmt.Errorf("%w: %q is a local account", ErrSSOSubject, subject)
	case !errors.Is(err, ErrAccountNotFound):
		return "", fmt.Errorf("sign sso session: %w", err)
	}
	key, err := m.store.SigningKey(ctx)
	if err != nil {
		return "", fmt.Errorf("sign sso session: %w", err)
	}
	now := m.opts.Now()
	claims := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Subject:   subject,
			Audience:  jwt.ClaimStrings{SSOAudience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		Groups:    groups,
		SessionID: rand.Text(),
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(key)
	if err != nil {
		return "", fmt.Errorf("sign sso session: %w", err)
	}
	return signed, nil
}

// SSOStateKey is the key that signs the short-lived state of an SSO login in the browser, derived from
// server.secretkey so that it never signs a session.
func (m *Manager) SSOStateKey(ctx context.Context) ([]byte, error) {
	key, err := m.store.SigningKey(ctx)
	if err != nil {
		return nil, fmt.Errorf("sso state key: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("moor sso login state"))
	return mac.Sum(nil), nil
}

// isSSO reports whether verified claims are an SSO session, which has no local account behind it.
func isSSO(c *Claims) bool {
	return slices.Contains(c.Audience, SSOAudience) && c.ID == "" && c.ExpiresAt != nil
}
