package session

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"
)

// RevokedSessionsKey is the key of argocd-secret that lists the sessions ended by a logout before their
// expiry: a JSON object from a token digest to the token's expiry (Unix seconds). Entries leave once expired.
const RevokedSessionsKey = "moor.revokedSessions"

// maxRevoked bounds the list (about 45 bytes an entry, far under a Secret's 1 MiB). Sessions last a day by
// default; while this many ended sessions have not expired, a logout fails with ErrTooManyRevoked (the
// session then lives to its expiry, as it would without the logout).
const maxRevoked = 10000

// ErrTooManyRevoked is a logout refused because the list of ended sessions is full.
var ErrTooManyRevoked = errors.New("too many sessions were ended recently; the session stays valid until it expires")

// tokenDigest names a token in the revoked list without storing it: the first 16 bytes of its SHA-256.
func tokenDigest(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:16])
}

func parseRevoked(data []byte) map[string]int64 {
	if len(data) == 0 {
		return nil
	}
	var m map[string]int64
	if err := json.Unmarshal(data, &m); err != nil {
		return nil // a damaged list revokes nothing; the next logout rewrites it
	}
	return m
}

// revoke adds token, which expires at exp, to the revoked list and drops expired entries.
func (s *Store) revoke(ctx context.Context, token string, exp time.Time) error {
	defer s.invalidate()
	now := time.Now().Unix()
	return s.updateSecret(ctx, func(data map[string][]byte) (bool, error) {
		list := parseRevoked(data[RevokedSessionsKey])
		if list == nil {
			list = map[string]int64{}
		}
		maps.DeleteFunc(list, func(_ string, e int64) bool { return e <= now })
		if len(list) >= maxRevoked {
			// Never drop an entry that has not expired: that would bring an ended session back.
			return false, ErrTooManyRevoked
		}
		list[tokenDigest(token)] = exp.Unix()
		b, err := json.Marshal(list)
		if err != nil {
			return false, err
		}
		data[RevokedSessionsKey] = b
		return true, nil
	})
}

// Revoke ends a login or SSO session before its expiry (a logout): Verify refuses the token from then on, on
// every replica within the store's cache time. API tokens are not ended this way (their account's token
// list revokes them), and a token that is already invalid needs no revoking.
func (m *Manager) Revoke(ctx context.Context, token string) error {
	claims, err := m.Verify(ctx, token)
	if errors.Is(err, ErrInvalidToken) {
		return nil
	}
	if err != nil {
		return err
	}
	if claims.ID != "" || claims.ExpiresAt == nil {
		return nil // an API token
	}
	if err := m.store.revoke(ctx, token, claims.ExpiresAt.Time); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}
