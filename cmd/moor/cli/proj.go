package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/kubeproto"
)

// newProjCommand returns the proj group: AppProjects and their roles, through ProjectService.
func newProjCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "proj",
		Aliases: []string{"project", "projects"},
		Short:   "Manage projects (AppProjects): sources, destinations, allowed kinds and roles",
		Args:    cobra.NoArgs,
	}
	cmd.AddCommand(
		newProjCreateCommand(g),
		newProjGetCommand(g),
		newProjListCommand(g),
		newProjDeleteCommand(g),
		newProjAddSourceCommand(g),
		newProjRemoveSourceCommand(g),
		newProjAddDestinationCommand(g),
		newProjRemoveDestinationCommand(g),
		newProjRoleCommand(g),
	)
	return cmd
}

// projectOptions are the flags that describe a project's spec (proj create).
type projectOptions struct {
	description      string
	destinations     []string
	sources          []string
	allowCluster     []string
	denyCluster      []string
	allowNamespaced  []string
	denyNamespaced   []string
	sourceNamespaces []string
	orphaned         bool
	orphanedWarn     bool
}

func (o *projectOptions) bindFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.description, "description", "", "project description")
	fs.StringArrayVarP(&o.destinations, "dest", "d", nil, "permitted destination as SERVER,NAMESPACE (globs allowed; repeatable)")
	fs.StringArrayVarP(&o.sources, "src", "s", nil, "permitted source repository URL (globs allowed; repeatable)")
	fs.StringArrayVar(&o.allowCluster, "allow-cluster-resource", nil, "allowed cluster-scoped kind as GROUP/KIND (repeatable)")
	fs.StringArrayVar(&o.denyCluster, "deny-cluster-resource", nil, "denied cluster-scoped kind as GROUP/KIND (repeatable)")
	fs.StringArrayVar(&o.allowNamespaced, "allow-namespaced-resource", nil, "allowed namespaced kind as GROUP/KIND (repeatable; all when unset)")
	fs.StringArrayVar(&o.denyNamespaced, "deny-namespaced-resource", nil, "denied namespaced kind as GROUP/KIND (repeatable)")
	fs.StringSliceVar(&o.sourceNamespaces, "source-namespaces", nil, "namespaces (globs) the project's Applications may live in")
	fs.BoolVar(&o.orphaned, "orphaned-resources", false, "monitor orphaned resources")
	fs.BoolVar(&o.orphanedWarn, "orphaned-resources-warn", false, "monitor orphaned resources and warn about them on Applications")
}

// apply sets on spec what the flags say; flags not given leave spec as it is (a file's values stay).
func (o *projectOptions) apply(fs *pflag.FlagSet, spec *v1alpha1.AppProjectSpec) error {
	if fs.Changed("description") {
		spec.Description = o.description
	}
	for _, d := range o.destinations {
		dest, err := parseDestination(d)
		if err != nil {
			return err
		}
		spec.Destinations = append(spec.Destinations, dest)
	}
	spec.SourceRepos = append(spec.SourceRepos, o.sources...)
	for _, gk := range o.allowCluster {
		item, err := parseGroupKind(gk)
		if err != nil {
			return err
		}
		spec.ClusterResourceWhitelist = append(spec.ClusterResourceWhitelist, v1alpha1.ClusterResourceRestrictionItem{Group: item.Group, Kind: item.Kind})
	}
	for _, gk := range o.denyCluster {
		item, err := parseGroupKind(gk)
		if err != nil {
			return err
		}
		spec.ClusterResourceBlacklist = append(spec.ClusterResourceBlacklist, v1alpha1.ClusterResourceRestrictionItem{Group: item.Group, Kind: item.Kind})
	}
	for _, gk := range o.allowNamespaced {
		item, err := parseGroupKind(gk)
		if err != nil {
			return err
		}
		spec.NamespaceResourceWhitelist = append(spec.NamespaceResourceWhitelist, item)
	}
	for _, gk := range o.denyNamespaced {
		item, err := parseGroupKind(gk)
		if err != nil {
			return err
		}
		spec.NamespaceResourceBlacklist = append(spec.NamespaceResourceBlacklist, item)
	}
	spec.SourceNamespaces = append(spec.SourceNamespaces, o.sourceNamespaces...)
	if o.orphaned || o.orphanedWarn {
		if spec.OrphanedResources == nil {
			spec.OrphanedResources = &v1alpha1.OrphanedResourcesMonitorSettings{}
		}
		if fs.Changed("orphaned-resources-warn") {
			warn := o.orphanedWarn
			spec.OrphanedResources.Warn = &warn
		}
	}
	return nil
}

