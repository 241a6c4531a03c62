package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/kubeproto"
)

// syncFlags are the flags of `moor app sync` (argocd's).
type syncFlags struct {
	revision                                  string
	prune, dryRun, force, replace, serverSide bool
	applyOutOfSyncOnly, async                 bool
	resources, infos                          []string
	strategy                                  string
	retryLimit, retryFactor                   int64
	retryDuration, retryMaxDuration           string
	timeout                                   uint
	selector                                  string
	projects                                  []string
}

func newAppSyncCommand(g *globalOptions) *cobra.Command {
	var o syncFlags
	cmd := &cobra.Command{
		Use:   "sync NAME...",
		Short: "Sync applications to their target state and wait for the result",
		Long: `Sync applications: write a sync operation, then (unless --async) follow it until it completes,
showing which phase and wave runs, how many resources are synced and the application's health. On a
terminal the display updates in place; otherwise one line is printed per change.

Fails when the operation fails (exit 20) or when --timeout passes first (exit 1; the operation goes on,
'moor app terminate-op' stops it).`,
		Example: `  moor app sync guestbook
  moor app sync guestbook --prune --revision v2 --timeout 300
  moor app sync guestbook --resource apps:Deployment:guestbook-ui --resource :Service:default/guestbook-ui
  moor app sync -l team=web --async`,
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := o.request()
			if err != nil {
				return err
			}
			s, err := g.appSession()
			if err != nil {
				return err
			}
			defer s.Close()
			names, err := s.selectApps(cmd.Context(), args, o.selector, o.projects)
			if err != nil {
				return err
			}
			ctx, cancel := appTimeoutContext(cmd.Context(), o.timeout)
			defer cancel()
			for i, name := range names {
				if i > 0 {
					fmt.Fprintln(cmd.OutOrStdout())
				}
				if err := syncOne(ctx, cmd, s, name, req, &o); err != nil {
					return err
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.revision, "revision", "", "sync to this revision instead of the target revision")
	f.BoolVar(&o.prune, "prune", false, "delete resources no longer in Git")
	f.BoolVar(&o.dryRun, "dry-run", false, "run the sync as a server-side dry run: nothing changes")
	f.BoolVar(&o.force, "force", false, "delete and re-create resources that cannot be patched")
	f.BoolVar(&o.replace, "replace", false, "replace resources instead of applying them (sync option Replace=true)")
	f.BoolVar(&o.serverSide, "server-side", false, "apply server-side (sync option ServerSideApply=true)")
	f.BoolVar(&o.applyOutOfSyncOnly, "apply-out-of-sync-only", false, "apply only the resources that are out of sync")
	f.StringArrayVar(&o.resources, "resource", nil, "sync only this resource, GROUP:KIND:NAME or GROUP:KIND:NAMESPACE/NAME; * globs, ! excludes (repeatable)")
	f.StringArrayVar(&o.infos, "info", nil, "name=value recorded with the operation (repeatable)")
	f.StringVar(&o.strategy, "strategy", "", "sync strategy: apply or hook")
	f.Int64Var(&o.retryLimit, "retry-limit", 0, "retry a failed sync this many times")
	f.StringVar(&o.retryDuration, "retry-backoff-duration", "5s", "first retry delay")
	f.StringVar(&o.retryMaxDuration, "retry-backoff-max-duration", "3m", "longest retry delay")
	f.Int64Var(&o.retryFactor, "retry-backoff-factor", 2, "factor the retry delay grows by")
	f.BoolVar(&o.async, "async", false, "do not wait for the operation to complete")
	f.UintVar(&o.timeout, "timeout", 0, "give up waiting after this many seconds (0: wait until it completes)")
	f.StringVarP(&o.selector, "selector", "l", "", "sync the applications matching this label selector")
	f.StringSliceVarP(&o.projects, "project", "p", nil, "with --selector, only applications of these projects")
	return cmd
}

// request builds the Sync request of the flags (the name is set per application).
func (o *syncFlags) request() (*apiv1.ApplicationServiceSyncRequest, error) {
	req := &apiv1.ApplicationServiceSyncRequest{Revision: o.revision, Prune: o.prune, DryRun: o.dryRun}
	switch o.strategy {
	case "", "apply":
		if o.force || o.strategy == "apply" {
			req.Strategy = &apiv1.SyncStrategy{Apply: &apiv1.SyncStrategyApply{Force: o.force}}
		}
	case "hook":
		req.Strategy = &apiv1.SyncStrategy{Hook: &apiv1.SyncStrategyHook{Force: o.force}}
	default:
		return nil, usageErrorf("--strategy %q: want apply or hook", o.strategy)
	}
	var opts []string
	if o.replace {
		opts = append(opts, "Replace=true")
	}
	if o.serverSide {
		opts = append(opts, "ServerSideApply=true")
	}
	if o.applyOutOfSyncOnly {
		opts = append(opts, "ApplyOutOfSyncOnly=true")
	}
	if len(opts) > 0 {
		req.SyncOptions = &apiv1.SyncOptions{Items: opts}
	}
	for _, in := range o.infos {
		name, value, ok := strings.Cut(in, "=")
		if !ok || name == "" {
			return nil, usageErrorf("--info %q: want name=value", in)
		}
		req.Infos = append(req.Infos, &apiv1.InfoItem{Name: name, Value: value})
	}
	if _, err := parseResourceFilters(o.resources); err != nil {
		return nil, err
	}
	if o.retryLimit != 0 {
		rs := v1alpha1.RetryStrategy{Limit: new(o.retryLimit), Backoff: &v1alpha1.Backoff{
			Duration: o.retryDuration, MaxDuration: o.retryMaxDuration, Factor: new(o.retryFactor)}}
		st, err := kubeproto.ToStruct(rs)
		if err != nil {
			return nil, err
		}
		req.RetryStrategy = st
	}
	return req, nil
}

// resourceFilter is one --resource: GROUP:KIND:[NAMESPACE/]NAME with * globs; exclude when it starts with !.
type resourceFilter struct {
	group, kind, namespace, name string
	exclude, glob                bool
}

func parseResourceFilters(values []string) ([]resourceFilter, error) {
	var out []resourceFilter
	for _, v := range values {
		f := resourceFilter{}
		spec := v
		if rest, ok := strings.CutPrefix(spec, "!"); ok {
			f.exclude, spec = true, rest
		}
		parts := strings.SplitN(spec, ":", 3)
		if len(parts) != 3 || parts[1] == "" || parts[2] == "" {
			return nil, usageErrorf("--resource %q: want GROUP:KIND:NAME or GROUP:KIND:NAMESPACE/NAME (GROUP may be empty)", v)
		}
		f.group, f.kind, f.name = parts[0], parts[1], parts[2]
		if ns, name, ok := strings.Cut(f.name, "/"); ok {
			f.namespace, f.name = ns, name
		}
		f.glob = f.exclude || strings.Contains(spec, "*")
		out = append(out, f)
	}
	return out, nil
}

func (f resourceFilter) matches(r v1alpha1.ResourceStatus) bool {
	m := func(pattern, s string) bool {
		ok, err := path.Match(pattern, s)
		return err == nil && ok
	}
	return m(f.group, r.Group) && m(f.kind, r.Kind) && m(f.name, r.Name) && (f.namespace == "" || m(f.namespace, r.Namespace))
}

// syncResources turns the filters into the resources of a selective sync; globs and exclusions are matched
// against the application's resources.
func syncResources(filters []resourceFilter, app *v1alpha1.Application) ([]*apiv1.SyncResource, error) {
	if len(filters) == 0 {
		return nil, nil
	}
	var glob bool
	for _, f := range filters {
		glob = glob || f.glob
	}
	if !glob {
		out := make([]*apiv1.SyncResource, 0, len(filters))
		for _, f := range filters {
			out = append(out, &apiv1.SyncResource{Group: f.group, Kind: f.kind, Namespace: f.namespace, Name: f.name})
		}
		return out, nil
	}
	var includes, excludes []resourceFilter
	for _, f := range filters {
		if f.exclude {
			excludes = append(excludes, f)
		} else {
			includes = append(includes, f)
		}
	}
	var out []*apiv1.SyncResource
	for _, r := range app.Status.Resources {
		if r.Hook {
			continue // hooks run with the sync; they are not selected
		}
		in := len(includes) == 0
		for _, f := range includes {
			in = in || f.matches(r)
		}
		for _, f := range excludes {
			in = in && !f.matches(r)
		}
		if in {
			out = append(out, &apiv1.SyncResource{Group: r.Group, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name})
		}
	}
	if len(out) == 0 {
		return nil, usageErrorf("no resource of %s matches --resource", app.Name)
	}
	return out, nil
}

// syncOne requests the sync of one application and follows it.
func syncOne(ctx context.Context, cmd *cobra.Command, s *appSession, name string, base *apiv1.ApplicationServiceSyncRequest, o *syncFlags) error {
	req := proto.CloneOf(base)
	req.Name = name
	filters, _ := parseResourceFilters(o.resources)
	if len(filters) > 0 {
		var app *v1alpha1.Application
		var err error
		if filtersNeedApp(filters) {
			if app, err = s.get(ctx, name, ""); err != nil {
				return err
			}
		}
		if req.Resources, err = syncResources(filters, app); err != nil {
			return err
		}
	}
	resp, err := s.apps.Sync(ctx, req)
	if err != nil {
		return fmt.Errorf("sync %s: %w", name, err)
	}
	requested, err := appFromMessage(resp.GetApplication())
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	if o.async {
		fmt.Fprintf(w, "application '%s' sync requested\n", name)
		return nil
	}
	return followOperation(ctx, w, s, requested, o.timeout)
}

func filtersNeedApp(filters []resourceFilter) bool {
	for _, f := range filters {
		if f.glob {
			return true
		}
	}
	return false
}

// opFingerprint identifies an operation state, to tell the requested operation from the previous one.
func opFingerprint(st *v1alpha1.OperationState) string {
	if st == nil {
		return ""
	}
	fin := ""
	if st.FinishedAt != nil {
		fin = st.FinishedAt.UTC().Format(time.RFC3339)
	}
	return strings.Join([]string{st.StartedAt.UTC().Format(time.RFC3339), fin, string(st.Phase), st.Message}, "|")
}

// followOperation follows the operation just requested on app (as the server answered the request) until it
// completes, with live progress on w, then prints the result. A failed operation is an error.
func followOperation(ctx context.Context, w io.Writer, s *appSession, requested *v1alpha1.Application, timeout uint) error {
	before := opFingerprint(requested.Status.OperationState)
	seenRunning := false
	progress := newProgressPrinter(w)
	final, err := watchAppFunc(ctx, s, requested.Name, func(a *v1alpha1.Application, deleted bool) bool {
		if deleted || a == nil {
			return deleted
		}
		st := a.Status.OperationState
		if a.Operation != nil || st != nil && !appPhaseCompleted(st.Phase) {
			seenRunning = true
			return false
		}
		return st != nil && (seenRunning || opFingerprint(st) != before)
	}, func(a *v1alpha1.Application) {
		if a.Operation != nil || a.Status.OperationState == nil || opFingerprint(a.Status.OperationState) != before {
			progress.Update(a)
		}
	})
	progress.Finish()
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			state := "pending"
			if final != nil && final.Status.OperationState != nil && opFingerprint(final.Status.OperationState) != before {
				state = readProgress(final).line()
			}
			return exitf(ExitCommandSpecific, "timed out after %s waiting for the operation of %q to complete (%s); it goes on: 'moor app terminate-op %s' stops it",
				time.Duration(timeout)*time.Second, requested.Name, state, requested.Name)
		}
		return err
	}
	if final == nil {
		return exitf(ExitGeneric, "application %q was deleted during the operation", requested.Name)
	}
	// As argocd does, show the state after a refresh: the status written with the operation's end still
	// holds the comparison from before the sync.
	if fresh, err := s.refreshed(ctx, final.Name, "normal", 15*time.Second); err == nil && fresh.Status.OperationState != nil {
		final = fresh
	}
	fmt.Fprintln(w)
	opts := detailOptions{showOperation: true, color: colorEnabled(w), now: time.Now()}
	printAppDetails(w, final, opts)
	if len(final.Status.Resources) > 0 || hasHookResults(final) {
		fmt.Fprintln(w)
		if err := printAppResources(w, final, opts); err != nil {
			return err
		}
	}
	st := final.Status.OperationState
	if st.Phase != v1alpha1.OperationSucceeded {
		return exitf(ExitGeneric, "operation of %q %s: %s", final.Name, strings.ToLower(string(st.Phase)), oneLine(st.Message))
	}
	return nil
}

