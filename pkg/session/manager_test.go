package session_test

import (
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/moorcd/moor/pkg/session"
)

func TestLogin(t *testing.T) {
	t.Parallel()
	e, adminPassword := bootstrapped(t, map[string]string{
		"accounts.alice":       "login",
		"accounts.bob":         "login",
		"accounts.bob.enabled": "false",
		"accounts.robot":       "apiKey",
		"accounts.nopassword":  "login",
	})
	for _, name := range []string{"alice", "bob", "robot"} {
		e.setPassword(t, name, "password-of-"+name)
	}
	m := session.NewManager(e.store, session.Options{})

	tests := []struct {
		name     string
		user     string
		password string
		wantErr  error
	}{
		{name: "admin with the initial password", user: "admin", password: adminPassword},
		{name: "local account", user: "alice", password: "password-of-alice"},
		{name: "wrong password", user: "admin", password: "wrong-password", wantErr: session.ErrInvalidCredentials},
		{name: "unknown user", user: "mallory", password: "wrong-password", wantErr: session.ErrInvalidCredentials},
		{name: "username too long", user: strings.Repeat("a", 40), password: "wrong-password", wantErr: session.ErrInvalidCredentials},
		{name: "empty password", user: "alice", password: "", wantErr: session.ErrInvalidCredentials},
		{name: "account without a password", user: "nopassword", password: "", wantErr: session.ErrInvalidCredentials},
		{name: "disabled account", user: "bob", password: "password-of-bob", wantErr: session.ErrLoginDisabled},
		{name: "disabled account, wrong password", user: "bob", password: "wrong-password", wantErr: session.ErrInvalidCredentials},
		{name: "account without the login capability", user: "robot", password: "password-of-robot", wantErr: session.ErrLoginDisabled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t)
			token, err := m.Login(ctx, tt.user, tt.password)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Login(%s) error = %v, want %v", tt.user, err, tt.wantErr)
			}
			if err != nil {
				if tt.password != "" && strings.Contains(err.Error(), tt.password) {
					t.Errorf("error quotes the password: %v", err)
				}
				if errors.Is(err, session.ErrInvalidCredentials) && err.Error() != session.ErrInvalidCredentials.Error() {
					t.Errorf("error %q tells more than %q", err, session.ErrInvalidCredentials)
				}
				return
			}
			claims, err := m.Verify(ctx, token)
			if err != nil {
				t.Fatalf("Verify(login session) = %v", err)
			}
			if claims.Subject != tt.user || claims.Issuer != "argocd" || claims.ID != "" {
				t.Errorf("claims = sub %q iss %q jti %q", claims.Subject, claims.Issuer, claims.ID)
			}
			if ttl := claims.ExpiresAt.Sub(claims.IssuedAt.Time); ttl != 24*time.Hour {
				t.Errorf("session lifetime = %s, want 24h", ttl)
			}
			if claims.NotBefore == nil {
				t.Error("session has no nbf")
			}
		})
	}
}

func TestLoginRateLimit(t *testing.T) {
	t.Parallel()
	e, adminPassword := bootstrapped(t, map[string]string{"accounts.alice": "login"})
	e.setPassword(t, "alice", "password-of-alice")
	clk := newClock(time.Now())
	m := session.NewManager(e.store, session.Options{MaxFailures: 5, FailureWindow: 5 * time.Minute, Now: clk.Now})

	login := func(user, password string) error {
		t.Helper()
		_, err := m.Login(testContext(t), user, password) // a deadline per attempt: bcrypt is slow under -race
		return err
	}
	steps := []struct {
		name     string
		advance  time.Duration
		user     string
		password string
		times    int
		wantErr  error
	}{
		{name: "five failures", user: "alice", password: "wrong", times: 5, wantErr: session.ErrInvalidCredentials},
		{name: "sixth attempt refused, right password too", user: "alice", password: "password-of-alice", wantErr: session.ErrTooManyAttempts},
		{name: "other users are not limited", user: "admin", password: adminPassword},
		{name: "still refused within the window", advance: 4 * time.Minute, user: "alice", password: "password-of-alice", wantErr: session.ErrTooManyAttempts},
		{name: "allowed once the failures left the window", advance: time.Minute + time.Second, user: "alice", password: "password-of-alice"},
		{name: "success cleared the count", user: "alice", password: "wrong", times: 4, wantErr: session.ErrInvalidCredentials},
		{name: "still allowed after four", user: "alice", password: "password-of-alice"},
		{name: "unknown users are limited too", user: "mallory", password: "wrong", times: 5, wantErr: session.ErrInvalidCredentials},
		{name: "unknown user refused", user: "mallory", password: "wrong", wantErr: session.ErrTooManyAttempts},
	}
	for _, st := range steps { // in order: each step builds on the one before
		clk.Add(st.advance)
		for range max(st.times, 1) {
			if err := login(st.user, st.password); !errors.Is(err, st.wantErr) {
				t.Fatalf("%s: Login(%s) error = %v, want %v", st.name, st.user, err, st.wantErr)
			} else if errors.Is(err, session.ErrTooManyAttempts) && !strings.Contains(err.Error(), "try again in") {
				t.Errorf("%s: error %q does not say when to try again", st.name, err)
			}
		}
	}
}

