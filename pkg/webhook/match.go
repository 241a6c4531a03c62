package webhook

import (
	"net"
	"net/url"
	"path"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// ManifestGeneratePathsAnnotation names the paths an Application's manifests depend on (see PathsChanged).
const ManifestGeneratePathsAnnotation = "argocd.argoproj.io/manifest-generate-paths"

// NormalizeURL reduces a Git repository URL to a canonical form for comparison: "host[:port]/owner/repo",
// lower-cased, without scheme, user, ".git" suffix, query or trailing slash. https://, http://, ssh://,
// git:// and scp-like (git@host:owner/repo.git) forms of one repository normalize alike. The well-known
// ports 22, 80, 443 and 9418 are dropped and others kept (Bitbucket Server's SSH on 7999 stays distinct).
//
// The path is lower-cased too: GitHub, GitLab, Bitbucket, Gitea and Gogs resolve owner and repository
// names case-insensitively, and a false match costs one extra refresh while a missed one leaves an
// application stale.
func NormalizeURL(raw string) string {
	s := strings.TrimSpace(raw)
	if s == "" {
		return ""
	}
	var host, port, p string
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return strings.ToLower(strings.TrimSuffix(strings.TrimRight(s, "/"), ".git"))
		}
		host, port, p = u.Hostname(), u.Port(), u.Path
	} else {
		// scp-like "[user@]host:path" (a colon before any slash, as git reads it), else "host/path".
		if at := strings.LastIndex(s, "@"); at >= 0 && at < strings.IndexAny(s+":", ":/") {
			s = s[at+1:]
		}
		i := strings.IndexAny(s, ":/")
		if strings.HasPrefix(s, "[") { // scp-like with an IPv6 host
			if end := strings.Index(s, "]"); end > 0 {
				i = end + 1
			}
		}
		if i < 0 {
			host = s
		} else {
			host, p = s[:i], s[i+1:]
		}
		host = strings.Trim(host, "[]")
	}
	switch port {
	case "", "22", "80", "443", "9418":
		port = ""
	}
	if port != "" {
		host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	p = strings.TrimSuffix(strings.TrimPrefix(path.Clean("/"+p), "/"), ".git")
	out := host
	if p != "" {
		out += "/" + p
	}
	return strings.ToLower(out)
}

// Matches reports whether ev should refresh an application source with repoURL and targetRevision: the
// repository is the pushed one (NormalizeURL) and the push moved a ref targetRevision follows:
//
//   - "" or "HEAD": a push to the default branch; to any branch when the payload does not name the
//     default branch (Bitbucket), since a missed refresh is worse than an extra one.
//   - a branch or tag name ("main", "v1.2.0"), or a full or partial ref ("refs/heads/main", "heads/main"):
//     the push moved that ref. A pushed tag and branch of the same name both match.
//   - a commit id (7 to 64 hex digits) that names no pushed ref: never; the source is pinned.
//   - a semver constraint ("1.2.*", ">=1.0.0 <2", "~1.2"): a pushed tag whose name (a leading "v"
//     allowed) satisfies it, since that tag may now be the newest match.
//
// A deleted ref matches too, so the application reports the missing revision.
//
// Matches normalizes the event's URLs on every call; a Matcher does it once for many sources.
func Matches(ev *Event, repoURL, targetRevision string) bool {
	if ev == nil || !refMatches(ev, strings.TrimSpace(targetRevision)) {
		return false
	}
	want := NormalizeURL(repoURL)
	if want == "" {
		return false
	}
	for _, u := range ev.RepoURLs {
		if NormalizeURL(u) == want {
			return true
		}
	}
	return false
}

// Matcher answers Matches for one event and many application sources, normalizing the event's URLs once.
// It reads the event when made; later changes to the event are not seen. It is safe for concurrent use.
type Matcher struct {
	ev   *Event
	urls []string
}

// NewMatcher prepares ev for matching. A nil ev matches nothing.
func NewMatcher(ev *Event) *Matcher {
	m := &Matcher{ev: ev}
	if ev != nil {
		for _, u := range ev.RepoURLs {
			if n := NormalizeURL(u); n != "" {
				m.urls = append(m.urls, n)
			}
		}
	}
	return m
}

// Matches is Matches(ev, repoURL, targetRevision) for the Matcher's event.
func (m *Matcher) Matches(repoURL, targetRevision string) bool {
	if m.ev == nil || !refMatches(m.ev, strings.TrimSpace(targetRevision)) {
		return false
	}
	want := NormalizeURL(repoURL)
	if want == "" {
		return false
	}
	for _, u := range m.urls {
		if u == want {
			return true
		}
	}
	return false
}

func refMatches(ev *Event, rev string) bool {
	if refFollows(ev.Ref, ev.DefaultBranch, rev) {
		return true
	}
	for _, r := range ev.MoreRefs {
		if refFollows(r.Ref, ev.DefaultBranch, rev) {
			return true
		}
	}
	return false
}

// refFollows applies the targetRevision rules in the order pkg/git resolves a revision: names first,
// then commit ids, then semver constraints.
func refFollows(ref, defaultBranch, rev string) bool {
	if ref == "" {
		return false
	}
	if rev == "" || rev == "HEAD" {
		branch, ok := strings.CutPrefix(ref, "refs/heads/")
		return ok && (defaultBranch == "" || branch == defaultBranch)
	}
	if ref == rev || ref == "refs/"+rev || ref == "refs/heads/"+rev || ref == "refs/tags/"+rev {
		return true
	}
	if isCommitID(rev) {
		return false
	}
	tag, ok := strings.CutPrefix(ref, "refs/tags/")
	if !ok {
		return false
	}
	c, err := semver.NewConstraint(rev)
	if err != nil {
		return false
	}
	v, err := semver.NewVersion(tag)
	return err == nil && c.Check(v)
}

func isCommitID(s string) bool {
	if len(s) < 7 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F') {
			return false
		}
	}
	return true
}

// PathsChanged reports whether ev touched the paths an application's manifests depend on, as named by its
// argocd.argoproj.io/manifest-generate-paths annotation: ";"-separated paths, relative to appPath (the
// source's path; "." is appPath itself) or, when they start with "/", to the repository root. A changed
// file counts when it is one of those paths or lies under one.
//
// It is true when ev.Changed is nil (unknown) or the annotation names no path, so an application without
// the annotation is always refreshed. Paths are joined and cleaned lexically: a relative entry that climbs
// out of the repository with ".." names nothing and is dropped, as the repo-server drops it (an annotation
// of only such entries is never touched); an absolute one is rooted, so "/../x" is "/x".
func PathsChanged(ev *Event, appPath, annotation string) bool {
	if ev == nil || ev.Changed == nil {
		return true
	}
	base := cleanRel(appPath)
	var paths []string
	named := false
	for _, e := range strings.Split(annotation, ";") {
		if e = strings.TrimSpace(e); e == "" {
			continue
		}
		named = true
		var p string
		if strings.HasPrefix(e, "/") {
			p = cleanRel(path.Clean(e)) // rooted: "/../x" is "/x"
		} else {
			p = path.Join(base, e)
		}
		if p == ".." || strings.HasPrefix(p, "../") {
			continue
		}
		paths = append(paths, p)
	}
	if !named {
		return true
	}
	for _, f := range ev.Changed {
		f = cleanRel(f)
		for _, p := range paths {
			if p == "." || f == p || strings.HasPrefix(f, p+"/") {
				return true
			}
		}
	}
	return false
}
