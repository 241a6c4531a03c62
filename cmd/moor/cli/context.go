package cli

import (
	"fmt"
	"slices"

	"github.com/spf13/cobra"
)

func newContextCommand(g *globalOptions) *cobra.Command {
	var del bool
	cmd := &cobra.Command{
		Use:     "context [NAME]",
		Aliases: []string{"ctx"},
		Short:   "List the contexts of the config file, switch to one, or delete one",
		Example: `  moor context             # list; the current one is marked with *
  moor context prod        # switch
  moor context prod --delete`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, cfg, err := g.configFile()
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if len(args) == 0 {
				if del {
					return usageErrorf("name the context to delete")
				}
				rows := make([][]string, 0, len(cfg.Contexts))
				for _, c := range cfg.Contexts {
					mark := ""
					if c.Name == cfg.CurrentContext {
						mark = "*"
					}
					rows = append(rows, []string{mark, c.Name, c.Server})
				}
				return appTable{headers: []string{"CURRENT", "NAME", "SERVER"}, rows: rows}.print(w)
			}
			name := args[0]
			if _, _, _, ok := cfg.Context(name); !ok {
				return exitf(ExitNotFound, "no context %q in %s", name, path)
			}
			if del {
				cfg.Remove(name)
				// Forget servers no context uses any more.
				cfg.Servers = slices.DeleteFunc(cfg.Servers, func(s ServerConfig) bool {
					return !slices.ContainsFunc(cfg.Contexts, func(c ContextRef) bool { return c.Server == s.Server })
				})
				if err := cfg.Write(path); err != nil {
					return err
				}
				fmt.Fprintf(w, "Context '%s' deleted\n", name)
				return nil
			}
			cfg.CurrentContext = name
			if err := cfg.Write(path); err != nil {
				return err
			}
			fmt.Fprintf(w, "Switched to context '%s'\n", name)
			return nil
		},
	}
	cmd.Flags().BoolVar(&del, "delete", false, "delete the context (and its token)")
	return cmd
}