// parseDestination reads "SERVER,NAMESPACE".
func parseDestination(s string) (v1alpha1.ApplicationDestination, error) {
	server, ns, ok := strings.Cut(s, ",")
	if !ok || strings.TrimSpace(server) == "" || strings.Contains(ns, ",") {
		return v1alpha1.ApplicationDestination{}, usageErrorf("destination %q: want SERVER,NAMESPACE (e.g. https://kubernetes.default.svc,default)", s)
	}
	return v1alpha1.ApplicationDestination{Server: strings.TrimSpace(server), Namespace: strings.TrimSpace(ns)}, nil
}

// parseGroupKind reads "GROUP/KIND"; a bare KIND is of the core group.
func parseGroupKind(s string) (metav1.GroupKind, error) {
	group, kind, ok := strings.Cut(s, "/")
	if !ok {
		group, kind = "", s
	}
	if strings.TrimSpace(kind) == "" || strings.Contains(kind, "/") {
		return metav1.GroupKind{}, usageErrorf("resource %q: want GROUP/KIND (e.g. apps/Deployment, /Namespace, */*)", s)
	}
	return metav1.GroupKind{Group: strings.TrimSpace(group), Kind: strings.TrimSpace(kind)}, nil
}

func newProjCreateCommand(g *globalOptions) *cobra.Command {
	var (
		opts   projectOptions
		file   string
		upsert bool
	)
	cmd := &cobra.Command{
		Use:   "create [NAME]",
		Short: "Create a project",
		Example: `  moor proj create shop -d https://kubernetes.default.svc,shop -s https://github.com/example/shop.git
  moor proj create -f project.yaml --upsert`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p := &v1alpha1.AppProject{}
			if file != "" {
				var err error
				if p, err = readProjectFile(cmd, file); err != nil {
					return err
				}
			}
			if len(args) == 1 {
				if p.Name != "" && p.Name != args[0] {
					return usageErrorf("the name %q differs from the file's %q", args[0], p.Name)
				}
				p.Name = args[0]
			}
			if p.Name == "" {
				return usageErrorf("give the project's NAME (or a file with -f)")
			}
			if err := opts.apply(cmd.Flags(), &p.Spec); err != nil {
				return err
			}
			msg, err := projectToMessage(p)
			if err != nil {
				return err
			}
			conn, err := g.conn()
			if err != nil {
				return err
			}
			defer conn.Close()
			c := apiv1.NewProjectServiceClient(conn)
			if _, err := c.Create(cmd.Context(), &apiv1.ProjectServiceCreateRequest{Project: msg, Upsert: upsert}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "project %q created\n", p.Name)
			return nil
		},
	}
	opts.bindFlags(cmd.Flags())
	cmd.Flags().StringVarP(&file, "file", "f", "", "AppProject manifest (YAML or JSON; - reads stdin); flags add to it")
	cmd.Flags().BoolVar(&upsert, "upsert", false, "replace the project if it exists with a different spec")
	return cmd
}

// readProjectFile reads an AppProject manifest from path ("-" is the command's input).
func readProjectFile(cmd *cobra.Command, path string) (*v1alpha1.AppProject, error) {
	var (
		b   []byte
		err error
	)
	if path == "-" {
		b, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), 8<<20))
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, usageErrorf("reading %s: %v", path, err)
	}
	p := &v1alpha1.AppProject{}
	if err := yaml.UnmarshalStrict(b, p); err != nil {
		return nil, usageErrorf("%s: not an AppProject: %v", path, oneLine(err.Error()))
	}
	if p.Kind != "" && p.Kind != "AppProject" {
		return nil, usageErrorf("%s: kind is %q, want AppProject", path, p.Kind)
	}
	return p, nil
}

