package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/diff"
	"github.com/moorcd/moor/pkg/render"
	"github.com/moorcd/moor/pkg/render/helm"
	moorsync "github.com/moorcd/moor/pkg/sync"
)

type diffFlags struct {
	local, localRepoRoot, revision string
	refresh, hardRefresh, exitCode bool
	diffExitCode                   int
}

func newAppDiffCommand(g *globalOptions) *cobra.Command {
	var o diffFlags
	cmd := &cobra.Command{
		Use:   "diff NAME",
		Short: "Show the difference between live and desired state, per resource, as unified diffs",
		Long: `Show how each resource of an application differs between the cluster ("-", live) and the desired
state ("+"), as unified diffs under "===== group/kind namespace/name ======" headers; coloured on a terminal.

By default the desired state is the one the controller last compared (its server-side dry-run prediction,
so defaulted fields never show). --revision renders another revision on the server, --local DIR renders a
local directory in-process (plain YAML/JSON, Kustomize, Helm or Jsonnet, with the application's source
options); both are compared with the live objects offline (desired fields laid over live), which cannot see
fields removed from Git or API-server defaults. Secret values are masked.

Exit codes: 0 no difference, 1 differences (--diff-exit-code; 0 with --exit-code=false), 20 on any error.`,
		Example: `  moor app diff guestbook
  moor app diff guestbook --refresh
  moor app diff guestbook --local ./guestbook
  moor app diff guestbook --local ./apps/guestbook --local-repo-root .`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			err := runAppDiff(cmd, g, args[0], &o)
			if err == nil {
				return nil
			}
			if ee, ok := errors.AsType[*ExitError](err); ok && ee.Code == o.diffExitCode {
				return err
			}
			return &ExitError{Code: ExitGeneric, Err: err}
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.local, "local", "", "compare with the manifests rendered from this local directory")
	f.StringVar(&o.localRepoRoot, "local-repo-root", "", "with --local, the repository root (for Helm value files and Kustomize bases outside the directory)")
	f.StringVar(&o.revision, "revision", "", "compare with the manifests of this revision")
	f.BoolVar(&o.refresh, "refresh", false, "refresh the application before comparing")
	f.BoolVar(&o.hardRefresh, "hard-refresh", false, "refresh bypassing the manifest cache before comparing")
	f.BoolVar(&o.exitCode, "exit-code", true, "exit with --diff-exit-code when there are differences")
	f.IntVar(&o.diffExitCode, "diff-exit-code", ExitCommandSpecific, "exit code when there are differences")
	return cmd
}

// resourceDiff is one resource's two sides as YAML-able objects (nil: absent).
type resourceDiff struct {
	group, kind, namespace, name string
	live, desired                map[string]any
}

func (d resourceDiff) header() string {
	gk := d.kind
	if d.group != "" {
		gk = d.group + "/" + d.kind
	}
	return fmt.Sprintf("===== %s %s/%s ======", gk, d.namespace, d.name)
}

