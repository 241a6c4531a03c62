package sso

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"
)

// A CLI login never receives the session in a URL. /auth/login takes cli_callback (a loopback URL),
// cli_state and cli_challenge (base64url SHA-256 of a verifier only the CLI knows, as PKCE's S256). After
// the provider's callback the browser goes to cli_callback with a code: the session, the challenge and an
// expiry sealed with AES-GCM under a key derived from server.secretkey. The CLI redeems it at POST
// /auth/token with the verifier; anyone else holding the code (browser history, a process on that port)
// cannot use it, and it expires after cliCodeTTL.

// TokenPath is where a CLI redeems its code.
const TokenPath = "/auth/token"

const cliCodeTTL = time.Minute

type cliCode struct {
	Token     string    `json:"t"`
	Challenge string    `json:"c"`
	Expires   time.Time `json:"e"`
}

func (h *Handler) cliAEAD(ctx context.Context) (cipher.AEAD, error) {
	key, err := h.opts.Sessions.SSOStateKey(ctx)
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("moor sso cli code"))
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// sealCode returns the code a CLI redeems for token.
func (h *Handler) sealCode(ctx context.Context, token, challenge string) (string, error) {
	aead, err := h.cliAEAD(ctx)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(cliCode{Token: token, Challenge: challenge, Expires: h.opts.Now().Add(cliCodeTTL)})
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, b, []byte(TokenPath))), nil
}

var errBadCode = errors.New("the code is invalid, expired or not this client's")

// openCode checks code against verifier and returns the session it holds.
func (h *Handler) openCode(ctx context.Context, code, verifier string) (string, error) {
	aead, err := h.cliAEAD(ctx)
	if err != nil {
		return "", err
	}
	raw, err := base64.RawURLEncoding.DecodeString(code)
	if err != nil || len(raw) < aead.NonceSize() {
		return "", errBadCode
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(TokenPath))
	if err != nil {
		return "", errBadCode
	}
	var c cliCode
	if err := json.Unmarshal(plain, &c); err != nil || h.opts.Now().After(c.Expires) {
		return "", errBadCode
	}
	if !hmac.Equal([]byte(Challenge(verifier)), []byte(c.Challenge)) {
		return "", errBadCode
	}
	return c.Token, nil
}

// Challenge is the S256 challenge of a verifier: base64url(SHA-256(verifier)).
func Challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// validChallenge accepts a base64url SHA-256 (43 characters).
func validChallenge(c string) bool {
	b, err := base64.RawURLEncoding.DecodeString(c)
	return err == nil && len(b) == sha256.Size
}

// cliRedirect is where the browser goes after a CLI login: cli_callback with the code and the CLI's state.
func (h *Handler) cliRedirect(ctx context.Context, st *loginState, token string) (string, error) {
	code, err := h.sealCode(ctx, token, st.CLIChallenge)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(st.CLI)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("code", code)
	q.Set("state", st.CLIState)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// token serves POST /auth/token: form fields code and code_verifier; answers {"token": ...}.
func (h *Handler) token(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, http.StatusBadRequest, "want a form with code and code_verifier", err)
		return
	}
	token, err := h.openCode(r.Context(), r.PostForm.Get("code"), r.PostForm.Get("code_verifier"))
	switch {
	case errors.Is(err, errBadCode):
		h.fail(w, r, http.StatusBadRequest, errBadCode.Error(), nil)
		return
	case err != nil:
		h.fail(w, r, http.StatusServiceUnavailable, "cannot redeem the code now", err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"token": token})
}
