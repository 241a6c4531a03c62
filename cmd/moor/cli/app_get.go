package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

// refreshTimeout bounds how long --refresh waits for the controller to compare again.
const refreshTimeout = 60 * time.Second

func newAppGetCommand(g *globalOptions) *cobra.Command {
	var (
		output                 string
		refresh, hardRefresh   bool
		showOperation, showPar bool
	)
	cmd := &cobra.Command{
		Use:   "get NAME",
		Short: "Show an application: source, destination, sync and health, and its resources",
		Example: `  moor app get guestbook
  moor app get guestbook --refresh -o tree
  moor app get guestbook -o yaml | kubectl apply -f -`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains([]string{"", "wide", "json", "yaml", "tree"}, output) {
				return usageErrorf("unknown output format %q (want wide, json, yaml or tree)", output)
			}
			s, err := g.appSession()
			if err != nil {
				return err
			}
			defer s.Close()
			ctx := cmd.Context()
			app, err := s.refreshed(ctx, args[0], refreshFlag(refresh, hardRefresh), refreshTimeout)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			switch output {
			case "json", "yaml":
				return printStructured(w, output, printable(app))
			}
			opts := detailOptions{wide: output == "wide", showOperation: showOperation, color: colorEnabled(w), now: time.Now()}
			if win, err := s.apps.GetApplicationSyncWindows(ctx, &apiv1.ApplicationServiceGetApplicationSyncWindowsRequest{Name: app.Name}); err == nil {
				opts.syncWindow = "Sync Allowed"
				if !win.GetCanSync() {
					opts.syncWindow = "Sync Denied"
				}
			}
			printAppDetails(w, app, opts)
			if showPar {
				printHelmParams(w, app)
			}
			if output == "tree" {
				tree, err := s.apps.ResourceTree(ctx, &apiv1.ApplicationServiceResourceTreeRequest{ApplicationName: app.Name})
				if err != nil {
					return err
				}
				fmt.Fprintln(w)
				return printAppTree(w, app, tree.GetTree(), opts.color)
			}
			if len(app.Status.Resources) > 0 || hasHookResults(app) {
				fmt.Fprintln(w)
				return printAppResources(w, app, opts)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&output, "output", "o", "", "output format: wide, json, yaml or tree")
	f.BoolVar(&refresh, "refresh", false, "refresh the application (compare with Git again) before showing it")
	f.BoolVar(&hardRefresh, "hard-refresh", false, "refresh bypassing the manifest cache")
	f.BoolVar(&showOperation, "show-operation", false, "show the state of the current or last operation")
	f.BoolVar(&showPar, "show-params", false, "show the Helm parameters of the source")
	return cmd
}

func refreshFlag(refresh, hard bool) string {
	switch {
	case hard:
		return "hard"
	case refresh:
		return "normal"
	}
	return ""
}

// detailOptions tune printAppDetails.
type detailOptions struct {
	wide          bool
	showOperation bool
	color         bool
	syncWindow    string
	now           time.Time
}

// printAppDetails prints the header block of `app get` (argocd's field names).
func printAppDetails(w io.Writer, app *v1alpha1.Application, o detailOptions) {
	field := func(name, value string) { printField(w, name, value) }
	field("Name", app.Name)
	field("Project", appProjectName(app))
	field("Server", appCluster(app.Spec.Destination))
	field("Namespace", app.Spec.Destination.Namespace)
	if app.Spec.HasMultipleSources() {
		fmt.Fprintln(w, "Sources:")
		for _, src := range app.Spec.Sources {
			fmt.Fprintf(w, "- %-18s%s\n", "Repo:", src.RepoURL)
			for _, kv := range sourceFields(src) {
				fmt.Fprintf(w, "  %-18s%s\n", kv[0]+":", kv[1])
			}
		}
	} else if src := app.Spec.Source; src != nil {
		field("Repo", src.RepoURL)
		for _, kv := range sourceFields(*src) {
			field(kv[0], kv[1])
		}
	}
	if o.syncWindow != "" {
		field("SyncWindow", o.syncWindow)
	}
	field("Sync Policy", syncPolicyDetail(app))
	field("Sync Status", syncStatusDetail(app, o))
	health := appPaintHealth(o.color, appOrUnknown(string(app.Status.Health.Status)))
	if m := app.Status.Health.Message; m != "" {
		health += " (" + oneLine(m) + ")"
	}
	field("Health Status", health)
	if o.showOperation {
		printOperation(w, app, o)
	}
	if len(app.Status.Conditions) > 0 {
		fmt.Fprintln(w)
		rows := make([][]string, 0, len(app.Status.Conditions))
		for _, c := range app.Status.Conditions {
			when := ""
			if c.LastTransitionTime != nil {
				when = c.LastTransitionTime.UTC().Format(time.RFC3339)
			}
			rows = append(rows, []string{string(c.Type), oneLine(c.Message), when})
		}
		_ = appTable{headers: []string{"CONDITION", "MESSAGE", "LAST TRANSITION"}, rows: rows}.print(w)
	}
}

// sourceFields lists the source's fields after Repo, as argocd prints them.
func sourceFields(src v1alpha1.ApplicationSource) [][2]string {
	out := [][2]string{{"Target", src.TargetRevision}}
	if src.Chart != "" {
		out = append(out, [2]string{"Chart", src.Chart})
	} else {
		out = append(out, [2]string{"Path", src.Path})
	}
	if src.Helm != nil && len(src.Helm.ValueFiles) > 0 {
		out = append(out, [2]string{"Helm Values", strings.Join(src.Helm.ValueFiles, ",")})
	}
	if src.Ref != "" {
		out = append(out, [2]string{"Ref", src.Ref})
	}
	return out
}

func syncPolicyDetail(app *v1alpha1.Application) string {
	p := app.Spec.SyncPolicy
	s := syncPolicyString(app)
	if s == "Manual" || p == nil || p.Automated == nil {
		return s
	}
	var extra []string
	if p.Automated.SelfHeal != nil && *p.Automated.SelfHeal {
		extra = append(extra, "Self Heal")
	}
	if p.Automated.AllowEmpty != nil && *p.Automated.AllowEmpty {
		extra = append(extra, "Allow Empty")
	}
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, ", ") + ")"
	}
	return s
}

