package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/kubeproto"
)

// newAppCommand returns `moor app` and its subcommands (argocd's verbs and flags).
func newAppCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "app",
		Aliases: []string{"apps", "application", "applications"},
		Short:   "Manage applications",
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(
		newAppCreateCommand(g),
		newAppGetCommand(g),
		newAppListCommand(g),
		newAppSyncCommand(g),
		newAppWaitCommand(g),
		newAppDiffCommand(g),
		newAppHistoryCommand(g),
		newAppRollbackCommand(g),
		newAppDeleteCommand(g),
		newAppSetCommand(g),
		newAppUnsetCommand(g),
		newAppManifestsCommand(g),
		newAppResourcesCommand(g),
		newAppTerminateOpCommand(g),
		newAppPatchCommand(g),
		newAppActionsCommand(g),
	)
	return cmd
}

// appSession is an open connection to moor-server for one command.
type appSession struct {
	conn   *grpc.ClientConn
	apps   apiv1.ApplicationServiceClient
	server string
}

func (g *globalOptions) appSession() (*appSession, error) {
	t, err := g.resolve()
	if err != nil {
		return nil, err
	}
	conn, err := dial(t)
	if err != nil {
		return nil, err
	}
	return &appSession{conn: conn, apps: apiv1.NewApplicationServiceClient(conn), server: t.Server}, nil
}

func (s *appSession) Close() { _ = s.conn.Close() }

// get reads one application; refresh is "", "normal" or "hard".
func (s *appSession) get(ctx context.Context, name, refresh string) (*v1alpha1.Application, error) {
	resp, err := s.apps.Get(ctx, &apiv1.ApplicationServiceGetRequest{Name: name, Refresh: refresh})
	if err != nil {
		return nil, err
	}
	return appFromMessage(resp.GetApplication())
}

