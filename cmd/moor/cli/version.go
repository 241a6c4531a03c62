package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/moorcd/moor/pkg/version"
)

func newVersionCommand(_ *globalOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the client version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := version.Get()
			switch output {
			case "json":
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"client": info})
			case "", "short":
				_, err := fmt.Fprintf(cmd.OutOrStdout(), "moor: %s\n", info)
				return err
			default:
				return fmt.Errorf("unknown output format %q (want short or json)", output)
			}
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "short", "output format: short or json")
	return cmd
}
