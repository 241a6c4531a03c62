// Package gittest runs real Git servers on loopback for tests and builds repositories with the real git
// CLI: an HTTP smart-protocol server (git http-backend as CGI, basic auth, optional TLS with a generated
// CA and optional client certificates), an in-process SSH server that runs git-upload-pack and
// git-receive-pack for authorized public keys, and a Repo builder with fixed identities and dates.
//
// Everything is hermetic: git runs with GIT_CONFIG_GLOBAL=/dev/null and GIT_CONFIG_NOSYSTEM=1, servers
// listen on 127.0.0.1:0, and t.Cleanup stops them. Tests are skipped when git is not installed.
//
// Known limits: only protocol v0/v2 as git http-backend serves it; the SSH server accepts exec requests
// for git-upload-pack and git-receive-pack only (no shell, no port forwarding).
package gittest