// syncStatusDetail is "Synced to HEAD (53e28ff)", or "OutOfSync from main (...)".
func syncStatusDetail(app *v1alpha1.Application, o detailOptions) string {
	st := app.Status.Sync
	code := appOrUnknown(string(st.Status))
	s := appPaintSync(o.color, code)
	target := ""
	if src := app.Spec.Source; src != nil && !app.Spec.HasMultipleSources() {
		target = src.TargetRevision
		if target == "" {
			target = "HEAD"
		}
	}
	rev := st.Revision
	if rev == "" && len(st.Revisions) > 0 {
		rev = strings.Join(st.Revisions, ",")
	}
	if !o.wide {
		rev = appShortRev(rev)
	}
	prep := " to "
	if st.Status != v1alpha1.SyncStatusCodeSynced {
		prep = " from "
	}
	switch {
	case target != "" && rev != "":
		s += prep + target + " (" + rev + ")"
	case target != "":
		s += prep + target
	case rev != "":
		s += " (" + rev + ")"
	}
	return s
}

// printOperation prints the operation block argocd shows after a sync or with --show-operation.
func printOperation(w io.Writer, app *v1alpha1.Application, o detailOptions) {
	st := app.Status.OperationState
	if st == nil {
		if app.Operation != nil {
			fmt.Fprintln(w)
			fmt.Fprintf(w, "%-20s%s\n", "Operation:", "Sync (pending)")
		}
		return
	}
	field := func(name, value string) { printField(w, name, value) }
	fmt.Fprintln(w)
	field("Operation", "Sync")
	rev := ""
	if st.SyncResult != nil {
		rev = st.SyncResult.Revision
		if rev == "" {
			rev = strings.Join(st.SyncResult.Revisions, ",")
		}
	}
	field("Sync Revision", rev)
	field("Phase", appPaintSync(o.color, string(st.Phase)))
	field("Start", st.StartedAt.UTC().Format(time.RFC3339))
	finished := ""
	end := o.now
	if st.FinishedAt != nil {
		finished = st.FinishedAt.UTC().Format(time.RFC3339)
		end = st.FinishedAt.Time
	}
	field("Finished", finished)
	if !end.IsZero() && !st.StartedAt.IsZero() {
		field("Duration", appAge(end.Sub(st.StartedAt.Time)))
	}
	field("Message", oneLine(st.Message))
	if st.RetryCount > 0 {
		field("Retries", fmt.Sprint(st.RetryCount))
	}
}

