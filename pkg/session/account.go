package session

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Names of the Kubernetes objects that hold accounts, Argo CD's names.
const (
	ConfigMapName          = "argocd-cm"
	SecretName             = "argocd-secret"
	InitialAdminSecretName = "argocd-initial-admin-secret"
)

// Keys in those objects that are not per account.
const (
	// SigningKeyKey is the argocd-secret key of the HMAC key that signs sessions.
	SigningKeyKey = "server.secretkey"
	// InitialAdminPasswordKey is the argocd-initial-admin-secret key of the plain initial admin password.
	InitialAdminPasswordKey = "password"
	// AdminEnabledKey in argocd-cm disables the built-in admin when "false".
	AdminEnabledKey = "admin.enabled"
)

// AdminUsername is the built-in account.
const AdminUsername = "admin"

// MaxUsernameLength is the longest account name.
const MaxUsernameLength = 32

// Capabilities of a local account, listed in argocd-cm accounts.<name>.
const (
	CapabilityLogin  = "login"
	CapabilityAPIKey = "apiKey"
)

// Errors about accounts.
var (
	ErrAccountNotFound   = errors.New("account not found")
	ErrInvalidSettings   = errors.New("invalid account settings")
	ErrMissingCapability = errors.New("account lacks the capability")
	ErrTokenNotFound     = errors.New("token not found")
	ErrTokenExists       = errors.New("token id already in use")
)

// Account is a local user.
type Account struct {
	Name    string
	Enabled bool
	// Capabilities are "login" (password sessions) and "apiKey" (API tokens).
	Capabilities []string
	// PasswordHash is the bcrypt hash ("" when no password is set).
	PasswordHash  string
	PasswordMtime time.Time
	Tokens        []Token
}

// Token is an issued API token, recorded so it can be listed and revoked (argocd-secret accounts.<name>.tokens).
type Token struct {
	ID        string `json:"id"`
	IssuedAt  int64  `json:"iat"`
	ExpiresAt int64  `json:"exp,omitempty"`
}

// HasCapability reports whether the account has capability c.
func (a *Account) HasCapability(c string) bool {
	return slices.Contains(a.Capabilities, c)
}

// HasToken reports whether the account still lists the API token id.
func (a *Account) HasToken(id string) bool {
	found := false
	for _, t := range a.Tokens {
		if subtle.ConstantTimeCompare([]byte(t.ID), []byte(id)) == 1 {
			found = true
		}
	}
	return found
}

func (a *Account) clone() *Account {
	c := *a
	c.Capabilities = slices.Clone(a.Capabilities)
	c.Tokens = slices.Clone(a.Tokens)
	return &c
}

// validName reports whether name can be an account: 1 to 32 characters, none of them a dot (the key
// separator), a colon (project token subjects), a comma or a space.
func validName(name string) bool {
	return name != "" && len(name) <= MaxUsernameLength && !strings.ContainsAny(name, ".:, \t\r\n")
}

// secretKey is the argocd-secret key of an account's field: admin.<field> for the built-in admin,
// accounts.<name>.<field> for the others.
func secretKey(name, field string) string {
	if name == AdminUsername {
		return "admin." + field
	}
	return "accounts." + name + "." + field
}

// Fields of an account in argocd-secret.
const (
	fieldPassword      = "password"
	fieldPasswordMtime = "passwordMtime"
	fieldTokens        = "tokens"
)

// accountSet is the parsed accounts with, apart, what was wrong with each, so one bad entry spoils only its
// own account.
type accountSet struct {
	accounts map[string]*Account
	errs     map[string]error
}

// parseAccounts reads the accounts from argocd-cm's and argocd-secret's data (either may be nil).
func parseAccounts(cm map[string]string, secret map[string][]byte) accountSet {
	set := accountSet{accounts: map[string]*Account{}, errs: map[string]error{}}
	fail := func(name string, err error) {
		set.errs[name] = errors.Join(set.errs[name], err)
	}
	admin := &Account{Name: AdminUsername, Enabled: true, Capabilities: []string{CapabilityLogin}}
	set.accounts[AdminUsername] = admin
	if v, ok := cm[AdminEnabledKey]; ok {
		enabled, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			fail(AdminUsername, fmt.Errorf("%w: %s key %s: want true or false", ErrInvalidSettings, ConfigMapName, AdminEnabledKey))
		}
		admin.Enabled = enabled
	}

	for key, value := range cm {
		rest, ok := strings.CutPrefix(key, "accounts.")
		if !ok {
			continue
		}
		name, suffix, _ := strings.Cut(rest, ".")
		if suffix != "" && suffix != "enabled" {
			continue // a key of a later version; not ours to judge
		}
		if !validName(name) {
			fail(name, fmt.Errorf("%w: %s key %s: account names have 1 to %d characters and no dot, colon, comma or space",
				ErrInvalidSettings, ConfigMapName, key, MaxUsernameLength))
			continue
		}
		acct := set.accounts[name]
		if acct == nil {
			acct = &Account{Name: name, Enabled: true}
			set.accounts[name] = acct
		}
		switch suffix {
		case "":
			caps, err := parseCapabilities(value)
			if err != nil {
				fail(name, fmt.Errorf("%w: %s key %s: %w", ErrInvalidSettings, ConfigMapName, key, err))
			}
			acct.Capabilities = caps
		case "enabled":
			enabled, err := strconv.ParseBool(strings.TrimSpace(value))
			if err != nil {
				fail(name, fmt.Errorf("%w: %s key %s: want true or false", ErrInvalidSettings, ConfigMapName, key))
			}
			// For admin both admin.enabled and accounts.admin.enabled can disable it.
			acct.Enabled = acct.Enabled && enabled
		}
	}

	for name, acct := range set.accounts {
		acct.PasswordHash = string(secret[secretKey(name, fieldPassword)])
		if v := secret[secretKey(name, fieldPasswordMtime)]; len(v) > 0 {
			t, err := time.Parse(time.RFC3339, string(v))
			if err != nil {
				fail(name, fmt.Errorf("%w: %s key %s: not an RFC 3339 time", ErrInvalidSettings, SecretName, secretKey(name, fieldPasswordMtime)))
			}
			acct.PasswordMtime = t
		}
		tokens, err := parseTokens(secret[secretKey(name, fieldTokens)])
		if err != nil {
			fail(name, fmt.Errorf("%w: %s key %s: %w", ErrInvalidSettings, SecretName, secretKey(name, fieldTokens), err))
		}
		acct.Tokens = tokens
	}
	return set
}

func parseCapabilities(value string) ([]string, error) {
	var caps []string
	for c := range strings.SplitSeq(value, ",") {
		c = strings.TrimSpace(c)
		switch c {
		case "":
		case CapabilityLogin, CapabilityAPIKey:
			if !slices.Contains(caps, c) {
				caps = append(caps, c)
			}
		default:
			return caps, fmt.Errorf("unknown capability %q (want %s or %s)", c, CapabilityLogin, CapabilityAPIKey)
		}
	}
	return caps, nil
}

func parseTokens(data []byte) ([]Token, error) {
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil, nil
	}
	var tokens []Token
	if err := json.Unmarshal(data, &tokens); err != nil {
		// The decoder's message may quote the data; say only what is wrong.
		return nil, errors.New("not a JSON list of tokens")
	}
	return tokens, nil
}
