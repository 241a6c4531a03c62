package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// DefaultMaxBytes bounds a payload when Parser.MaxBytes is not set. GitHub caps its own payloads at 25 MB.
const DefaultMaxBytes int64 = 25 << 20

// Provider names, as they appear in Event.Provider.
const (
	ProviderGitHub          = "github"
	ProviderGitLab          = "gitlab"
	ProviderBitbucket       = "bitbucket"
	ProviderBitbucketServer = "bitbucketserver"
	ProviderGitea           = "gitea"
	ProviderGogs            = "gogs"
)

var (
	// ErrSignature: a secret is configured for the sender's provider and the request's signature or token is
	// missing, malformed or wrong.
	ErrSignature = errors.New("webhook signature verification failed")
	// ErrTooLarge: the payload is larger than Parser.MaxBytes.
	ErrTooLarge = errors.New("webhook payload too large")
	// ErrUnknownProvider: no header names a supported provider's event.
	ErrUnknownProvider = errors.New("unknown webhook provider")
)

// Secrets holds the shared secrets from argocd-secret. An empty field turns verification off for that
// provider: its events are accepted unsigned, as Argo CD does.
type Secrets struct {
	GitHub          string // webhook.github.secret: HMAC-SHA256 key (X-Hub-Signature-256)
	GitLab          string // webhook.gitlab.secret: compared with X-Gitlab-Token
	BitbucketUUID   string // webhook.bitbucket.uuid: compared with X-Hook-UUID
	BitbucketServer string // webhook.bitbucketserver.secret: HMAC-SHA256 key (X-Hub-Signature)
	Gitea           string // webhook.gitea.secret (Moor's; Argo CD has none): HMAC-SHA256 key (X-Gitea-Signature)
	Gogs            string // webhook.gogs.secret: HMAC-SHA256 key (X-Gogs-Signature)
}

// String says which secrets are set, never their values, so a Secrets can be printed or logged.
func (s Secrets) String() string {
	set := func(v string) string {
		if v == "" {
			return "unset"
		}
		return "set"
	}
	return fmt.Sprintf("{github:%s gitlab:%s bitbucket:%s bitbucketserver:%s gitea:%s gogs:%s}",
		set(s.GitHub), set(s.GitLab), set(s.BitbucketUUID), set(s.BitbucketServer), set(s.Gitea), set(s.Gogs))
}

// GoString keeps %#v from printing the secrets.
func (s Secrets) GoString() string { return "webhook.Secrets" + s.String() }

// LogValue keeps slog (the JSON handler included) from printing the secrets.
func (s Secrets) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Event is one Git push, reduced to what deciding refreshes needs.
type Event struct {
	Provider string   // one of the Provider constants
	RepoURLs []string // every URL form the payload gives for the repository (web, HTTPS clone, SSH clone)
	Ref      string   // the pushed ref: "refs/heads/main", "refs/tags/v1"
	Revision string   // the ref's new commit; "" when the push deleted the ref
	// DefaultBranch is the repository's default branch ("main") when the payload names it (GitHub, GitLab,
	// Gitea, Gogs); "" when unknown (Bitbucket).
	DefaultBranch string
	// Changed lists the files (repository-relative, sorted) that the pushed commits added, modified or
	// removed. nil means unknown: the provider does not list them, or the list may be incomplete (see the
	// package documentation).
	Changed []string
	// MoreRefs lists further refs the same push moved. Bitbucket Cloud and Server report every ref of one
	// git push in one event; Ref and Revision hold the first, MoreRefs the rest.
	MoreRefs []RefUpdate
}

// RefUpdate is one ref a push moved.
type RefUpdate struct {
	Ref      string
	Revision string // "" when the push deleted the ref
}

// Parser verifies and parses webhook requests. The zero value accepts every provider's events unverified.
// A Parser is safe for concurrent use.
type Parser struct {
	Secrets  Secrets
	MaxBytes int64 // payload size limit; <= 0 means DefaultMaxBytes
}

