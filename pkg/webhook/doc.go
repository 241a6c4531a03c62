// Package webhook parses and verifies Git push webhooks and decides which application sources they
// refresh. It owns no HTTP route and lists no Applications: the API server's handler calls Parser.Parse,
// then Matches and PathsChanged for each source of each Application.
//
// Providers, told apart by their event header:
//
//	provider         event header     push events                 verification (when its secret is set)
//	github           X-GitHub-Event   push                        X-Hub-Signature-256: sha256=<hex HMAC-SHA256>
//	gitlab           X-Gitlab-Event   Push Hook, Tag Push Hook,   X-Gitlab-Token equals the secret
//	                                  System Hook (push, tag_push)
//	bitbucket        X-Event-Key      repo:push                   X-Hook-UUID equals the webhook's UUID
//	bitbucketserver  X-Event-Key      repo:refs_changed           X-Hub-Signature: sha256=<hex HMAC-SHA256>
//	gitea            X-Gitea-Event    push                        X-Gitea-Signature: <hex HMAC-SHA256>
//	gogs             X-Gogs-Event     push                        X-Gogs-Signature: <hex HMAC-SHA256>
//
// Verification:
//   - A request is verified before its event kind is looked at, so a ping with a wrong secret fails
//     (ErrSignature) and the sender's delivery log shows the misconfiguration.
//   - When a provider's secret is not configured its requests are accepted unverified, as Argo CD does:
//     anyone who can reach the endpoint can then trigger refreshes (not syncs of arbitrary content, since
//     the refresh reads the repository itself). Configure every provider in use.
//   - Signatures and tokens are compared in constant time (hmac.Equal; tokens are hashed first so their
//     length does not leak). No secret, token or signature appears in an error; Secrets prints as set/unset.
//   - GitHub's legacy SHA-1 X-Hub-Signature is not accepted; GitHub always sends the SHA-256 header too.
//   - The body is read up to Parser.MaxBytes (default 25 MiB; ErrTooLarge beyond).
//   - GitHub, Gitea and Gogs may deliver form-encoded bodies (payload=<json>); both content types work.
//
// Matching: NormalizeURL, Matches and PathsChanged document their rules. In short, a source matches when
// its repoURL is one of the payload's URL forms and its targetRevision follows the pushed ref ("" and
// HEAD follow the default branch, or any branch when the payload does not name it); PathsChanged applies
// the argocd.argoproj.io/manifest-generate-paths annotation to the files the push changed. A Matcher
// normalizes the event's URLs once for a sweep over many sources (about 0.5 ms per 1,000 sources against
// 1.7 ms for plain Matches; BenchmarkMatch1000Apps).
//
// Known limits:
//   - Event.Changed is nil (unknown, so every annotated source refreshes) for Bitbucket Cloud and Server,
//     whose payloads list no files (Argo CD calls Bitbucket Cloud's diffstat API; Moor does not), and
//     whenever the payload's list may be incomplete: a created, deleted or (GitHub) force-pushed ref, a
//     commit list cut short (GitLab lists 20 commits, Gitea a configured number, GitHub 2048), or none.
//     A force push to GitLab, Gitea or Gogs cannot be recognised: files changed only by the commits it
//     dropped are missed.
//   - Event.Revision is the pushed commit where the payload names it; for an annotated tag on Bitbucket,
//     Gitea and Gogs it may be the tag object's id. Callers re-resolve revisions through pkg/git anyway.
//   - Repository URLs come from the payload alone: a Bitbucket Server event without
//     repository.links.clone is rejected. Bitbucket Server's basic-auth option is not checked here.
//   - Azure DevOps and OCI registry events (GHCR packages, Harbor) are not supported.
package webhook
