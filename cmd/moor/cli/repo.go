package cli

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
)

// newRepoCommand returns the repo group: the repositories Moor may read, stored as repository Secrets.
func newRepoCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "repo",
		Aliases: []string{"repos", "repository"},
		Short:   "Manage the Git, Helm and OCI repositories Moor may read",
		Args:    cobra.NoArgs,
	}
	cmd.AddCommand(newRepoAddCommand(g), newRepoListCommand(g), newRepoGetCommand(g), newRepoRemoveCommand(g))
	return cmd
}

// credentialOptions are the credential flags repo add and repocreds add share. Secrets are read from files
// (or the terminal), never shown.
type credentialOptions struct {
	username                   string
	password                   string
	sshKeyPath                 string
	tlsCertPath                string
	tlsKeyPath                 string
	bearerToken                string
	githubAppID                int64
	githubAppInstallationID    int64
	githubAppKeyPath           string
	githubAppEnterpriseBaseURL string
	proxy                      string
	noProxy                    string
	forceHTTPBasicAuth         bool
	enableOCI                  bool
	typ                        string
}

func (o *credentialOptions) bindFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.typ, "type", "git", "repository type: git, helm or oci")
	fs.StringVar(&o.username, "username", "", "user name for HTTPS basic auth")
	fs.StringVar(&o.password, "password", "", "password for HTTPS basic auth (asked for, without echo, when --username is given without it)")
	fs.StringVar(&o.sshKeyPath, "ssh-private-key-path", "", "file holding the SSH private key")
	fs.StringVar(&o.tlsCertPath, "tls-client-cert-path", "", "file holding the PEM client certificate for TLS client auth")
	fs.StringVar(&o.tlsKeyPath, "tls-client-cert-key-path", "", "file holding the PEM key of the client certificate")
	fs.StringVar(&o.bearerToken, "bearer-token", "", "bearer token (Bitbucket Data Center)")
	fs.Int64Var(&o.githubAppID, "github-app-id", 0, "GitHub App ID")
	fs.Int64Var(&o.githubAppInstallationID, "github-app-installation-id", 0, "GitHub App installation ID")
	fs.StringVar(&o.githubAppKeyPath, "github-app-private-key-path", "", "file holding the GitHub App's private key")
	fs.StringVar(&o.githubAppEnterpriseBaseURL, "github-app-enterprise-base-url", "", "GitHub Enterprise API base URL, e.g. https://ghe.example.com/api/v3")
	fs.StringVar(&o.proxy, "proxy", "", "HTTP(S) proxy URL")
	fs.StringVar(&o.noProxy, "no-proxy", "", "hosts that bypass the proxy (comma-separated)")
	fs.BoolVar(&o.forceHTTPBasicAuth, "force-http-basic-auth", false, "send basic auth even over plain HTTP")
	fs.BoolVar(&o.enableOCI, "enable-oci", false, "the Helm repository is an OCI registry")
}

// repoSecrets are the secrets the flags point to, read.
type repoSecrets struct {
	username, password, sshKey, tlsCert, tlsKey, bearerToken, githubAppKey string
}

func (c repoSecrets) any() bool {
	return c.username != "" || c.password != "" || c.sshKey != "" || c.tlsCert != "" || c.bearerToken != "" || c.githubAppKey != ""
}

