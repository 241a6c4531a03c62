package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

// waitOptions are the conditions of `moor app wait` (argocd's flags).
type waitOptions struct {
	sync, health, operation, suspended, degraded, delete bool
}

// defaulted returns o, or sync, health and operation when no condition flag was given.
func (o waitOptions) defaulted() waitOptions {
	if !o.sync && !o.health && !o.operation && !o.suspended && !o.degraded && !o.delete {
		o.sync, o.health, o.operation = true, true, true
	}
	return o
}

// healthWanted lists the health states that satisfy the health condition (empty: health is not checked).
func (o waitOptions) healthWanted() []v1alpha1.HealthStatusCode {
	var want []v1alpha1.HealthStatusCode
	if o.health {
		want = append(want, v1alpha1.HealthStatusHealthy)
	}
	if o.suspended {
		want = append(want, v1alpha1.HealthStatusSuspended)
	}
	if o.degraded {
		want = append(want, v1alpha1.HealthStatusDegraded)
	}
	return want
}

// missing lists the conditions app does not meet yet, as "health Progressing (want Healthy)"; empty when
// every condition holds. deleted says the application is gone.
func (o waitOptions) missing(app *v1alpha1.Application, deleted bool) []string {
	if o.delete {
		if deleted {
			return nil
		}
		return []string{"the application still exists"}
	}
	if deleted {
		return []string{"the application was deleted"}
	}
	var out []string
	if o.sync {
		if s := app.Status.Sync.Status; s != v1alpha1.SyncStatusCodeSynced || app.Annotations[annotationRefresh] != "" {
			out = append(out, fmt.Sprintf("sync %s (want Synced)", appOrUnknown(string(s))))
		}
	}
	if want := o.healthWanted(); len(want) > 0 && !slices.Contains(want, app.Status.Health.Status) {
		names := make([]string, len(want))
		for i, w := range want {
			names[i] = string(w)
		}
		out = append(out, fmt.Sprintf("health %s (want %s)", appOrUnknown(string(app.Status.Health.Status)), strings.Join(names, " or ")))
	}
	if o.operation && !appOperationDone(app) {
		phase := "pending"
		if st := app.Status.OperationState; st != nil && !appPhaseCompleted(st.Phase) {
			phase = string(st.Phase)
		}
		out = append(out, fmt.Sprintf("operation %s (want completed)", phase))
	}
	return out
}

func appOrUnknown(s string) string {
	if s == "" {
		return "Unknown"
	}
	return s
}

func newAppWaitCommand(g *globalOptions) *cobra.Command {
	var (
		o        waitOptions
		timeout  uint
		selector string
		projects []string
	)
	cmd := &cobra.Command{
		Use:   "wait NAME...",
		Short: "Wait until applications are synced, healthy, done operating, or deleted",
		Long: `Wait until applications meet the conditions given: --sync (Synced), --health (Healthy), --suspended
(Suspended counts), --degraded (Degraded counts), --operation (no pending or running operation), --delete
(the application is gone). Without any, it waits for sync, health and operation.

Exits 0 when every condition holds, 1 when --timeout passes first (the message says what is missing), 13
when an application does not exist or, without --delete, is deleted while waited for.`,
		Example: `  moor app wait guestbook --health --sync --timeout 120
  moor app wait -l team=web --operation
  moor app wait guestbook --delete`,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.appSession()
			if err != nil {
				return err
			}
			defer s.Close()
			names, err := s.selectApps(cmd.Context(), args, selector, projects)
			if err != nil {
				return err
			}
			ctx, cancel := appTimeoutContext(cmd.Context(), timeout)
			defer cancel()
			opts := o.defaulted()
			for _, name := range names {
				app, err := waitForApp(ctx, s, name, opts, timeout)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), waitSummary(name, app, opts))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.sync, "sync", false, "wait for sync (status Synced)")
	f.BoolVar(&o.health, "health", false, "wait for health (Healthy)")
	f.BoolVar(&o.operation, "operation", false, "wait for the pending or running operation to complete")
	f.BoolVar(&o.suspended, "suspended", false, "count Suspended as a wanted health")
	f.BoolVar(&o.degraded, "degraded", false, "count Degraded as a wanted health")
	f.BoolVar(&o.delete, "delete", false, "wait until the application is deleted")
	f.UintVar(&timeout, "timeout", 0, "give up after this many seconds (0: wait forever)")
	f.StringVarP(&selector, "selector", "l", "", "wait for the applications matching this label selector")
	f.StringSliceVarP(&projects, "project", "p", nil, "with --selector, only applications of these projects")
	return cmd
}

// waitForApp waits for the conditions of o; on timeout it fails with ExitCommandSpecific naming what is
// missing.
func waitForApp(ctx context.Context, s *appSession, name string, o waitOptions, timeout uint) (*v1alpha1.Application, error) {
	app, err := watchApp(ctx, s, name, func(a *v1alpha1.Application, deleted bool) bool {
		return len(o.missing(a, deleted)) == 0
	})
	if err == nil {
		return app, nil
	}
	if errors.Is(err, context.DeadlineExceeded) && (app != nil || o.delete) {
		var missing []string
		if app != nil {
			missing = o.missing(app, false)
		} else {
			missing = []string{"the application did not answer"}
		}
		return nil, exitf(ExitCommandSpecific, "timed out after %s waiting for application %q: %s",
			time.Duration(timeout)*time.Second, name, strings.Join(missing, ", "))
	}
	return nil, err
}

func waitSummary(name string, app *v1alpha1.Application, o waitOptions) string {
	if o.delete || app == nil {
		return fmt.Sprintf("application '%s' deleted", name)
	}
	return fmt.Sprintf("application '%s': sync %s, health %s", name,
		appOrUnknown(string(app.Status.Sync.Status)), appOrUnknown(string(app.Status.Health.Status)))
}
