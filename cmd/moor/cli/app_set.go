package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/api/equality"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/kubeproto"
)

func newAppSetCommand(g *globalOptions) *cobra.Command {
	var (
		o        specFlags
		validate bool
	)
	cmd := &cobra.Command{
		Use:   "set NAME",
		Short: "Change an application's source, destination or sync policy",
		Example: `  moor app set guestbook --revision v2 --sync-policy auto --auto-prune
  moor app set guestbook --helm-set image.tag=1.2.3 --sync-option CreateNamespace=true
  moor app set guestbook --sync-policy manual`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !localFlagChanged(cmd) {
				return usageErrorf("nothing to set: pass at least one flag (see --help)")
			}
			return updateSpec(cmd.Context(), g, args[0], validate, func(app *v1alpha1.Application) error {
				if o.anyChanged("label", "annotations", "set-finalizer") {
					return usageErrorf("--label, --annotations and --set-finalizer change metadata: use 'moor app patch'")
				}
				return o.apply(app)
			})
		},
	}
	f := cmd.Flags()
	o.bind(f)
	f.BoolVar(&validate, "validate", true, "validate the repository and destination before updating")
	return cmd
}

// unsetFlags name what `app unset` removes.
type unsetFlags struct {
	parameters, valueFiles, kustomizeImages, kustomizeReplicas []string
	jsonnetTLAs, jsonnetExtVars, syncOptions                   []string
	valuesLiteral, namePrefix, nameSuffix, kustomizeVersion    bool
	kustomizeNamespace, ignoreMissingValueFiles, ref           bool
	jsonnetLibs, directoryInclude, directoryExclude, retry     bool
	sourcePosition                                             int
}

func newAppUnsetCommand(g *globalOptions) *cobra.Command {
	var (
		u        unsetFlags
		validate bool
	)
	cmd := &cobra.Command{
		Use:   "unset NAME",
		Short: "Remove parameters and options from an application's source or sync policy",
		Example: `  moor app unset guestbook -p image.tag --values values-prod.yaml
  moor app unset guestbook --kustomize-image nginx --nameprefix
  moor app unset guestbook --sync-option CreateNamespace`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !localFlagChanged(cmd) {
				return usageErrorf("nothing to unset: pass at least one flag (see --help)")
			}
			return updateSpec(cmd.Context(), g, args[0], validate, u.apply)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&u.parameters, "parameter", "p", nil, "remove this Helm parameter (by name; repeatable)")
	f.StringArrayVar(&u.valueFiles, "values", nil, "remove this Helm value file (repeatable)")
	f.BoolVar(&u.valuesLiteral, "values-literal", false, "remove the inline Helm values")
	f.BoolVar(&u.ignoreMissingValueFiles, "ignore-missing-value-files", false, "remove ignoreMissingValueFiles")
	f.StringArrayVar(&u.kustomizeImages, "kustomize-image", nil, "remove the Kustomize override of this image (by name; repeatable)")
	f.StringArrayVar(&u.kustomizeReplicas, "kustomize-replica", nil, "remove the Kustomize replica override of this workload (repeatable)")
	f.BoolVar(&u.namePrefix, "nameprefix", false, "remove the Kustomize name prefix")
	f.BoolVar(&u.nameSuffix, "namesuffix", false, "remove the Kustomize name suffix")
	f.BoolVar(&u.kustomizeVersion, "kustomize-version", false, "remove the Kustomize version")
	f.BoolVar(&u.kustomizeNamespace, "kustomize-namespace", false, "remove the Kustomize namespace")
	f.StringArrayVar(&u.jsonnetTLAs, "jsonnet-tla", nil, "remove this Jsonnet top-level argument (by name; repeatable)")
	f.StringArrayVar(&u.jsonnetExtVars, "jsonnet-ext-var", nil, "remove this Jsonnet external variable (by name; repeatable)")
	f.BoolVar(&u.jsonnetLibs, "jsonnet-libs", false, "remove the Jsonnet library paths")
	f.BoolVar(&u.directoryInclude, "directory-include", false, "remove the directory include glob")
	f.BoolVar(&u.directoryExclude, "directory-exclude", false, "remove the directory exclude glob")
	f.BoolVar(&u.ref, "ref", false, "remove the source's ref name")
	f.StringArrayVar(&u.syncOptions, "sync-option", nil, "remove this sync option (Key or Key=value; repeatable)")
	f.BoolVar(&u.retry, "sync-retry", false, "remove the sync retry policy")
	f.IntVar(&u.sourcePosition, "source-position", 0, "1-based position of the source to change, for applications with several sources")
	f.BoolVar(&validate, "validate", true, "validate the repository and destination before updating")
	return cmd
}

