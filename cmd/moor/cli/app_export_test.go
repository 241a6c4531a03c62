package cli

import (
	"bytes"
	"strings"
	"time"

	"github.com/spf13/pflag"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

// Exports of the app commands' pieces for the external tests (package cli_test).

// AppFromFlags builds the Application `moor app create NAME ARGS...` would send, without a server.
func AppFromFlags(name string, args ...string) (*v1alpha1.Application, error) {
	app := &v1alpha1.Application{}
	app.Name = name
	if err := AppApplyFlags(app, args...); err != nil {
		return nil, err
	}
	return app, validateNew(app)
}

// AppApplyFlags changes app as the create/set flags ARGS say.
func AppApplyFlags(app *v1alpha1.Application, args ...string) error {
	var o specFlags
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	o.bind(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	return o.apply(app)
}

// AppUnsetFlags changes app as `moor app unset` with ARGS would.
func AppUnsetFlags(app *v1alpha1.Application, args ...string) error {
	cmd := newAppUnsetCommand(&globalOptions{})
	if err := cmd.Flags().Parse(args); err != nil {
		return err
	}
	var u unsetFlags
	f := cmd.Flags()
	u.parameters, _ = f.GetStringArray("parameter")
	u.valueFiles, _ = f.GetStringArray("values")
	u.kustomizeImages, _ = f.GetStringArray("kustomize-image")
	u.syncOptions, _ = f.GetStringArray("sync-option")
	u.namePrefix, _ = f.GetBool("nameprefix")
	u.valuesLiteral, _ = f.GetBool("values-literal")
	u.retry, _ = f.GetBool("sync-retry")
	u.jsonnetTLAs, _ = f.GetStringArray("jsonnet-tla")
	return u.apply(app)
}

// AppParseManifests decodes Application manifests as `app create -f` does.
func AppParseManifests(b []byte) ([]*v1alpha1.Application, error) { return parseAppManifests(b) }

// AppSyncRequest builds the Sync request of `moor app sync` ARGS.
func AppSyncRequest(args ...string) (*apiv1.ApplicationServiceSyncRequest, error) {
	cmd := newAppSyncCommand(&globalOptions{})
	if err := cmd.Flags().Parse(args); err != nil {
		return nil, err
	}
	o := &syncFlags{}
	f := cmd.Flags()
	o.revision, _ = f.GetString("revision")
	o.prune, _ = f.GetBool("prune")
	o.dryRun, _ = f.GetBool("dry-run")
	o.force, _ = f.GetBool("force")
	o.replace, _ = f.GetBool("replace")
	o.serverSide, _ = f.GetBool("server-side")
	o.applyOutOfSyncOnly, _ = f.GetBool("apply-out-of-sync-only")
	o.resources, _ = f.GetStringArray("resource")
	o.infos, _ = f.GetStringArray("info")
	o.strategy, _ = f.GetString("strategy")
	o.retryLimit, _ = f.GetInt64("retry-limit")
	o.retryDuration, _ = f.GetString("retry-backoff-duration")
	o.retryMaxDuration, _ = f.GetString("retry-backoff-max-duration")
	o.retryFactor, _ = f.GetInt64("retry-backoff-factor")
	req, err := o.request()
	if err != nil {
		return nil, err
	}
	filters, _ := parseResourceFilters(o.resources)
	if !filtersNeedApp(filters) {
		req.Resources, err = syncResources(filters, nil)
	}
	return req, err
}

// AppSyncResources selects the resources of app that --resource VALUES name.
func AppSyncResources(app *v1alpha1.Application, values ...string) ([]*apiv1.SyncResource, error) {
	filters, err := parseResourceFilters(values)
	if err != nil {
		return nil, err
	}
	return syncResources(filters, app)
}

// AppRenderGet prints app as `moor app get` does (without colour).
func AppRenderGet(app *v1alpha1.Application, wide, showOperation bool, now time.Time) string {
	var b bytes.Buffer
	o := detailOptions{wide: wide, showOperation: showOperation, now: now, syncWindow: "Sync Allowed"}
	printAppDetails(&b, app, o)
	b.WriteString("\n")
	_ = printAppResources(&b, app, o)
	return b.String()
}

// AppRenderTree prints the tree output of `moor app get -o tree`.
func AppRenderTree(app *v1alpha1.Application, tree *apiv1.ApplicationTree) string {
	var b bytes.Buffer
	_ = printAppTree(&b, app, tree, false)
	return b.String()
}

// AppRenderList prints apps as `moor app list` does.
func AppRenderList(apps []*v1alpha1.Application, wide bool) string {
	var b bytes.Buffer
	_ = printAppList(&b, apps, wide, false)
	return b.String()
}

// AppRenderHistory prints `moor app history` with output "", "wide" or "id".
func AppRenderHistory(app *v1alpha1.Application, output string) string {
	var b bytes.Buffer
	_ = printHistory(&b, app, output)
	return b.String()
}

// AppProgressLines feeds states to a progress printer writing to a buffer (not a terminal) and returns what
// it printed.
func AppProgressLines(states []*v1alpha1.Application, now time.Time) string {
	var b bytes.Buffer
	p := newProgressPrinter(&b)
	p.now = func() time.Time { return now }
	for _, s := range states {
		p.Update(s)
	}
	p.Finish()
	return b.String()
}

// AppProgressBlock renders the live (terminal) block of one state, without colour.
func AppProgressBlock(app *v1alpha1.Application, now time.Time, width int) string {
	p := &progressPrinter{now: func() time.Time { return now }, width: width, frame: 0}
	return strings.Join(p.block(readProgress(app)), "\n") + "\n"
}

// AppUnifiedDiff is the unified line diff of `moor app diff`.
func AppUnifiedDiff(a, b []string) string { return unifiedDiff(a, b, "live", "desired", 3) }

// AppServerDiff prints the diff of managed resources as `moor app diff` does and returns how many differ.
func AppServerDiff(items []*apiv1.ResourceDiff) (string, int, error) {
	diffs, err := serverDiffs(items)
	if err != nil {
		return "", 0, err
	}
	var b bytes.Buffer
	n, err := printDiffs(&b, diffs, false)
	return b.String(), n, err
}

// AppWaitMissing lists what `moor app wait` with FLAGS still waits for.
func AppWaitMissing(app *v1alpha1.Application, deleted bool, flags ...string) ([]string, error) {
	cmd := newAppWaitCommand(&globalOptions{})
	if err := cmd.Flags().Parse(flags); err != nil {
		return nil, err
	}
	var o waitOptions
	f := cmd.Flags()
	o.sync, _ = f.GetBool("sync")
	o.health, _ = f.GetBool("health")
	o.operation, _ = f.GetBool("operation")
	o.suspended, _ = f.GetBool("suspended")
	o.degraded, _ = f.GetBool("degraded")
	o.delete, _ = f.GetBool("delete")
	return o.defaulted().missing(app, deleted), nil
}

// SetBrowser replaces how `moor login --sso` opens a URL; the returned func restores it.
func SetBrowser(open func(string) error) func() {
	prev := loginOpenBrowser
	loginOpenBrowser = open
	return func() { loginOpenBrowser = prev }
}

// ResolveTarget returns the server and token a command run with --config path and --server server uses.
func ResolveTarget(path, server string) (string, string, error) {
	t, err := (&globalOptions{configPath: path, server: server}).resolve()
	return t.Server, t.Token, err
}
