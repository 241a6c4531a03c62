package git

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

func h(c byte) plumbing.Hash {
	var x plumbing.Hash
	for i := range x {
		x[i] = c
	}
	return x
}

func TestRefSetResolve(t *testing.T) {
	t.Parallel()
	refs := []*plumbing.Reference{
		plumbing.NewSymbolicReference("HEAD", "refs/heads/main"),
		plumbing.NewHashReference("refs/heads/main", h(0x11)),
		plumbing.NewHashReference("refs/heads/feature", h(0x22)),
		plumbing.NewHashReference("refs/heads/v9", h(0x33)),
		plumbing.NewHashReference("refs/tags/v9", h(0x44)), // a tag wins over a branch of the same name
		plumbing.NewHashReference("refs/tags/v1.0.0", h(0x55)),
		plumbing.NewHashReference("refs/tags/v1.2.3", h(0x66)), // annotated: the tag object
		plumbing.NewReferenceFromStrings("refs/tags/v1.2.3^{}", h(0x77).String()),
		plumbing.NewHashReference("refs/tags/1.2.10", h(0x88)),
		plumbing.NewHashReference("refs/tags/2.0.0", h(0x99)),
		plumbing.NewHashReference("refs/tags/2.1.0-rc.1", h(0xaa)),
		plumbing.NewHashReference("refs/tags/not-semver", h(0xbb)),
	}
	rs := newRefSet(refs)
	tests := []struct {
		name     string
		revision string
		want     Resolution
		wantErr  error
	}{
		{"empty is HEAD", "", Resolution{SHA: h(0x11).String(), Kind: KindBranch, Ref: "refs/heads/main"}, nil},
		{"HEAD", "HEAD", Resolution{SHA: h(0x11).String(), Kind: KindBranch, Ref: "refs/heads/main"}, nil},
		{"branch", "feature", Resolution{SHA: h(0x22).String(), Kind: KindBranch, Ref: "refs/heads/feature"}, nil},
		{"full ref", "refs/heads/v9", Resolution{SHA: h(0x33).String(), Kind: KindBranch, Ref: "refs/heads/v9"}, nil},
		{"heads/ prefix", "heads/feature", Resolution{SHA: h(0x22).String(), Kind: KindBranch, Ref: "refs/heads/feature"}, nil},
		{"tag before branch", "v9", Resolution{SHA: h(0x44).String(), Kind: KindTag, Ref: "refs/tags/v9"}, nil},
		{"annotated tag peeled", "v1.2.3", Resolution{SHA: h(0x77).String(), Kind: KindTag, Ref: "refs/tags/v1.2.3"}, nil},
		{"wildcard", "1.2.*", Resolution{SHA: h(0x88).String(), Kind: KindSemver, Ref: "refs/tags/1.2.10"}, nil},
		{"range", ">=1.0.0 <2.0.0", Resolution{SHA: h(0x88).String(), Kind: KindSemver, Ref: "refs/tags/1.2.10"}, nil},
		{"tilde", "~1.2", Resolution{SHA: h(0x88).String(), Kind: KindSemver, Ref: "refs/tags/1.2.10"}, nil},
		{"caret", "^1", Resolution{SHA: h(0x88).String(), Kind: KindSemver, Ref: "refs/tags/1.2.10"}, nil},
		{"caret 2 skips prerelease", "^2", Resolution{SHA: h(0x99).String(), Kind: KindSemver, Ref: "refs/tags/2.0.0"}, nil},
		{"exact version via v prefix", "1.0.0", Resolution{SHA: h(0x55).String(), Kind: KindSemver, Ref: "refs/tags/v1.0.0"}, nil},
		{"tip by short id", "2222222", Resolution{SHA: h(0x22).String(), Kind: KindCommit}, nil},
		{"tip by full id", h(0x22).String(), Resolution{SHA: h(0x22).String(), Kind: KindCommit}, nil},
		{"short id not a tip needs objects", "abcdef0", Resolution{}, errNeedObjects},
		{"semver without match", "^3", Resolution{}, ErrRevisionNotFound},
		{"unknown name", "nope", Resolution{}, ErrRevisionNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := rs.resolve(tt.revision)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("resolve(%q) error = %v, want %v", tt.revision, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("resolve(%q): %v", tt.revision, err)
			}
			if got != tt.want {
				t.Fatalf("resolve(%q) = %+v, want %+v", tt.revision, got, tt.want)
			}
		})
	}
}

func TestRefSetHeadWithoutSymref(t *testing.T) {
	t.Parallel()
	rs := newRefSet([]*plumbing.Reference{
		plumbing.NewHashReference("HEAD", h(0x11)),
		plumbing.NewHashReference("refs/heads/zzz", h(0x11)),
		plumbing.NewHashReference("refs/heads/master", h(0x11)),
	})
	got, err := rs.resolve("HEAD")
	if err != nil || got.Ref != "refs/heads/master" {
		t.Fatalf("resolve(HEAD) = %+v, %v; want refs/heads/master", got, err)
	}
}

func TestNormalizeURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"https://GitHub.com/Org/Repo.git", "https://github.com/Org/Repo"},
		{"https://github.com/org/repo/", "https://github.com/org/repo"},
		{"https://user:secret@github.com/org/repo.git/", "https://github.com/org/repo"},
		{"HTTP://Example.COM:8080/a/b", "http://example.com:8080/a/b"},
		{"git@github.com:org/repo.git", "ssh://git@github.com/org/repo"},
		{"ssh://git@GitHub.com/org/repo.git", "ssh://git@github.com/org/repo"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			if got := NormalizeURL(tt.in); got != tt.want {
				t.Fatalf("NormalizeURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	if storeKey(NormalizeURL("https://github.com/org/repo")) != storeKey(NormalizeURL("https://GITHUB.com/org/repo.git/")) {
		t.Fatal("equivalent URLs must share one store")
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"https://user:secret@host/repo", "https://user:xxxxx@host/repo"},
		{"https://host/repo", "https://host/repo"},
		{"git@host:org/repo", "git@host:org/repo"},
	}
	for _, tt := range tests {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestScrubKeepsChain(t *testing.T) {
	t.Parallel()
	err := scrub(classify(errors.New("ssh: unable to authenticate with hunter22")), "hunter22")
	if !errors.Is(err, ErrAuthentication) {
		t.Fatalf("scrub lost the sentinel: %v", err)
	}
	if got := err.Error(); got == "" || strings.Contains(got, "hunter22") {
		t.Fatalf("secret in error: %q", got)
	}
}

func TestTransportRefusesLocalURLs(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"file:///etc", "/srv/repo", "ftp://host/repo", ""} {
		if _, err := (Repo{URL: u}).transport(t.TempDir()); !errors.Is(err, ErrInvalidRepo) {
			t.Errorf("transport(%q) error = %v, want ErrInvalidRepo", u, err)
		}
	}
}