func hasHookResults(app *v1alpha1.Application) bool {
	st := app.Status.OperationState
	if st == nil || st.SyncResult == nil {
		return false
	}
	return slices.ContainsFunc(st.SyncResult.Resources, func(r v1alpha1.ResourceResult) bool { return r.HookType != "" })
}

// resultsByKey indexes the last operation's resource results by group/kind/namespace/name.
func resultsByKey(app *v1alpha1.Application) map[string]v1alpha1.ResourceResult {
	out := map[string]v1alpha1.ResourceResult{}
	if st := app.Status.OperationState; st != nil && st.SyncResult != nil {
		for _, r := range st.SyncResult.Resources {
			if r.HookType == "" {
				out[r.Group+"/"+r.Kind+"/"+r.Namespace+"/"+r.Name] = r
			}
		}
	}
	return out
}

// printAppResources prints the resource table of `app get`: GROUP KIND NAMESPACE NAME STATUS HEALTH HOOK
// MESSAGE (wide adds VERSION and WAVE).
func printAppResources(w io.Writer, app *v1alpha1.Application, o detailOptions) error {
	results := resultsByKey(app)
	headers := []string{"GROUP", "KIND", "NAMESPACE", "NAME", "STATUS", "HEALTH", "HOOK", "MESSAGE"}
	if o.wide {
		headers = []string{"GROUP", "VERSION", "KIND", "NAMESPACE", "NAME", "WAVE", "STATUS", "HEALTH", "HOOK", "MESSAGE"}
	}
	hookResults := map[string]bool{}
	if st := app.Status.OperationState; st != nil && st.SyncResult != nil {
		for _, r := range st.SyncResult.Resources {
			if r.HookType != "" {
				hookResults[r.Group+"/"+r.Kind+"/"+r.Namespace+"/"+r.Name] = true
			}
		}
	}
	var rows [][]string
	for _, r := range app.Status.Resources {
		hook := ""
		if r.Hook {
			if hookResults[r.Group+"/"+r.Kind+"/"+r.Namespace+"/"+r.Name] {
				continue // shown below with its hook phase
			}
			hook = "Hook"
		}
		health := ""
		if r.Health != nil {
			health = string(r.Health.Status)
		}
		msg := oneLine(results[r.Group+"/"+r.Kind+"/"+r.Namespace+"/"+r.Name].Message)
		if r.RequiresPruning {
			msg = strings.TrimSpace("requires pruning " + msg)
		}
		if o.wide {
			rows = append(rows, []string{r.Group, r.Version, r.Kind, r.Namespace, r.Name, fmt.Sprint(r.SyncWave), string(r.Status), health, hook, msg})
		} else {
			rows = append(rows, []string{r.Group, r.Kind, r.Namespace, r.Name, string(r.Status), health, hook, msg})
		}
	}
	if st := app.Status.OperationState; st != nil && st.SyncResult != nil {
		for _, r := range st.SyncResult.Resources {
			if r.HookType == "" {
				continue
			}
			if o.wide {
				rows = append(rows, []string{r.Group, r.Version, r.Kind, r.Namespace, r.Name, "", string(r.HookPhase), "", r.HookType, oneLine(r.Message)})
			} else {
				rows = append(rows, []string{r.Group, r.Kind, r.Namespace, r.Name, string(r.HookPhase), "", r.HookType, oneLine(r.Message)})
			}
		}
	}
	statusCol, healthCol := 4, 5
	if o.wide {
		statusCol, healthCol = 6, 7
	}
	return appTable{headers: headers, rows: rows, paint: func(_, col int, s string) string {
		switch col {
		case statusCol:
			return appPaintSync(o.color, s)
		case healthCol:
			return appPaintHealth(o.color, s)
		}
		return s
	}}.print(w)
}

