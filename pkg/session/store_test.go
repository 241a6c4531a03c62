package session_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/crypto/bcrypt"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/moorcd/moor/pkg/session"
)

func TestBootstrapCreatesKeyAndInitialAdminPasswordOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := testContext(t)
	if err := e.store.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}

	secret := e.secret(t, session.SecretName)
	key, err := base64.StdEncoding.DecodeString(string(secret.Data[session.SigningKeyKey]))
	if err != nil || len(key) != 32 {
		t.Errorf("server.secretkey is not 32 random bytes in base64 (decoded %d bytes, err %v)", len(key), err)
	}
	initial := e.secret(t, session.InitialAdminSecretName)
	password := initial.Data[session.InitialAdminPasswordKey]
	if len(password) < 16 {
		t.Errorf("initial admin password has %d characters, want at least 16", len(password))
	}
	if err := bcrypt.CompareHashAndPassword(secret.Data["admin.password"], password); err != nil {
		t.Errorf("admin.password does not match the initial admin password: %v", err)
	}
	if _, err := time.Parse(time.RFC3339, string(secret.Data["admin.passwordMtime"])); err != nil {
		t.Errorf("admin.passwordMtime: %v", err)
	}
	storeKey, err := e.store.SigningKey(ctx)
	if err != nil || string(storeKey) != string(secret.Data[session.SigningKeyKey]) {
		t.Errorf("SigningKey() differs from server.secretkey (err %v)", err)
	}

	if err := e.store.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	if again := e.secret(t, session.SecretName); again.ResourceVersion != secret.ResourceVersion {
		t.Errorf("second Bootstrap changed %s", session.SecretName)
	}
	if again := e.secret(t, session.InitialAdminSecretName); again.ResourceVersion != initial.ResourceVersion {
		t.Errorf("second Bootstrap changed %s", session.InitialAdminSecretName)
	}
}

func TestBootstrapLeavesWhatExists(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cm   map[string]string
		// secret is argocd-secret before Bootstrap (none when nil).
		secret map[string]string
		// wantInitialSecret is whether argocd-initial-admin-secret exists afterwards.
		wantInitialSecret bool
		wantKey           string // "" means any new key
	}{
		{name: "existing signing key is kept", secret: map[string]string{session.SigningKeyKey: "preset-key"},
			wantInitialSecret: true, wantKey: "preset-key"},
		{name: "admin with a password gets no initial password",
			secret: map[string]string{"admin.password": "$2a$10$preset"}},
		{name: "disabled admin gets no initial password", cm: map[string]string{session.AdminEnabledKey: "false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tt.cm)
			ctx := testContext(t)
			if tt.secret != nil {
				data := map[string][]byte{}
				for k, v := range tt.secret {
					data[k] = []byte(v)
				}
				obj := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: session.SecretName}, Data: data}
				if _, err := e.kube.CoreV1().Secrets(e.ns).Create(ctx, obj, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.store.Bootstrap(ctx); err != nil {
				t.Fatal(err)
			}
			secret := e.secret(t, session.SecretName)
			if got := string(secret.Data[session.SigningKeyKey]); got == "" || (tt.wantKey != "" && got != tt.wantKey) {
				t.Errorf("server.secretkey = %q, want %q", got, tt.wantKey)
			}
			if want, ok := tt.secret["admin.password"]; ok && string(secret.Data["admin.password"]) != want {
				t.Error("Bootstrap replaced an existing admin password")
			}
			_, err := e.kube.CoreV1().Secrets(e.ns).Get(ctx, session.InitialAdminSecretName, metav1.GetOptions{})
			if got := err == nil; got != tt.wantInitialSecret {
				t.Errorf("initial admin secret exists = %v, want %v (err %v)", got, tt.wantInitialSecret, err)
			}
			if err != nil && !apierrors.IsNotFound(err) {
				t.Fatal(err)
			}
		})
	}
}

func TestBootstrapRacingReplicasAgree(t *testing.T) {
	t.Parallel()
	for round := range 3 {
		t.Run(fmt.Sprintf("round %d", round), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			ctx := testContext(t)
			stores := []*session.Store{e.store, session.NewStore(e.kube, e.ns), session.NewStore(e.kube, e.ns)}
			var wg sync.WaitGroup
			errs := make([]error, len(stores))
			for i, s := range stores {
				wg.Go(func() { errs[i] = s.Bootstrap(ctx) })
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			secret := e.secret(t, session.SecretName)
			for i, s := range stores {
				key, err := s.SigningKey(ctx)
				if err != nil || string(key) != string(secret.Data[session.SigningKeyKey]) {
					t.Errorf("replica %d signs with another key than server.secretkey (err %v)", i, err)
				}
			}
			password := e.secret(t, session.InitialAdminSecretName).Data[session.InitialAdminPasswordKey]
			if err := bcrypt.CompareHashAndPassword(secret.Data["admin.password"], password); err != nil {
				t.Errorf("admin.password does not match the initial admin password: %v", err)
			}
		})
	}
}

