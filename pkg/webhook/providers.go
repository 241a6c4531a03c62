package webhook

import (
	"encoding/json"
	"errors"
	"net/http"
	"path"
	"slices"
	"strings"
)

// GitHub bounds the commits listed in a push payload; a list this long may be cut.
const githubMaxCommits = 2048

var github = provider{
	name: ProviderGitHub,
	verify: func(s Secrets, h http.Header, body []byte) error {
		return verifyHMAC(s.GitHub, h, "X-Hub-Signature-256", "sha256=", body)
	},
	isPush: func(kind string) bool { return kind == "push" },
	decode: func(_ string, payload []byte) (*Event, error) {
		var p struct {
			Ref        string          `json:"ref"`
			Before     string          `json:"before"`
			After      string          `json:"after"`
			Created    bool            `json:"created"`
			Deleted    bool            `json:"deleted"`
			Forced     bool            `json:"forced"`
			Commits    []commitChanges `json:"commits"`
			HeadCommit *struct {
				ID string `json:"id"`
			} `json:"head_commit"`
			Repository struct {
				HTMLURL       string `json:"html_url"`
				CloneURL      string `json:"clone_url"`
				SSHURL        string `json:"ssh_url"`
				GitURL        string `json:"git_url"`
				DefaultBranch string `json:"default_branch"`
			} `json:"repository"`
		}
		if err := json.Unmarshal(payload, &p); err != nil {
			return nil, err
		}
		rev := p.After
		if p.HeadCommit != nil && p.HeadCommit.ID != "" {
			rev = p.HeadCommit.ID // after is the tag object for an annotated tag; head_commit is the commit
		}
		complete := !p.Created && !p.Deleted && !p.Forced && len(p.Commits) < githubMaxCommits &&
			!isZeroSHA(p.Before) && !isZeroSHA(p.After)
		r := p.Repository
		return &Event{
			RepoURLs:      []string{r.HTMLURL, r.CloneURL, r.SSHURL, r.GitURL},
			Ref:           p.Ref,
			Revision:      commitOrEmpty(rev),
			DefaultBranch: r.DefaultBranch,
			Changed:       changedFiles(p.Commits, complete),
		}, nil
	},
}

var gitlab = provider{
	name: ProviderGitLab,
	verify: func(s Secrets, h http.Header, _ []byte) error {
		return verifyToken(s.GitLab, h, "X-Gitlab-Token", identity)
	},
	// A system hook carries every instance event; the payload's object_kind tells pushes apart.
	isPush: func(kind string) bool { return kind == "Push Hook" || kind == "Tag Push Hook" || kind == "System Hook" },
	decode: func(kind string, payload []byte) (*Event, error) {
		var p struct {
			ObjectKind        string          `json:"object_kind"`
			Ref               string          `json:"ref"`
			Before            string          `json:"before"`
			After             string          `json:"after"`
			CheckoutSHA       string          `json:"checkout_sha"`
			TotalCommitsCount int             `json:"total_commits_count"`
			Commits           []commitChanges `json:"commits"`
			Project           struct {
				WebURL        string `json:"web_url"`
				GitHTTPURL    string `json:"git_http_url"`
				GitSSHURL     string `json:"git_ssh_url"`
				DefaultBranch string `json:"default_branch"`
			} `json:"project"`
			Repository struct {
				Homepage   string `json:"homepage"`
				GitHTTPURL string `json:"git_http_url"`
				GitSSHURL  string `json:"git_ssh_url"`
			} `json:"repository"`
		}
		if err := json.Unmarshal(payload, &p); err != nil {
			return nil, err
		}
		if kind == "System Hook" && p.ObjectKind != "push" && p.ObjectKind != "tag_push" {
			return nil, nil
		}
		rev := p.CheckoutSHA // the commit; after is the tag object for an annotated tag
		if rev == "" {
			rev = p.After
		}
		// GitLab lists at most 20 commits and says how many there were.
		complete := p.TotalCommitsCount <= len(p.Commits) && !isZeroSHA(p.Before) && !isZeroSHA(p.After)
		return &Event{
			RepoURLs: []string{p.Project.WebURL, p.Project.GitHTTPURL, p.Project.GitSSHURL,
				p.Repository.Homepage, p.Repository.GitHTTPURL, p.Repository.GitSSHURL},
			Ref:           p.Ref,
			Revision:      commitOrEmpty(rev),
			DefaultBranch: p.Project.DefaultBranch,
			Changed:       changedFiles(p.Commits, complete),
		}, nil
	},
}

