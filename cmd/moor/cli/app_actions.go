package cli

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
)

// actionTarget names the resource of `app actions` (argocd's flags).
type actionTarget struct {
	group, kind, namespace, name string
}

func (a *actionTarget) bind(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&a.group, "group", "", "API group of the resource (apps for a Deployment)")
	f.StringVar(&a.kind, "kind", "", "kind of the resource (required)")
	f.StringVar(&a.namespace, "namespace", "", "namespace of the resource (default: the app's destination namespace)")
	f.StringVar(&a.name, "resource-name", "", "name of the resource (required)")
	_ = cmd.MarkFlagRequired("kind")
	_ = cmd.MarkFlagRequired("resource-name")
}

// group defaults to apps for the kinds that have built-in actions, so `--kind Deployment` is enough.
func (a *actionTarget) groupOrDefault() string {
	if a.group != "" {
		return a.group
	}
	switch a.kind {
	case "Deployment", "StatefulSet", "DaemonSet":
		return "apps"
	case "CronJob", "Job":
		return "batch"
	}
	return ""
}

func newAppActionsCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "actions",
		Short: "List and run resource actions (restart, pause, resume, create-job)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	var list, run actionTarget
	listCmd := &cobra.Command{
		Use:     "list APP",
		Short:   "List the actions of one resource of an application",
		Example: "  moor app actions list guestbook --kind Deployment --resource-name guestbook-ui",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.appSession()
			if err != nil {
				return err
			}
			defer s.Close()
			res, err := s.apps.ListResourceActions(cmd.Context(), &apiv1.ApplicationServiceListResourceActionsRequest{
				Name: args[0], Group: list.groupOrDefault(), Kind: list.kind, Namespace: list.namespace, ResourceName: list.name})
			if err != nil {
				return err
			}
			rows := make([][]string, 0, len(res.GetActions()))
			for _, a := range res.GetActions() {
				rows = append(rows, []string{list.groupOrDefault(), list.kind, list.name, a.GetName(), strconv.FormatBool(a.GetDisabled())})
			}
			return printTable(cmd.OutOrStdout(), []string{"GROUP", "KIND", "NAME", "ACTION", "DISABLED"}, rows)
		},
	}
	list.bind(listCmd)
	runCmd := &cobra.Command{
		Use:     "run APP ACTION",
		Short:   "Run an action on one resource of an application",
		Example: "  moor app actions run guestbook restart --kind Deployment --resource-name guestbook-ui",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.appSession()
			if err != nil {
				return err
			}
			defer s.Close()
			if _, err := s.apps.RunResourceAction(cmd.Context(), &apiv1.ApplicationServiceRunResourceActionRequest{
				Name: args[0], Action: args[1], Group: run.groupOrDefault(), Kind: run.kind, Namespace: run.namespace, ResourceName: run.name}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "action '%s' run on %s '%s' of application '%s'\n", args[1], run.kind, run.name, args[0])
			return nil
		},
	}
	run.bind(runCmd)
	cmd.AddCommand(listCmd, runCmd)
	return cmd
}
