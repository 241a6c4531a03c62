package session

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"
)

// Issuer is the iss claim of every token the Manager signs, Argo CD's.
const Issuer = "argocd"

// ProjectSubjectPrefix starts the subject of project role tokens: proj:<project>:<role>.
const ProjectSubjectPrefix = "proj:"

// Defaults of Options.
const (
	DefaultSessionDuration = 24 * time.Hour
	DefaultMaxFailures     = 5
	DefaultFailureWindow   = 5 * time.Minute
)

// Errors of logins and tokens.
var (
	// ErrInvalidCredentials answers both an unknown user and a wrong password.
	ErrInvalidCredentials = errors.New("invalid username or password")
	ErrLoginDisabled      = errors.New("login disabled")
	ErrTooManyAttempts    = errors.New("too many failed login attempts")
	ErrInvalidToken       = errors.New("invalid token")
)

// dummyHash is a bcrypt hash (cost 10, like real ones) of a random string nobody knows. A login of an unknown
// user, or of an account without a password, is checked against it, so it takes as long as a wrong password.
const dummyHash = "$2a$10$B2Q0bR3nLThpg50RccyjtOrlD8eBrsHYvpTUlo..Fsz8fqHyGWACC"

// Claims are the claims of Moor's (and Argo CD's) tokens.
type Claims struct {
	jwt.RegisteredClaims
	Groups []string `json:"groups,omitempty"`
	// SessionID makes every login and SSO session a distinct token, so a logout (Revoke) ends one session
	// only, even of two logins in the same second. API tokens have a jti instead.
	SessionID string `json:"sid,omitempty"`
}

