// Package git owns Moor's access to Git remotes: a Store keeps one bare object store per repository URL
// on disk, resolves revisions (branch, tag, full or short commit id, HEAD, semver constraints over tags)
// with a short-lived ls-remote cache, fetches what is missing, and serves a commit's tree as a read-only
// fs.FS (TreeFS) straight from the object store.
//
// Design:
//   - No worktree checkout. Renders of different commits of one repository read concurrently; a fetch
//     only adds pack files and never blocks readers.
//   - Fetches of one repository are coalesced (concurrent callers with the same credentials share one) and
//     serialized per repository. A fetch takes all branches and tags at full depth, and runs only when a
//     wanted commit is not in the store yet.
//   - Credentials arrive with every call in a Repo and are never written to disk (a known_hosts text lives
//     in a temporary file for the few microseconds it takes to parse), logged, or put in errors; URLs in
//     errors are redacted. SSH host keys are always checked against Repo.KnownHosts unless
//     InsecureIgnoreHostKey is set.
//   - Limits: Options.FetchTimeout bounds each fetch and ls-remote; Options.MaxRepoBytes bounds the object
//     store, enforced while the pack streams in; Options.MaxFileBytes bounds every file read from a tree.
//   - Errors wrap the sentinels in errors.go (ErrRevisionNotFound, ErrAuthentication, ErrUnreachable, ...),
//     so one place can map them to status codes. ErrPathEscape is render.ErrPathEscape and ErrTooLarge
//     wraps render.ErrTooLarge.
//   - TreeHash and RecordingFS let a render cache tell whether a new commit changed anything a render
//     read.
//
// Known limits:
//   - Git LFS is not supported: LFS pointer files are served as they are stored.
//   - Submodules are not followed; a submodule appears as an empty directory.
//   - Only branches and tags are fetched. A commit reachable only from other refs (pull request refs) is
//     requested by id, which most servers refuse over the protocol version go-git speaks.
//   - Objects already in the store are served to any caller that names the repository URL; the caller is
//     trusted to have authorized access (ls-remote results and fetches are, however, keyed by credentials).
//   - The store never prunes or repacks; each fetch adds a pack, so MaxRepoBytes also bounds history growth
//     and an operator clears the root to reclaim space.
//   - GitHub App credentials are not implemented here; callers exchange them for a token first.
//   - Only http(s)://, ssh:// (and scp-like), and git:// remotes are accepted; file:// is refused so a
//     URL from a request cannot read the server's disk.
//   - A TreeFS opens the pack file for each object it reads (about 25 µs for a small file); decoded trees
//     are cached per TreeFS and decoded objects per repository.
package git