func runAppDiff(cmd *cobra.Command, g *globalOptions, name string, o *diffFlags) error {
	if o.local != "" && o.revision != "" {
		return usageErrorf("pass --local or --revision, not both")
	}
	if o.localRepoRoot != "" && o.local == "" {
		return usageErrorf("--local-repo-root needs --local")
	}
	s, err := g.appSession()
	if err != nil {
		return err
	}
	defer s.Close()
	ctx := cmd.Context()
	app, err := s.refreshed(ctx, name, refreshFlag(o.refresh, o.hardRefresh), refreshTimeout)
	if err != nil {
		return err
	}
	managed, err := s.apps.ManagedResources(ctx, &apiv1.ApplicationServiceManagedResourcesRequest{ApplicationName: name})
	if err != nil {
		return err
	}
	if len(managed.GetItems()) == 0 && len(app.Status.Resources) > 0 {
		return fmt.Errorf("the server has no managed resources of %s yet: the controller has not published them (is moor-server started with --controller, or sharing --redis with moor-controller?)", name)
	}
	var diffs []resourceDiff
	switch {
	case o.local != "":
		objs, err := renderLocal(ctx, app, o.local, o.localRepoRoot)
		if err != nil {
			return err
		}
		if diffs, err = offlineDiffs(ctx, s, app, objs, managed.GetItems()); err != nil {
			return err
		}
	case o.revision != "":
		resp, err := s.apps.GetManifests(ctx, &apiv1.ApplicationServiceGetManifestsRequest{Name: name, Revision: o.revision})
		if err != nil {
			return err
		}
		objs, err := decodeManifests(resp.GetManifests())
		if err != nil {
			return err
		}
		if diffs, err = offlineDiffs(ctx, s, app, objs, managed.GetItems()); err != nil {
			return err
		}
	default:
		if diffs, err = serverDiffs(managed.GetItems()); err != nil {
			return err
		}
	}
	w := cmd.OutOrStdout()
	changed, err := printDiffs(w, diffs, colorEnabled(w))
	if err != nil {
		return err
	}
	if changed > 0 && o.exitCode {
		return &ExitError{Code: o.diffExitCode, Err: fmt.Errorf("%d of %d resources of %s differ", changed, len(diffs), name)}
	}
	return nil
}

// serverDiffs takes both sides from the controller's comparison: live normalised, and the predicted live
// object after a sync (falling back to the raw states when the controller could not predict).
func serverDiffs(items []*apiv1.ResourceDiff) ([]resourceDiff, error) {
	var out []resourceDiff
	for _, it := range items {
		if it.GetHook() {
			continue
		}
		d := resourceDiff{group: it.GetGroup(), kind: it.GetKind(), namespace: it.GetNamespace(), name: it.GetName()}
		live, desired := it.GetNormalizedLiveState(), it.GetPredictedLiveState()
		if live == "" {
			live = it.GetLiveState()
		}
		if desired == "" {
			desired = it.GetTargetState()
		}
		var err error
		if d.live, err = appJSONObject(live); err != nil {
			return nil, fmt.Errorf("live state of %s: %w", d.header(), err)
		}
		if d.desired, err = appJSONObject(desired); err != nil {
			return nil, fmt.Errorf("desired state of %s: %w", d.header(), err)
		}
		if !it.GetModified() && d.live != nil && d.desired != nil {
			d.desired = d.live // Synced: nothing to show, whatever the raw states say
		}
		out = append(out, d)
	}
	return out, nil
}

func appJSONObject(s string) (map[string]any, error) {
	if s == "" || s == "null" {
		return nil, nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, err
	}
	return m, nil
}

