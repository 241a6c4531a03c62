package sso

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"sigs.k8s.io/yaml"

	"github.com/moorcd/moor/pkg/session"
	"github.com/moorcd/moor/services/apiserver/auth"
)

// Keys of argocd-cm.
const (
	// ConfigKey holds the OIDC provider and client (YAML).
	ConfigKey = "oidc.config"
	// URLKey is the server's external URL; the callback URL is built on it.
	URLKey = "url"
)

// Routes served by the Handler.
const (
	LoginPath    = "/auth/login"
	CallbackPath = "/auth/callback"
)

const (
	stateCookie = "moor.oauthstate"
	stateTTL    = 5 * time.Minute
	httpTimeout = 15 * time.Second
	// maxCookieBytes keeps the session cookie under the 4096 bytes browsers store.
	maxCookieBytes = 4000
)

// DefaultScopes are requested when oidc.config sets no requestedScopes.
var DefaultScopes = []string{oidc.ScopeOpenID, "profile", "email", "groups"}

var (
	errNotConfigured = errors.New("SSO is not configured: argocd-cm has no oidc.config")
	errBadConfig     = errors.New("oidc.config in argocd-cm is invalid")
)

// Config is the part of oidc.config that Moor reads.
type Config struct {
	Name                     string         `json:"name"`
	Issuer                   string         `json:"issuer"`
	ClientID                 string         `json:"clientID"`
	ClientSecret             string         `json:"clientSecret"`
	RequestedScopes          []string       `json:"requestedScopes"`
	RequestedIDTokenClaims   map[string]any `json:"requestedIDTokenClaims"`
	EnablePKCEAuthentication bool           `json:"enablePKCEAuthentication"`
}

// ParseConfig reads oidc.config and resolves `$<key>` values of clientID and clientSecret from secret, the
// data of argocd-secret. Errors never quote a secret value.
func ParseConfig(raw string, secret map[string][]byte) (*Config, error) {
	var c Config
	if err := yaml.Unmarshal([]byte(raw), &c); err != nil {
		return nil, fmt.Errorf("%w: not YAML of the expected shape", errBadConfig)
	}
	for field, v := range map[string]*string{"clientID": &c.ClientID, "clientSecret": &c.ClientSecret} {
		key, ok := strings.CutPrefix(*v, "$")
		if !ok {
			continue
		}
		if strings.Contains(key, ":") {
			return nil, fmt.Errorf("%w: %s refers to another Secret; only keys of %s are supported", errBadConfig, field, session.SecretName)
		}
		val, ok := secret[key]
		if !ok {
			return nil, fmt.Errorf("%w: %s refers to %s key %q, which does not exist", errBadConfig, field, session.SecretName, key)
		}
		*v = string(val)
	}
	u, err := url.Parse(c.Issuer)
	if c.Issuer == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%w: issuer must be an http(s) URL", errBadConfig)
	}
	if c.ClientID == "" {
		return nil, fmt.Errorf("%w: clientID is required", errBadConfig)
	}
	if len(c.RequestedScopes) == 0 {
		c.RequestedScopes = DefaultScopes
	}
	return &c, nil
}

// Sessions signs the Moor sessions of SSO users; session.Manager is one.
type Sessions interface {
	SignSSO(ctx context.Context, subject string, groups []string, ttl time.Duration) (string, error)
	SSOStateKey(ctx context.Context) ([]byte, error)
}

var _ Sessions = (*session.Manager)(nil)

// Options wire a Handler.
type Options struct {
	// Settings returns the data of argocd-cm (nil when it is missing); read on every request.
	Settings func() map[string]string
	// Secret returns the data of argocd-secret (nil when it is missing).
	Secret   func() map[string][]byte
	Sessions Sessions
	// Secure marks the cookies Secure (the server serves TLS).
	Secure bool
	// SessionDuration is the lifetime of SSO sessions; 0 takes the session manager's (24h).
	SessionDuration time.Duration
	// HTTPClient talks to the provider (a client with a 15s timeout).
	HTTPClient *http.Client
	// Now is the clock (time.Now).
	Now func() time.Time
	Log *slog.Logger
}

// Handler serves /auth/login and /auth/callback.
type Handler struct {
	opts Options
	mux  *http.ServeMux

	mu     sync.Mutex
	cached *discovered
}