func newProjGetCommand(g *globalOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "get NAME",
		Short: "Show a project",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "", "wide", "json", "yaml"); err != nil {
				return err
			}
			conn, err := g.conn()
			if err != nil {
				return err
			}
			defer conn.Close()
			p, err := getProject(cmd.Context(), apiv1.NewProjectServiceClient(conn), args[0])
			if err != nil {
				return err
			}
			switch output {
			case "json", "yaml":
				p.ManagedFields = nil // as kubectl, which shows them only when asked
				return printStructured(cmd.OutOrStdout(), output, p)
			}
			return printProject(cmd.OutOrStdout(), p)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json, yaml or wide")
	return cmd
}

// printProject writes the summary `proj get` shows.
func printProject(w io.Writer, p *v1alpha1.AppProject) error {
	s := p.Spec
	dests := make([]string, 0, len(s.Destinations))
	for _, d := range s.Destinations {
		dests = append(dests, destinationString(d))
	}
	orphaned := "disabled"
	if o := s.OrphanedResources; o != nil {
		orphaned = "enabled"
		if o.Warn != nil && *o.Warn {
			orphaned = "enabled (warn)"
		}
	}
	roles := make([]string, 0, len(s.Roles))
	for _, r := range s.Roles {
		roles = append(roles, r.Name)
	}
	keys := make([]string, 0, len(s.SignatureKeys))
	for _, k := range s.SignatureKeys {
		keys = append(keys, k.KeyID)
	}
	return printFields(w, [][2]string{
		{"Name", p.Name},
		{"Description", s.Description},
		{"Destinations", orNone(strings.Join(dests, "\n"))},
		{"Repositories", orNone(strings.Join(s.SourceRepos, "\n"))},
		{"Source Namespaces", orNone(strings.Join(s.SourceNamespaces, "\n"))},
		{"Allowed Cluster Resources", orNone(clusterKinds(s.ClusterResourceWhitelist))},
		{"Denied Cluster Resources", orNone(clusterKinds(s.ClusterResourceBlacklist))},
		{"Allowed Namespaced Resources", orNone(groupKinds(s.NamespaceResourceWhitelist))},
		{"Denied Namespaced Resources", orNone(groupKinds(s.NamespaceResourceBlacklist))},
		{"Signature Keys", orNone(strings.Join(keys, ", "))},
		{"Orphaned Resources", orphaned},
		{"Roles", orNone(strings.Join(roles, ", "))},
		{"Sync Windows", strconv.Itoa(len(s.SyncWindows))},
	})
}

func destinationString(d v1alpha1.ApplicationDestination) string {
	if d.Server == "" && d.Name != "" {
		return d.Name + " (name)," + d.Namespace
	}
	return d.Server + "," + d.Namespace
}

func clusterKinds(items []v1alpha1.ClusterResourceRestrictionItem) string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		s := it.Group + "/" + it.Kind
		if it.Name != "" {
			s += "/" + it.Name
		}
		out = append(out, s)
	}
	return strings.Join(out, "\n")
}

func groupKinds(items []metav1.GroupKind) string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, it.Group+"/"+it.Kind)
	}
	return strings.Join(out, "\n")
}

func newProjListCommand(g *globalOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List projects",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, "", "wide", "name", "json", "yaml"); err != nil {
				return err
			}
			conn, err := g.conn()
			if err != nil {
				return err
			}
			defer conn.Close()
			resp, err := apiv1.NewProjectServiceClient(conn).List(cmd.Context(), &apiv1.ProjectServiceListRequest{})
			if err != nil {
				return err
			}
			projects := make([]*v1alpha1.AppProject, 0, len(resp.GetList().GetItems()))
			for _, m := range resp.GetList().GetItems() {
				p, err := projectFromMessage(m)
				if err != nil {
					return err
				}
				projects = append(projects, p)
			}
			return printProjects(cmd.OutOrStdout(), output, projects)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json, yaml, name or wide")
	return cmd
}

