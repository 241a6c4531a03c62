package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
)

func newAppManifestsCommand(g *globalOptions) *cobra.Command {
	var source, revision string
	cmd := &cobra.Command{
		Use:   "manifests NAME",
		Short: "Print an application's manifests: rendered from Git, or live in the cluster",
		Long: `Print an application's manifests as YAML documents: --source git (the default) renders the source at
--revision (default: the target revision); --source live prints the live objects the controller last saw.
Secret values are masked in both.`,
		Example: `  moor app manifests guestbook
  moor app manifests guestbook --revision v2
  moor app manifests guestbook --source live`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if source != "git" && source != "live" {
				return usageErrorf("--source %q: want git or live", source)
			}
			if source == "live" && revision != "" {
				return usageErrorf("--revision applies to --source git only")
			}
			s, err := g.appSession()
			if err != nil {
				return err
			}
			defer s.Close()
			var docs []string
			if source == "git" {
				resp, err := s.apps.GetManifests(cmd.Context(), &apiv1.ApplicationServiceGetManifestsRequest{Name: args[0], Revision: revision})
				if err != nil {
					return err
				}
				docs = resp.GetManifests()
			} else {
				resp, err := s.apps.ManagedResources(cmd.Context(), &apiv1.ApplicationServiceManagedResourcesRequest{ApplicationName: args[0]})
				if err != nil {
					return err
				}
				for _, r := range resp.GetItems() {
					if r.GetLiveState() != "" && r.GetLiveState() != "null" {
						docs = append(docs, r.GetLiveState())
					}
				}
			}
			return printYAMLDocs(cmd.OutOrStdout(), docs)
		},
	}
	cmd.Flags().StringVar(&source, "source", "git", "git (rendered from the source) or live (in the cluster)")
	cmd.Flags().StringVar(&revision, "revision", "", "render this revision instead of the target revision")
	return cmd
}

// printYAMLDocs prints JSON documents as a YAML stream.
func printYAMLDocs(w io.Writer, docs []string) error {
	for i, d := range docs {
		y, err := yaml.JSONToYAML([]byte(d))
		if err != nil {
			return fmt.Errorf("manifest %d: %w", i+1, err)
		}
		if i > 0 {
			fmt.Fprintln(w, "---")
		}
		if _, err := w.Write(y); err != nil {
			return err
		}
	}
	return nil
}

func newAppResourcesCommand(g *globalOptions) *cobra.Command {
	var orphaned bool
	cmd := &cobra.Command{
		Use:   "resources NAME",
		Short: "List an application's resources (and orphaned resources of its namespace)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.appSession()
			if err != nil {
				return err
			}
			defer s.Close()
			app, err := s.get(cmd.Context(), args[0], "")
			if err != nil {
				return err
			}
			tree, err := s.apps.ResourceTree(cmd.Context(), &apiv1.ApplicationServiceResourceTreeRequest{ApplicationName: args[0]})
			if err != nil {
				return err
			}
			var rows [][]string
			if !orphaned {
				for _, r := range app.Status.Resources {
					rows = append(rows, []string{r.Group, r.Kind, r.Namespace, r.Name, "No"})
				}
			}
			for _, n := range tree.GetTree().GetOrphanedNodes() {
				rows = append(rows, []string{n.GetGroup(), n.GetKind(), n.GetNamespace(), n.GetName(), "Yes"})
			}
			return appTable{headers: []string{"GROUP", "KIND", "NAMESPACE", "NAME", "ORPHANED"}, rows: rows}.print(cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVar(&orphaned, "orphaned", false, "list only orphaned resources (needs orphanedResources in the project)")
	return cmd
}