func (u *unsetFlags) apply(app *v1alpha1.Application) error {
	src, err := (&specFlags{sourcePosition: u.sourcePosition}).targetSource(&app.Spec)
	if err != nil {
		return err
	}
	if h := src.Helm; h != nil {
		h.Parameters = appCompact(slices.DeleteFunc(h.Parameters, func(p v1alpha1.HelmParameter) bool { return slices.Contains(u.parameters, p.Name) }))
		h.FileParameters = appCompact(slices.DeleteFunc(h.FileParameters, func(p v1alpha1.HelmFileParameter) bool { return slices.Contains(u.parameters, p.Name) }))
		h.ValueFiles = appCompact(slices.DeleteFunc(h.ValueFiles, func(f string) bool { return slices.Contains(u.valueFiles, f) }))
		if u.valuesLiteral {
			h.Values, h.ValuesObject = "", nil
		}
		if u.ignoreMissingValueFiles {
			h.IgnoreMissingValueFiles = nil
		}
		if appIsZeroJSON(h) {
			src.Helm = nil
		}
	}
	if k := src.Kustomize; k != nil {
		k.Images = appCompact(slices.DeleteFunc(k.Images, func(i v1alpha1.KustomizeImage) bool {
			return slices.Contains(u.kustomizeImages, kustomizeImageName(string(i)))
		}))
		k.Replicas = appCompact(slices.DeleteFunc(k.Replicas, func(r v1alpha1.KustomizeReplica) bool { return slices.Contains(u.kustomizeReplicas, r.Name) }))
		if u.namePrefix {
			k.NamePrefix = ""
		}
		if u.nameSuffix {
			k.NameSuffix = ""
		}
		if u.kustomizeVersion {
			k.Version = ""
		}
		if u.kustomizeNamespace {
			k.Namespace = ""
		}
		if appIsZeroJSON(k) {
			src.Kustomize = nil
		}
	}
	if d := src.Directory; d != nil {
		if u.directoryInclude {
			d.Include = ""
		}
		if u.directoryExclude {
			d.Exclude = ""
		}
		if j := d.Jsonnet; j != nil {
			j.TLAs = appCompact(slices.DeleteFunc(j.TLAs, func(v v1alpha1.JsonnetVar) bool { return slices.Contains(u.jsonnetTLAs, v.Name) }))
			j.ExtVars = appCompact(slices.DeleteFunc(j.ExtVars, func(v v1alpha1.JsonnetVar) bool { return slices.Contains(u.jsonnetExtVars, v.Name) }))
			if u.jsonnetLibs {
				j.Libs = nil
			}
			if appIsZeroJSON(j) {
				d.Jsonnet = nil
			}
		}
		if appIsZeroJSON(d) {
			src.Directory = nil
		}
	}
	if u.ref {
		src.Ref = ""
	}
	if p := app.Spec.SyncPolicy; p != nil {
		p.SyncOptions = appCompact(slices.DeleteFunc(p.SyncOptions, func(opt string) bool {
			return slices.Contains(u.syncOptions, opt) || slices.Contains(u.syncOptions, syncOptionKey(opt))
		}))
		if u.retry {
			p.Retry = nil
		}
		if p.Automated == nil && len(p.SyncOptions) == 0 && p.Retry == nil && p.ManagedNamespaceMetadata == nil {
			app.Spec.SyncPolicy = nil
		}
	}
	return nil
}