func TestLoginRateLimitHoldsUnderParallelAttempts(t *testing.T) {
	t.Parallel()
	e, _ := bootstrapped(t, nil)
	m := session.NewManager(e.store, session.Options{MaxFailures: 5})
	ctx := testContext(t)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		invalid int
	)
	for range 12 {
		wg.Go(func() {
			_, err := m.Login(ctx, "admin", "wrong-password")
			switch {
			case errors.Is(err, session.ErrInvalidCredentials):
				mu.Lock()
				invalid++
				mu.Unlock()
			case !errors.Is(err, session.ErrTooManyAttempts):
				t.Errorf("Login error = %v", err)
			}
		})
	}
	wg.Wait()
	if invalid > 5 {
		t.Errorf("%d password guesses were checked in parallel, want at most 5", invalid)
	}
}

func TestDisabledAccountsLoseLoginAndSessions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		user    string
		disable map[string]string
	}{
		{name: "admin.enabled false", user: "admin", disable: map[string]string{session.AdminEnabledKey: "false"}},
		{name: "accounts.alice.enabled false", user: "alice", disable: map[string]string{"accounts.alice.enabled": "false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, _ := bootstrapped(t, map[string]string{"accounts.alice": "login"})
			e.setPassword(t, tt.user, "password-of-"+tt.user)
			m := session.NewManager(e.store, session.Options{})
			ctx := testContext(t)
			token, err := m.Login(ctx, tt.user, "password-of-"+tt.user)
			if err != nil {
				t.Fatal(err)
			}

			e.setConfig(t, tt.disable)
			eventually(t, "session of the disabled account rejected", func() bool {
				_, err := m.Verify(ctx, token)
				return errors.Is(err, session.ErrInvalidToken)
			})
			if _, err := m.Login(ctx, tt.user, "password-of-"+tt.user); !errors.Is(err, session.ErrLoginDisabled) {
				t.Errorf("Login of disabled account error = %v, want ErrLoginDisabled", err)
			}
		})
	}
}

