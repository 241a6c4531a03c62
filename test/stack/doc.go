// Package stack runs Moor the way it is deployed: moor-repo-server, moor-controller and moor-server as three
// separate processes against a Kubernetes cluster, and a Git server on loopback that accepts pushes and,
// after each one, POSTs a signed push webhook to moor-server, as GitHub or Gitea would.
//
// The black-box suite (test/e2e), the CLI's end-to-end tests and `make quickstart` (hack/quickstart) share
// it, so it does not import "testing"; stacktest wraps it for tests (a fresh namespace on the local cluster,
// binaries built once per test binary, logs shown on failure, everything stopped at cleanup).
//
//	bin, err := stack.Build(ctx, repoRoot, dir)            // go build; a warm build is ~2 s
//	st, err := stack.Start(ctx, stack.Options{Kubeconfig: kc, Namespace: "moor", BinDir: bin})
//	defer st.Stop()
//	git, err := stack.NewGitServer(stack.GitOptions{Username: "moor", Password: pw})
//	defer git.Close()
//	url, err := git.CreateRepo(ctx, "apps", os.DirFS("examples"))
//	err = st.ConnectGit(ctx, git, stack.ProviderGitea)   // webhook secret in argocd-secret
//	token, err := st.Login(ctx, "admin", st.AdminPassword)
//	err = st.Client(token).Do(ctx, "POST", "/api/v1/applications", appJSON, nil)
//	wt, err := git.Clone(ctx, "apps", dir)                  // edit, then wt.CommitAndPush(ctx, "msg")
//
// Services are named RepoServer, Controller and Server. Kill (SIGKILL) and Restart (same command line, same
// ports) simulate crashes; Usage reads peak RSS and CPU seconds from /proc; Alive tells whether one exited.
// Readiness: the repo-server answers its gRPC health check; the controller holds its Lease (renewed after
// the process started) and the default AppProject exists; moor-server answers /api/version and has written
// argocd-initial-admin-secret.
//
// Known limits: Linux only in practice (process usage from /proc; services get SIGKILL when the program that
// started them dies, through Pdeathsig). moor-server runs plaintext (--insecure). The Git server speaks
// HTTP only (no SSH), lists at most 20 commits per webhook as Gitea does, and delivers webhooks once,
// without retries.
package stack
