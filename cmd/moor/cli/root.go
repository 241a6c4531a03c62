// Package cli builds the moor command tree (cobra). Each command group lives in its own file; connection
// flags and the config file are in client.go and config.go, tables and formats in output.go, exit codes in
// errors.go.
package cli

import (
	"github.com/spf13/cobra"
)

// NewRootCommand returns the moor command with every subcommand attached.
func NewRootCommand() *cobra.Command {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:           "moor",
		Short:         "Moor is GitOps continuous delivery for Kubernetes, compatible with Argo CD's manifests",
		Long:          "Moor is GitOps continuous delivery for Kubernetes, compatible with Argo CD's manifests.\n\n" + exitCodesHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	g.bind(root.PersistentFlags())
	root.AddCommand(newVersionCommand(g))
	root.AddCommand(newAdminCommand())
	root.AddCommand(newLoginCommand(g), newLogoutCommand(g), newContextCommand(g))
	root.AddCommand(newAppCommand(g))
	root.AddCommand(newProjCommand(g))
	root.AddCommand(newRepoCommand(g))
	root.AddCommand(newRepoCredsCommand(g))
	root.AddCommand(newClusterCommand(g))
	root.AddCommand(newAccountCommand(g))
	root.AddCommand(newCompletionCommand())
	return root
}
