package sso

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSafeReturn(t *testing.T) {
	t.Parallel()
	const origin = "https://moor.example.com"
	tests := []struct{ name, in, want string }{
		{"empty", "", "/"},
		{"path", "/applications", "/applications"},
		{"path with query and fragment", "/applications?proj=a#top", "/applications?proj=a#top"},
		{"own origin", "https://moor.example.com/applications/guestbook", "/applications/guestbook"},
		{"own origin, other case", "HTTPS://MOOR.example.com/x", "/x"},
		{"own origin without path", "https://moor.example.com", "/"},
		{"other host", "https://evil.example/x", "/"},
		{"other scheme", "http://moor.example.com/x", "/"},
		{"scheme-relative", "//evil.example/x", "/"},
		{"backslash", "/\\evil.example", "/"},
		{"javascript", "javascript:alert(1)", "/"},
		{"relative path", "applications", "/"},
		{"user info", "https://evil@moor.example.com/x", "/"},
		{"newline", "/x\r\nSet-Cookie: a=b", "/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := safeReturn(tc.in, origin); got != tc.want {
				t.Errorf("safeReturn(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseConfig(t *testing.T) {
	t.Parallel()
	secret := map[string][]byte{"oidc.clientSecret": []byte("s3cret-value")}
	t.Run("defaults and secret reference", func(t *testing.T) {
		c, err := ParseConfig("name: Okta\nissuer: https://idp.example.com\nclientID: moor\nclientSecret: $oidc.clientSecret\n", secret)
		if err != nil {
			t.Fatal(err)
		}
		if c.ClientSecret != "s3cret-value" || !slices.Equal(c.RequestedScopes, DefaultScopes) || c.EnablePKCEAuthentication {
			t.Errorf("config = %+v", c)
		}
	})
	t.Run("scopes, claims and PKCE", func(t *testing.T) {
		c, err := ParseConfig("issuer: https://idp.example.com\nclientID: moor\nrequestedScopes: [openid, groups]\n"+
			"requestedIDTokenClaims: {groups: {essential: true}}\nenablePKCEAuthentication: true\n", nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(c.RequestedScopes, []string{"openid", "groups"}) || !c.EnablePKCEAuthentication || c.RequestedIDTokenClaims["groups"] == nil {
			t.Errorf("config = %+v", c)
		}
	})
	for name, raw := range map[string]string{
		"no issuer":           "clientID: moor\n",
		"issuer not a URL":    "issuer: idp.example.com\nclientID: moor\n",
		"no client":           "issuer: https://idp.example.com\n",
		"missing key":         "issuer: https://idp.example.com\nclientID: moor\nclientSecret: $nope\n",
		"other Secret":        "issuer: https://idp.example.com\nclientID: moor\nclientSecret: $other:key\n",
		"not the right shape": "issuer: [a, b]\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseConfig(raw, secret)
			if err == nil {
				t.Fatal("want an error")
			}
			if strings.Contains(err.Error(), "s3cret-value") {
				t.Errorf("error quotes the secret: %v", err)
			}
		})
	}
}

func TestParseGroups(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string][]string{``: nil, `null`: nil, `"admins"`: {"admins"}, `["a","b"]`: {"a", "b"}} {
		got, err := parseGroups(json.RawMessage(raw))
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("parseGroups(%s) = %v, %v; want %v", raw, got, err, want)
		}
	}
	if _, err := parseGroups(json.RawMessage(`[1,2]`)); err == nil {
		t.Error("parseGroups of numbers: want an error")
	}
}

type staticKey []byte

func (k staticKey) SignSSO(context.Context, string, []string, time.Duration) (string, error) {
	return "", nil
}
func (k staticKey) SSOStateKey(context.Context) ([]byte, error) { return k, nil }

func TestStateCookie(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	h := New(Options{Sessions: staticKey("key-1"), Now: func() time.Time { return now }})
	st := loginState{State: "s", Nonce: "n", Verifier: "v", Redirect: "https://moor/auth/callback", Return: "/", Expires: now.Add(stateTTL)}
	sealed, err := h.seal(t.Context(), st)
	if err != nil {
		t.Fatal(err)
	}
	request := func(value string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, CallbackPath, nil)
		r.AddCookie(&http.Cookie{Name: stateCookie, Value: value})
		return r
	}
	got, err := h.open(t.Context(), request(sealed))
	if err != nil || *got != st {
		t.Fatalf("open = %+v, %v; want %+v", got, err, st)
	}
	payload, sig, _ := strings.Cut(sealed, ".")
	tampered := strings.Replace(payload, "A", "B", 1) + "." + sig
	other := New(Options{Sessions: staticKey("key-2"), Now: func() time.Time { return now }})
	expired := New(Options{Sessions: staticKey("key-1"), Now: func() time.Time { return now.Add(stateTTL) }})
	for name, tc := range map[string]struct {
		h     *Handler
		value string
	}{
		"tampered payload": {h, tampered},
		"no signature":     {h, payload},
		"other key":        {other, sealed},
		"expired":          {expired, sealed},
	} {
		if _, err := tc.h.open(t.Context(), request(tc.value)); err == nil {
			t.Errorf("%s: open accepted the cookie", name)
		}
	}
}