// refreshed asks for a refresh and waits (at most timeout) until the controller has handled it, as the
// argocd server does before answering: the controller removes the refresh annotation once it has compared.
func (s *appSession) refreshed(ctx context.Context, name, refresh string, timeout time.Duration) (*v1alpha1.Application, error) {
	app, err := s.get(ctx, name, refresh)
	if err != nil || refresh == "" {
		return app, err
	}
	if app.Annotations[annotationRefresh] == "" {
		return app, nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done, err := watchApp(ctx, s, name, func(a *v1alpha1.Application, deleted bool) bool {
		return deleted || a.Annotations[annotationRefresh] == ""
	})
	if err != nil || done == nil {
		// The refresh still runs; answer with what there is rather than failing the command.
		return s.get(context.WithoutCancel(ctx), name, "")
	}
	return done, nil
}

// annotationRefresh asks the controller for a refresh; it removes the annotation once handled.
const annotationRefresh = "argocd.argoproj.io/refresh"

// selectApps returns the names the command acts on: the arguments, or the applications matching selector.
func (s *appSession) selectApps(ctx context.Context, args []string, selector string, projects []string) ([]string, error) {
	if selector == "" {
		if len(args) == 0 {
			return nil, usageErrorf("name an application or pass --selector")
		}
		return args, nil
	}
	if len(args) > 0 {
		return nil, usageErrorf("pass either application names or --selector, not both")
	}
	resp, err := s.apps.List(ctx, &apiv1.ApplicationServiceListRequest{Selector: selector, Projects: projects})
	if err != nil {
		return nil, err
	}
	var names []string
	for _, a := range resp.GetList().GetItems() {
		names = append(names, a.GetMetadata().GetName())
	}
	if len(names) == 0 {
		return nil, exitf(ExitNotFound, "no application matches selector %q", selector)
	}
	slices.Sort(names)
	return names, nil
}

// appFromMessage converts the API envelope to the CRD type.
func appFromMessage(msg *apiv1.Application) (*v1alpha1.Application, error) {
	app := &v1alpha1.Application{}
	if msg == nil {
		return app, nil
	}
	if err := kubeproto.FromEnvelope(msg, app); err != nil {
		return nil, err
	}
	app.APIVersion, app.Kind = v1alpha1.SchemeGroupVersion.String(), "Application"
	return app, nil
}

// appToMessage converts the CRD type to the API envelope.
func appToMessage(app *v1alpha1.Application) (*apiv1.Application, error) {
	c := app.DeepCopy()
	c.APIVersion, c.Kind = v1alpha1.SchemeGroupVersion.String(), "Application"
	msg := &apiv1.Application{}
	return msg, kubeproto.ToEnvelope(c, msg)
}

// printable returns app as kubectl prints it: type meta set, managed fields dropped.
func printable(app *v1alpha1.Application) *v1alpha1.Application {
	c := app.DeepCopy()
	c.APIVersion, c.Kind = v1alpha1.SchemeGroupVersion.String(), "Application"
	c.ManagedFields = nil
	return c
}

// appShortRev shortens a commit SHA to 7 characters; tags, branches and chart versions stay whole.
func appShortRev(rev string) string {
	if len(rev) == 40 && strings.Trim(rev, "0123456789abcdef") == "" {
		return rev[:7]
	}
	return rev
}

// syncPolicyString is argocd's SYNCPOLICY column: Manual, Auto or Auto-Prune.
func syncPolicyString(app *v1alpha1.Application) string {
	p := app.Spec.SyncPolicy
	if p == nil || p.Automated == nil || p.Automated.Enabled != nil && !*p.Automated.Enabled {
		return "Manual"
	}
	if p.Automated.Prune != nil && *p.Automated.Prune {
		return "Auto-Prune"
	}
	return "Auto"
}

// conditionsString lists condition types, "<none>" when there are none.
func conditionsString(app *v1alpha1.Application) string {
	if len(app.Status.Conditions) == 0 {
		return "<none>"
	}
	counts := map[string]int{}
	var order []string
	for _, c := range app.Status.Conditions {
		t := string(c.Type)
		if counts[t] == 0 {
			order = append(order, t)
		}
		counts[t]++
	}
	parts := make([]string, 0, len(order))
	for _, t := range order {
		if n := counts[t]; n > 1 {
			t = fmt.Sprintf("%s(%d)", t, n)
		}
		parts = append(parts, t)
	}
	return strings.Join(parts, ",")
}

// appCluster is the destination as argocd shows it: the server URL, else the cluster name.
func appCluster(d v1alpha1.ApplicationDestination) string {
	if d.Server != "" {
		return d.Server
	}
	return d.Name
}

// appProjectName returns the app's project, "default" when unset.
func appProjectName(app *v1alpha1.Application) string {
	if app.Spec.Project == "" {
		return "default"
	}
	return app.Spec.Project
}

// appOperationDone reports whether no operation is pending or running.
func appOperationDone(app *v1alpha1.Application) bool {
	if app.Operation != nil {
		return false
	}
	st := app.Status.OperationState
	return st == nil || appPhaseCompleted(st.Phase)
}

func appPhaseCompleted(p v1alpha1.OperationPhase) bool {
	switch p {
	case v1alpha1.OperationSucceeded, v1alpha1.OperationFailed, v1alpha1.OperationError:
		return true
	}
	return false
}

// appAge prints d the way kubectl prints ages: 45s, 3m12s, 2h5m, 4d3h.
func appAge(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < 10*time.Minute:
		if s := int(d.Seconds()) % 60; s != 0 {
			return fmt.Sprintf("%dm%ds", int(d.Minutes()), s)
		}
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 24*time.Hour:
		if m := int(d.Minutes()) % 60; m != 0 && d < 8*time.Hour {
			return fmt.Sprintf("%dh%dm", int(d.Hours()), m)
		}
		return fmt.Sprintf("%dh", int(d.Hours()))
	default:
		days := int(d.Hours()) / 24
		if h := int(d.Hours()) % 24; h != 0 && days < 8 {
			return fmt.Sprintf("%dd%dh", days, h)
		}
		return fmt.Sprintf("%dd", days)
	}
}

// appTimeoutContext bounds ctx by seconds when seconds > 0.
func appTimeoutContext(ctx context.Context, seconds uint) (context.Context, context.CancelFunc) {
	if seconds == 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, time.Duration(seconds)*time.Second)
}