var bitbucket = provider{
	name: ProviderBitbucket,
	verify: func(s Secrets, h http.Header, _ []byte) error {
		return verifyToken(s.BitbucketUUID, h, "X-Hook-UUID", canonUUID)
	},
	isPush: func(kind string) bool { return kind == "repo:push" },
	decode: func(_ string, payload []byte) (*Event, error) {
		type ref struct {
			Type   string `json:"type"`
			Name   string `json:"name"`
			Target struct {
				Hash string `json:"hash"`
			} `json:"target"`
		}
		var p struct {
			Repository struct {
				FullName string `json:"full_name"`
				Links    struct {
					HTML struct {
						Href string `json:"href"`
					} `json:"html"`
				} `json:"links"`
			} `json:"repository"`
			Push struct {
				Changes []struct {
					New *ref `json:"new"`
					Old *ref `json:"old"`
				} `json:"changes"`
			} `json:"push"`
		}
		if err := json.Unmarshal(payload, &p); err != nil {
			return nil, err
		}
		var refs []RefUpdate
		for _, c := range p.Push.Changes {
			r, rev := c.New, ""
			if r == nil { // the push deleted the ref
				r = c.Old
			} else {
				rev = r.Target.Hash
			}
			if r == nil {
				continue
			}
			var prefix string
			switch r.Type {
			case "branch", "named_branch":
				prefix = "refs/heads/"
			case "tag":
				prefix = "refs/tags/"
			default:
				continue
			}
			refs = append(refs, RefUpdate{Ref: prefix + r.Name, Revision: commitOrEmpty(rev)})
		}
		if len(refs) == 0 {
			return nil, errors.New("no branch or tag changes")
		}
		web := p.Repository.Links.HTML.Href
		if web == "" && p.Repository.FullName != "" {
			web = "https://bitbucket.org/" + p.Repository.FullName
		}
		return withRefs(&Event{RepoURLs: []string{web}}, refs), nil
	},
}

var bitbucketServer = provider{
	name: ProviderBitbucketServer,
	verify: func(s Secrets, h http.Header, body []byte) error {
		return verifyHMAC(s.BitbucketServer, h, "X-Hub-Signature", "sha256=", body)
	},
	isPush: func(kind string) bool { return kind == "repo:refs_changed" },
	decode: func(_ string, payload []byte) (*Event, error) {
		var p struct {
			Repository struct {
				Links struct {
					Clone []struct {
						Href string `json:"href"`
					} `json:"clone"`
				} `json:"links"`
			} `json:"repository"`
			Changes []struct {
				RefID string `json:"refId"`
				Ref   struct {
					ID string `json:"id"`
				} `json:"ref"`
				ToHash string `json:"toHash"`
				Type   string `json:"type"`
			} `json:"changes"`
		}
		if err := json.Unmarshal(payload, &p); err != nil {
			return nil, err
		}
		var refs []RefUpdate
		for _, c := range p.Changes {
			name := c.RefID
			if name == "" {
				name = c.Ref.ID
			}
			rev := c.ToHash
			if c.Type == "DELETE" {
				rev = ""
			}
			refs = append(refs, RefUpdate{Ref: name, Revision: commitOrEmpty(rev)})
		}
		if len(refs) == 0 {
			return nil, errors.New("no ref changes")
		}
		ev := &Event{}
		for _, l := range p.Repository.Links.Clone {
			ev.RepoURLs = append(ev.RepoURLs, l.Href)
		}
		return withRefs(ev, refs), nil
	},
}