func TestSetPasswordLogsOutSessions(t *testing.T) {
	t.Parallel()
	e, _ := bootstrapped(t, map[string]string{"accounts.alice": "login"})
	e.setPassword(t, "alice", "old-password") // dated an hour back
	// Each call has its own deadline: bcrypt is slow under -race on a loaded machine.
	// A clock a minute behind issues a session before the password change that follows.
	earlier := session.NewManager(e.store, session.Options{Now: func() time.Time { return time.Now().Add(-time.Minute) }})
	m := session.NewManager(e.store, session.Options{})

	old, err := earlier.Login(testContext(t), "alice", "old-password")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(testContext(t), old); err != nil {
		t.Fatalf("session before the change: %v", err)
	}
	if err := e.store.SetPassword(testContext(t), "alice", "new-password"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(testContext(t), old); !errors.Is(err, session.ErrInvalidToken) {
		t.Errorf("Verify(session from before the change) = %v, want ErrInvalidToken", err)
	}
	if _, err := m.Login(testContext(t), "alice", "old-password"); !errors.Is(err, session.ErrInvalidCredentials) {
		t.Errorf("Login with the old password = %v, want ErrInvalidCredentials", err)
	}
	fresh, err := m.Login(testContext(t), "alice", "new-password")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(testContext(t), fresh); err != nil {
		t.Errorf("Verify(session after the change) = %v", err)
	}
}

func TestAPITokens(t *testing.T) {
	t.Parallel()
	e, _ := bootstrapped(t, map[string]string{"accounts.ci": "apiKey", "accounts.alice": "login"})
	ctx := testContext(t)
	m := session.NewManager(e.store, session.Options{})
	// Another api-server replica, with its own cache.
	other := session.NewManager(session.NewStore(e.kube, e.ns), session.Options{})

	token, err := m.Sign(ctx, "ci", 0, "token-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(ctx, token); !errors.Is(err, session.ErrInvalidToken) {
		t.Errorf("Verify(token not yet recorded) = %v, want ErrInvalidToken", err)
	}
	if err := e.store.AddToken(ctx, "ci", session.Token{ID: "token-1", IssuedAt: time.Now().Unix()}); err != nil {
		t.Fatal(err)
	}
	claims, err := m.Verify(ctx, token)
	if err != nil {
		t.Fatalf("Verify(recorded API token) = %v", err)
	}
	if claims.ExpiresAt != nil || claims.ID != "token-1" || claims.Subject != "ci" {
		t.Errorf("claims = exp %v jti %q sub %q, want no expiry, token-1, ci", claims.ExpiresAt, claims.ID, claims.Subject)
	}
	eventually(t, "other replica accepts the token", func() bool {
		_, err := other.Verify(ctx, token)
		return err == nil
	})

	if err := e.store.RemoveToken(ctx, "ci", "token-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(ctx, token); !errors.Is(err, session.ErrInvalidToken) {
		t.Errorf("Verify(removed token) = %v, want ErrInvalidToken", err)
	}
	eventually(t, "other replica rejects the removed token", func() bool {
		_, err := other.Verify(ctx, token)
		return errors.Is(err, session.ErrInvalidToken)
	})

	// A token with an id is an API token: an account without the apiKey capability cannot have one.
	aliceToken, err := m.Sign(ctx, "alice", time.Hour, "token-2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(ctx, aliceToken); !errors.Is(err, session.ErrInvalidToken) {
		t.Errorf("Verify(API token of a login-only account) = %v, want ErrInvalidToken", err)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	e, _ := bootstrapped(t, map[string]string{"accounts.alice": "login"})
	e.setPassword(t, "alice", "password-of-alice")
	ctx := testContext(t)
	m := session.NewManager(e.store, session.Options{})
	key, err := e.store.SigningKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	otherKey := []byte(rand.Text())
	now := time.Now()

	claims := func(sub string, edit ...func(*session.Claims)) session.Claims {
		c := session.Claims{RegisteredClaims: jwt.RegisteredClaims{
			Issuer: "argocd", Subject: sub,
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
		}}
		for _, f := range edit {
			f(&c)
		}
		return c
	}
	forge := func(method jwt.SigningMethod, c session.Claims, k any) string {
		t.Helper()
		s, err := jwt.NewWithClaims(method, c).SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	signAt := func(at time.Time, sub string, ttl time.Duration) string {
		t.Helper()
		s, err := session.NewManager(e.store, session.Options{Now: func() time.Time { return at }}).Sign(ctx, sub, ttl, "")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	tests := []struct {
		name    string
		token   string
		wantErr error
		wantSub string
	}{
		{name: "session of a local account", token: forge(jwt.SigningMethodHS256, claims("alice"), key), wantSub: "alice"},
		{name: "project role token", token: forge(jwt.SigningMethodHS256, claims("proj:guestbook:ci"), key), wantSub: "proj:guestbook:ci"},
		{name: "project token without expiry", token: signAt(now, "proj:guestbook:ci", 0), wantSub: "proj:guestbook:ci"},
		{name: "expired", token: signAt(now.Add(-25*time.Hour), "proj:guestbook:ci", 24*time.Hour), wantErr: jwt.ErrTokenExpired},
		{name: "not yet valid", token: signAt(now.Add(time.Hour), "proj:guestbook:ci", 24*time.Hour), wantErr: session.ErrInvalidToken},
		{name: "alg none", token: forge(jwt.SigningMethodNone, claims("alice"), jwt.UnsafeAllowNoneSignatureType), wantErr: jwt.ErrTokenSignatureInvalid},
		{name: "signed by another key", token: forge(jwt.SigningMethodHS256, claims("alice"), otherKey), wantErr: jwt.ErrTokenSignatureInvalid},
		{name: "HS512 with the right key", token: forge(jwt.SigningMethodHS512, claims("alice"), key), wantErr: jwt.ErrTokenSignatureInvalid},
		{name: "another issuer", token: forge(jwt.SigningMethodHS256, claims("alice", func(c *session.Claims) { c.Issuer = "dex" }), key), wantErr: jwt.ErrTokenInvalidIssuer},
		{name: "no issuer", token: forge(jwt.SigningMethodHS256, claims("alice", func(c *session.Claims) { c.Issuer = "" }), key), wantErr: jwt.ErrTokenRequiredClaimMissing},
		{name: "unknown account", token: forge(jwt.SigningMethodHS256, claims("mallory"), key), wantErr: session.ErrAccountNotFound},
		{name: "malformed project subject", token: forge(jwt.SigningMethodHS256, claims("proj:guestbook"), key), wantErr: session.ErrInvalidToken},
		{name: "session issued before the password change", token: forge(jwt.SigningMethodHS256, claims("alice", func(c *session.Claims) {
			c.IssuedAt = jwt.NewNumericDate(now.Add(-2 * time.Hour))
		}), key), wantErr: session.ErrInvalidToken},
		{name: "not a JWT", token: "not-a-token", wantErr: jwt.ErrTokenMalformed},
		{name: "empty", token: "", wantErr: jwt.ErrTokenMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := m.Verify(testContext(t), tt.token)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify() error = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if !errors.Is(err, session.ErrInvalidToken) {
					t.Errorf("error %v does not wrap ErrInvalidToken", err)
				}
				if tt.token != "" && strings.Contains(err.Error(), tt.token) {
					t.Errorf("error quotes the token: %v", err)
				}
				return
			}
			if got.Subject != tt.wantSub {
				t.Errorf("subject = %q, want %q", got.Subject, tt.wantSub)
			}
		})
	}
}

func TestRevokeEndsSessionsEverywhere(t *testing.T) {
	t.Parallel()
	e, _ := bootstrapped(t, map[string]string{"accounts.alice": "login", "accounts.ci": "apiKey"})
	e.setPassword(t, "alice", "alice-password")
	ctx := testContext(t)
	m := session.NewManager(e.store, session.Options{})
	other := session.NewManager(session.NewStore(e.kube, e.ns), session.Options{}) // another replica

	ended, err := m.Login(ctx, "alice", "alice-password")
	if err != nil {
		t.Fatal(err)
	}
	kept, err := m.Login(testContext(t), "alice", "alice-password")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Verify(ctx, ended); err != nil {
		t.Fatalf("Verify before the logout: %v", err)
	}
	if err := m.Revoke(ctx, ended); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(ctx, ended); !errors.Is(err, session.ErrInvalidToken) {
		t.Errorf("Verify(ended session) = %v, want ErrInvalidToken", err)
	}
	eventually(t, "other replica refuses the ended session", func() bool {
		_, err := other.Verify(ctx, ended)
		return errors.Is(err, session.ErrInvalidToken)
	})
	if kept == ended {
		t.Fatal("two logins gave the same token")
	}
	if _, err := m.Verify(ctx, kept); err != nil {
		t.Errorf("Verify(another session of the same user) = %v", err)
	}
	if err := m.Revoke(ctx, "not-a-token"); err != nil {
		t.Errorf("Revoke(invalid token) = %v, want nil", err)
	}

	// An API token is revoked from its account, not by a logout.
	token, err := m.Sign(ctx, "ci", 0, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.AddToken(ctx, "ci", session.Token{ID: "t1", IssuedAt: time.Now().Unix()}); err != nil {
		t.Fatal(err)
	}
	if err := m.Revoke(ctx, token); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(ctx, token); err != nil {
		t.Errorf("Verify(API token after a logout with it) = %v", err)
	}
}