// discovered is the provider of one oidc.config text.
type discovered struct {
	raw      string
	provider *oidc.Provider
}

var _ http.Handler = (*Handler)(nil)

// New returns a Handler; mount it at /auth/.
func New(opts Options) *Handler {
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: httpTimeout}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Secret == nil {
		opts.Secret = func() map[string][]byte { return nil }
	}
	h := &Handler{opts: opts, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET "+LoginPath, h.login)
	h.mux.HandleFunc("GET "+CallbackPath, h.callback)
	h.mux.HandleFunc("POST "+TokenPath, h.token)
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	h.mux.ServeHTTP(w, r)
}

// loginState travels from /auth/login to /auth/callback in the signed state cookie.
type loginState struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v,omitempty"`
	Redirect string `json:"cb"`
	Return   string `json:"r"`
	// CLI, CLIState and CLIChallenge: a CLI's loopback listener gets a code for the session instead of the
	// browser getting the session (moor login --sso; see cli.go).
	CLI          string    `json:"cli,omitempty"`
	CLIState     string    `json:"cs,omitempty"`
	CLIChallenge string    `json:"cc,omitempty"`
	Expires      time.Time `json:"e"`
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	cfg, provider, ok := h.setup(w, r)
	if !ok {
		return
	}
	origin := h.origin(r)
	st := loginState{
		State:    rand.Text(),
		Nonce:    rand.Text(),
		Redirect: origin + CallbackPath,
		Return:   safeReturn(r.URL.Query().Get("return_url"), origin),
		Expires:  h.opts.Now().Add(stateTTL),
	}
	if raw := r.URL.Query().Get("cli_callback"); raw != "" {
		cb, ok := loopbackCallback(raw)
		cliState, challenge := r.URL.Query().Get("cli_state"), r.URL.Query().Get("cli_challenge")
		if !ok || !validCLIState(cliState) || !validChallenge(challenge) {
			h.fail(w, r, http.StatusBadRequest, "cli_callback must be an http URL on 127.0.0.1, ::1 or localhost with a port, "+
				"with a cli_state of 16 to 128 letters, digits, - or _ and a cli_challenge (base64url SHA-256 of the CLI's verifier)", nil)
			return
		}
		st.CLI, st.CLIState, st.CLIChallenge = cb, cliState, challenge
	}
	authOpts := []oauth2.AuthCodeOption{oidc.Nonce(st.Nonce)}
	if cfg.EnablePKCEAuthentication {
		st.Verifier = oauth2.GenerateVerifier()
		authOpts = append(authOpts, oauth2.S256ChallengeOption(st.Verifier))
	}
	if len(cfg.RequestedIDTokenClaims) > 0 {
		claims, err := json.Marshal(map[string]any{"id_token": cfg.RequestedIDTokenClaims})
		if err != nil {
			h.fail(w, r, http.StatusInternalServerError, "oidc.config requestedIDTokenClaims cannot be encoded", err)
			return
		}
		authOpts = append(authOpts, oauth2.SetAuthURLParam("claims", string(claims)))
	}
	sealed, err := h.seal(ctx, st)
	if err != nil {
		h.fail(w, r, http.StatusServiceUnavailable, "cannot start the login now", err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: stateCookie, Value: sealed, Path: CallbackPath, MaxAge: int(stateTTL / time.Second),
		HttpOnly: true, Secure: h.opts.Secure, SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, h.oauth2(cfg, provider, st.Redirect).AuthCodeURL(st.State, authOpts...), http.StatusFound)
}