func TestAccounts(t *testing.T) {
	t.Parallel()
	e, _ := bootstrapped(t, map[string]string{
		"accounts.alice":         "apiKey, login",
		"accounts.ci":            "apiKey",
		"accounts.ci.enabled":    "false",
		"accounts.watcher":       "",
		"accounts.admin":         "login,apiKey",
		"accounts.alice.unknown": "ignored",
		"url":                    "https://cd.example.com",
	})
	ctx := testContext(t)
	e.setSecret(t, map[string]string{
		"accounts.ci.tokens": `[{"id":"t1","iat":1700000000},{"id":"t2","iat":1700000000,"exp":1800000000}]`,
	})
	got, err := session.NewStore(e.kube, e.ns).Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []session.Account{
		{Name: "admin", Enabled: true, Capabilities: []string{"login", "apiKey"}},
		{Name: "alice", Enabled: true, Capabilities: []string{"apiKey", "login"}},
		{Name: "ci", Enabled: false, Capabilities: []string{"apiKey"},
			Tokens: []session.Token{{ID: "t1", IssuedAt: 1700000000}, {ID: "t2", IssuedAt: 1700000000, ExpiresAt: 1800000000}}},
		{Name: "watcher", Enabled: true},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(session.Account{}, "PasswordHash", "PasswordMtime"), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Accounts() (-want +got):\n%s", diff)
	}
	if got[0].PasswordHash == "" || got[0].PasswordMtime.IsZero() {
		t.Error("admin has no password after Bootstrap")
	}

	tests := []struct {
		name    string
		account string
		wantErr error
	}{
		{name: "declared account", account: "watcher"},
		{name: "built-in admin", account: "admin"},
		{name: "unknown account", account: "mallory", wantErr: session.ErrAccountNotFound},
		{name: "name too long", account: strings.Repeat("a", 33), wantErr: session.ErrAccountNotFound},
		{name: "project subject", account: "proj:p:r", wantErr: session.ErrAccountNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, err := e.store.Account(testContext(t), tt.account)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Account(%q) error = %v, want %v", tt.account, err, tt.wantErr)
			}
			if err == nil && a.Name != tt.account {
				t.Errorf("Account(%q).Name = %q", tt.account, a.Name)
			}
		})
	}
}

func TestAccountsInvalidSettingsNameTheKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cm      map[string]string
		secret  map[string]string
		account string
		wantKey string
	}{
		{name: "unknown capability", cm: map[string]string{"accounts.bob": "login, sudo"},
			account: "bob", wantKey: "accounts.bob"},
		{name: "enabled not a bool", cm: map[string]string{"accounts.bob": "login", "accounts.bob.enabled": "maybe"},
			account: "bob", wantKey: "accounts.bob.enabled"},
		{name: "admin.enabled not a bool", cm: map[string]string{session.AdminEnabledKey: "nope"},
			account: "admin", wantKey: session.AdminEnabledKey},
		{name: "tokens not JSON", cm: map[string]string{"accounts.bob": "apiKey"},
			secret: map[string]string{"accounts.bob.tokens": "{secret-looking"}, account: "bob", wantKey: "accounts.bob.tokens"},
		{name: "password mtime not a time", cm: map[string]string{"accounts.bob": "login"},
			secret: map[string]string{"accounts.bob.passwordMtime": "yesterday"}, account: "bob", wantKey: "accounts.bob.passwordMtime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tt.cm)
			ctx := testContext(t)
			data := map[string][]byte{session.SigningKeyKey: []byte("k")}
			for k, v := range tt.secret {
				data[k] = []byte(v)
			}
			obj := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: session.SecretName}, Data: data}
			if _, err := e.kube.CoreV1().Secrets(e.ns).Create(ctx, obj, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			_, err := e.store.Accounts(ctx)
			if !errors.Is(err, session.ErrInvalidSettings) || !strings.Contains(err.Error(), tt.wantKey) {
				t.Errorf("Accounts() error = %v, want ErrInvalidSettings naming %s", err, tt.wantKey)
			}
			if _, err := e.store.Account(ctx, tt.account); !errors.Is(err, session.ErrInvalidSettings) {
				t.Errorf("Account(%s) error = %v, want ErrInvalidSettings", tt.account, err)
			}
			for k, v := range tt.secret {
				if err != nil && strings.Contains(err.Error(), v) {
					t.Errorf("error quotes the value of %s: %v", k, err)
				}
			}
			if tt.account != session.AdminUsername {
				if _, err := e.store.Account(ctx, session.AdminUsername); err != nil {
					t.Errorf("a bad entry of %s spoiled admin: %v", tt.account, err)
				}
			}
		})
	}
}

