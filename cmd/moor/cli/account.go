package cli

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/crypto/bcrypt"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
)

// newAccountCommand returns the account group: local accounts, their passwords and API tokens, and RBAC checks.
func newAccountCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "account",
		Aliases: []string{"accounts"},
		Short:   "Manage local accounts: passwords, API tokens, permission checks",
		Args:    cobra.NoArgs,
	}
	cmd.AddCommand(
		newAccountListCommand(g),
		newAccountGetCommand(g),
		newAccountGetUserInfoCommand(g),
		newAccountCanICommand(g),
		newAccountUpdatePasswordCommand(g),
		newAccountGenerateTokenCommand(g),
		newAccountDeleteTokenCommand(g),
		newAccountBcryptCommand(),
	)
	return cmd
}

func newAccountListCommand(g *globalOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List local accounts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, "", "name", "json", "yaml"); err != nil {
				return err
			}
			conn, err := g.conn()
			if err != nil {
				return err
			}
			defer conn.Close()
			resp, err := apiv1.NewAccountServiceClient(conn).ListAccounts(cmd.Context(), &apiv1.AccountServiceListAccountsRequest{})
			if err != nil {
				return err
			}
			items := resp.GetItems()
			w := cmd.OutOrStdout()
			switch output {
			case "json", "yaml":
				return printMessages(w, output, true, items...)
			case "name":
				for _, a := range items {
					fmt.Fprintln(w, a.GetName())
				}
				return nil
			}
			rows := make([][]string, 0, len(items))
			for _, a := range items {
				rows = append(rows, []string{a.GetName(), strconv.FormatBool(a.GetEnabled()), strings.Join(a.GetCapabilities(), ", ")})
			}
			return printTable(w, []string{"NAME", "ENABLED", "CAPABILITIES"}, rows)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json, yaml or name")
	return cmd
}

// currentAccount is account, or the caller's name when empty.
func currentAccount(ctx context.Context, conn apiv1.SessionServiceClient, account string) (string, error) {
	if account != "" {
		return account, nil
	}
	info, err := conn.GetUserInfo(ctx, &apiv1.SessionServiceGetUserInfoRequest{})
	if err != nil {
		return "", err
	}
	if !info.GetLoggedIn() {
		return "", usageErrorf("not logged in: pass --account, or run 'moor login'")
	}
	return info.GetUsername(), nil
}

func newAccountGetCommand(g *globalOptions) *cobra.Command {
	var account, output string
	cmd := &cobra.Command{
		Use:   "get",
		Short: "Show an account and its API tokens (the caller's by default)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, "", "json", "yaml"); err != nil {
				return err
			}
			conn, err := g.conn()
			if err != nil {
				return err
			}
			defer conn.Close()
			ctx := cmd.Context()
			name, err := currentAccount(ctx, apiv1.NewSessionServiceClient(conn), account)
			if err != nil {
				return err
			}
			resp, err := apiv1.NewAccountServiceClient(conn).GetAccount(ctx, &apiv1.AccountServiceGetAccountRequest{Name: name})
			if err != nil {
				return err
			}
			a := resp.GetAccount()
			w := cmd.OutOrStdout()
			if output != "" {
				return printMessages(w, output, false, a)
			}
			return printAccount(w, a)
		},
	}
	cmd.Flags().StringVarP(&account, "account", "a", "", "account name (default: the caller)")
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json or yaml")
	return cmd
}

func printAccount(w io.Writer, a *apiv1.Account) error {
	if err := printFields(w, [][2]string{
		{"Name", a.GetName()},
		{"Enabled", strconv.FormatBool(a.GetEnabled())},
		{"Capabilities", strings.Join(a.GetCapabilities(), ", ")},
	}); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nTokens:")
	tokens := slices.Clone(a.GetTokens())
	if len(tokens) == 0 {
		_, err := fmt.Fprintln(w, "NONE")
		return err
	}
	slices.SortStableFunc(tokens, func(x, y *apiv1.Token) int { return cmp.Compare(x.GetIssuedAt(), y.GetIssuedAt()) })
	rows := make([][]string, 0, len(tokens))
	for _, t := range tokens {
		rows = append(rows, []string{t.GetId(), unixTime(t.GetIssuedAt()), unixTime(t.GetExpiresAt())})
	}
	return printTable(w, []string{"ID", "ISSUED AT", "EXPIRING AT"}, rows)
}