// load checks the flags and reads the files they name; a missing password is asked for.
func (o *credentialOptions) load(cmd *cobra.Command) (repoSecrets, error) {
	c := repoSecrets{username: o.username, password: o.password, bearerToken: o.bearerToken}
	switch o.typ {
	case "git", "helm", "oci":
	default:
		return c, usageErrorf("--type must be git, helm or oci, not %q", o.typ)
	}
	if (o.tlsCertPath == "") != (o.tlsKeyPath == "") {
		return c, usageErrorf("give both --tls-client-cert-path and --tls-client-cert-key-path")
	}
	read := func(flag, path string, dst *string) error {
		if path == "" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return usageErrorf("--%s: %v", flag, err)
		}
		*dst = string(b)
		return nil
	}
	for _, f := range []struct {
		flag, path string
		dst        *string
	}{
		{"ssh-private-key-path", o.sshKeyPath, &c.sshKey},
		{"tls-client-cert-path", o.tlsCertPath, &c.tlsCert},
		{"tls-client-cert-key-path", o.tlsKeyPath, &c.tlsKey},
		{"github-app-private-key-path", o.githubAppKeyPath, &c.githubAppKey},
	} {
		if err := read(f.flag, f.path, f.dst); err != nil {
			return c, err
		}
	}
	if c.username != "" && c.password == "" {
		p, err := promptSecret(cmd, "Password for "+c.username+": ")
		if err != nil {
			return c, err
		}
		c.password = p
	}
	return c, nil
}

func newRepoAddCommand(g *globalOptions) *cobra.Command {
	var (
		creds            credentialOptions
		name             string
		project          string
		insecureTLS      bool
		insecureHostKey  bool
		enableLFS        bool
		depth            int64
		upsert           bool
		skipValidation   bool
		webhookWarmupOff bool
	)
	cmd := &cobra.Command{
		Use:   "add URL",
		Short: "Add a repository (its access is tested first)",
		Example: `  moor repo add https://github.com/example/shop.git --username me   # asks for the password
  moor repo add git@github.com:example/shop.git --ssh-private-key-path ~/.ssh/id_ed25519
  moor repo add https://charts.example.com --type helm --name example`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := creds.load(cmd)
			if err != nil {
				return err
			}
			if creds.typ == "helm" && name == "" {
				return usageErrorf("a Helm repository needs a --name")
			}
			repo := &apiv1.Repository{
				Repo: strings.TrimSpace(args[0]), Type: creds.typ, Name: name, Project: project,
				Username: c.username, Password: c.password, SshPrivateKey: c.sshKey,
				TlsClientCertData: c.tlsCert, TlsClientCertKey: c.tlsKey, BearerToken: c.bearerToken,
				GithubAppId: creds.githubAppID, GithubAppInstallationId: creds.githubAppInstallationID,
				GithubAppPrivateKey: c.githubAppKey, GithubAppEnterpriseBaseUrl: creds.githubAppEnterpriseBaseURL,
				Proxy: creds.proxy, NoProxy: creds.noProxy, ForceHttpBasicAuth: creds.forceHTTPBasicAuth,
				EnableOci: creds.enableOCI, Insecure: insecureTLS, InsecureIgnoreHostKey: insecureHostKey,
				EnableLfs: enableLFS, Depth: depth, WebhookManifestCacheWarmDisabled: webhookWarmupOff,
			}
			conn, err := g.conn()
			if err != nil {
				return err
			}
			defer conn.Close()
			ctx := cmd.Context()
			if !skipValidation {
				template := ""
				if !c.any() {
					template = matchingTemplate(cmd, apiv1.NewRepoCredsServiceClient(conn), repo.GetRepo())
				}
				if template != "" {
					fmt.Fprintf(cmd.ErrOrStderr(), "using the credentials of template %s; access not tested\n", template)
				} else if _, err := apiv1.NewRepositoryServiceClient(conn).ValidateAccess(ctx, validateRequest(repo)); err != nil {
					return err
				}
			}
			created, err := apiv1.NewRepositoryServiceClient(conn).CreateRepository(ctx, &apiv1.RepositoryServiceCreateRepositoryRequest{Repo: repo, Upsert: upsert})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "repository %q added\n", created.GetRepository().GetRepo())
			return nil
		},
	}
	fs := cmd.Flags()
	creds.bindFlags(fs)
	fs.StringVar(&name, "name", "", "display name (required for Helm repositories)")
	fs.StringVar(&project, "project", "", "project that owns the repository (default: global)")
	fs.BoolVar(&insecureTLS, "insecure-skip-server-verification", false, "skip TLS verification (and SSH host key checks)")
	fs.BoolVar(&insecureHostKey, "insecure-ignore-host-key", false, "skip SSH host key checks (deprecated: use --insecure-skip-server-verification)")
	_ = fs.MarkHidden("insecure-ignore-host-key")
	fs.BoolVar(&enableLFS, "enable-lfs", false, "fetch Git LFS objects")
	fs.Int64Var(&depth, "depth", 0, "shallow clone depth; 0 fetches the full history")
	fs.BoolVar(&webhookWarmupOff, "webhook-manifest-cache-warm-disabled", false, "do not render ahead when a webhook announces a commit")
	fs.BoolVar(&upsert, "upsert", false, "replace the repository if it exists")
	fs.BoolVar(&skipValidation, "skip-validation", false, "store the repository without testing access")
	return cmd
}

