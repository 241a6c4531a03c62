package stack

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
)

// payloadCommit is one commit of a push payload; Gitea and GitHub share these fields.
type payloadCommit struct {
	ID        string        `json:"id"`
	Message   string        `json:"message"`
	URL       string        `json:"url"`
	Timestamp string        `json:"timestamp"`
	Author    payloadAuthor `json:"author"`
	Committer payloadAuthor `json:"committer"`
	Added     []string      `json:"added"`
	Removed   []string      `json:"removed"`
	Modified  []string      `json:"modified"`
}

type payloadAuthor struct {
	Name     string `json:"name"`
	Email    string `json:"email"`
	Username string `json:"username,omitempty"`
}

// payload builds the push event body of provider for one ref change of repository name. before or after
// is empty for a created or deleted ref.
func (g *GitServer) payload(ctx context.Context, provider, name, ref, before, after string) ([]byte, error) {
	bare := filepath.Join(g.dir, filepath.FromSlash(name)+".git")
	commits, total, err := pushedCommits(ctx, bare, before, after)
	if err != nil {
		return nil, err
	}
	for i := range commits {
		commits[i].URL = g.BaseURL + "/" + name + "/commit/" + commits[i].ID
	}
	var head *payloadCommit
	if len(commits) > 0 {
		head = &commits[len(commits)-1]
	}
	orZero := func(s string) string {
		if s == "" {
			return zeroSHA
		}
		return s
	}
	user := g.opts.Username
	if user == "" {
		user = "moor"
	}
	repo := map[string]any{
		"id":             1,
		"name":           name[strings.LastIndex(name, "/")+1:],
		"full_name":      name,
		"html_url":       g.BaseURL + "/" + name,
		"clone_url":      g.URL(name),
		"default_branch": "main",
		"private":        g.opts.Password != "",
	}
	body := map[string]any{
		"ref":         ref,
		"before":      orZero(before),
		"after":       orZero(after),
		"commits":     commits,
		"head_commit": head,
		"repository":  repo,
	}
	switch provider {
	case ProviderGitHub:
		repo["git_url"] = strings.Replace(g.URL(name), "http://", "git://", 1)
		repo["ssh_url"] = ""
		body["created"] = before == ""
		body["deleted"] = after == ""
		body["forced"] = false
		body["compare"] = g.BaseURL + "/" + name + "/compare/" + short(before) + "..." + short(after)
		body["pusher"] = map[string]string{"name": user, "email": user + "@moor.invalid"}
		body["sender"] = map[string]string{"login": user}
	default: // Gitea
		repo["ssh_url"] = ""
		body["total_commits"] = total
		body["compare_url"] = g.BaseURL + "/" + name + "/compare/" + short(before) + "..." + short(after)
		body["pusher"] = map[string]string{"login": user, "username": user}
		body["sender"] = map[string]string{"login": user, "username": user}
	}
	return json.Marshal(body)
}

// pushedCommits lists the commits a push brought, oldest first, with the files each added, modified and
// removed: at most maxListedCommits of them (the newest), and the total count.
func pushedCommits(ctx context.Context, bare, before, after string) ([]payloadCommit, int, error) {
	if after == "" {
		return []payloadCommit{}, 0, nil
	}
	rng := after
	if before != "" {
		rng = before + ".." + after
	}
	out, err := runGit(ctx, bare, "rev-list", "--count", rng)
	if err != nil {
		return nil, 0, err
	}
	total, _ := strconv.Atoi(out)
	// The newest commits, listed oldest first.
	out, err = runGit(ctx, bare, "rev-list", "--max-count="+strconv.Itoa(maxListedCommits), rng)
	if err != nil {
		return nil, 0, err
	}
	ids := strings.Fields(out)
	commits := make([]payloadCommit, 0, len(ids))
	for i := len(ids) - 1; i >= 0; i-- {
		c, err := describeCommit(ctx, bare, ids[i])
		if err != nil {
			return nil, 0, err
		}
		commits = append(commits, c)
	}
	return commits, total, nil
}

func describeCommit(ctx context.Context, bare, id string) (payloadCommit, error) {
	meta, err := runGit(ctx, bare, "show", "-s", "--format=%an%x00%ae%x00%cn%x00%ce%x00%aI%x00%B", id)
	if err != nil {
		return payloadCommit{}, err
	}
	f := strings.SplitN(meta, "\x00", 6)
	for len(f) < 6 {
		f = append(f, "")
	}
	c := payloadCommit{
		ID: id, Timestamp: f[4], Message: f[5],
		Author:    payloadAuthor{Name: f[0], Email: f[1]},
		Committer: payloadAuthor{Name: f[2], Email: f[3]},
		Added:     []string{}, Removed: []string{}, Modified: []string{},
	}
	files, err := runGit(ctx, bare, "diff-tree", "-r", "-z", "--no-commit-id", "--name-status", "--no-renames", "--root", id)
	if err != nil {
		return payloadCommit{}, err
	}
	tokens := strings.Split(strings.TrimRight(files, "\x00"), "\x00")
	for i := 0; i+1 < len(tokens); i += 2 {
		switch p := tokens[i+1]; tokens[i] {
		case "A":
			c.Added = append(c.Added, p)
		case "D":
			c.Removed = append(c.Removed, p)
		default:
			c.Modified = append(c.Modified, p)
		}
	}
	return c, nil
}
