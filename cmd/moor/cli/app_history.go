package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

func newAppHistoryCommand(g *globalOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "history NAME",
		Short: "List an application's deployments (the IDs 'moor app rollback' takes)",
		Example: `  moor app history guestbook
  moor app history guestbook -o wide
  moor app rollback guestbook "$(moor app history guestbook -o id | tail -2 | head -1)"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch output {
			case "", "wide", "id":
			default:
				return usageErrorf("unknown output format %q (want wide or id)", output)
			}
			s, err := g.appSession()
			if err != nil {
				return err
			}
			defer s.Close()
			app, err := s.get(cmd.Context(), args[0], "")
			if err != nil {
				return err
			}
			return printHistory(cmd.OutOrStdout(), app, output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: wide or id")
	return cmd
}

// printHistory prints status.history oldest first: ID DATE REVISION (wide adds duration, source and
// initiator; id prints only the IDs).
func printHistory(w io.Writer, app *v1alpha1.Application, output string) error {
	if output == "id" {
		for _, h := range app.Status.History {
			fmt.Fprintln(w, h.ID)
		}
		return nil
	}
	headers := []string{"ID", "DATE", "REVISION"}
	if output == "wide" {
		headers = []string{"ID", "DATE", "DURATION", "REVISION", "REPO", "PATH", "INITIATED BY"}
	}
	rows := make([][]string, 0, len(app.Status.History))
	for _, h := range app.Status.History {
		srcs := h.Sources
		if h.Source != nil {
			srcs = v1alpha1.ApplicationSources{*h.Source}
		}
		revs := h.Revisions
		if h.Revision != "" {
			revs = []string{h.Revision}
		}
		date := h.DeployedAt.UTC().Format(time.RFC3339)
		if output != "wide" {
			parts := make([]string, len(revs))
			for i, r := range revs {
				parts[i] = appShortRev(r)
				if i < len(srcs) && srcs[i].TargetRevision != "" && srcs[i].TargetRevision != r {
					parts[i] += " (" + srcs[i].TargetRevision + ")"
				}
			}
			rows = append(rows, []string{fmt.Sprint(h.ID), date, strings.Join(parts, ", ")})
			continue
		}
		dur := ""
		if h.DeployStartedAt != nil {
			dur = appAge(h.DeployedAt.Sub(h.DeployStartedAt.Time))
		}
		var repos, paths []string
		for _, s := range srcs {
			repos = append(repos, s.RepoURL)
			p := s.Path
			if s.Chart != "" {
				p = s.Chart
			}
			paths = append(paths, p)
		}
		by := ""
		if h.InitiatedBy != nil {
			by = h.InitiatedBy.Username
			if h.InitiatedBy.Automated {
				by = "automated"
			}
		}
		rows = append(rows, []string{fmt.Sprint(h.ID), date, dur, strings.Join(revs, ","), strings.Join(repos, ","), strings.Join(paths, ","), by})
	}
	return appTable{headers: headers, rows: rows}.print(w)
}
