package session_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/moorcd/moor/pkg/session"
)

func TestSSOSessions(t *testing.T) {
	t.Parallel()
	e, _ := bootstrapped(t, map[string]string{"accounts.alice": "login"})
	now := time.Now().Truncate(time.Second) // JWT times have one-second precision
	clock := func() time.Time { return now }
	m := session.NewManager(e.store, session.Options{Now: clock})

	token, err := m.SignSSO(testContext(t), "ada@example.com", []string{"admins", "staff"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := m.Verify(testContext(t), token)
	if err != nil {
		t.Fatalf("verify an SSO session: %v", err)
	}
	if claims.Subject != "ada@example.com" || claims.Issuer != session.Issuer || !slices.Equal(claims.Groups, []string{"admins", "staff"}) {
		t.Errorf("claims = %+v, want ada@example.com of %s in admins, staff", claims, session.Issuer)
	}
	if got := claims.ExpiresAt.Sub(now).Round(time.Second); got != session.DefaultSessionDuration {
		t.Errorf("lifetime %s, want %s", got, session.DefaultSessionDuration)
	}

	later := session.NewManager(e.store, session.Options{Now: func() time.Time { return now.Add(session.DefaultSessionDuration + time.Minute) }})
	if _, err := later.Verify(testContext(t), token); !errors.Is(err, session.ErrInvalidToken) {
		t.Errorf("verify an expired SSO session: %v, want ErrInvalidToken", err)
	}

	for _, subject := range []string{"", "alice", "admin", "proj:default:deployer"} {
		if _, err := m.SignSSO(testContext(t), subject, nil, time.Hour); !errors.Is(err, session.ErrSSOSubject) {
			t.Errorf("SignSSO(%q) = %v, want ErrSSOSubject", subject, err)
		}
	}

	// A local session keeps its account checks: the SSO marker is only on tokens SignSSO signs.
	local, err := m.Sign(testContext(t), "ghost", time.Hour, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(testContext(t), local); !errors.Is(err, session.ErrInvalidToken) {
		t.Errorf("verify a session of an unknown local account: %v, want ErrInvalidToken", err)
	}
}