func (h *Handler) callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Path: CallbackPath, MaxAge: -1, HttpOnly: true, Secure: h.opts.Secure, SameSite: http.SameSiteLaxMode})
	if e := q.Get("error"); e != "" {
		h.fail(w, r, http.StatusBadRequest, "the OIDC provider refused the login: "+clip(e+": "+q.Get("error_description")), nil)
		return
	}
	st, err := h.open(ctx, r)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, "login state is missing, expired or forged; start again at "+LoginPath, err)
		return
	}
	if !hmac.Equal([]byte(q.Get("state")), []byte(st.State)) {
		h.fail(w, r, http.StatusBadRequest, "state does not match this browser's login; start again at "+LoginPath, nil)
		return
	}
	code := q.Get("code")
	if code == "" {
		h.fail(w, r, http.StatusBadRequest, "the callback has no authorization code", nil)
		return
	}
	cfg, provider, ok := h.setup(w, r)
	if !ok {
		return
	}
	pctx := oidc.ClientContext(ctx, h.opts.HTTPClient)
	var exOpts []oauth2.AuthCodeOption
	if st.Verifier != "" {
		exOpts = append(exOpts, oauth2.VerifierOption(st.Verifier))
	}
	tok, err := h.oauth2(cfg, provider, st.Redirect).Exchange(pctx, code, exOpts...)
	if err != nil {
		if _, refused := errors.AsType[*oauth2.RetrieveError](err); refused {
			h.fail(w, r, http.StatusBadRequest, "the OIDC provider refused the authorization code", err)
		} else {
			h.fail(w, r, http.StatusServiceUnavailable, "the OIDC provider cannot be reached", err)
		}
		return
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		h.fail(w, r, http.StatusBadRequest, "the OIDC provider returned no ID token (is the openid scope requested?)", nil)
		return
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: cfg.ClientID, Now: h.opts.Now}).Verify(pctx, rawID)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, "the ID token was rejected", err)
		return
	}
	if !hmac.Equal([]byte(idt.Nonce), []byte(st.Nonce)) {
		h.fail(w, r, http.StatusBadRequest, "the ID token's nonce does not match this login", nil)
		return
	}
	var claims struct {
		Groups json.RawMessage `json:"groups"`
	}
	if err := idt.Claims(&claims); err != nil {
		h.fail(w, r, http.StatusBadRequest, "the ID token's claims cannot be read", err)
		return
	}
	groups, err := parseGroups(claims.Groups)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, "the ID token's groups claim is neither a string nor a list of strings", nil)
		return
	}
	token, err := h.opts.Sessions.SignSSO(ctx, idt.Subject, groups, h.opts.SessionDuration)
	switch {
	case errors.Is(err, session.ErrSSOSubject):
		h.fail(w, r, http.StatusForbidden, "this SSO user cannot log in: its subject is a local account or a project role", err)
		return
	case err != nil:
		h.fail(w, r, http.StatusServiceUnavailable, "cannot sign the session now", err)
		return
	case len(token) > maxCookieBytes:
		h.fail(w, r, http.StatusBadRequest, fmt.Sprintf("the session of this user (%d groups) is too large for a cookie", len(groups)), nil)
		return
	}
	if st.CLI != "" {
		// A CLI login: its loopback listener gets a code only the CLI can redeem; the browser keeps no session.
		to, err := h.cliRedirect(ctx, st, token)
		if err != nil {
			h.fail(w, r, http.StatusServiceUnavailable, "cannot hand the session to the CLI now", err)
			return
		}
		h.opts.Log.InfoContext(ctx, "sso login", "user", idt.Subject, "groups", len(groups), "client", "cli")
		http.Redirect(w, r, to, http.StatusFound)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: auth.CookieName, Value: token, Path: "/",
		HttpOnly: true, Secure: h.opts.Secure, SameSite: http.SameSiteLaxMode,
	})
	h.opts.Log.InfoContext(ctx, "sso login", "user", idt.Subject, "groups", len(groups))
	http.Redirect(w, r, st.Return, http.StatusFound)
}

// loopbackCallback accepts the callback of a CLI login only on this machine's loopback: http, host
// 127.0.0.1, ::1 or localhost, an explicit port, no user info or fragment.
func loopbackCallback(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.User != nil || u.Fragment != "" || u.Opaque != "" || u.Port() == "" {
		return "", false
	}
	switch u.Hostname() {
	case "127.0.0.1", "::1", "localhost":
		return u.String(), true
	}
	return "", false
}

func validCLIState(s string) bool {
	if len(s) < 16 || len(s) > 128 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// setup reads oidc.config and the provider, answering the request itself when either is unavailable.
func (h *Handler) setup(w http.ResponseWriter, r *http.Request) (*Config, *oidc.Provider, bool) {
	raw := h.opts.Settings()[ConfigKey]
	if strings.TrimSpace(raw) == "" {
		h.fail(w, r, http.StatusNotFound, errNotConfigured.Error(), nil)
		return nil, nil, false
	}
	cfg, err := ParseConfig(raw, h.opts.Secret())
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, err.Error(), nil)
		return nil, nil, false
	}
	p, err := h.provider(r.Context(), raw, cfg.Issuer)
	if err != nil {
		h.fail(w, r, http.StatusServiceUnavailable, "the OIDC provider cannot be reached", err)
		return nil, nil, false
	}
	return cfg, p, true
}

