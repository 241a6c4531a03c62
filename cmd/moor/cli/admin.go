package cli

import "github.com/spf13/cobra"

// newAdminCommand returns the admin group: commands that work on files and settings locally, without a Moor
// server.
func newAdminCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Administrative commands that run locally, without a Moor server",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newAdminHealthCommand())
	return cmd
}
