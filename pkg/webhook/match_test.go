package webhook_test

import (
	"fmt"
	"testing"

	"github.com/moorcd/moor/pkg/webhook"
)

func TestNormalizeURL(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, want string
	}{
		{"https://github.com/acme/platform-config", "github.com/acme/platform-config"},
		{"https://github.com/acme/platform-config.git", "github.com/acme/platform-config"},
		{"https://github.com/acme/platform-config/", "github.com/acme/platform-config"},
		{"https://github.com/acme/platform-config.git/", "github.com/acme/platform-config"},
		{"http://github.com/acme/platform-config", "github.com/acme/platform-config"},
		{"https://GitHub.com/Acme/Platform-Config.git", "github.com/acme/platform-config"},
		{"https://x-access-token:ghs_abc@github.com/acme/platform-config.git", "github.com/acme/platform-config"},
		{"https://github.com:443/acme/platform-config", "github.com/acme/platform-config"},
		{"http://github.com:80/acme/platform-config", "github.com/acme/platform-config"},
		{"https://github.com/acme/platform-config?ref=main#readme", "github.com/acme/platform-config"},
		{"  https://github.com/acme/platform-config\n", "github.com/acme/platform-config"},
		{"https://github.com//acme//platform-config", "github.com/acme/platform-config"},
		{"ssh://git@github.com/acme/platform-config.git", "github.com/acme/platform-config"},
		{"ssh://git@github.com:22/acme/platform-config.git", "github.com/acme/platform-config"},
		{"git@github.com:acme/platform-config.git", "github.com/acme/platform-config"},
		{"git@github.com:acme/platform-config", "github.com/acme/platform-config"},
		{"git@github.com:/acme/platform-config.git", "github.com/acme/platform-config"},
		{"github.com:acme/platform-config.git", "github.com/acme/platform-config"},
		{"github.com/acme/platform-config", "github.com/acme/platform-config"},
		{"git://github.com/acme/platform-config.git", "github.com/acme/platform-config"},
		// GitLab subgroups.
		{"https://gitlab.acme.example/infra/deploy/platform-config.git", "gitlab.acme.example/infra/deploy/platform-config"},
		{"git@gitlab.acme.example:infra/deploy/platform-config.git", "gitlab.acme.example/infra/deploy/platform-config"},
		// Other ports are kept.
		{"ssh://git@bitbucket.acme.example:7999/ops/platform-config.git", "bitbucket.acme.example:7999/ops/platform-config"},
		{"https://git.acme.example:8443/ops/platform-config", "git.acme.example:8443/ops/platform-config"},
		{"ssh://git@gitea.acme.example:2222/ops/platform-config.git", "gitea.acme.example:2222/ops/platform-config"},
		// scp-like has no port: git reads "host:2222/path" as the path "2222/path".
		{"git@gitea.acme.example:2222/ops/platform-config.git", "gitea.acme.example/2222/ops/platform-config"},
		// IPv6 hosts.
		{"ssh://git@[2001:db8::1]:2222/ops/repo.git", "[2001:db8::1]:2222/ops/repo"},
		{"https://[2001:db8::1]/ops/repo.git", "[2001:db8::1]/ops/repo"},
		{"git@[2001:db8::1]:ops/repo.git", "[2001:db8::1]/ops/repo"},
		// Degenerate input.
		{"", ""},
		{"   ", ""},
		{"https://github.com", "github.com"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			if got := webhook.NormalizeURL(tc.in); got != tc.want {
				t.Errorf("NormalizeURL(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestMatches(t *testing.T) {
	t.Parallel()
	const sha = "9f2e4d6c8b0a1f3e5d7c9b1a3f5e7d9c1b3a5f7e"
	urls := []string{
		"https://github.com/acme/platform-config",
		"https://github.com/acme/platform-config.git",
		"git@github.com:acme/platform-config.git",
	}
	branch := func(ref, def string) *webhook.Event {
		return &webhook.Event{Provider: "github", RepoURLs: urls, Ref: ref, Revision: sha, DefaultBranch: def}
	}
	main := branch("refs/heads/main", "main")
	feature := branch("refs/heads/feature/x", "main")
	noDefault := branch("refs/heads/feature/x", "")
	tag := branch("refs/tags/v1.4.0", "main")
	deleted := &webhook.Event{RepoURLs: urls, Ref: "refs/heads/main", DefaultBranch: "main"}
	batch := &webhook.Event{
		RepoURLs: []string{"https://bitbucket.org/acme/platform-config"},
		Ref:      "refs/heads/main", Revision: sha,
		MoreRefs: []webhook.RefUpdate{{Ref: "refs/tags/v2.3.0", Revision: sha}, {Ref: "refs/heads/release"}},
	}
	const repo = "https://github.com/acme/platform-config.git"
	cases := []struct {
		name    string
		ev      *webhook.Event
		repoURL string
		rev     string
		want    bool
	}{
		{"HEAD follows the default branch", main, repo, "HEAD", true},
		{"empty follows the default branch", main, repo, "", true},
		{"HEAD ignores another branch", feature, repo, "HEAD", false},
		{"HEAD with the default unknown: any branch", noDefault, repo, "HEAD", true},
		{"HEAD never follows a tag", tag, repo, "HEAD", false},
		{"HEAD with the default unknown: still no tag", &webhook.Event{RepoURLs: urls, Ref: "refs/tags/v1"}, repo, "", false},
		{"branch name", main, repo, "main", true},
		{"full branch ref", main, repo, "refs/heads/main", true},
		{"partial branch ref", main, repo, "heads/main", true},
		{"branch with a slash", feature, repo, "feature/x", true},
		{"other branch", main, repo, "develop", false},
		{"branch name is not a prefix", main, repo, "mai", false},
		{"tag name", tag, repo, "v1.4.0", true},
		{"full tag ref", tag, repo, "refs/tags/v1.4.0", true},
		{"other tag", tag, repo, "v1.3.0", false},
		{"tag name against a branch push", main, repo, "v1.4.0", false},
		{"full tag ref against a branch of that name", branch("refs/heads/v1.4.0", "main"), repo, "refs/tags/v1.4.0", false},
		{"full commit id is pinned", main, repo, sha, false},
		{"short commit id is pinned", main, repo, sha[:7], false},
		{"semver constraint, tag satisfies", tag, repo, "1.4.*", true},
		{"semver range, tag satisfies", tag, repo, ">=1.0.0 <2.0.0", true},
		{"semver tilde, tag satisfies", tag, repo, "~1.4", true},
		{"semver constraint, tag does not satisfy", tag, repo, "2.x", false},
		{"semver constraint ignores branches", branch("refs/heads/1.4.1", "main"), repo, "1.4.*", false},
		{"deleted branch still matches", deleted, repo, "main", true},
		{"other refs of a batched push", batch, "git@bitbucket.org:acme/platform-config.git", "v2.3.0", true},
		{"third ref of a batched push", batch, "https://bitbucket.org/acme/platform-config", "release", true},
		{"batched push, no such ref", batch, "https://bitbucket.org/acme/platform-config", "develop", false},
		{"URL in scp form", main, "git@github.com:acme/platform-config.git", "HEAD", true},
		{"URL in other case", main, "https://github.com/ACME/Platform-Config", "main", true},
		{"URL with ssh scheme", main, "ssh://git@github.com/acme/platform-config.git", "main", true},
		{"other repository", main, "https://github.com/acme/other-config.git", "main", false},
		{"same repo name on another host", main, "https://gitlab.com/acme/platform-config.git", "main", false},
		{"repository that is a prefix", main, "https://github.com/acme/platform", "main", false},
		{"empty repoURL", main, "", "main", false},
		{"nil event", nil, repo, "main", false},
		{"whitespace around the revision", main, repo, " main ", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := webhook.Matches(tc.ev, tc.repoURL, tc.rev); got != tc.want {
				t.Errorf("Matches(%q, %q) = %v, want %v", tc.repoURL, tc.rev, got, tc.want)
			}
			if got := webhook.NewMatcher(tc.ev).Matches(tc.repoURL, tc.rev); got != tc.want {
				t.Errorf("Matcher.Matches(%q, %q) = %v, want %v", tc.repoURL, tc.rev, got, tc.want)
			}
		})
	}
}

func TestPathsChanged(t *testing.T) {
	t.Parallel()
	changed := &webhook.Event{Changed: []string{
		"apps/guestbook/deployment.yaml",
		"apps/guestbook/overlays/prod/kustomization.yaml",
		"charts/common/values.yaml",
		"README.md",
	}}
	unknown := &webhook.Event{}
	none := &webhook.Event{Changed: []string{}}
	cases := []struct {
		name       string
		ev         *webhook.Event
		appPath    string
		annotation string
		want       bool
	}{
		{"no annotation", changed, "apps/other", "", true},
		{"blank annotation", changed, "apps/other", " ; ;", true},
		{"changed files unknown", unknown, "apps/other", ".", true},
		{"nil event", nil, "apps/other", ".", true},
		{"nothing changed", none, "apps/guestbook", ".", false},
		{"dot is the app path", changed, "apps/guestbook", ".", true},
		{"dot, app untouched", changed, "apps/other", ".", false},
		{"relative subdirectory", changed, "apps/guestbook", "overlays/prod", true},
		{"relative subdirectory untouched", changed, "apps/guestbook", "overlays/staging", false},
		{"relative sibling via ..", changed, "apps/other", "../guestbook", true},
		{"relative up to a shared chart", changed, "apps/other", "../../charts/common", true},
		{"absolute path", changed, "apps/other", "/charts/common", true},
		{"absolute path untouched", changed, "apps/other", "/charts/redis", false},
		{"absolute file", changed, "apps/other", "/README.md", true},
		{"relative file", changed, "apps/guestbook", "deployment.yaml", true},
		{"second of several entries", changed, "apps/other", ".;/charts/common", true},
		{"entries with spaces", changed, "apps/other", " . ; /charts/common ", true},
		{"none of several entries", changed, "apps/other", ".;/charts/redis;../third", false},
		{"absolute root", changed, "apps/other", "/", true},
		{"root via dots from a root app", changed, "", ".", true},
		{"app path with a leading slash", changed, "/apps/guestbook", ".", true},
		{"app path with ./ prefix", changed, "./apps/guestbook", ".", true},
		{"directory is not a name prefix", changed, "apps", "guest", false},
		{"file prefix is not a directory", changed, "apps/guestbook", "deployment", false},
		{"escaping entry is dropped", changed, "apps/guestbook", "../../../README.md", false},
		{"escaping entry beside a good one", changed, "apps/other", "../../..;/charts/common", true},
		{"absolute entry cannot escape", changed, "apps/other", "/../charts/common", true},
		{"unclean absolute entry", changed, "apps/other", "//charts/./common/", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := webhook.PathsChanged(tc.ev, tc.appPath, tc.annotation); got != tc.want {
				t.Errorf("PathsChanged(%q, %q) = %v, want %v", tc.appPath, tc.annotation, got, tc.want)
			}
		})
	}
}

// BenchmarkMatch1000Apps matches one GitHub push against 1,000 application sources spread over 100
// repositories in mixed URL forms and a mix of revisions (HEAD, branches, tags, constraints, pinned
// commits). One op is the whole sweep of 1,000 sources.
func BenchmarkMatch1000Apps(b *testing.B) {
	ev := &webhook.Event{
		Provider: "github",
		RepoURLs: []string{
			"https://github.com/acme/repo-42",
			"https://github.com/acme/repo-42.git",
			"git@github.com:acme/repo-42.git",
			"git://github.com/acme/repo-42.git",
		},
		Ref:           "refs/heads/main",
		Revision:      "9f2e4d6c8b0a1f3e5d7c9b1a3f5e7d9c1b3a5f7e",
		DefaultBranch: "main",
	}
	type source struct{ repoURL, rev string }
	forms := []string{"https://github.com/acme/repo-%d.git", "git@github.com:acme/repo-%d.git", "https://github.com/acme/repo-%d", "ssh://git@github.com/acme/repo-%d.git"}
	revs := []string{"HEAD", "main", "", "v1.2.3", "1.2.*", "release", "9f2e4d6c8b0a1f3e5d7c9b1a3f5e7d9c1b3a5f7e", "refs/heads/main"}
	apps := make([]source, 1000)
	for i := range apps {
		apps[i] = source{fmt.Sprintf(forms[i%len(forms)], i%100), revs[i%len(revs)]}
	}
	want := 0
	for _, a := range apps {
		if webhook.Matches(ev, a.repoURL, a.rev) {
			want++
		}
	}
	if want == 0 {
		b.Fatal("no application matches; the benchmark would measure nothing")
	}
	b.Run("Matches", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			n := 0
			for _, a := range apps {
				if webhook.Matches(ev, a.repoURL, a.rev) {
					n++
				}
			}
			if n != want {
				b.Fatalf("matched %d, want %d", n, want)
			}
		}
	})
	b.Run("Matcher", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m := webhook.NewMatcher(ev)
			n := 0
			for _, a := range apps {
				if m.Matches(a.repoURL, a.rev) {
					n++
				}
			}
			if n != want {
				b.Fatalf("matched %d, want %d", n, want)
			}
		}
	})
}