// printProjects writes projects in format ("" or "wide" is a table).
func printProjects(w io.Writer, format string, projects []*v1alpha1.AppProject) error {
	switch format {
	case "json", "yaml":
		for _, p := range projects {
			p.ManagedFields = nil
		}
		return printStructured(w, format, projects)
	case "name":
		for _, p := range projects {
			fmt.Fprintln(w, p.Name)
		}
		return nil
	}
	rows := make([][]string, 0, len(projects))
	for _, p := range projects {
		s := p.Spec
		dests := make([]string, 0, len(s.Destinations))
		for _, d := range s.Destinations {
			dests = append(dests, destinationString(d))
		}
		orphaned := "disabled"
		if s.OrphanedResources != nil {
			orphaned = "enabled"
		}
		keys := make([]string, 0, len(s.SignatureKeys))
		for _, k := range s.SignatureKeys {
			keys = append(keys, k.KeyID)
		}
		rows = append(rows, []string{
			p.Name, s.Description,
			summarize(dests, "destinations"),
			summarize(s.SourceRepos, "repos"),
			summarize(strings.Split(clusterKinds(s.ClusterResourceWhitelist), "\n"), "resources"),
			summarize(strings.Split(groupKinds(s.NamespaceResourceBlacklist), "\n"), "resources"),
			summarize(keys, "keys"),
			orphaned,
		})
	}
	return printTable(w, []string{"NAME", "DESCRIPTION", "DESTINATIONS", "SOURCES", "CLUSTER-RESOURCE-WHITELIST", "NAMESPACE-RESOURCE-BLACKLIST", "SIGNATURE-KEYS", "ORPHANED-RESOURCES"}, rows)
}

// summarize is the one item of items, "<none>", or a count of them.
func summarize(items []string, noun string) string {
	items = slices.DeleteFunc(items, func(s string) bool { return s == "" })
	switch len(items) {
	case 0:
		return "<none>"
	case 1:
		return items[0]
	}
	return fmt.Sprintf("%d %s", len(items), noun)
}

func newProjDeleteCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "delete NAME...",
		Aliases: []string{"rm"},
		Short:   "Delete projects that no application uses",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			conn, err := g.conn()
			if err != nil {
				return err
			}
			defer conn.Close()
			c := apiv1.NewProjectServiceClient(conn)
			for _, name := range args {
				if _, err := c.Delete(cmd.Context(), &apiv1.ProjectServiceDeleteRequest{Name: name}); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "project %q deleted\n", name)
			}
			return nil
		},
	}
}

func newProjAddSourceCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "add-source PROJECT URL",
		Short: "Permit a source repository (a URL or glob)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			proj, url := args[0], args[1]
			return changeProject(cmd, g, proj, func(p *v1alpha1.AppProject) (string, error) {
				if slices.Contains(p.Spec.SourceRepos, url) {
					return fmt.Sprintf("source %s is already permitted in project %q", url, proj), errUnchanged
				}
				p.Spec.SourceRepos = append(p.Spec.SourceRepos, url)
				return fmt.Sprintf("source %s added to project %q", url, proj), nil
			})
		},
	}
}

func newProjRemoveSourceCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "remove-source PROJECT URL",
		Short: "Stop permitting a source repository",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			proj, url := args[0], args[1]
			return changeProject(cmd, g, proj, func(p *v1alpha1.AppProject) (string, error) {
				n := len(p.Spec.SourceRepos)
				p.Spec.SourceRepos = slices.DeleteFunc(p.Spec.SourceRepos, func(s string) bool { return s == url })
				if len(p.Spec.SourceRepos) == n {
					return fmt.Sprintf("source %s is not permitted in project %q", url, proj), errUnchanged
				}
				return fmt.Sprintf("source %s removed from project %q", url, proj), nil
			})
		},
	}
}

func newProjAddDestinationCommand(g *globalOptions) *cobra.Command {
	var byName bool
	cmd := &cobra.Command{
		Use:   "add-destination PROJECT SERVER NAMESPACE",
		Short: "Permit a destination cluster and namespace (globs allowed)",
		Example: `  moor proj add-destination shop https://kubernetes.default.svc shop
  moor proj add-destination shop in-cluster 'shop-*' --name`,
		Args: cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			proj, dest := args[0], destinationArg(args[1], args[2], byName)
			return changeProject(cmd, g, proj, func(p *v1alpha1.AppProject) (string, error) {
				if slices.Contains(p.Spec.Destinations, dest) {
					return fmt.Sprintf("destination %s is already permitted in project %q", destinationString(dest), proj), errUnchanged
				}
				p.Spec.Destinations = append(p.Spec.Destinations, dest)
				return fmt.Sprintf("destination %s added to project %q", destinationString(dest), proj), nil
			})
		},
	}
	cmd.Flags().BoolVar(&byName, "name", false, "SERVER is a cluster name, not a server URL")
	return cmd
}

