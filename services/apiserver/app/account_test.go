package app_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
)

func accountSettings() settings {
	s := defaultSettings()
	s.cm["accounts.ci"] = "apiKey"
	return s
}

// userInfo answers who the token is, or an error when the server refuses it.
func (f *fixture) userInfo(t *testing.T, token string) (string, error) {
	code, b, _ := f.do(t, http.MethodGet, "/api/v1/session/userinfo", token, nil)
	if code != http.StatusOK {
		return "", errors.New(http.StatusText(code) + ": " + string(b))
	}
	var info struct{ Username string }
	if err := json.Unmarshal(b, &info); err != nil {
		return "", err
	}
	return info.Username, nil
}

func TestAccounts(t *testing.T) {
	f := start(t, accountSettings(), false, newApp("guestbook"), newApp("team-a-app", inProject("team-a")))
	adminPassword := f.adminPassword(t)
	admin := f.login(t, "admin", adminPassword)
	alice := f.login(t, "alice", userPassword)
	carol := f.login(t, "carol", userPassword)

	t.Run("list and get show accounts without secrets", func(t *testing.T) {
		code, b, _ := f.do(t, http.MethodGet, "/api/v1/account", admin, nil)
		var list struct {
			Items []struct {
				Name         string
				Enabled      bool
				Capabilities []string
			}
		}
		if code != http.StatusOK || json.Unmarshal(b, &list) != nil {
			t.Fatalf("list: %d %s", code, b)
		}
		var names []string
		for _, a := range list.Items {
			names = append(names, a.Name)
			if a.Name == "ci" && (!a.Enabled || !slices.Equal(a.Capabilities, []string{"apiKey"})) {
				t.Errorf("ci: %+v", a)
			}
		}
		if !slices.Equal(names, []string{"admin", "alice", "carol", "ci"}) {
			t.Errorf("names %v", names)
		}
		if strings.Contains(strings.ToLower(string(b)), "password") || strings.Contains(string(b), "$2a$") {
			t.Errorf("list leaks a password: %s", b)
		}
		if code, b, _ := f.do(t, http.MethodGet, "/api/v1/account", carol, nil); code != http.StatusOK || strings.Contains(string(b), `"name"`) {
			t.Errorf("carol may get no account: %d %s", code, b)
		}
		if code, b, _ := f.do(t, http.MethodGet, "/api/v1/account/ci", alice, nil); code != http.StatusOK || !strings.Contains(string(b), `"apiKey"`) {
			t.Errorf("readonly get ci: %d %s", code, b)
		}
		if code, b, _ := f.do(t, http.MethodGet, "/api/v1/account/nobody", admin, nil); code != http.StatusNotFound {
			t.Errorf("get nobody: %d %s", code, b)
		}
		if code, b, _ := f.do(t, http.MethodGet, "/api/v1/account/ci", carol, nil); code != http.StatusForbidden {
			t.Errorf("carol get ci: %d %s", code, b)
		}
	})

	t.Run("can-i answers for the caller", func(t *testing.T) {
		for _, tc := range []struct {
			name, token, path, want string
		}{
			{"carol her project's app", carol, "applications/get/team-a/team-a-app", "yes"},
			{"carol another project's app", carol, "applications/get/default/guestbook", "no"},
			{"carol sync", carol, "applications/sync/team-a/team-a-app", "no"},
			{"readonly get", alice, "clusters/get/*", "yes"},
			{"readonly delete", alice, "projects/delete/team-a", "no"},
			{"admin", admin, "projects/delete/team-a", "yes"},
		} {
			code, b, _ := f.do(t, http.MethodGet, "/api/v1/account/can-i/"+tc.path, tc.token, nil)
			if code != http.StatusOK || !strings.Contains(string(b), `"value":"`+tc.want+`"`) {
				t.Errorf("%s: %d %s, want %s", tc.name, code, b, tc.want)
			}
		}
		if code, b, _ := f.do(t, http.MethodGet, "/api/v1/account/can-i/bogus/get/x", admin, nil); code != http.StatusBadRequest {
			t.Errorf("unknown resource: %d %s", code, b)
		}
		resp, err := apiv1.NewAccountServiceClient(f.conn).CanI(bearer(t.Context(), carol),
			&apiv1.AccountServiceCanIRequest{Resource: "projects", Action: "get", Subresource: "team-a"})
		if err != nil || resp.GetValue() != "yes" {
			t.Errorf("gRPC can-i: %v %v", resp, err)
		}
	})

	t.Run("API tokens of an apiKey account", func(t *testing.T) {
		code, b, _ := f.do(t, http.MethodPost, "/api/v1/account/ci/token", admin, map[string]any{"id": "build"})
		var out struct{ Token string }
		if code != http.StatusOK || json.Unmarshal(b, &out) != nil || out.Token == "" {
			t.Fatalf("create token: %d %s", code, b)
		}
		eventually(t, "the token authenticates", func() error {
			name, err := f.userInfo(t, out.Token)
			if err == nil && name != "ci" {
				err = errors.New("userinfo says " + name)
			}
			return err
		})
		if code, b, _ := f.do(t, http.MethodGet, "/api/v1/account/ci", admin, nil); code != http.StatusOK || !strings.Contains(string(b), `"id":"build"`) {
			t.Errorf("get ci lists no token: %d %s", code, b)
		}
		if code, b, _ := f.do(t, http.MethodPost, "/api/v1/account/ci/token", admin, map[string]any{"id": "build"}); code != http.StatusConflict {
			t.Errorf("same id again: %d %s", code, b)
		}
		if code, b, _ := f.do(t, http.MethodPost, "/api/v1/account/alice/token", admin, map[string]any{}); code != http.StatusBadRequest {
			t.Errorf("token for a login-only account: %d %s", code, b)
		}
		if code, b, _ := f.do(t, http.MethodPost, "/api/v1/account/ci/token", carol, map[string]any{}); code != http.StatusForbidden {
			t.Errorf("carol creates a token for ci: %d %s", code, b)
		}
		if code, b, _ := f.do(t, http.MethodDelete, "/api/v1/account/ci/token/build", admin, nil); code != http.StatusOK {
			t.Fatalf("delete token: %d %s", code, b)
		}
		eventually(t, "the deleted token is refused", func() error {
			if _, err := f.userInfo(t, out.Token); err == nil || !strings.HasPrefix(err.Error(), "Unauthorized") {
				return errors.New("still accepted")
			}
			return nil
		})
		if code, b, _ := f.do(t, http.MethodDelete, "/api/v1/account/ci/token/build", admin, nil); code != http.StatusNotFound {
			t.Errorf("delete again: %d %s", code, b)
		}
	})

	t.Run("update password", func(t *testing.T) {
		const newPassword = "n3w-password-for-tests"
		put := func(token string, body map[string]any) (int, []byte) {
			code, b, _ := f.do(t, http.MethodPut, "/api/v1/account/password", token, body)
			return code, b
		}
		if code, b := put(alice, map[string]any{"currentPassword": "wrong-password", "newPassword": newPassword}); code != http.StatusBadRequest || !strings.Contains(string(b), "currentPassword") {
			t.Errorf("wrong current password: %d %s", code, b)
		}
		if code, b := put(alice, map[string]any{"currentPassword": userPassword, "newPassword": "short"}); code != http.StatusBadRequest || !strings.Contains(string(b), "newPassword") {
			t.Errorf("short new password: %d %s", code, b)
		}
		if code, b := put(alice, map[string]any{"name": "carol", "currentPassword": userPassword, "newPassword": newPassword}); code != http.StatusForbidden {
			t.Errorf("alice changes carol's: %d %s", code, b)
		}
		// Sessions carry whole seconds: the change must fall in a later second than alice's login to end it.
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
		if code, b := put(alice, map[string]any{"currentPassword": userPassword, "newPassword": newPassword}); code != http.StatusOK {
			t.Fatalf("alice changes her own: %d %s", code, b)
		}
		if code, b := put(admin, map[string]any{"name": "carol", "currentPassword": "wrong-password", "newPassword": newPassword}); code != http.StatusBadRequest {
			t.Errorf("admin without his own password: %d %s", code, b)
		}
		if code, b := put(admin, map[string]any{"name": "carol", "currentPassword": adminPassword, "newPassword": newPassword}); code != http.StatusOK {
			t.Errorf("admin changes carol's: %d %s", code, b)
		}
		eventually(t, "alice's old session is refused", func() error {
			if _, err := f.userInfo(t, alice); err == nil {
				return errors.New("still accepted")
			}
			return nil
		})
		// Logins read the accounts through a cache of about a second; wait it out rather than spend failures.
		time.Sleep(1200 * time.Millisecond)
		if name, err := f.userInfo(t, f.login(t, "alice", newPassword)); err != nil || name != "alice" {
			t.Errorf("new session: %q %v", name, err)
		}
		f.login(t, "carol", newPassword)
		if code, b, _ := f.do(t, http.MethodPost, "/api/v1/session", "", map[string]string{"username": "alice", "password": userPassword}); code != http.StatusUnauthorized {
			t.Errorf("old password: %d %s", code, b)
		}
	})

	t.Run("gRPC codes", func(t *testing.T) {
		accounts := apiv1.NewAccountServiceClient(f.conn)
		if _, err := accounts.ListAccounts(t.Context(), &apiv1.AccountServiceListAccountsRequest{}); status.Code(err) != codes.Unauthenticated {
			t.Errorf("anonymous list: %v", err)
		}
		_, err := accounts.DeleteToken(bearer(t.Context(), admin), &apiv1.AccountServiceDeleteTokenRequest{Name: "ci", Id: "missing"})
		if status.Code(err) != codes.NotFound {
			t.Errorf("delete a missing token: %v", err)
		}
	})
}
