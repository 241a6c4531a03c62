package cli

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
)

func newAppDeleteCommand(g *globalOptions) *cobra.Command {
	var (
		cascade, wait, yes bool
		policy, selector   string
		projects           []string
		timeout            uint
	)
	cmd := &cobra.Command{
		Use:   "delete NAME...",
		Short: "Delete applications, by default with their resources",
		Long: `Delete applications. With --cascade (the default) the controller deletes the application's resources
first (foreground, or background with -p background); --cascade=false leaves them running.

Without -y it asks for confirmation on standard input, as argocd does: answer y or yes. When standard input
is not a terminal the answer is read from it too, so 'yes | moor app delete x' works and a script with no
input stops with an error instead of deleting anything; pass -y in scripts.`,
		Example: `  moor app delete guestbook
  moor app delete guestbook --cascade=false -y
  moor app delete -l team=web -y --wait --timeout 300`,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch policy {
			case "foreground", "background":
			default:
				return usageErrorf("--propagation-policy %q: want foreground or background", policy)
			}
			s, err := g.appSession()
			if err != nil {
				return err
			}
			defer s.Close()
			names, err := s.selectApps(cmd.Context(), args, selector, projects)
			if err != nil {
				return err
			}
			in := bufio.NewReader(cmd.InOrStdin())
			ctx, cancel := appTimeoutContext(cmd.Context(), timeout)
			defer cancel()
			w := cmd.OutOrStdout()
			for _, name := range names {
				if !yes {
					what := "and all its resources"
					if !cascade {
						what = "(its resources stay)"
					}
					ok, err := appConfirm(in, cmd.ErrOrStderr(), fmt.Sprintf("Delete application '%s' %s? [y/n] ", name, what))
					if err != nil {
						return err
					}
					if !ok {
						fmt.Fprintf(w, "application '%s' not deleted\n", name)
						continue
					}
				}
				req := &apiv1.ApplicationServiceDeleteRequest{Name: name, Cascade: proto.Bool(cascade), PropagationPolicy: policy}
				if _, err := s.apps.Delete(ctx, req); err != nil {
					return fmt.Errorf("delete %s: %w", name, err)
				}
				if !wait {
					fmt.Fprintf(w, "application '%s' deletion requested\n", name)
					continue
				}
				if _, err := waitForApp(ctx, s, name, waitOptions{delete: true}, timeout); err != nil {
					return err
				}
				fmt.Fprintf(w, "application '%s' deleted\n", name)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&cascade, "cascade", true, "delete the application's resources too")
	f.StringVarP(&policy, "propagation-policy", "p", "foreground", "how resources are deleted with --cascade: foreground or background")
	f.BoolVar(&wait, "wait", false, "wait until the application (and with --cascade its resources) is gone")
	f.BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	f.UintVar(&timeout, "timeout", 0, "with --wait, give up after this many seconds (exit 1)")
	f.StringVarP(&selector, "selector", "l", "", "delete the applications matching this label selector")
	f.StringSliceVar(&projects, "project", nil, "with --selector, only applications of these projects")
	return cmd
}

// appConfirm asks question on out and reads a y/n answer from in. End of input is an error: nothing is done
// without an answer.
func appConfirm(in *bufio.Reader, out io.Writer, question string) (bool, error) {
	for range 3 {
		fmt.Fprint(out, question)
		line, err := in.ReadString('\n')
		answer := strings.ToLower(strings.TrimSpace(line))
		switch answer {
		case "y", "yes":
			return true, nil
		case "n", "no":
			return false, nil
		}
		if err != nil {
			fmt.Fprintln(out)
			return false, usageErrorf("no confirmation on standard input: pass -y to delete without asking")
		}
	}
	return false, nil
}