func newAppRollbackCommand(g *globalOptions) *cobra.Command {
	var (
		prune, dryRun, async bool
		timeout              uint
	)
	cmd := &cobra.Command{
		Use:   "rollback NAME [ID]",
		Short: "Sync an application back to an entry of its history (the previous one by default)",
		Long: `Roll an application back to a deployment of its history ('moor app history' lists the IDs); without
ID, to the one before the last. Automated sync must be off. Waits like 'moor app sync' unless --async.`,
		Example: `  moor app rollback guestbook
  moor app rollback guestbook 3 --prune --timeout 120`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.appSession()
			if err != nil {
				return err
			}
			defer s.Close()
			ctx, cancel := appTimeoutContext(cmd.Context(), timeout)
			defer cancel()
			var id int64
			if len(args) == 2 {
				if id, err = strconv.ParseInt(args[1], 10, 64); err != nil {
					return usageErrorf("ID %q is not a number (see 'moor app history %s')", args[1], args[0])
				}
			} else {
				app, err := s.get(ctx, args[0], "")
				if err != nil {
					return err
				}
				h := app.Status.History
				if len(h) < 2 {
					return usageErrorf("application %q has no earlier deployment to roll back to", args[0])
				}
				id = h[len(h)-2].ID
			}
			resp, err := s.apps.Rollback(ctx, &apiv1.ApplicationServiceRollbackRequest{Name: args[0], Id: id, Prune: prune, DryRun: dryRun})
			if err != nil {
				return fmt.Errorf("rollback %s to %d: %w", args[0], id, err)
			}
			requested, err := appFromMessage(resp.GetApplication())
			if err != nil {
				return err
			}
			if async {
				fmt.Fprintf(cmd.OutOrStdout(), "application '%s' rollback to %d requested\n", args[0], id)
				return nil
			}
			return followOperation(ctx, cmd.OutOrStdout(), s, requested, timeout)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&prune, "prune", false, "delete resources the earlier deployment did not have")
	f.BoolVar(&dryRun, "dry-run", false, "run as a server-side dry run")
	f.BoolVar(&async, "async", false, "do not wait for the rollback to complete")
	f.UintVar(&timeout, "timeout", 0, "give up waiting after this many seconds (0: wait until it completes)")
	return cmd
}

func newAppTerminateOpCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "terminate-op NAME",
		Short: "Stop the running operation of an application",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.appSession()
			if err != nil {
				return err
			}
			defer s.Close()
			if _, err := s.apps.TerminateOperation(cmd.Context(), &apiv1.ApplicationServiceTerminateOperationRequest{Name: args[0]}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "application '%s' operation terminating\n", args[0])
			return nil
		},
	}
}