// appIsZeroJSON reports whether v encodes to an empty JSON object.
func appIsZeroJSON(v any) bool {
	b, err := json.Marshal(v)
	return err == nil && string(b) == "{}"
}

// updateSpec reads the application, lets change edit it and writes the spec back. The write is a JSON patch
// that first tests the spec it read: moor-server answers reads from a cache that can lag behind a write a
// moment ago, and a blind write of a stale spec would undo that write. When the test fails the spec is read
// again and the change made again. With --validate=false the spec goes through UpdateSpec unconditionally.
func updateSpec(ctx context.Context, g *globalOptions, name string, validate bool, change func(*v1alpha1.Application) error) error {
	s, err := g.appSession()
	if err != nil {
		return err
	}
	defer s.Close()
	for attempt := 1; ; attempt++ {
		app, err := s.get(ctx, name, "")
		if err != nil {
			return err
		}
		old := app.Spec.DeepCopy()
		if err := change(app); err != nil {
			return err
		}
		if !validate {
			spec, err := kubeproto.ToStruct(app.Spec)
			if err != nil {
				return err
			}
			_, err = s.apps.UpdateSpec(ctx, &apiv1.ApplicationServiceUpdateSpecRequest{Name: name, Spec: spec, Validate: proto.Bool(false)})
			return err
		}
		if equality.Semantic.DeepEqual(old, &app.Spec) {
			return nil
		}
		patch, err := json.Marshal([]map[string]any{
			{"op": "test", "path": "/spec", "value": old},
			{"op": "replace", "path": "/spec", "value": app.Spec},
		})
		if err != nil {
			return err
		}
		_, err = s.apps.Patch(ctx, &apiv1.ApplicationServicePatchRequest{Name: name, Patch: string(patch), PatchType: "json"})
		if st, ok := status.FromError(err); ok && st.Code() == codes.InvalidArgument && strings.Contains(st.Message(), "testing value /spec failed") && attempt < 10 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
			}
			continue
		}
		return err
	}
}

func newAppPatchCommand(g *globalOptions) *cobra.Command {
	var patch, patchType string
	cmd := &cobra.Command{
		Use:   "patch NAME",
		Short: "Patch an application with a JSON patch or a JSON merge patch",
		Long: `Patch an application. Of the result, the server keeps spec, labels, annotations and finalizers.
--type json (the default, as in argocd) takes an RFC 6902 patch; --type merge an RFC 7386 merge patch.`,
		Example: `  moor app patch guestbook --patch '[{"op": "replace", "path": "/spec/source/path", "value": "v2"}]'
  moor app patch guestbook --type merge --patch '{"metadata": {"labels": {"team": "web"}}}'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if patchType != "json" && patchType != "merge" {
				return usageErrorf("--type %q: want json or merge", patchType)
			}
			if !json.Valid([]byte(patch)) {
				return usageErrorf("--patch is not valid JSON")
			}
			s, err := g.appSession()
			if err != nil {
				return err
			}
			defer s.Close()
			resp, err := s.apps.Patch(cmd.Context(), &apiv1.ApplicationServicePatchRequest{Name: args[0], Patch: patch, PatchType: patchType})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "application '%s' patched\n", resp.GetApplication().GetMetadata().GetName())
			return nil
		},
	}
	cmd.Flags().StringVar(&patch, "patch", "", "the patch (JSON)")
	cmd.Flags().StringVar(&patchType, "type", "json", "patch type: json or merge")
	_ = cmd.MarkFlagRequired("patch")
	return cmd
}

// appCompact returns nil for an empty list, so that an emptied list disappears from the spec.
func appCompact[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return s
}

// localFlagChanged reports whether a flag of cmd itself (not a global one) was given.
func localFlagChanged(cmd *cobra.Command) bool {
	changed := false
	cmd.LocalFlags().VisitAll(func(f *pflag.Flag) { changed = changed || f.Changed })
	return changed
}