// offlineDiffs compares desired objects rendered outside the controller with the live objects of the
// managed resources, with pkg/diff's offline mode. Live objects are read with GetResource, so they are as
// fresh as the cluster (the managed resources only say which objects the application tracks).
func offlineDiffs(ctx context.Context, s *appSession, app *v1alpha1.Application, desired []*unstructured.Unstructured, items []*apiv1.ResourceDiff) ([]resourceDiff, error) {
	differ, err := diff.New(diff.Options{CacheSize: -1})
	if err != nil {
		return nil, err
	}
	type key struct{ group, kind, namespace, name string }
	clusterScoped := map[[2]string]bool{}
	var tracked []*apiv1.ResourceDiff
	for _, it := range items {
		if it.GetHook() {
			continue
		}
		if it.GetNamespace() == "" {
			clusterScoped[[2]string{it.GetGroup(), it.GetKind()}] = true
		}
		tracked = append(tracked, it)
	}
	objs, err := readLive(ctx, s, app, tracked)
	if err != nil {
		return nil, err
	}
	live := map[key]*unstructured.Unstructured{}
	order := make([]key, len(tracked))
	for i, it := range tracked {
		order[i] = key{it.GetGroup(), it.GetKind(), it.GetNamespace(), it.GetName()}
		live[order[i]] = objs[i]
	}
	var pairs []diff.Pair
	var keys []key
	seen := map[key]bool{}
	for _, d := range desired {
		if moorsync.IsHook(d) {
			continue // hooks run during a sync; they are not part of the compared state
		}
		gk := d.GroupVersionKind().GroupKind()
		if d.GetNamespace() == "" && !clusterScoped[[2]string{gk.Group, gk.Kind}] && !wellKnownClusterScoped[gk.Kind] {
			d.SetNamespace(app.Spec.Destination.Namespace)
		}
		k := key{gk.Group, gk.Kind, d.GetNamespace(), d.GetName()}
		if seen[k] {
			continue
		}
		seen[k] = true
		keys = append(keys, k)
		pairs = append(pairs, diff.Pair{Desired: d, Live: live[k]})
	}
	for _, k := range order {
		if !seen[k] && live[k] != nil {
			keys = append(keys, k)
			pairs = append(pairs, diff.Pair{Live: live[k]})
		}
	}
	results, err := differ.DiffAll(ctx, pairs, diff.ResourceOptions{IgnoreDifferences: app.Spec.IgnoreDifferences})
	if err != nil {
		return nil, err
	}
	out := make([]resourceDiff, len(results))
	for i, r := range results {
		k := keys[i]
		out[i] = resourceDiff{group: k.group, kind: k.kind, namespace: k.namespace, name: k.name}
		if r.NormalizedLive != nil {
			out[i].live = r.NormalizedLive.Object
		}
		if r.PredictedLive != nil {
			out[i].desired = r.PredictedLive.Object
		}
		if !r.Modified {
			out[i].desired = out[i].live
		}
	}
	return out, nil
}

// readLive reads the live object of each item with GetResource (nil when it does not exist), a few at a time.
func readLive(ctx context.Context, s *appSession, app *v1alpha1.Application, items []*apiv1.ResourceDiff) ([]*unstructured.Unstructured, error) {
	versions := map[string]string{}
	for _, r := range app.Status.Resources {
		versions[r.Group+"/"+r.Kind+"/"+r.Namespace+"/"+r.Name] = r.Version
	}
	out := make([]*unstructured.Unstructured, len(items))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, it := range items {
		g.Go(func() error {
			version := versions[it.GetGroup()+"/"+it.GetKind()+"/"+it.GetNamespace()+"/"+it.GetName()]
			for _, doc := range []string{it.GetLiveState(), it.GetTargetState()} {
				if m, _ := appJSONObject(doc); m != nil && version == "" {
					version = (&unstructured.Unstructured{Object: m}).GroupVersionKind().Version
				}
			}
			resp, err := s.apps.GetResource(gctx, &apiv1.ApplicationServiceGetResourceRequest{Name: app.Name, Group: it.GetGroup(),
				Version: version, Kind: it.GetKind(), Namespace: it.GetNamespace(), ResourceName: it.GetName()})
			if status.Code(err) == codes.NotFound {
				return nil
			}
			if err != nil {
				return fmt.Errorf("read %s %s/%s live: %w", it.GetKind(), it.GetNamespace(), it.GetName(), err)
			}
			obj, err := appJSONObject(resp.GetManifest())
			if err != nil || obj == nil {
				return err
			}
			out[i] = &unstructured.Unstructured{Object: obj}
			return nil
		})
	}
	return out, g.Wait()
}

// wellKnownClusterScoped are kinds that never take the destination namespace, for --local renders of kinds
// the application does not manage yet.
var wellKnownClusterScoped = map[string]bool{
	"Namespace": true, "CustomResourceDefinition": true, "ClusterRole": true, "ClusterRoleBinding": true,
	"PersistentVolume": true, "StorageClass": true, "PriorityClass": true, "IngressClass": true,
	"ValidatingWebhookConfiguration": true, "MutatingWebhookConfiguration": true, "APIService": true,
	"RuntimeClass": true, "CSIDriver": true, "VolumeAttachment": true, "Node": true,
	"ValidatingAdmissionPolicy": true, "ValidatingAdmissionPolicyBinding": true,
}