// Gitea's and Gogs' push payloads share their shape (Gitea began as a Gogs fork).
type giteaPush struct {
	Ref          string          `json:"ref"`
	Before       string          `json:"before"`
	After        string          `json:"after"`
	TotalCommits int             `json:"total_commits"` // Gitea only; Gitea lists a limited number of commits
	Commits      []commitChanges `json:"commits"`
	Repository   struct {
		HTMLURL       string `json:"html_url"`
		CloneURL      string `json:"clone_url"`
		SSHURL        string `json:"ssh_url"`
		DefaultBranch string `json:"default_branch"`
	} `json:"repository"`
}

func decodeGitea(_ string, payload []byte) (*Event, error) {
	var p giteaPush
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, err
	}
	complete := p.TotalCommits <= len(p.Commits) && !isZeroSHA(p.Before) && !isZeroSHA(p.After)
	r := p.Repository
	return &Event{
		RepoURLs:      []string{r.HTMLURL, r.CloneURL, r.SSHURL},
		Ref:           p.Ref,
		Revision:      commitOrEmpty(p.After),
		DefaultBranch: r.DefaultBranch,
		Changed:       changedFiles(p.Commits, complete),
	}, nil
}

var gitea = provider{
	name: ProviderGitea,
	verify: func(s Secrets, h http.Header, body []byte) error {
		return verifyHMAC(s.Gitea, h, "X-Gitea-Signature", "", body)
	},
	isPush: func(kind string) bool { return kind == "push" },
	decode: decodeGitea,
}

var gogs = provider{
	name: ProviderGogs,
	verify: func(s Secrets, h http.Header, body []byte) error {
		return verifyHMAC(s.Gogs, h, "X-Gogs-Signature", "", body)
	},
	isPush: func(kind string) bool { return kind == "push" },
	decode: decodeGitea,
}

// commitChanges is the per-commit file list GitHub, GitLab, Gitea and Gogs share.
type commitChanges struct {
	Added    []string `json:"added"`
	Modified []string `json:"modified"`
	Removed  []string `json:"removed"`
}

// changedFiles merges the commits' file lists, or returns nil (unknown) when the list may be incomplete:
// a created, deleted or force-pushed ref, a truncated commit list, or no commits listed at all.
func changedFiles(commits []commitChanges, complete bool) []string {
	if !complete || len(commits) == 0 {
		return nil
	}
	out := []string{}
	for _, c := range commits {
		for _, list := range [][]string{c.Added, c.Modified, c.Removed} {
			for _, f := range list {
				if f = cleanRel(f); f != "." {
					out = append(out, f)
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// withRefs puts the first ref update in ev.Ref and ev.Revision and the rest in ev.MoreRefs.
func withRefs(ev *Event, refs []RefUpdate) *Event {
	ev.Ref, ev.Revision = refs[0].Ref, refs[0].Revision
	if len(refs) > 1 {
		ev.MoreRefs = refs[1:]
	}
	return ev
}

// isZeroSHA reports the all-zero id providers send for the missing side of a created or deleted ref.
func isZeroSHA(s string) bool {
	return s != "" && strings.Trim(s, "0") == ""
}

func commitOrEmpty(s string) string {
	if isZeroSHA(s) {
		return ""
	}
	return s
}

func identity(s string) string { return s }

// canonUUID lets "{UUID}" and "uuid" compare equal: Bitbucket shows UUIDs in braces, users copy either.
func canonUUID(s string) string {
	return strings.ToLower(strings.Trim(strings.TrimSpace(s), "{}"))
}

// cleanRel cleans a repository-relative path; "." is the root.
func cleanRel(p string) string {
	return path.Clean(strings.TrimLeft(p, "/"))
}