func newAccountGetUserInfoCommand(g *globalOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "get-user-info",
		Short: "Show who the server takes the caller for",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, "", "json", "yaml"); err != nil {
				return err
			}
			conn, err := g.conn()
			if err != nil {
				return err
			}
			defer conn.Close()
			info, err := apiv1.NewSessionServiceClient(conn).GetUserInfo(cmd.Context(), &apiv1.SessionServiceGetUserInfoRequest{})
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if output != "" {
				return printMessages(w, output, false, info)
			}
			return printFields(w, [][2]string{
				{"Logged In", strconv.FormatBool(info.GetLoggedIn())},
				{"Username", info.GetUsername()},
				{"Issuer", info.GetIss()},
				{"Groups", strings.Join(info.GetGroups(), ",")},
			})
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json or yaml")
	return cmd
}

func newAccountCanICommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "can-i ACTION RESOURCE SUBRESOURCE",
		Short: "Tell whether the caller may do ACTION on RESOURCE's object SUBRESOURCE (prints yes or no)",
		Example: `  moor account can-i sync applications 'shop/*'
  moor account can-i create projects '*'
  moor account can-i get clusters https://kubernetes.default.svc`,
		Args: cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			conn, err := g.conn()
			if err != nil {
				return err
			}
			defer conn.Close()
			resp, err := apiv1.NewAccountServiceClient(conn).CanI(cmd.Context(), &apiv1.AccountServiceCanIRequest{
				Action: args[0], Resource: args[1], Subresource: args[2],
			})
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			color := ansiRed
			if resp.GetValue() == "yes" {
				color = ansiGreen
			}
			_, err = fmt.Fprintln(w, paint(colorEnabled(w), color, resp.GetValue()))
			return err
		},
	}
}