// printHelmParams prints the Helm parameters and value files of the app's sources.
func printHelmParams(w io.Writer, app *v1alpha1.Application) {
	var rows [][]string
	for _, src := range app.Spec.GetSources() {
		if src.Helm == nil {
			continue
		}
		for _, p := range src.Helm.Parameters {
			rows = append(rows, []string{p.Name, p.Value})
		}
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintln(w)
	_ = appTable{headers: []string{"NAME", "VALUE"}, rows: rows}.print(w)
}

// printAppTree prints the resource tree: managed resources at the top, their children indented below.
func printAppTree(w io.Writer, app *v1alpha1.Application, tree *apiv1.ApplicationTree, color bool) error {
	nodes := tree.GetNodes()
	byUID := map[string]*apiv1.ResourceNode{}
	for _, n := range nodes {
		if n.GetUid() != "" {
			byUID[n.GetUid()] = n
		}
	}
	children := map[string][]*apiv1.ResourceNode{}
	var roots []*apiv1.ResourceNode
	for _, n := range nodes {
		parent := ""
		for _, p := range n.GetParentRefs() {
			if _, ok := byUID[p.GetUid()]; ok {
				parent = p.GetUid()
				break
			}
		}
		if parent == "" {
			roots = append(roots, n)
		} else {
			children[parent] = append(children[parent], n)
		}
	}
	sync := map[string]string{}
	for _, r := range app.Status.Resources {
		sync[r.Group+"/"+r.Kind+"/"+r.Namespace+"/"+r.Name] = string(r.Status)
	}
	results := resultsByKey(app)
	var rows [][]string
	var walk func(n *apiv1.ResourceNode, prefix string, depth int)
	walk = func(n *apiv1.ResourceNode, prefix string, depth int) {
		key := n.GetGroup() + "/" + n.GetKind() + "/" + n.GetNamespace() + "/" + n.GetName()
		rows = append(rows, []string{prefix + n.GetKind() + "/" + n.GetName(), sync[key], n.GetHealth().GetStatus(), oneLine(results[key].Message)})
		kids := children[n.GetUid()]
		for i, c := range kids {
			lead := strings.Repeat("  ", depth)
			if i == len(kids)-1 {
				walk(c, lead+"└─", depth+1)
			} else {
				walk(c, lead+"├─", depth+1)
			}
		}
	}
	for _, r := range roots {
		walk(r, "", 0)
	}
	for _, n := range tree.GetOrphanedNodes() {
		rows = append(rows, []string{n.GetKind() + "/" + n.GetName(), "", "", "orphaned"})
	}
	return appTable{headers: []string{"KIND/NAME", "STATUS", "HEALTH", "MESSAGE"}, rows: rows, paint: func(_, col int, s string) string {
		switch col {
		case 1:
			return appPaintSync(color, s)
		case 2:
			return appPaintHealth(color, s)
		}
		return s
	}}.print(w)
}

func newAppListCommand(g *globalOptions) *cobra.Command {
	var (
		output, selector, repo, cluster string
		projects                        []string
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List applications",
		Example: `  moor app list
  moor app list -p default -l team=web -o wide
  moor app list -o name | xargs -n1 moor app sync`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !slices.Contains([]string{"", "wide", "name", "json", "yaml"}, output) {
				return usageErrorf("unknown output format %q (want wide, name, json or yaml)", output)
			}
			s, err := g.appSession()
			if err != nil {
				return err
			}
			defer s.Close()
			resp, err := s.apps.List(cmd.Context(), &apiv1.ApplicationServiceListRequest{Projects: projects, Selector: selector, Repo: repo})
			if err != nil {
				return err
			}
			var apps []*v1alpha1.Application
			for _, m := range resp.GetList().GetItems() {
				a, err := appFromMessage(m)
				if err != nil {
					return err
				}
				if cluster != "" && a.Spec.Destination.Server != cluster && a.Spec.Destination.Name != cluster {
					continue
				}
				apps = append(apps, printable(a))
			}
			slices.SortFunc(apps, func(a, b *v1alpha1.Application) int { return strings.Compare(a.Name, b.Name) })
			w := cmd.OutOrStdout()
			switch output {
			case "json", "yaml":
				if apps == nil {
					apps = []*v1alpha1.Application{}
				}
				return printStructured(w, output, apps)
			case "name":
				for _, a := range apps {
					fmt.Fprintln(w, a.Name)
				}
				return nil
			}
			return printAppList(w, apps, output == "wide", colorEnabled(w))
		},
	}
	f := cmd.Flags()
	f.StringVarP(&output, "output", "o", "", "output format: wide, name, json or yaml")
	f.StringSliceVarP(&projects, "project", "p", nil, "only applications of these projects")
	f.StringVarP(&selector, "selector", "l", "", "only applications matching this label selector (e.g. team=web,env!=prod)")
	f.StringVarP(&repo, "repo", "r", "", "only applications whose source is this repository URL")
	f.StringVarP(&cluster, "cluster", "c", "", "only applications deployed to this cluster (server URL or name)")
	return cmd
}

