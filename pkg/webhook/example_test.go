package webhook_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/moorcd/moor/pkg/webhook"
)

// A handler parses the delivery, then asks of every application source whether the push refreshes it.
func ExampleParser_Parse() {
	body, _ := os.ReadFile("testdata/github-push.json")
	r := httptest.NewRequest(http.MethodPost, "/api/webhook", bytes.NewReader(body))
	r.Header.Set("X-GitHub-Event", "push")
	r.Header.Set("X-Hub-Signature-256", "sha256="+hmacHex("topsecret", body))

	p := &webhook.Parser{Secrets: webhook.Secrets{GitHub: "topsecret"}}
	ev, err := p.Parse(r)
	if err != nil || ev == nil {
		fmt.Println("not a push:", err)
		return
	}
	m := webhook.NewMatcher(ev)
	apps := []struct{ name, repoURL, revision, path, generatePaths string }{
		{"guestbook", "git@github.com:acme/platform-config.git", "HEAD", "apps/guestbook", "."},
		{"legacy", "https://github.com/acme/platform-config", "main", "apps/legacy", ".;/charts/common"},
		{"billing", "https://github.com/acme/platform-config", "main", "apps/billing", "."},
		{"pinned", "https://github.com/acme/platform-config", "v1.0.0", "apps/guestbook", ""},
	}
	for _, a := range apps {
		refresh := m.Matches(a.repoURL, a.revision) && webhook.PathsChanged(ev, a.path, a.generatePaths)
		fmt.Printf("%s: %v\n", a.name, refresh)
	}
	// Output:
	// guestbook: true
	// legacy: true
	// billing: false
	// pinned: false
}