// renderLocal renders dir with the application's source options, in-process.
func renderLocal(ctx context.Context, app *v1alpha1.Application, dir, root string) ([]*unstructured.Unstructured, error) {
	if app.Spec.HasMultipleSources() {
		return nil, usageErrorf("--local is not supported for applications with several sources")
	}
	if root == "" {
		root = dir
	}
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	rel, err := filepath.Rel(absRoot, absDir)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil, usageErrorf("--local %s is not inside --local-repo-root %s", dir, root)
	}
	if st, err := os.Stat(absDir); err != nil || !st.IsDir() {
		return nil, usageErrorf("--local %s is not a directory", dir)
	}
	src := v1alpha1.ApplicationSource{}
	if app.Spec.Source != nil {
		src = *app.Spec.Source.DeepCopy()
	}
	src.Chart = "" // a local directory is never a chart of a Helm repository
	src.Path = filepath.ToSlash(rel)
	engine := render.New(render.Options{Helm: helm.New(helm.Options{})})
	res, err := engine.Render(ctx, &render.Request{
		FS: os.DirFS(absRoot), Path: filepath.ToSlash(rel), Source: &src,
		AppName: app.Name, Namespace: app.Spec.Destination.Namespace,
	})
	if err != nil {
		return nil, err
	}
	return res.Objects, nil
}

// decodeManifests parses the JSON documents of GetManifests.
func decodeManifests(docs []string) ([]*unstructured.Unstructured, error) {
	out := make([]*unstructured.Unstructured, 0, len(docs))
	for i, d := range docs {
		obj, err := appJSONObject(d)
		if err != nil {
			return nil, fmt.Errorf("manifest %d: %w", i+1, err)
		}
		if obj != nil {
			out = append(out, &unstructured.Unstructured{Object: obj})
		}
	}
	return out, nil
}

// printDiffs prints a unified diff for each resource whose sides differ and returns how many differ.
func printDiffs(w io.Writer, diffs []resourceDiff, color bool) (int, error) {
	slices.SortStableFunc(diffs, func(a, b resourceDiff) int {
		return strings.Compare(a.group+"/"+a.kind+"/"+a.namespace+"/"+a.name, b.group+"/"+b.kind+"/"+b.namespace+"/"+b.name)
	})
	changed := 0
	for _, d := range diffs {
		a, err := appYAMLLines(d.live)
		if err != nil {
			return changed, err
		}
		b, err := appYAMLLines(d.desired)
		if err != nil {
			return changed, err
		}
		text := unifiedDiff(a, b, "live", "desired", 3)
		if text == "" {
			continue
		}
		changed++
		fmt.Fprintln(w, paint(color, ansiCyan, d.header()))
		for _, l := range strings.SplitAfter(strings.TrimSuffix(text, "\n"), "\n") {
			l = strings.TrimSuffix(l, "\n")
			switch {
			case strings.HasPrefix(l, "---"), strings.HasPrefix(l, "+++"):
				fmt.Fprintln(w, l)
			case strings.HasPrefix(l, "@@"):
				fmt.Fprintln(w, paint(color, ansiCyan, l))
			case strings.HasPrefix(l, "-"):
				fmt.Fprintln(w, paint(color, ansiRed, l))
			case strings.HasPrefix(l, "+"):
				fmt.Fprintln(w, paint(color, ansiGreen, l))
			default:
				fmt.Fprintln(w, l)
			}
		}
		fmt.Fprintln(w)
	}
	return changed, nil
}

func appYAMLLines(obj map[string]any) ([]string, error) {
	if obj == nil {
		return nil, nil
	}
	b, err := yaml.Marshal(obj)
	if err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n"), nil
}
