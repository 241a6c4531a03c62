package webhook_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/moorcd/moor/pkg/webhook"
)

const testSecret = "s3cr3t-for-tests"

func load(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func hmacHex(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// patchJSON edits a payload the way a different delivery would look.
func patchJSON(t testing.TB, body []byte, edit func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newRequest(body []byte, headers map[string]string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/api/webhook", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	return r
}

// providerCase describes one provider's delivery: its event headers, how it authenticates with a secret,
// and which Secrets field holds that secret.
type providerCase struct {
	name    string
	file    string
	headers map[string]string
	auth    func(secret string, body []byte) map[string]string
	secrets func(secret string) webhook.Secrets
	want    *webhook.Event
}

func providerCases() []providerCase {
	return []providerCase{
		{
			name:    "github",
			file:    "github-push.json",
			headers: map[string]string{"X-GitHub-Event": "push", "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"},
			auth: func(s string, b []byte) map[string]string {
				return map[string]string{"X-Hub-Signature-256": "sha256=" + hmacHex(s, b)}
			},
			secrets: func(s string) webhook.Secrets { return webhook.Secrets{GitHub: s} },
			want: &webhook.Event{
				Provider: "github",
				RepoURLs: []string{
					"https://github.com/acme/platform-config",
					"https://github.com/acme/platform-config.git",
					"git@github.com:acme/platform-config.git",
					"git://github.com/acme/platform-config.git",
				},
				Ref:           "refs/heads/main",
				Revision:      "9f2e4d6c8b0a1f3e5d7c9b1a3f5e7d9c1b3a5f7e",
				DefaultBranch: "main",
				Changed: []string{
					"README.md",
					"apps/guestbook/deployment.yaml",
					"apps/guestbook/hpa.yaml",
					"apps/legacy/service.yaml",
				},
			},
		},
		{
			name:    "gitlab",
			file:    "gitlab-push.json",
			headers: map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Instance": "https://gitlab.acme.example"},
			auth: func(s string, _ []byte) map[string]string {
				return map[string]string{"X-Gitlab-Token": s}
			},
			secrets: func(s string) webhook.Secrets { return webhook.Secrets{GitLab: s} },
			want: &webhook.Event{
				Provider: "gitlab",
				RepoURLs: []string{
					"https://gitlab.acme.example/infra/deploy/platform-config",
					"https://gitlab.acme.example/infra/deploy/platform-config.git",
					"git@gitlab.acme.example:infra/deploy/platform-config.git",
				},
				Ref:           "refs/heads/main",
				Revision:      "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
				DefaultBranch: "main",
				Changed: []string{
					"base/kustomization.yaml",
					"overlays/canary/kustomization.yaml",
					"overlays/staging/kustomization.yaml",
					"overlays/staging/patch-replicas.yaml",
				},
			},
		},
		{
			name:    "bitbucket",
			file:    "bitbucket-push.json",
			headers: map[string]string{"X-Event-Key": "repo:push", "X-Request-UUID": "0b7c3a6e-1d2f-4e5a-8b9c-0d1e2f3a4b5c", "X-Attempt-Number": "1"},
			auth: func(s string, _ []byte) map[string]string {
				return map[string]string{"X-Hook-UUID": s}
			},
			secrets: func(s string) webhook.Secrets { return webhook.Secrets{BitbucketUUID: s} },
			want: &webhook.Event{
				Provider: "bitbucket",
				RepoURLs: []string{"https://bitbucket.org/acme/platform-config"},
				Ref:      "refs/heads/main",
				Revision: "e4f6a8c0e2a4f6b8c0d2e4f6a8b0c2d4e6f8a0b2",
				MoreRefs: []webhook.RefUpdate{
					{Ref: "refs/tags/v2.3.0", Revision: "e4f6a8c0e2a4f6b8c0d2e4f6a8b0c2d4e6f8a0b2"},
				},
			},
		},
		{
			name:    "bitbucketserver",
			file:    "bitbucketserver-refs-changed.json",
			headers: map[string]string{"X-Event-Key": "repo:refs_changed", "X-Request-Id": "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d"},
			auth: func(s string, b []byte) map[string]string {
				return map[string]string{"X-Hub-Signature": "sha256=" + hmacHex(s, b)}
			},
			secrets: func(s string) webhook.Secrets { return webhook.Secrets{BitbucketServer: s} },
			want: &webhook.Event{
				Provider: "bitbucketserver",
				RepoURLs: []string{
					"ssh://git@bitbucket.acme.example:7999/ops/platform-config.git",
					"https://bitbucket.acme.example/scm/ops/platform-config.git",
				},
				Ref:      "refs/heads/main",
				Revision: "a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5",
				MoreRefs: []webhook.RefUpdate{{Ref: "refs/heads/old-feature"}},
			},
		},
		{
			// Gitea also sends Gogs' and GitHub's headers, signed alike.
			name: "gitea",
			file: "gitea-push.json",
			headers: map[string]string{
				"X-Gitea-Event": "push", "X-Gitea-Event-Type": "push", "X-Gitea-Delivery": "c4f1e7b2-0a9d-4c3e-8f6b-5a2d1e0c9b8a",
				"X-Gogs-Event": "push", "X-GitHub-Event": "push",
			},
			auth: func(s string, b []byte) map[string]string {
				sig := hmacHex(s, b)
				return map[string]string{"X-Gitea-Signature": sig, "X-Gogs-Signature": sig, "X-Hub-Signature-256": "sha256=" + sig}
			},
			secrets: func(s string) webhook.Secrets { return webhook.Secrets{Gitea: s} },
			want: &webhook.Event{
				Provider: "gitea",
				RepoURLs: []string{
					"https://gitea.acme.example/ops/platform-config",
					"https://gitea.acme.example/ops/platform-config.git",
					"ssh://git@gitea.acme.example:2222/ops/platform-config.git",
				},
				Ref:           "refs/heads/main",
				Revision:      "8d0f2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6e",
				DefaultBranch: "main",
				Changed: []string{
					"monitoring/dashboards/cluster.json",
					"monitoring/dashboards/old-cluster.json",
					"monitoring/kustomization.yaml",
					"monitoring/rules/alerts.yaml",
				},
			},
		},
		{
			name:    "gogs",
			file:    "gogs-push.json",
			headers: map[string]string{"X-Gogs-Event": "push", "X-Gogs-Delivery": "f3e2d1c0-b9a8-4776-8554-433221100fed"},
			auth: func(s string, b []byte) map[string]string {
				return map[string]string{"X-Gogs-Signature": hmacHex(s, b)}
			},
			secrets: func(s string) webhook.Secrets { return webhook.Secrets{Gogs: s} },
			want: &webhook.Event{
				Provider: "gogs",
				RepoURLs: []string{
					"https://gogs.acme.example/ops/platform-config",
					"https://gogs.acme.example/ops/platform-config.git",
					"git@gogs.acme.example:ops/platform-config.git",
				},
				Ref:           "refs/heads/master",
				Revision:      "6b8d0f2b4d6f8b0d2f4b6d8f0b2d4f6b8d0f2b4d",
				DefaultBranch: "master",
				Changed: []string{
					"ingress/certificate.yaml",
					"ingress/ingress.yaml",
					"ingress/self-signed.yaml",
				},
			},
		},
	}
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func TestParseVerification(t *testing.T) {
	t.Parallel()
	for _, pc := range providerCases() {
		body := load(t, pc.file)
		cases := []struct {
			name    string
			secrets webhook.Secrets
			auth    map[string]string
			wantErr error
		}{
			{"valid signature", pc.secrets(testSecret), pc.auth(testSecret, body), nil},
			{"bad signature", pc.secrets(testSecret), pc.auth("another-secret", body), webhook.ErrSignature},
			{"missing signature with a secret configured", pc.secrets(testSecret), nil, webhook.ErrSignature},
			{"no secret configured, unsigned", webhook.Secrets{}, nil, nil},
			{"no secret configured, signed anyway", webhook.Secrets{}, pc.auth(testSecret, body), nil},
		}
		for _, tc := range cases {
			t.Run(pc.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				p := &webhook.Parser{Secrets: tc.secrets}
				ev, err := p.Parse(newRequest(body, merge(pc.headers, tc.auth)))
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) || ev != nil {
						t.Fatalf("Parse = %v, %v; want error %v", ev, err, tc.wantErr)
					}
					if strings.Contains(err.Error(), testSecret) {
						t.Errorf("error %q contains the secret", err)
					}
					return
				}
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if diff := cmp.Diff(pc.want, ev); diff != "" {
					t.Errorf("Parse event (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestParseSecretsOfOtherProvidersDoNotApply(t *testing.T) {
	t.Parallel()
	for _, pc := range providerCases() {
		t.Run(pc.name, func(t *testing.T) {
			t.Parallel()
			body := load(t, pc.file)
			// Every other provider's secret set, this one's not: the delivery is accepted unsigned.
			all := webhook.Secrets{GitHub: "a", GitLab: "b", BitbucketUUID: "c", BitbucketServer: "d", Gitea: "e", Gogs: "f"}
			own := pc.secrets("x")
			blank := func(f *string, o string) {
				if o != "" {
					*f = ""
				}
			}
			blank(&all.GitHub, own.GitHub)
			blank(&all.GitLab, own.GitLab)
			blank(&all.BitbucketUUID, own.BitbucketUUID)
			blank(&all.BitbucketServer, own.BitbucketServer)
			blank(&all.Gitea, own.Gitea)
			blank(&all.Gogs, own.Gogs)
			p := &webhook.Parser{Secrets: all}
			if _, err := p.Parse(newRequest(body, pc.headers)); err != nil {
				t.Fatalf("Parse: %v", err)
			}
		})
	}
}

func TestParseIgnoresOtherEvents(t *testing.T) {
	t.Parallel()
	ping := load(t, "github-ping.json")
	mr := load(t, "gitlab-merge-request.json")
	cases := []struct {
		name    string
		secrets webhook.Secrets
		headers map[string]string
		body    []byte
	}{
		{"github ping", webhook.Secrets{GitHub: testSecret},
			map[string]string{"X-GitHub-Event": "ping", "X-Hub-Signature-256": "sha256=" + hmacHex(testSecret, ping)}, ping},
		{"github pull request, no secret", webhook.Secrets{},
			map[string]string{"X-GitHub-Event": "pull_request"}, []byte(`{"action":"opened"}`)},
		{"gitlab merge request", webhook.Secrets{GitLab: testSecret},
			map[string]string{"X-Gitlab-Event": "Merge Request Hook", "X-Gitlab-Token": testSecret}, mr},
		{"gitlab system hook for a merge request", webhook.Secrets{},
			map[string]string{"X-Gitlab-Event": "System Hook"}, mr},
		{"bitbucket pull request", webhook.Secrets{BitbucketUUID: "{6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9}"},
			map[string]string{"X-Event-Key": "pullrequest:created", "X-Hook-UUID": "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"}, []byte(`{}`)},
		{"bitbucket server test connection", webhook.Secrets{},
			map[string]string{"X-Event-Key": "diagnostics:ping"}, []byte(`{"test": true}`)},
		{"gitea pull request", webhook.Secrets{}, map[string]string{"X-Gitea-Event": "pull_request"}, []byte(`{}`)},
		{"gogs create", webhook.Secrets{}, map[string]string{"X-Gogs-Event": "create"}, []byte(`{}`)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := &webhook.Parser{Secrets: tc.secrets}
			ev, err := p.Parse(newRequest(tc.body, tc.headers))
			if ev != nil || err != nil {
				t.Fatalf("Parse = %+v, %v; want nil, nil", ev, err)
			}
		})
	}
}

func TestParseVerifiesBeforeIgnoring(t *testing.T) {
	t.Parallel()
	ping := load(t, "github-ping.json")
	p := &webhook.Parser{Secrets: webhook.Secrets{GitHub: testSecret}}
	_, err := p.Parse(newRequest(ping, map[string]string{"X-GitHub-Event": "ping", "X-Hub-Signature-256": "sha256=" + hmacHex("wrong", ping)}))
	if !errors.Is(err, webhook.ErrSignature) {
		t.Fatalf("Parse = %v, want ErrSignature", err)
	}
}

func TestParseMalformedSignatures(t *testing.T) {
	t.Parallel()
	body := load(t, "github-push.json")
	good := hmacHex(testSecret, body)
	cases := []struct {
		name    string
		headers map[string]string
	}{
		{"sha1 header only", map[string]string{"X-Hub-Signature": "sha1=" + good[:40]}},
		{"no prefix", map[string]string{"X-Hub-Signature-256": good}},
		{"not hex", map[string]string{"X-Hub-Signature-256": "sha256=zz" + good[2:]}},
		{"truncated", map[string]string{"X-Hub-Signature-256": "sha256=" + good[:32]}},
		{"body changed after signing", map[string]string{"X-Hub-Signature-256": "sha256=" + hmacHex(testSecret, append([]byte(" "), body...))}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := &webhook.Parser{Secrets: webhook.Secrets{GitHub: testSecret}}
			_, err := p.Parse(newRequest(body, merge(map[string]string{"X-GitHub-Event": "push"}, tc.headers)))
			if !errors.Is(err, webhook.ErrSignature) {
				t.Fatalf("Parse = %v, want ErrSignature", err)
			}
		})
	}
}

func TestParseBitbucketUUIDForms(t *testing.T) {
	t.Parallel()
	body := load(t, "bitbucket-push.json")
	const uuid = "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
	for _, tc := range []struct{ configured, header string }{
		{uuid, uuid},
		{"{" + uuid + "}", uuid},
		{uuid, "{" + strings.ToUpper(uuid) + "}"},
	} {
		t.Run(tc.configured+"="+tc.header, func(t *testing.T) {
			t.Parallel()
			p := &webhook.Parser{Secrets: webhook.Secrets{BitbucketUUID: tc.configured}}
			if _, err := p.Parse(newRequest(body, map[string]string{"X-Event-Key": "repo:push", "X-Hook-UUID": tc.header})); err != nil {
				t.Fatalf("Parse: %v", err)
			}
		})
	}
}

func TestParseSizeLimit(t *testing.T) {
	t.Parallel()
	body := load(t, "github-push.json")
	headers := map[string]string{"X-GitHub-Event": "push"}
	n := int64(len(body))
	cases := []struct {
		name          string
		max           int64
		contentLength int64 // -1: unknown (chunked)
		wantErr       error
	}{
		{"exactly the limit", n, n, nil},
		{"one byte over, length declared", n - 1, n, webhook.ErrTooLarge},
		{"one byte over, length unknown", n - 1, -1, webhook.ErrTooLarge},
		{"far over, length unknown", 1024, -1, webhook.ErrTooLarge},
		{"default limit", 0, -1, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRequest(body, headers)
			r.ContentLength = tc.contentLength
			p := &webhook.Parser{MaxBytes: tc.max}
			_, err := p.Parse(r)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Parse = %v, want %v", err, tc.wantErr)
			}
		})
	}

	t.Run("reads at most MaxBytes+1", func(t *testing.T) {
		t.Parallel()
		src := &countingReader{r: strings.NewReader(strings.Repeat("x", 1<<20))}
		r := httptest.NewRequest(http.MethodPost, "/api/webhook", src)
		r.ContentLength = -1
		r.Header.Set("X-GitHub-Event", "push")
		p := &webhook.Parser{MaxBytes: 4096}
		if _, err := p.Parse(r); !errors.Is(err, webhook.ErrTooLarge) {
			t.Fatalf("Parse = %v, want ErrTooLarge", err)
		}
		if src.n > 4097 {
			t.Errorf("read %d bytes, want at most 4097", src.n)
		}
	})
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestParseBadPayloads(t *testing.T) {
	t.Parallel()
	for _, pc := range providerCases() {
		for name, body := range map[string]string{
			"not json":          `{"ref": "refs/heads/main",`,
			"no repository URL": `{"ref": "refs/heads/main", "after": "9f2e4d6c8b0a1f3e5d7c9b1a3f5e7d9c1b3a5f7e"}`,
			"empty object":      `{}`,
		} {
			t.Run(pc.name+"/"+name, func(t *testing.T) {
				t.Parallel()
				p := &webhook.Parser{}
				ev, err := p.Parse(newRequest([]byte(body), pc.headers))
				if err == nil || ev != nil {
					t.Fatalf("Parse = %+v, %v; want an error", ev, err)
				}
				if !strings.Contains(err.Error(), pc.name) {
					t.Errorf("error %q does not name the provider %q", err, pc.name)
				}
				for _, sentinel := range []error{webhook.ErrSignature, webhook.ErrTooLarge, webhook.ErrUnknownProvider} {
					if errors.Is(err, sentinel) {
						t.Errorf("error %q wraps %v", err, sentinel)
					}
				}
			})
		}
	}
}

func TestParseUnknownProvider(t *testing.T) {
	t.Parallel()
	p := &webhook.Parser{}
	_, err := p.Parse(newRequest(load(t, "github-push.json"), map[string]string{"X-Unknown-Event": "push"}))
	if !errors.Is(err, webhook.ErrUnknownProvider) {
		t.Fatalf("Parse = %v, want ErrUnknownProvider", err)
	}
}

func TestParseFormEncoded(t *testing.T) {
	t.Parallel()
	payload := load(t, "github-push.json")
	body := []byte(url.Values{"payload": {string(payload)}}.Encode())
	r := newRequest(body, map[string]string{
		"X-GitHub-Event":      "push",
		"X-Hub-Signature-256": "sha256=" + hmacHex(testSecret, body),
		"Content-Type":        "application/x-www-form-urlencoded",
	})
	p := &webhook.Parser{Secrets: webhook.Secrets{GitHub: testSecret}}
	ev, err := p.Parse(r)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if ev.Ref != "refs/heads/main" || len(ev.Changed) != 4 {
		t.Errorf("Parse = %+v", ev)
	}
}

// TestParseChangedUnknown covers deliveries whose file lists may be incomplete: Changed must be nil.
func TestParseChangedUnknown(t *testing.T) {
	t.Parallel()
	const zero = "0000000000000000000000000000000000000000"
	gh := map[string]string{"X-GitHub-Event": "push"}
	gl := map[string]string{"X-Gitlab-Event": "Push Hook"}
	gt := map[string]string{"X-Gitea-Event": "push"}
	cases := []struct {
		name    string
		file    string
		headers map[string]string
		edit    func(m map[string]any)
		want    webhook.Event // Ref, Revision and Changed are compared
	}{
		{"github force push", "github-push.json", gh,
			func(m map[string]any) { m["forced"] = true },
			webhook.Event{Ref: "refs/heads/main", Revision: "9f2e4d6c8b0a1f3e5d7c9b1a3f5e7d9c1b3a5f7e"}},
		{"github new branch", "github-push.json", gh,
			func(m map[string]any) { m["created"], m["before"], m["ref"] = true, zero, "refs/heads/feature" },
			webhook.Event{Ref: "refs/heads/feature", Revision: "9f2e4d6c8b0a1f3e5d7c9b1a3f5e7d9c1b3a5f7e"}},
		{"github deleted branch", "github-push.json", gh,
			func(m map[string]any) {
				m["deleted"], m["after"], m["head_commit"], m["commits"] = true, zero, nil, []any{}
			},
			webhook.Event{Ref: "refs/heads/main"}},
		{"github no commits listed", "github-push.json", gh,
			func(m map[string]any) { m["commits"] = []any{} },
			webhook.Event{Ref: "refs/heads/main", Revision: "9f2e4d6c8b0a1f3e5d7c9b1a3f5e7d9c1b3a5f7e"}},
		{"gitlab commit list cut at 20", "gitlab-push.json", gl,
			func(m map[string]any) { m["total_commits_count"] = 57 },
			webhook.Event{Ref: "refs/heads/main", Revision: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"}},
		{"gitlab deleted branch", "gitlab-push.json", gl,
			func(m map[string]any) {
				m["after"], m["checkout_sha"], m["commits"], m["total_commits_count"] = zero, nil, []any{}, 0
			},
			webhook.Event{Ref: "refs/heads/main"}},
		{"gitea commit list cut", "gitea-push.json", gt,
			func(m map[string]any) { m["total_commits"] = 9 },
			webhook.Event{Ref: "refs/heads/main", Revision: "8d0f2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6e"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			body := patchJSON(t, load(t, tc.file), tc.edit)
			ev, err := (&webhook.Parser{}).Parse(newRequest(body, tc.headers))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got := webhook.Event{Ref: ev.Ref, Revision: ev.Revision, Changed: ev.Changed}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseGitLabTagAndSystemHooks(t *testing.T) {
	t.Parallel()
	tag := load(t, "gitlab-tag-push.json")
	push := load(t, "gitlab-push.json")
	cases := []struct {
		name, kind string
		body       []byte
		wantRef    string
		wantRev    string
	}{
		// The commit (checkout_sha), not the annotated tag object (after).
		{"tag push", "Tag Push Hook", tag, "refs/tags/v1.4.0", "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"},
		{"system hook tag push", "System Hook", tag, "refs/tags/v1.4.0", "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"},
		{"system hook push", "System Hook", push, "refs/heads/main", "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ev, err := (&webhook.Parser{}).Parse(newRequest(tc.body, map[string]string{"X-Gitlab-Event": tc.kind}))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if ev.Ref != tc.wantRef || ev.Revision != tc.wantRev {
				t.Errorf("Parse = ref %q revision %q, want %q %q", ev.Ref, ev.Revision, tc.wantRef, tc.wantRev)
			}
		})
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	t.Parallel()
	s := webhook.Secrets{GitHub: testSecret, Gogs: testSecret + "-gogs"}
	p := &webhook.Parser{Secrets: s}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("configured", "secrets", s)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("configured", "secrets", s)
	for _, out := range []string{
		fmt.Sprintf("%v", s), fmt.Sprintf("%+v", s), fmt.Sprintf("%#v", s), fmt.Sprintf("%v", p), fmt.Sprintf("%+v", *p),
		logged.String(),
	} {
		if strings.Contains(out, testSecret) {
			t.Errorf("secret printed: %s", out)
		}
	}
	if got, want := s.String(), "{github:set gitlab:unset bitbucket:unset bitbucketserver:unset gitea:unset gogs:set}"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