// Options tune a Manager; zero values take the defaults.
type Options struct {
	// SessionDuration is the lifetime of login sessions (24h).
	SessionDuration time.Duration
	// MaxFailures failed logins of one user within FailureWindow refuse further attempts until the oldest of
	// them leaves the window (5 in 5m). A negative MaxFailures disables the limit.
	MaxFailures   int
	FailureWindow time.Duration
	// Now is the clock (time.Now).
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.SessionDuration <= 0 {
		o.SessionDuration = DefaultSessionDuration
	}
	if o.MaxFailures == 0 {
		o.MaxFailures = DefaultMaxFailures
	}
	if o.FailureWindow <= 0 {
		o.FailureWindow = DefaultFailureWindow
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Manager signs and verifies session tokens and logs local users in, limiting failed attempts.
type Manager struct {
	store   *Store
	opts    Options
	limiter *limiter
}

// NewManager returns a Manager over the accounts and signing key of store.
func NewManager(store *Store, opts Options) *Manager {
	opts = opts.withDefaults()
	return &Manager{store: store, opts: opts, limiter: newLimiter(opts.MaxFailures, opts.FailureWindow)}
}

// Login checks a local user's password and returns a session token valid for Options.SessionDuration. It
// returns ErrInvalidCredentials for an unknown user and for a wrong password alike, ErrLoginDisabled when the
// password is right but the account is disabled or lacks the login capability, and ErrTooManyAttempts while
// the user's failed attempts are being limited.
func (m *Manager) Login(ctx context.Context, username, password string) (string, error) {
	if err := m.limiter.begin(username, m.opts.Now()); err != nil {
		return "", err
	}
	token, o, err := m.login(ctx, username, password)
	m.limiter.end(username, m.opts.Now(), o)
	return token, err
}

func (m *Manager) login(ctx context.Context, username, password string) (string, outcome, error) {
	acct, err := m.store.Account(ctx, username)
	if err != nil && !errors.Is(err, ErrAccountNotFound) {
		return "", attemptNeutral, fmt.Errorf("login: %w", err)
	}
	hash := dummyHash
	if acct != nil && acct.PasswordHash != "" {
		hash = acct.PasswordHash
	}
	// bcrypt compares in constant time; the dummy hash makes a missing account cost the same.
	match := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	if acct == nil || acct.PasswordHash == "" || !match {
		return "", attemptFailed, ErrInvalidCredentials
	}
	if !acct.Enabled {
		return "", attemptNeutral, fmt.Errorf("%w: account %s is disabled", ErrLoginDisabled, acct.Name)
	}
	if !acct.HasCapability(CapabilityLogin) {
		return "", attemptNeutral, fmt.Errorf("%w: account %s lacks the %s capability", ErrLoginDisabled, acct.Name, CapabilityLogin)
	}
	token, err := m.Sign(ctx, acct.Name, m.opts.SessionDuration, "")
	if err != nil {
		return "", attemptNeutral, fmt.Errorf("login: %w", err)
	}
	return token, attemptSucceeded, nil
}

// Sign issues an HS256 token for subject (an account name or proj:<project>:<role>) that expires after ttl;
// ttl 0 means no expiry (API tokens). id becomes the jti claim: set it for API tokens, leave it empty for
// login sessions.
func (m *Manager) Sign(ctx context.Context, subject string, ttl time.Duration, id string) (string, error) {
	if subject == "" {
		return "", errors.New("sign token: empty subject")
	}
	if ttl < 0 {
		return "", fmt.Errorf("sign token: negative lifetime %s", ttl)
	}
	key, err := m.store.SigningKey(ctx)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	now := m.opts.Now()
	claims := Claims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer:    Issuer,
		Subject:   subject,
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		ID:        id,
	}}
	if id == "" {
		claims.SessionID = rand.Text()
	}
	if ttl > 0 {
		claims.ExpiresAt = jwt.NewNumericDate(now.Add(ttl))
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return signed, nil
}

// Verify parses and checks a token: HS256 signature with server.secretkey (any other algorithm, "none"
// included, is refused), issuer, expiry and not-before. For a local account's token it also checks that the
// account exists and is enabled, that an API token (jti set) is still listed by an account with the apiKey
// capability and a session (no jti) belongs to an account with the login capability, and that the token was
// issued no earlier than the account's password change; a session ended by Revoke is refused. Failures wrap ErrInvalidToken; an error without it
// means the settings could not be read. An SSO session (SignSSO) has no account: it is checked for signature,
// issuer and expiry only.
func (m *Manager) Verify(ctx context.Context, token string) (*Claims, error) {
	// One read of the settings serves the key, the revoked sessions and the account.
	snap, err := m.store.current(ctx)
	if err != nil {
		return nil, fmt.Errorf("verify token: %w", err)
	}
	if len(snap.signingKey) == 0 {
		return nil, fmt.Errorf("verify token: %w", ErrNoSigningKey)
	}
	claims := &Claims{}
	_, err = jwt.ParseWithClaims(token, claims,
		func(*jwt.Token) (any, error) { return snap.signingKey, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(Issuer),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(m.opts.Now),
	)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if _, revoked := snap.revoked[tokenDigest(token)]; revoked {
		return nil, fmt.Errorf("%w: the session was ended by a logout", ErrInvalidToken)
	}
	sub := claims.Subject
	if rest, ok := strings.CutPrefix(sub, ProjectSubjectPrefix); ok {
		if project, role, ok := strings.Cut(rest, ":"); !ok || project == "" || role == "" || strings.Contains(role, ":") {
			return nil, fmt.Errorf("%w: project token subject is not %s<project>:<role>", ErrInvalidToken, ProjectSubjectPrefix)
		}
		return claims, nil
	}
	if isSSO(claims) {
		return claims, nil
	}
	if err := checkAccount(snap, claims); err != nil {
		return nil, err
	}
	return claims, nil
}

func checkAccount(snap *snapshot, claims *Claims) error {
	acct, err := snap.lookup(claims.Subject)
	switch {
	case errors.Is(err, ErrAccountNotFound), errors.Is(err, ErrInvalidSettings):
		return fmt.Errorf("%w: %w", ErrInvalidToken, err)
	case err != nil:
		return fmt.Errorf("verify token: %w", err)
	}
	if !acct.Enabled {
		return fmt.Errorf("%w: account %s is disabled", ErrInvalidToken, acct.Name)
	}
	if claims.ID != "" {
		if !acct.HasCapability(CapabilityAPIKey) {
			return fmt.Errorf("%w: account %s lacks the %s capability", ErrInvalidToken, acct.Name, CapabilityAPIKey)
		}
		if !acct.HasToken(claims.ID) {
			return fmt.Errorf("%w: the token of account %s was revoked", ErrInvalidToken, acct.Name)
		}
	} else if !acct.HasCapability(CapabilityLogin) {
		return fmt.Errorf("%w: account %s lacks the %s capability", ErrInvalidToken, acct.Name, CapabilityLogin)
	}
	if !acct.PasswordMtime.IsZero() {
		if claims.IssuedAt == nil || claims.IssuedAt.Before(acct.PasswordMtime) {
			return fmt.Errorf("%w: the password of account %s changed after the token was issued", ErrInvalidToken, acct.Name)
		}
	}
	return nil
}