func newAccountUpdatePasswordCommand(g *globalOptions) *cobra.Command {
	var account, current, next string
	cmd := &cobra.Command{
		Use:   "update-password",
		Short: "Change an account's password (the caller's by default)",
		Long: `Change an account's password: the caller's own, or (with accounts update permission) another's.
The caller always proves who they are with their current password. Passwords not given as flags are asked for,
without echo on a terminal. The change ends the account's earlier sessions; when it is the caller's own
password and the token came from the config file, the CLI logs in again and stores the new session.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := g.conn()
			if err != nil {
				return err
			}
			defer conn.Close()
			ctx := cmd.Context()
			sessions := apiv1.NewSessionServiceClient(conn)
			caller, err := currentAccount(ctx, sessions, "")
			if err != nil {
				return err
			}
			name := account
			if name == "" {
				name = caller
			}
			if current == "" {
				if current, err = promptSecret(cmd, "Current password of "+caller+": "); err != nil {
					return err
				}
			}
			if next == "" {
				if next, err = promptSecret(cmd, "New password for "+name+": "); err != nil {
					return err
				}
				if _, tty := stdinIsTerminal(cmd); tty {
					again, err := promptSecret(cmd, "Confirm the new password: ")
					if err != nil {
						return err
					}
					if again != next {
						return usageErrorf("the passwords differ")
					}
				}
			}
			if _, err := apiv1.NewAccountServiceClient(conn).UpdatePassword(ctx, &apiv1.AccountServiceUpdatePasswordRequest{
				Name: name, CurrentPassword: current, NewPassword: next,
			}); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "password of %s updated\n", name)
			if name != caller {
				return nil
			}
			return renewSession(cmd, g, sessions, name, next)
		},
	}
	cmd.Flags().StringVarP(&account, "account", "a", "", "account to change (default: the caller)")
	cmd.Flags().StringVar(&current, "current-password", "", "the caller's current password")
	cmd.Flags().StringVar(&next, "new-password", "", "the new password")
	return cmd
}

// renewSession logs in again after the caller changed their own password (which ended their session) and
// stores the new token in the config context it came from. A token given by flag or environment is left to
// the user.
func renewSession(cmd *cobra.Command, g *globalOptions, sessions apiv1.SessionServiceClient, user, password string) error {
	if g.authToken != "" || os.Getenv("MOOR_AUTH_TOKEN") != "" {
		fmt.Fprintln(cmd.ErrOrStderr(), "the token in use no longer works: run 'moor login' or pass a new --auth-token")
		return nil
	}
	path, cfg, err := g.configFile()
	if err != nil {
		return err
	}
	ref, _, _, ok := cfg.Context(g.context)
	if !ok {
		return nil
	}
	i := slices.IndexFunc(cfg.Users, func(u UserConfig) bool { return u.Name == ref.User })
	if i < 0 {
		return nil
	}
	resp, err := sessions.Create(cmd.Context(), &apiv1.SessionServiceCreateRequest{Username: user, Password: password})
	if err != nil {
		return fmt.Errorf("logging in again with the new password: %w", err)
	}
	cfg.Users[i].AuthToken = resp.GetToken()
	if err := cfg.Write(path); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "context %q updated with a new session\n", ref.Name)
	return nil
}

func newAccountGenerateTokenCommand(g *globalOptions) *cobra.Command {
	var account, expiresIn, id string
	cmd := &cobra.Command{
		Use:   "generate-token",
		Short: "Issue an API token for an account with the apiKey capability (prints only the token)",
		Example: `  moor account generate-token --account ci --expires-in 30d
  moor account generate-token --account ci --id deploy-bot`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := parseLongDuration(expiresIn)
			if err != nil {
				return usageErrorf("--expires-in: %v", err)
			}
			conn, err := g.conn()
			if err != nil {
				return err
			}
			defer conn.Close()
			ctx := cmd.Context()
			name, err := currentAccount(ctx, apiv1.NewSessionServiceClient(conn), account)
			if err != nil {
				return err
			}
			resp, err := apiv1.NewAccountServiceClient(conn).CreateToken(ctx, &apiv1.AccountServiceCreateTokenRequest{
				Name: name, ExpiresIn: int64(d / time.Second), Id: id,
			})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), resp.GetToken())
			return err
		},
	}
	cmd.Flags().StringVarP(&account, "account", "a", "", "account name (default: the caller)")
	cmd.Flags().StringVarP(&expiresIn, "expires-in", "e", "0", "lifetime, e.g. 12h or 30d; 0 never expires")
	cmd.Flags().StringVar(&id, "id", "", "token ID (default: random)")
	return cmd
}

func newAccountDeleteTokenCommand(g *globalOptions) *cobra.Command {
	var account string
	cmd := &cobra.Command{
		Use:   "delete-token ID",
		Short: "Revoke an account's API token",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			conn, err := g.conn()
			if err != nil {
				return err
			}
			defer conn.Close()
			ctx := cmd.Context()
			name, err := currentAccount(ctx, apiv1.NewSessionServiceClient(conn), account)
			if err != nil {
				return err
			}
			if _, err := apiv1.NewAccountServiceClient(conn).DeleteToken(ctx, &apiv1.AccountServiceDeleteTokenRequest{Name: name, Id: args[0]}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "token %q of %s revoked\n", args[0], name)
			return nil
		},
	}
	cmd.Flags().StringVarP(&account, "account", "a", "", "account name (default: the caller)")
	return cmd
}

func newAccountBcryptCommand() *cobra.Command {
	var password string
	cmd := &cobra.Command{
		Use:   "bcrypt",
		Short: "Print the bcrypt hash of a password, for accounts.<name>.password in argocd-secret",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if password == "" {
				var err error
				if password, err = promptSecret(cmd, "Password: "); err != nil {
					return err
				}
			}
			if password == "" {
				return usageErrorf("the password is empty")
			}
			hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
			if err != nil {
				return usageErrorf("hashing: %v", err)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), string(hash))
			return err
		},
	}
	cmd.Flags().StringVar(&password, "password", "", "password to hash (asked for when not given)")
	return cmd
}