// matchingTemplate returns the URL prefix of a credential template that would serve url, if any. Its
// secrets never leave the server, so access through it cannot be tested from here.
func matchingTemplate(cmd *cobra.Command, c apiv1.RepoCredsServiceClient, url string) string {
	resp, err := c.ListRepositoryCredentials(cmd.Context(), &apiv1.RepoCredsServiceListRepositoryCredentialsRequest{})
	if err != nil {
		return ""
	}
	best := ""
	for _, t := range resp.GetList().GetItems() {
		if strings.HasPrefix(url, t.GetUrl()) && len(t.GetUrl()) > len(best) {
			best = t.GetUrl()
		}
	}
	return best
}

func validateRequest(r *apiv1.Repository) *apiv1.RepositoryServiceValidateAccessRequest {
	return &apiv1.RepositoryServiceValidateAccessRequest{
		Repo: r.GetRepo(), Username: r.GetUsername(), Password: r.GetPassword(), SshPrivateKey: r.GetSshPrivateKey(),
		Insecure: r.GetInsecure() || r.GetInsecureIgnoreHostKey(), TlsClientCertData: r.GetTlsClientCertData(), TlsClientCertKey: r.GetTlsClientCertKey(),
		Type: r.GetType(), Name: r.GetName(), EnableOci: r.GetEnableOci(), GithubAppPrivateKey: r.GetGithubAppPrivateKey(),
		GithubAppId: r.GetGithubAppId(), GithubAppInstallationId: r.GetGithubAppInstallationId(),
		GithubAppEnterpriseBaseUrl: r.GetGithubAppEnterpriseBaseUrl(), Proxy: r.GetProxy(), Project: r.GetProject(),
		ForceHttpBasicAuth: r.GetForceHttpBasicAuth(), NoProxy: r.GetNoProxy(), BearerToken: r.GetBearerToken(),
	}
}

func newRepoListCommand(g *globalOptions) *cobra.Command {
	var (
		output  string
		project string
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List repositories",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, "", "wide", "url", "json", "yaml"); err != nil {
				return err
			}
			conn, err := g.conn()
			if err != nil {
				return err
			}
			defer conn.Close()
			resp, err := apiv1.NewRepositoryServiceClient(conn).ListRepositories(cmd.Context(), &apiv1.RepositoryServiceListRepositoriesRequest{})
			if err != nil {
				return err
			}
			repos := make([]*apiv1.Repository, 0, len(resp.GetList().GetItems()))
			for _, r := range resp.GetList().GetItems() {
				if project == "" || r.GetProject() == project {
					repos = append(repos, r)
				}
			}
			return printRepositories(cmd.OutOrStdout(), output, true, repos)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json, yaml, url or wide")
	cmd.Flags().StringVar(&project, "project", "", "only the repositories of this project")
	return cmd
}

func newRepoGetCommand(g *globalOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "get URL",
		Short: "Show a repository (never its secrets)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "", "wide", "url", "json", "yaml"); err != nil {
				return err
			}
			conn, err := g.conn()
			if err != nil {
				return err
			}
			defer conn.Close()
			resp, err := apiv1.NewRepositoryServiceClient(conn).Get(cmd.Context(), &apiv1.RepositoryServiceGetRequest{Repo: args[0]})
			if err != nil {
				return err
			}
			return printRepositories(cmd.OutOrStdout(), output, false, []*apiv1.Repository{resp.GetRepository()})
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json, yaml, url or wide")
	return cmd
}

