package git

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Signature is a commit's author or committer.
type Signature struct {
	Name  string
	Email string
	When  time.Time
}

// RevisionMetadata describes one commit.
type RevisionMetadata struct {
	SHA       string
	Author    Signature
	Committer Signature
	Message   string
	// Tags are the short names of the tags that point at the commit (annotated tags peeled), as of the
	// store's last fetch of the repository.
	Tags []string
	// Parents are the parent commit ids.
	Parents []string
}

// RevisionMetadata returns the author, date, message, tags and parents of commit sha, fetching it when it
// is not in the store.
func (s *Store) RevisionMetadata(ctx context.Context, repo Repo, sha string) (*RevisionMetadata, error) {
	_, ps, c, err := s.commit(ctx, repo, sha)
	if err != nil {
		return nil, err
	}
	h := c.Hash
	ps.mu.Lock()
	defer ps.mu.Unlock()
	stor := ps.stor
	md := &RevisionMetadata{
		SHA:       h.String(),
		Author:    Signature{Name: c.Author.Name, Email: c.Author.Email, When: c.Author.When},
		Committer: Signature{Name: c.Committer.Name, Email: c.Committer.Email, When: c.Committer.When},
		Message:   c.Message,
	}
	for _, p := range c.ParentHashes {
		md.Parents = append(md.Parents, p.String())
	}
	refs, err := stor.IterReferences()
	if err != nil {
		return nil, fmt.Errorf("list tags: %w", err)
	}
	defer refs.Close()
	_ = refs.ForEach(func(r *plumbing.Reference) error {
		if !r.Name().IsTag() || r.Type() != plumbing.HashReference {
			return nil
		}
		target := r.Hash()
		if tag, err := object.GetTag(stor, target); err == nil {
			target = tag.Target
		}
		if target == h {
			md.Tags = append(md.Tags, strings.TrimPrefix(r.Name().String(), "refs/tags/"))
		}
		return nil
	})
	sort.Strings(md.Tags)
	return md, nil
}