func newProjRemoveDestinationCommand(g *globalOptions) *cobra.Command {
	var byName bool
	cmd := &cobra.Command{
		Use:   "remove-destination PROJECT SERVER NAMESPACE",
		Short: "Stop permitting a destination",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			proj, dest := args[0], destinationArg(args[1], args[2], byName)
			return changeProject(cmd, g, proj, func(p *v1alpha1.AppProject) (string, error) {
				n := len(p.Spec.Destinations)
				p.Spec.Destinations = slices.DeleteFunc(p.Spec.Destinations, func(d v1alpha1.ApplicationDestination) bool { return d == dest })
				if len(p.Spec.Destinations) == n {
					return fmt.Sprintf("destination %s is not permitted in project %q", destinationString(dest), proj), errUnchanged
				}
				return fmt.Sprintf("destination %s removed from project %q", destinationString(dest), proj), nil
			})
		},
	}
	cmd.Flags().BoolVar(&byName, "name", false, "SERVER is a cluster name, not a server URL")
	return cmd
}

func destinationArg(server, namespace string, byName bool) v1alpha1.ApplicationDestination {
	if byName {
		return v1alpha1.ApplicationDestination{Name: server, Namespace: namespace}
	}
	return v1alpha1.ApplicationDestination{Server: server, Namespace: namespace}
}

// errUnchanged tells changeProject that the change is already in place: nothing is written and the
// message goes to stderr.
var errUnchanged = errors.New("unchanged")

// changeProject reads a project, applies change and writes it back with the resourceVersion read, so a
// concurrent writer is never overwritten; a lost race is retried with a fresh read. change returns the line
// to print.
func changeProject(cmd *cobra.Command, g *globalOptions, name string, change func(*v1alpha1.AppProject) (string, error)) error {
	conn, err := g.conn()
	if err != nil {
		return err
	}
	defer conn.Close()
	c := apiv1.NewProjectServiceClient(conn)
	const attempts = 5
	for i := 1; ; i++ {
		p, err := getProject(cmd.Context(), c, name)
		if err != nil {
			return err
		}
		line, err := change(p)
		if errors.Is(err, errUnchanged) {
			fmt.Fprintln(cmd.ErrOrStderr(), line)
			return nil
		}
		if err != nil {
			return err
		}
		msg, err := projectToMessage(p)
		if err != nil {
			return err
		}
		_, err = c.Update(cmd.Context(), &apiv1.ProjectServiceUpdateRequest{Project: msg})
		if status.Code(err) == codes.Aborted && i < attempts {
			continue
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(cmd.OutOrStdout(), line)
		return nil
	}
}

func getProject(ctx context.Context, c apiv1.ProjectServiceClient, name string) (*v1alpha1.AppProject, error) {
	resp, err := c.Get(ctx, &apiv1.ProjectServiceGetRequest{Name: name})
	if err != nil {
		return nil, err
	}
	return projectFromMessage(resp.GetProject())
}

func projectFromMessage(m *apiv1.AppProject) (*v1alpha1.AppProject, error) {
	p := &v1alpha1.AppProject{}
	if err := kubeproto.FromEnvelope(m, p); err != nil {
		return nil, fmt.Errorf("reading the server's project: %w", err)
	}
	return p, nil
}

func projectToMessage(p *v1alpha1.AppProject) (*apiv1.AppProject, error) {
	c := *p
	c.APIVersion, c.Kind = v1alpha1.SchemeGroupVersion.String(), "AppProject"
	m := &apiv1.AppProject{}
	if err := kubeproto.ToEnvelope(&c, m); err != nil {
		return nil, err
	}
	return m, nil
}