func TestSetPassword(t *testing.T) {
	t.Parallel()
	e, _ := bootstrapped(t, map[string]string{"accounts.alice": "login"})
	tests := []struct {
		name     string
		account  string
		password string
		wantErr  error
		wantText string
	}{
		{name: "too short", account: "alice", password: "short12", wantErr: session.ErrInvalidPassword, wantText: "at least 8 characters"},
		{name: "too long for bcrypt", account: "alice", password: strings.Repeat("p", 73), wantErr: session.ErrInvalidPassword, wantText: "at most 72 bytes"},
		{name: "unknown account", account: "mallory", password: "long-enough", wantErr: session.ErrAccountNotFound},
		{name: "eight characters", account: "alice", password: "eight-ch"},
		{name: "admin", account: "admin", password: "n3w-admin-password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t)
			before := time.Now().Add(-time.Second)
			err := e.store.SetPassword(ctx, tt.account, tt.password)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("SetPassword() error = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tt.wantText) || strings.Contains(err.Error(), tt.password) {
					t.Errorf("error %q should name the rule %q and not quote the password", err, tt.wantText)
				}
				return
			}
			a, err := e.store.Account(ctx, tt.account)
			if err != nil {
				t.Fatal(err)
			}
			if err := bcrypt.CompareHashAndPassword([]byte(a.PasswordHash), []byte(tt.password)); err != nil {
				t.Errorf("stored hash does not match the new password: %v", err)
			}
			if cost, _ := bcrypt.Cost([]byte(a.PasswordHash)); cost != 10 {
				t.Errorf("bcrypt cost = %d, want 10", cost)
			}
			if a.PasswordMtime.Before(before) {
				t.Errorf("PasswordMtime = %v, want about now", a.PasswordMtime)
			}
		})
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	e, _ := bootstrapped(t, map[string]string{"accounts.ci": "apiKey", "accounts.alice": "login"})
	ctx := testContext(t)
	steps := []struct {
		name    string
		run     func() error
		wantErr error
		want    []string // ci's token ids afterwards
	}{
		{name: "add", run: func() error { return e.store.AddToken(ctx, "ci", session.Token{ID: "a", IssuedAt: 1}) }, want: []string{"a"}},
		{name: "add with expiry", run: func() error {
			return e.store.AddToken(ctx, "ci", session.Token{ID: "b", IssuedAt: 1, ExpiresAt: 2})
		}, want: []string{"a", "b"}},
		{name: "add an id in use", run: func() error { return e.store.AddToken(ctx, "ci", session.Token{ID: "a"}) },
			wantErr: session.ErrTokenExists, want: []string{"a", "b"}},
		{name: "add to an account without apiKey", run: func() error { return e.store.AddToken(ctx, "alice", session.Token{ID: "c"}) },
			wantErr: session.ErrMissingCapability, want: []string{"a", "b"}},
		{name: "add to an unknown account", run: func() error { return e.store.AddToken(ctx, "mallory", session.Token{ID: "c"}) },
			wantErr: session.ErrAccountNotFound, want: []string{"a", "b"}},
		{name: "remove", run: func() error { return e.store.RemoveToken(ctx, "ci", "a") }, want: []string{"b"}},
		{name: "remove again", run: func() error { return e.store.RemoveToken(ctx, "ci", "a") },
			wantErr: session.ErrTokenNotFound, want: []string{"b"}},
		{name: "remove the last", run: func() error { return e.store.RemoveToken(ctx, "ci", "b") }},
	}
	for _, st := range steps { // in order: each step builds on the one before
		if err := st.run(); !errors.Is(err, st.wantErr) {
			t.Fatalf("%s: error = %v, want %v", st.name, err, st.wantErr)
		}
		a, err := e.store.Account(ctx, "ci")
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, tok := range a.Tokens {
			ids = append(ids, tok.ID)
		}
		if diff := cmp.Diff(st.want, ids, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: token ids (-want +got):\n%s", st.name, diff)
		}
	}
	if _, ok := e.secret(t, session.SecretName).Data["accounts.ci.tokens"]; ok {
		t.Error("accounts.ci.tokens is left behind with no tokens")
	}
}