// withoutSecrets is r with every secret field cleared. The server never returns them; this keeps the CLI
// from printing one should that ever change.
func withoutSecrets(r *apiv1.Repository) *apiv1.Repository {
	return &apiv1.Repository{
		Repo: r.GetRepo(), Username: r.GetUsername(), ConnectionState: r.GetConnectionState(),
		InsecureIgnoreHostKey: r.GetInsecureIgnoreHostKey(), Insecure: r.GetInsecure(), EnableLfs: r.GetEnableLfs(),
		TlsClientCertData: r.GetTlsClientCertData(), Type: r.GetType(), Name: r.GetName(), InheritedCreds: r.GetInheritedCreds(),
		EnableOci: r.GetEnableOci(), GithubAppId: r.GetGithubAppId(), GithubAppInstallationId: r.GetGithubAppInstallationId(),
		GithubAppEnterpriseBaseUrl: r.GetGithubAppEnterpriseBaseUrl(), Proxy: r.GetProxy(), Project: r.GetProject(),
		ForceHttpBasicAuth: r.GetForceHttpBasicAuth(), NoProxy: r.GetNoProxy(), UseAzureWorkloadIdentity: r.GetUseAzureWorkloadIdentity(),
		InsecureOciForceHttp: r.GetInsecureOciForceHttp(), Depth: r.GetDepth(), WebhookManifestCacheWarmDisabled: r.GetWebhookManifestCacheWarmDisabled(),
	}
}

// printRepositories writes repos in format; list says whether JSON/YAML is a list.
func printRepositories(w io.Writer, format string, list bool, repos []*apiv1.Repository) error {
	safe := make([]*apiv1.Repository, 0, len(repos))
	for _, r := range repos {
		safe = append(safe, withoutSecrets(r))
	}
	switch format {
	case "json", "yaml":
		return printMessages(w, format, list, safe...)
	case "url":
		for _, r := range safe {
			fmt.Fprintln(w, r.GetRepo())
		}
		return nil
	}
	rows := make([][]string, 0, len(safe))
	for _, r := range safe {
		typ := r.GetType()
		if typ == "" {
			typ = "git"
		}
		st, msg := connectionColumns(r.GetConnectionState())
		hasCreds := r.GetUsername() != "" || r.GetInheritedCreds() || r.GetTlsClientCertData() != "" || r.GetGithubAppId() != 0
		rows = append(rows, []string{
			typ, r.GetName(), r.GetRepo(), strconv.FormatBool(r.GetInsecure() || r.GetInsecureIgnoreHostKey()),
			strconv.FormatBool(r.GetEnableOci()), strconv.FormatBool(r.GetEnableLfs()), strconv.FormatBool(hasCreds),
			st, msg, r.GetProject(),
		})
	}
	return printTable(w, []string{"TYPE", "NAME", "REPO", "INSECURE", "OCI", "LFS", "CREDS", "STATUS", "MESSAGE", "PROJECT"}, rows)
}

// connectionColumns are the STATUS and MESSAGE of a connection state; never tested is Unknown.
func connectionColumns(cs *apiv1.ConnectionState) (string, string) {
	if cs.GetStatus() == "" {
		return "Unknown", cs.GetMessage()
	}
	return cs.GetStatus(), oneLine(cs.GetMessage())
}

func newRepoRemoveCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "rm URL...",
		Aliases: []string{"remove", "delete"},
		Short:   "Remove repositories",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			conn, err := g.conn()
			if err != nil {
				return err
			}
			defer conn.Close()
			c := apiv1.NewRepositoryServiceClient(conn)
			for _, url := range args {
				if _, err := c.DeleteRepository(cmd.Context(), &apiv1.RepositoryServiceDeleteRepositoryRequest{Repo: url}); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "repository %q removed\n", url)
			}
			return nil
		},
	}
}
