package cli

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

// newProjRoleCommand returns proj role: the roles of a project, their policies and JWT tokens.
func newProjRoleCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "role",
		Short: "Manage a project's roles, their policies and tokens",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(
		newProjRoleCreateCommand(g),
		newProjRoleDeleteCommand(g),
		newProjRoleListCommand(g),
		newProjRoleGetCommand(g),
		newProjRolePolicyCommand(g, true),
		newProjRolePolicyCommand(g, false),
		newProjRoleCreateTokenCommand(g),
		newProjRoleDeleteTokenCommand(g),
		newProjRoleListTokensCommand(g),
	)
	return cmd
}

func findRole(p *v1alpha1.AppProject, role string) int {
	return slices.IndexFunc(p.Spec.Roles, func(r v1alpha1.ProjectRole) bool { return r.Name == role })
}

func roleNotFound(p *v1alpha1.AppProject, role string) error {
	return exitf(ExitNotFound, "project %q has no role %q", p.Name, role)
}

func newProjRoleCreateCommand(g *globalOptions) *cobra.Command {
	var description string
	cmd := &cobra.Command{
		Use:   "create PROJECT ROLE",
		Short: "Create a project role",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			proj, role := args[0], args[1]
			return changeProject(cmd, g, proj, func(p *v1alpha1.AppProject) (string, error) {
				if i := findRole(p, role); i >= 0 {
					if p.Spec.Roles[i].Description == description || !cmd.Flags().Changed("description") {
						return fmt.Sprintf("role %q already exists in project %q", role, proj), errUnchanged
					}
					p.Spec.Roles[i].Description = description
					return fmt.Sprintf("role %q of project %q updated", role, proj), nil
				}
				p.Spec.Roles = append(p.Spec.Roles, v1alpha1.ProjectRole{Name: role, Description: description})
				return fmt.Sprintf("role %q created in project %q", role, proj), nil
			})
		},
	}
	cmd.Flags().StringVar(&description, "description", "", "role description")
	return cmd
}

func newProjRoleDeleteCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "delete PROJECT ROLE",
		Short: "Delete a project role (its tokens stop working)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			proj, role := args[0], args[1]
			return changeProject(cmd, g, proj, func(p *v1alpha1.AppProject) (string, error) {
				i := findRole(p, role)
				if i < 0 {
					return "", roleNotFound(p, role)
				}
				p.Spec.Roles = slices.Delete(p.Spec.Roles, i, i+1)
				return fmt.Sprintf("role %q deleted from project %q", role, proj), nil
			})
		},
	}
}

func newProjRoleListCommand(g *globalOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list PROJECT",
		Short: "List the roles of a project",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "", "name", "json", "yaml"); err != nil {
				return err
			}
			conn, err := g.conn()
			if err != nil {
				return err
			}
			defer conn.Close()
			p, err := getProject(cmd.Context(), apiv1.NewProjectServiceClient(conn), args[0])
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			switch output {
			case "json", "yaml":
				roles := p.Spec.Roles
				if roles == nil {
					roles = []v1alpha1.ProjectRole{}
				}
				return printStructured(w, output, roles)
			case "name":
				for _, r := range p.Spec.Roles {
					fmt.Fprintln(w, r.Name)
				}
				return nil
			}
			rows := make([][]string, 0, len(p.Spec.Roles))
			for _, r := range p.Spec.Roles {
				rows = append(rows, []string{r.Name, r.Description})
			}
			return printTable(w, []string{"ROLE-NAME", "DESCRIPTION"}, rows)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json, yaml or name")
	return cmd
}

func newProjRoleGetCommand(g *globalOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "get PROJECT ROLE",
		Short: "Show a project role: its policies, groups and tokens",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "", "json", "yaml"); err != nil {
				return err
			}
			conn, err := g.conn()
			if err != nil {
				return err
			}
			defer conn.Close()
			p, err := getProject(cmd.Context(), apiv1.NewProjectServiceClient(conn), args[0])
			if err != nil {
				return err
			}
			i := findRole(p, args[1])
			if i < 0 {
				return roleNotFound(p, args[1])
			}
			r := p.Spec.Roles[i]
			w := cmd.OutOrStdout()
			if output != "" {
				return printStructured(w, output, r)
			}
			if err := printFields(w, [][2]string{
				{"Role Name", r.Name},
				{"Description", r.Description},
				{"Policies", orNone(strings.Join(r.Policies, "\n"))},
				{"Groups", orNone(strings.Join(r.Groups, "\n"))},
			}); err != nil {
				return err
			}
			fmt.Fprintln(w, "JWT Tokens:")
			return printRoleTokens(w, roleTokens(p, r.Name))
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json or yaml")
	return cmd
}