// Parse reads, verifies and decodes one webhook request. It returns a nil Event and a nil error for a
// verified event that is not a push (GitHub ping, a merge request, ...). Errors wrap ErrUnknownProvider,
// ErrTooLarge or ErrSignature, or say which provider's payload failed to decode. Parse reads at most
// MaxBytes+1 bytes of the body and does not close it; the method and path are the caller's business.
func (p *Parser) Parse(r *http.Request) (*Event, error) {
	prov, kind, err := detect(r.Header)
	if err != nil {
		return nil, err
	}
	body, err := p.readBody(r)
	if err != nil {
		return nil, fmt.Errorf("read %s webhook: %w", prov.name, err)
	}
	if err := prov.verify(p.Secrets, r.Header, body); err != nil {
		return nil, fmt.Errorf("verify %s webhook: %w", prov.name, err)
	}
	if !prov.isPush(kind) {
		return nil, nil
	}
	payload, err := formPayload(r.Header.Get("Content-Type"), body)
	if err != nil {
		return nil, fmt.Errorf("decode %s %q payload: %w", prov.name, kind, err)
	}
	ev, err := prov.decode(kind, payload)
	if err != nil {
		return nil, fmt.Errorf("decode %s %q payload: %w", prov.name, kind, err)
	}
	if ev == nil {
		return nil, nil
	}
	ev.Provider = prov.name
	ev.RepoURLs = uniqueNonEmpty(ev.RepoURLs)
	if len(ev.RepoURLs) == 0 {
		return nil, fmt.Errorf("decode %s %q payload: no repository URL", prov.name, kind)
	}
	if !strings.HasPrefix(ev.Ref, "refs/") {
		return nil, fmt.Errorf("decode %s %q payload: ref %q is not a full ref name", prov.name, kind, ev.Ref)
	}
	return ev, nil
}

func (p *Parser) readBody(r *http.Request) ([]byte, error) {
	limit := p.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	if r.ContentLength > limit {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, r.ContentLength, limit)
	}
	if r.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("%w: over %d bytes", ErrTooLarge, limit)
	}
	return body, nil
}

// provider is one sender's rules: how to verify a request, which event kinds are pushes, how to decode one.
type provider struct {
	name   string
	verify func(s Secrets, h http.Header, body []byte) error
	isPush func(kind string) bool
	// decode may still return nil for a kind that isPush admits (a GitLab system hook that is no push).
	decode func(kind string, payload []byte) (*Event, error)
}

// detect picks the provider from the event header. Gitea also sends Gogs and GitHub headers for
// compatibility, so the Gitea header is looked at first and Gogs' before GitHub's. Bitbucket Cloud and
// Server share X-Event-Key: the push keys differ, and for other keys only Cloud sends X-Hook-UUID.
func detect(h http.Header) (provider, string, error) {
	if kind := h.Get("X-Gitea-Event"); kind != "" {
		return gitea, kind, nil
	}
	if kind := h.Get("X-Gogs-Event"); kind != "" {
		return gogs, kind, nil
	}
	if kind := h.Get("X-GitHub-Event"); kind != "" {
		return github, kind, nil
	}
	if kind := h.Get("X-Gitlab-Event"); kind != "" {
		return gitlab, kind, nil
	}
	if kind := h.Get("X-Event-Key"); kind != "" {
		switch {
		case kind == "repo:push":
			return bitbucket, kind, nil
		case kind == "repo:refs_changed":
			return bitbucketServer, kind, nil
		case h.Get("X-Hook-UUID") != "":
			return bitbucket, kind, nil
		default:
			return bitbucketServer, kind, nil
		}
	}
	return provider{}, "", ErrUnknownProvider
}

// verifyHMAC checks a hex HMAC-SHA256 of the body, after prefix, in header. A missing secret accepts all.
func verifyHMAC(secret string, h http.Header, header, prefix string, body []byte) error {
	if secret == "" {
		return nil
	}
	value := h.Get(header)
	if value == "" {
		return fmt.Errorf("no %s header: %w", header, ErrSignature)
	}
	sig, ok := strings.CutPrefix(value, prefix)
	if !ok {
		return fmt.Errorf("%s header lacks the %q prefix: %w", header, prefix, ErrSignature)
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return fmt.Errorf("%s header is not hex: %w", header, ErrSignature)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return fmt.Errorf("%s header does not match the payload: %w", header, ErrSignature)
	}
	return nil
}

// verifyToken checks a header that carries the shared secret itself.
func verifyToken(secret string, h http.Header, header string, canon func(string) string) error {
	if secret == "" {
		return nil
	}
	value := h.Get(header)
	if value == "" {
		return fmt.Errorf("no %s header: %w", header, ErrSignature)
	}
	if !equalSecret(canon(value), canon(secret)) {
		return fmt.Errorf("%s header does not match: %w", header, ErrSignature)
	}
	return nil
}

// equalSecret compares in constant time, lengths included: both sides are hashed to 32 bytes first.
func equalSecret(got, want string) bool {
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// formPayload returns the JSON of a form-encoded delivery (GitHub, Gitea and Gogs can send
// payload=<json>); any other body is returned as it is. Signatures cover the raw body, so this runs after
// verification.
func formPayload(contentType string, body []byte) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return body, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("parse form body: %w", err)
	}
	payload := form.Get("payload")
	if payload == "" {
		return nil, errors.New("form body has no payload field")
	}
	return []byte(payload), nil
}

func uniqueNonEmpty(in []string) []string {
	out := in[:0:0]
	for _, s := range in {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		dup := false
		for _, o := range out {
			if o == s {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, s)
		}
	}
	return out
}