// printAppList prints argocd's list columns; wide adds the synced revision.
func printAppList(w io.Writer, apps []*v1alpha1.Application, wide, color bool) error {
	headers := []string{"NAME", "CLUSTER", "NAMESPACE", "PROJECT", "STATUS", "HEALTH", "SYNCPOLICY", "CONDITIONS", "REPO", "PATH", "TARGET"}
	if wide {
		headers = append(headers, "REVISION")
	}
	rows := make([][]string, 0, len(apps))
	for _, a := range apps {
		var repo, path, target string
		if srcs := a.Spec.GetSources(); len(srcs) > 0 {
			repo, path, target = srcs[0].RepoURL, srcs[0].Path, srcs[0].TargetRevision
			if srcs[0].Chart != "" {
				path = srcs[0].Chart
			}
		}
		row := []string{a.Name, appCluster(a.Spec.Destination), a.Spec.Destination.Namespace, appProjectName(a),
			appOrUnknown(string(a.Status.Sync.Status)), appOrUnknown(string(a.Status.Health.Status)), syncPolicyString(a),
			conditionsString(a), repo, path, target}
		if wide {
			rev := a.Status.Sync.Revision
			if rev == "" {
				rev = strings.Join(a.Status.Sync.Revisions, ",")
			}
			row = append(row, appShortRev(rev))
		}
		rows = append(rows, row)
	}
	return appTable{headers: headers, rows: rows, paint: func(_, col int, s string) string {
		switch col {
		case 4:
			return appPaintSync(color, s)
		case 5:
			return appPaintHealth(color, s)
		}
		return s
	}}.print(w)
}

// printField prints one "Name:   value" line of the details block.
func printField(w io.Writer, name, value string) {
	fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf("%-20s%s", name+":", value), " "))
}