// roleTokens are the token records of a role: status.jwtTokensByRole and the role's own list, without
// duplicates, oldest first.
func roleTokens(p *v1alpha1.AppProject, role string) []v1alpha1.JWTToken {
	var out []v1alpha1.JWTToken
	add := func(t v1alpha1.JWTToken) {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	for _, t := range p.Status.JWTTokensByRole[role].Items {
		add(t)
	}
	if i := findRole(p, role); i >= 0 {
		for _, t := range p.Spec.Roles[i].JWTTokens {
			add(t)
		}
	}
	slices.SortStableFunc(out, func(a, b v1alpha1.JWTToken) int { return cmp.Compare(a.IssuedAt, b.IssuedAt) })
	return out
}

func printRoleTokens(w io.Writer, tokens []v1alpha1.JWTToken) error {
	rows := make([][]string, 0, len(tokens))
	for _, t := range tokens {
		rows = append(rows, []string{t.ID, strconv.FormatInt(t.IssuedAt, 10), unixTime(t.IssuedAt), unixTime(t.ExpiresAt)})
	}
	return printTable(w, []string{"ID", "ISSUED-AT", "ISSUED", "EXPIRES-AT"}, rows)
}

func newProjRoleListTokensCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "list-tokens PROJECT ROLE",
		Short: "List the tokens issued for a project role (ISSUED-AT is what delete-token takes)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			conn, err := g.conn()
			if err != nil {
				return err
			}
			defer conn.Close()
			p, err := getProject(cmd.Context(), apiv1.NewProjectServiceClient(conn), args[0])
			if err != nil {
				return err
			}
			if findRole(p, args[1]) < 0 {
				return roleNotFound(p, args[1])
			}
			return printRoleTokens(cmd.OutOrStdout(), roleTokens(p, args[1]))
		},
	}
}

// newProjRolePolicyCommand returns add-policy (add=true) or remove-policy.
func newProjRolePolicyCommand(g *globalOptions, add bool) *cobra.Command {
	var action, object, permission, resource string
	use, short := "add-policy PROJECT ROLE", "Add a policy to a project role"
	if !add {
		use, short = "remove-policy PROJECT ROLE", "Remove a policy from a project role"
	}
	cmd := &cobra.Command{
		Use:     use,
		Short:   short,
		Example: "  moor proj role " + strings.Fields(use)[0] + " shop ci -a sync -o '*' -p allow",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			proj, role := args[0], args[1]
			if action == "" || object == "" {
				return usageErrorf("give the policy's --action and --object")
			}
			if permission != "allow" && permission != "deny" {
				return usageErrorf("--permission must be allow or deny, not %q", permission)
			}
			line := policyLine(proj, role, resource, action, object, permission)
			return changeProject(cmd, g, proj, func(p *v1alpha1.AppProject) (string, error) {
				i := findRole(p, role)
				if i < 0 {
					return "", roleNotFound(p, role)
				}
				r := &p.Spec.Roles[i]
				has := slices.ContainsFunc(r.Policies, func(s string) bool { return normalizePolicy(s) == line })
				switch {
				case add && has:
					return fmt.Sprintf("role %q already has the policy %q", role, line), errUnchanged
				case add:
					r.Policies = append(r.Policies, line)
					return fmt.Sprintf("policy %q added to role %q", line, role), nil
				case !has:
					return fmt.Sprintf("role %q has no policy %q", role, line), errUnchanged
				}
				r.Policies = slices.DeleteFunc(r.Policies, func(s string) bool { return normalizePolicy(s) == line })
				return fmt.Sprintf("policy %q removed from role %q", line, role), nil
			})
		},
	}
	cmd.Flags().StringVarP(&action, "action", "a", "", "action to allow or deny, e.g. get, sync, action/apps/Deployment/restart")
	cmd.Flags().StringVarP(&object, "object", "o", "", "object inside the project, e.g. an application name or '*'")
	cmd.Flags().StringVarP(&permission, "permission", "p", "allow", "allow or deny")
	cmd.Flags().StringVarP(&resource, "resource", "r", "applications", "RBAC resource, e.g. applications, applicationsets, logs, exec")
	return cmd
}

