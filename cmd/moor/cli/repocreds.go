package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
)

// newRepoCredsCommand returns the repocreds group: credential templates that every repository whose URL
// starts with the template's URL uses.
func newRepoCredsCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "repocreds",
		Short: "Manage repository credential templates (credentials shared by URL prefix)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newRepoCredsAddCommand(g), newRepoCredsListCommand(g), newRepoCredsRemoveCommand(g))
	return cmd
}

func newRepoCredsAddCommand(g *globalOptions) *cobra.Command {
	var (
		creds  credentialOptions
		upsert bool
	)
	cmd := &cobra.Command{
		Use:   "add URL-PREFIX",
		Short: "Add a credential template",
		Example: `  moor repocreds add https://github.com/example --username me   # asks for the password
  moor repocreds add git@github.com:example --ssh-private-key-path ~/.ssh/id_ed25519`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := creds.load(cmd)
			if err != nil {
				return err
			}
			tmpl := &apiv1.RepoCreds{
				Url: strings.TrimSpace(args[0]), Type: creds.typ,
				Username: c.username, Password: c.password, SshPrivateKey: c.sshKey,
				TlsClientCertData: c.tlsCert, TlsClientCertKey: c.tlsKey, BearerToken: c.bearerToken,
				GithubAppId: creds.githubAppID, GithubAppInstallationId: creds.githubAppInstallationID,
				GithubAppPrivateKey: c.githubAppKey, GithubAppEnterpriseBaseUrl: creds.githubAppEnterpriseBaseURL,
				Proxy: creds.proxy, NoProxy: creds.noProxy, ForceHttpBasicAuth: creds.forceHTTPBasicAuth, EnableOci: creds.enableOCI,
			}
			conn, err := g.conn()
			if err != nil {
				return err
			}
			defer conn.Close()
			resp, err := apiv1.NewRepoCredsServiceClient(conn).CreateRepositoryCredentials(cmd.Context(),
				&apiv1.RepoCredsServiceCreateRepositoryCredentialsRequest{Creds: tmpl, Upsert: upsert})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "credential template %q added\n", resp.GetCreds().GetUrl())
			return nil
		},
	}
	creds.bindFlags(cmd.Flags())
	cmd.Flags().BoolVar(&upsert, "upsert", false, "replace the template if it exists")
	return cmd
}

func newRepoCredsListCommand(g *globalOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List credential templates (never their secrets)",
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
			resp, err := apiv1.NewRepoCredsServiceClient(conn).ListRepositoryCredentials(cmd.Context(), &apiv1.RepoCredsServiceListRepositoryCredentialsRequest{})
			if err != nil {
				return err
			}
			return printRepoCreds(cmd.OutOrStdout(), output, resp.GetList().GetItems())
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json, yaml, url or wide")
	return cmd
}

// credsWithoutSecrets is t with every secret field cleared (the server already does; this is the CLI's own
// guarantee).
func credsWithoutSecrets(t *apiv1.RepoCreds) *apiv1.RepoCreds {
	return &apiv1.RepoCreds{
		Url: t.GetUrl(), Username: t.GetUsername(), TlsClientCertData: t.GetTlsClientCertData(),
		GithubAppId: t.GetGithubAppId(), GithubAppInstallationId: t.GetGithubAppInstallationId(),
		GithubAppEnterpriseBaseUrl: t.GetGithubAppEnterpriseBaseUrl(), EnableOci: t.GetEnableOci(), Type: t.GetType(),
		Proxy: t.GetProxy(), ForceHttpBasicAuth: t.GetForceHttpBasicAuth(), NoProxy: t.GetNoProxy(),
		UseAzureWorkloadIdentity: t.GetUseAzureWorkloadIdentity(), InsecureOciForceHttp: t.GetInsecureOciForceHttp(),
	}
}

func printRepoCreds(w io.Writer, format string, items []*apiv1.RepoCreds) error {
	safe := make([]*apiv1.RepoCreds, 0, len(items))
	for _, t := range items {
		safe = append(safe, credsWithoutSecrets(t))
	}
	switch format {
	case "json", "yaml":
		return printMessages(w, format, true, safe...)
	case "url":
		for _, t := range safe {
			fmt.Fprintln(w, t.GetUrl())
		}
		return nil
	}
	rows := make([][]string, 0, len(safe))
	for _, t := range safe {
		typ := t.GetType()
		if typ == "" {
			typ = "git"
		}
		rows = append(rows, []string{
			t.GetUrl(), typ, t.GetUsername(), strconv.FormatBool(t.GetTlsClientCertData() != ""),
			strconv.FormatBool(t.GetGithubAppId() != 0), strconv.FormatBool(t.GetEnableOci()),
		})
	}
	return printTable(w, []string{"URL PATTERN", "TYPE", "USERNAME", "TLS_CREDS", "GITHUB_APP", "OCI"}, rows)
}

func newRepoCredsRemoveCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "rm URL-PREFIX...",
		Aliases: []string{"remove", "delete"},
		Short:   "Remove credential templates",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			conn, err := g.conn()
			if err != nil {
				return err
			}
			defer conn.Close()
			c := apiv1.NewRepoCredsServiceClient(conn)
			for _, url := range args {
				if _, err := c.DeleteRepositoryCredentials(cmd.Context(), &apiv1.RepoCredsServiceDeleteRepositoryCredentialsRequest{Url: url}); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "credential template %q removed\n", url)
			}
			return nil
		},
	}
}