// provider returns the provider of raw, fetching its discovery document when raw is new.
func (h *Handler) provider(ctx context.Context, raw, issuer string) (*oidc.Provider, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cached != nil && h.cached.raw == raw {
		return h.cached.provider, nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), httpTimeout)
	defer cancel()
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, h.opts.HTTPClient), issuer)
	if err != nil {
		return nil, fmt.Errorf("discover OIDC provider %s: %w", issuer, err)
	}
	h.cached = &discovered{raw: raw, provider: p}
	return p, nil
}

func (h *Handler) oauth2(cfg *Config, p *oidc.Provider, redirect string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		Endpoint:     p.Endpoint(),
		RedirectURL:  redirect,
		Scopes:       cfg.RequestedScopes,
	}
}

// origin is the server's external origin: argocd-cm url, else the scheme and Host of r.
func (h *Handler) origin(r *http.Request) string {
	if u, err := url.Parse(h.opts.Settings()[URLKey]); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
		return u.Scheme + "://" + u.Host
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// safeReturn is where the browser goes after the login: ret when it is a path, or a URL of origin reduced
// to its path; "/" otherwise, so the login never redirects to another site.
func safeReturn(ret, origin string) string {
	if ret == "" || strings.ContainsAny(ret, "\\\r\n\t") {
		return "/"
	}
	u, err := url.Parse(ret)
	if err != nil || u.Opaque != "" || u.User != nil {
		return "/"
	}
	if u.Scheme != "" || u.Host != "" {
		if !strings.EqualFold(u.Scheme+"://"+u.Host, origin) {
			return "/"
		}
		u.Scheme, u.Host = "", ""
	}
	if !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	return u.String()
}

// parseGroups reads a groups claim: absent, one string or a list of strings.
func parseGroups(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err == nil {
		return list, nil
	}
	var one string
	if err := json.Unmarshal(raw, &one); err != nil {
		return nil, err
	}
	return []string{one}, nil
}

// seal encodes st as base64url(JSON) "." base64url(HMAC-SHA256).
func (h *Handler) seal(ctx context.Context, st loginState) (string, error) {
	key, err := h.opts.Sessions.SSOStateKey(ctx)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(st)
	if err != nil {
		return "", err
	}
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + base64.RawURLEncoding.EncodeToString(mac(key, payload)), nil
}

// open reads and checks the state cookie of r.
func (h *Handler) open(ctx context.Context, r *http.Request) (*loginState, error) {
	c, err := r.Cookie(stateCookie)
	if err != nil {
		return nil, errors.New("no state cookie")
	}
	payload, sig, ok := strings.Cut(c.Value, ".")
	if !ok {
		return nil, errors.New("malformed state cookie")
	}
	key, err := h.opts.Sessions.SSOStateKey(ctx)
	if err != nil {
		return nil, err
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(key, payload)) {
		return nil, errors.New("state cookie signature mismatch")
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil, errors.New("malformed state cookie")
	}
	var st loginState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, errors.New("malformed state cookie")
	}
	if !h.opts.Now().Before(st.Expires) {
		return nil, errors.New("state cookie expired")
	}
	return &st, nil
}

func mac(key []byte, payload string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// fail answers {"error": msg} with code and logs cause, which never carries a token.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, code int, msg string, cause error) {
	level := slog.LevelInfo
	if code >= http.StatusInternalServerError {
		level = slog.LevelWarn
	}
	attrs := []any{"path", r.URL.Path, "status", code, "reason", msg}
	if cause != nil {
		attrs = append(attrs, "error", cause)
	}
	h.opts.Log.Log(r.Context(), level, "sso request failed", attrs...)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// clip bounds text echoed from the provider.
func clip(s string) string {
	const limit = 200
	if len(s) > limit {
		return s[:limit] + "..."
	}
	return s
}
