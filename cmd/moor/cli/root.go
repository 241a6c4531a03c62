// Package cli builds the moor command tree (cobra). Each command group lives in its own file.
package cli

import (
	"github.com/spf13/cobra"
)

// NewRootCommand returns the moor command with every subcommand attached.
func NewRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "moor",
		Short:         "Moor is GitOps continuous delivery for Kubernetes, compatible with Argo CD's manifests",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newVersionCommand())
	root.AddCommand(newAdminCommand())
	return root
}