// policyLine is a project role's policy in Casbin form; the object is always inside the project.
func policyLine(proj, role, resource, action, object, permission string) string {
	return fmt.Sprintf("p, proj:%s:%s, %s, %s, %s/%s, %s", proj, role, resource, action, proj, object, permission)
}

// normalizePolicy writes a policy line with ", " between its fields, so spacing does not matter.
func normalizePolicy(s string) string {
	fields := strings.Split(s, ",")
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	return strings.Join(fields, ", ")
}

func newProjRoleCreateTokenCommand(g *globalOptions) *cobra.Command {
	var (
		expiresIn string
		id        string
		tokenOnly bool
	)
	cmd := &cobra.Command{
		Use:   "create-token PROJECT ROLE",
		Short: "Issue a JWT for a project role (shown once; not stored)",
		Example: `  moor proj role create-token shop ci --expires-in 30d
  TOKEN=$(moor proj role create-token shop ci -t)`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := parseLongDuration(expiresIn)
			if err != nil {
				return usageErrorf("--expires-in: %v", err)
			}
			conn, err := g.conn()
			if err != nil {
				return err
			}
			defer conn.Close()
			resp, err := apiv1.NewProjectServiceClient(conn).CreateToken(cmd.Context(), &apiv1.ProjectServiceCreateTokenRequest{
				Project: args[0], Role: args[1], ExpiresIn: int64(d / time.Second), Id: id,
			})
			if err != nil {
				return err
			}
			claims, err := readTokenClaims(resp.GetToken())
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if tokenOnly {
				_, err := fmt.Fprintln(w, resp.GetToken())
				return err
			}
			fmt.Fprintf(w, "Token created for %s\n", claims.Subject)
			return printFields(w, [][2]string{
				{"ID", claims.ID},
				{"Issued At", fmt.Sprintf("%s (%d)", unixTime(claims.IssuedAt), claims.IssuedAt)},
				{"Expires At", unixTime(claims.ExpiresAt)},
				{"Token", resp.GetToken()},
			})
		},
	}
	cmd.Flags().StringVarP(&expiresIn, "expires-in", "e", "0", "lifetime, e.g. 12h or 7d; 0 never expires")
	cmd.Flags().StringVarP(&id, "id", "i", "", "token ID (default: random)")
	cmd.Flags().BoolVarP(&tokenOnly, "token-only", "t", false, "print only the token, for scripts")
	return cmd
}

func newProjRoleDeleteTokenCommand(g *globalOptions) *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:   "delete-token PROJECT ROLE [ISSUED_AT]",
		Short: "Revoke a project role's token by its issued-at time (see role list-tokens) or --id",
		Args:  cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			var iat int64
			switch {
			case len(args) == 3:
				v, err := strconv.ParseInt(args[2], 10, 64)
				if err != nil || v <= 0 {
					return usageErrorf("ISSUED_AT must be Unix seconds, not %q (see 'moor proj role list-tokens')", args[2])
				}
				iat = v
			case id == "":
				return usageErrorf("give the token's ISSUED_AT or --id")
			}
			conn, err := g.conn()
			if err != nil {
				return err
			}
			defer conn.Close()
			c := apiv1.NewProjectServiceClient(conn)
			if _, err := c.DeleteToken(cmd.Context(), &apiv1.ProjectServiceDeleteTokenRequest{
				Project: args[0], Role: args[1], Iat: iat, Id: id,
			}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "token of role %q in project %q revoked\n", args[1], args[0])
			return nil
		},
	}
	cmd.Flags().StringVarP(&id, "id", "i", "", "the token's ID instead of ISSUED_AT")
	return cmd
}
