package cli

import (
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

// finalizerResources makes deletion cascade to the app's resources (Argo CD's name).
const finalizerResources = "resources-finalizer.argocd.argoproj.io"

// specFlags are the source, destination, sync and metadata flags shared by `app create` and `app set`
// (argocd's names). Only flags the user gave change the application.
type specFlags struct {
	fs *pflag.FlagSet

	repo, path, revision, chart, ref string
	sourcePosition                   int
	destServer, destName, destNS     string
	project                          string

	syncPolicy                      string
	autoPrune, selfHeal, allowEmpty bool
	syncOptions                     []string
	retryLimit, retryFactor         int64
	retryDuration, retryMaxDuration string
	retryRefresh                    bool

	helmSets, helmSetStrings, helmSetFiles, parameters []string
	valueFiles                                         []string
	valuesLiteralFile, releaseName                     string
	ignoreMissingValueFiles, helmSkipCRDs              bool

	kustomizeImages, kustomizeReplicas              []string
	kustomizeLabels, kustomizeAnnotations           []string
	kustomizeNamespace, namePrefix, nameSuffix      string
	kustomizeVersion                                string
	directoryRecurse                                bool
	directoryInclude, directoryExclude              string
	jsonnetTLAStr, jsonnetTLACode                   []string
	jsonnetExtVarStr, jsonnetExtVarCode, jsonnetLib []string

	labels, annotations  []string
	setFinalizer         bool
	revisionHistoryLimit int64
}

func (o *specFlags) bind(fs *pflag.FlagSet) {
	o.fs = fs
	fs.StringVar(&o.repo, "repo", "", "repository URL (Git, Helm repository or OCI registry)")
	fs.StringVar(&o.path, "path", "", "path of the application inside the Git repository")
	fs.StringVar(&o.revision, "revision", "", "target revision: branch, tag, commit or Helm chart version")
	fs.StringVar(&o.chart, "helm-chart", "", "Helm chart name (for Helm repositories)")
	fs.StringVar(&o.ref, "ref", "", "name of the source for $ref/... value files of other sources")
	fs.IntVar(&o.sourcePosition, "source-position", 0, "1-based position of the source to change, for applications with several sources")
	fs.StringVar(&o.destServer, "dest-server", "", "destination cluster API server URL")
	fs.StringVar(&o.destName, "dest-name", "", "destination cluster name (instead of --dest-server)")
	fs.StringVar(&o.destNS, "dest-namespace", "", "destination namespace")
	fs.StringVar(&o.project, "project", "", "AppProject of the application (default \"default\")")

	fs.StringVar(&o.syncPolicy, "sync-policy", "", "sync policy: manual (or none) or auto (or automated, automatic)")
	fs.BoolVar(&o.autoPrune, "auto-prune", false, "let automated sync delete resources no longer in Git")
	fs.BoolVar(&o.selfHeal, "self-heal", false, "let automated sync revert changes made in the cluster")
	fs.BoolVar(&o.allowEmpty, "allow-empty", false, "let automated sync prune every resource when the source renders none")
	fs.StringArrayVar(&o.syncOptions, "sync-option", nil, "sync option Key=value, e.g. CreateNamespace=true (repeatable; !Key=value removes one)")
	fs.Int64Var(&o.retryLimit, "sync-retry-limit", 0, "retry a failed sync this many times (0 removes the retry policy, -1 retries forever)")
	fs.StringVar(&o.retryDuration, "sync-retry-backoff-duration", "", "first retry delay, e.g. 5s")
	fs.StringVar(&o.retryMaxDuration, "sync-retry-backoff-max-duration", "", "longest retry delay, e.g. 3m")
	fs.Int64Var(&o.retryFactor, "sync-retry-backoff-factor", 0, "factor the retry delay grows by")
	fs.BoolVar(&o.retryRefresh, "sync-retry-refresh", false, "resolve the target revision again before each retry")

	fs.StringArrayVar(&o.helmSets, "helm-set", nil, "Helm value name=value (repeatable)")
	fs.StringArrayVar(&o.helmSetStrings, "helm-set-string", nil, "Helm string value name=value (repeatable)")
	fs.StringArrayVar(&o.helmSetFiles, "helm-set-file", nil, "Helm value from a file of the repository, name=path (repeatable)")
	fs.StringArrayVarP(&o.parameters, "parameter", "p", nil, "Helm parameter override name=value (repeatable)")
	fs.StringArrayVar(&o.valueFiles, "values", nil, "Helm value file of the repository (repeatable; replaces the list)")
	fs.StringVar(&o.valuesLiteralFile, "values-literal-file", "", "local file whose content becomes the inline Helm values")
	fs.StringVar(&o.releaseName, "release-name", "", "Helm release name (default: the application name)")
	fs.BoolVar(&o.ignoreMissingValueFiles, "ignore-missing-value-files", false, "ignore Helm value files that do not exist")
	fs.BoolVar(&o.helmSkipCRDs, "helm-skip-crds", false, "skip the chart's CRDs")

	fs.StringArrayVar(&o.kustomizeImages, "kustomize-image", nil, "Kustomize image override, e.g. nginx=nginx:1.27 (repeatable)")
	fs.StringArrayVar(&o.kustomizeReplicas, "kustomize-replica", nil, "Kustomize replica override name=count (repeatable)")
	fs.StringArrayVar(&o.kustomizeLabels, "kustomize-common-label", nil, "Kustomize common label key=value (repeatable)")
	fs.StringArrayVar(&o.kustomizeAnnotations, "kustomize-common-annotation", nil, "Kustomize common annotation key=value (repeatable)")
	fs.StringVar(&o.kustomizeNamespace, "kustomize-namespace", "", "Kustomize namespace")
	fs.StringVar(&o.kustomizeVersion, "kustomize-version", "", "Kustomize version (accepted; Moor renders with its built-in Kustomize)")
	fs.StringVar(&o.namePrefix, "nameprefix", "", "Kustomize name prefix")
	fs.StringVar(&o.nameSuffix, "namesuffix", "", "Kustomize name suffix")
	fs.BoolVar(&o.directoryRecurse, "directory-recurse", false, "read the directory's subdirectories too")
	fs.StringVar(&o.directoryInclude, "directory-include", "", "glob of the files to read, e.g. '*.yaml' or '{a.yaml,b.yaml}'")
	fs.StringVar(&o.directoryExclude, "directory-exclude", "", "glob of the files to skip")
	fs.StringArrayVar(&o.jsonnetTLAStr, "jsonnet-tla-str", nil, "Jsonnet top-level string argument name=value (repeatable)")
	fs.StringArrayVar(&o.jsonnetTLACode, "jsonnet-tla-code", nil, "Jsonnet top-level code argument name=code (repeatable)")
	fs.StringArrayVar(&o.jsonnetExtVarStr, "jsonnet-ext-var-str", nil, "Jsonnet external string variable name=value (repeatable)")
	fs.StringArrayVar(&o.jsonnetExtVarCode, "jsonnet-ext-var-code", nil, "Jsonnet external code variable name=code (repeatable)")
	fs.StringArrayVar(&o.jsonnetLib, "jsonnet-libs", nil, "Jsonnet library path (repeatable)")

	fs.StringArrayVar(&o.labels, "label", nil, "label key=value of the Application (repeatable)")
	fs.StringArrayVar(&o.annotations, "annotations", nil, "annotation key=value of the Application (repeatable)")
	fs.BoolVar(&o.setFinalizer, "set-finalizer", false, "add the finalizer that deletes the resources with the application")
	fs.Int64Var(&o.revisionHistoryLimit, "revision-history-limit", 10, "how many syncs status.history keeps")
}

func (o *specFlags) changed(name string) bool { return o.fs.Changed(name) }

// anyChanged reports whether one of the named flags was given.
func (o *specFlags) anyChanged(names ...string) bool { return slices.ContainsFunc(names, o.changed) }

var sourceFlagNames = []string{
	"repo", "path", "revision", "helm-chart", "ref",
	"helm-set", "helm-set-string", "helm-set-file", "parameter", "values", "values-literal-file", "release-name",
	"ignore-missing-value-files", "helm-skip-crds",
	"kustomize-image", "kustomize-replica", "kustomize-common-label", "kustomize-common-annotation",
	"kustomize-namespace", "kustomize-version", "nameprefix", "namesuffix",
	"directory-recurse", "directory-include", "directory-exclude",
	"jsonnet-tla-str", "jsonnet-tla-code", "jsonnet-ext-var-str", "jsonnet-ext-var-code", "jsonnet-libs",
}

// apply changes app by the flags given.
func (o *specFlags) apply(app *v1alpha1.Application) error {
	if o.anyChanged(sourceFlagNames...) {
		src, err := o.targetSource(&app.Spec)
		if err != nil {
			return err
		}
		if err := o.applySource(src); err != nil {
			return err
		}
	}
	d := &app.Spec.Destination
	if o.changed("dest-server") && o.changed("dest-name") {
		return usageErrorf("pass --dest-server or --dest-name, not both")
	}
	if o.changed("dest-server") {
		d.Server, d.Name = o.destServer, ""
	}
	if o.changed("dest-name") {
		d.Name, d.Server = o.destName, ""
	}
	if o.changed("dest-namespace") {
		d.Namespace = o.destNS
	}
	if o.changed("project") {
		app.Spec.Project = o.project
	}
	if err := o.applySyncPolicy(&app.Spec); err != nil {
		return err
	}
	if o.changed("revision-history-limit") {
		if o.revisionHistoryLimit < 0 {
			return usageErrorf("--revision-history-limit must not be negative")
		}
		app.Spec.RevisionHistoryLimit = new(o.revisionHistoryLimit)
	}
	if o.changed("label") {
		kv, err := appParsePairs("--label", o.labels)
		if err != nil {
			return err
		}
		app.Labels = appMergeMap(app.Labels, kv)
	}
	if o.changed("annotations") {
		kv, err := appParsePairs("--annotations", o.annotations)
		if err != nil {
			return err
		}
		app.Annotations = appMergeMap(app.Annotations, kv)
	}
	if o.setFinalizer && !slices.Contains(app.Finalizers, finalizerResources) {
		app.Finalizers = append(app.Finalizers, finalizerResources)
	}
	return nil
}

// targetSource returns the source the flags change: spec.source, or spec.sources[--source-position-1].
func (o *specFlags) targetSource(spec *v1alpha1.ApplicationSpec) (*v1alpha1.ApplicationSource, error) {
	if spec.HasMultipleSources() {
		if o.sourcePosition < 1 || o.sourcePosition > len(spec.Sources) {
			return nil, usageErrorf("the application has %d sources: pass --source-position 1..%d", len(spec.Sources), len(spec.Sources))
		}
		return &spec.Sources[o.sourcePosition-1], nil
	}
	if o.sourcePosition > 1 {
		return nil, usageErrorf("the application has one source: --source-position can only be 1")
	}
	if spec.Source == nil {
		spec.Source = &v1alpha1.ApplicationSource{}
	}
	return spec.Source, nil
}

func (o *specFlags) applySource(src *v1alpha1.ApplicationSource) error {
	if o.changed("repo") {
		src.RepoURL = o.repo
	}
	if o.changed("path") {
		src.Path = o.path
	}
	if o.changed("revision") {
		src.TargetRevision = o.revision
	}
	if o.changed("helm-chart") {
		src.Chart = o.chart
	}
	if o.changed("ref") {
		src.Ref = o.ref
	}
	if err := o.applyHelm(src); err != nil {
		return err
	}
	if err := o.applyKustomize(src); err != nil {
		return err
	}
	return o.applyDirectory(src)
}

func (o *specFlags) applyHelm(src *v1alpha1.ApplicationSource) error {
	if !o.anyChanged("helm-set", "helm-set-string", "helm-set-file", "parameter", "values", "values-literal-file",
		"release-name", "ignore-missing-value-files", "helm-skip-crds") {
		return nil
	}
	if src.Helm == nil {
		src.Helm = &v1alpha1.ApplicationSourceHelm{}
	}
	h := src.Helm
	for _, set := range []struct {
		flag   string
		values []string
		str    bool
	}{{"--helm-set", o.helmSets, false}, {"--parameter", o.parameters, false}, {"--helm-set-string", o.helmSetStrings, true}} {
		for _, v := range set.values {
			name, value, ok := strings.Cut(v, "=")
			if !ok || name == "" {
				return usageErrorf("%s %q: want name=value", set.flag, v)
			}
			p := v1alpha1.HelmParameter{Name: name, Value: value}
			if set.str {
				p.ForceString = new(true)
			}
			h.Parameters = appUpsertBy(h.Parameters, p, func(x v1alpha1.HelmParameter) bool { return x.Name == name })
		}
	}
	for _, v := range o.helmSetFiles {
		name, path, ok := strings.Cut(v, "=")
		if !ok || name == "" {
			return usageErrorf("--helm-set-file %q: want name=path", v)
		}
		h.FileParameters = appUpsertBy(h.FileParameters, v1alpha1.HelmFileParameter{Name: name, Path: path},
			func(x v1alpha1.HelmFileParameter) bool { return x.Name == name })
	}
	if o.changed("values") {
		h.ValueFiles = slices.Clone(o.valueFiles)
	}
	if o.changed("values-literal-file") {
		b, err := os.ReadFile(o.valuesLiteralFile)
		if err != nil {
			return usageErrorf("--values-literal-file: %v", err)
		}
		h.Values, h.ValuesObject = string(b), nil
	}
	if o.changed("release-name") {
		h.ReleaseName = o.releaseName
	}
	if o.changed("ignore-missing-value-files") {
		h.IgnoreMissingValueFiles = new(o.ignoreMissingValueFiles)
	}
	if o.changed("helm-skip-crds") {
		h.SkipCrds = new(o.helmSkipCRDs)
	}
	return nil
}

func (o *specFlags) applyKustomize(src *v1alpha1.ApplicationSource) error {
	if !o.anyChanged("kustomize-image", "kustomize-replica", "kustomize-common-label", "kustomize-common-annotation",
		"kustomize-namespace", "kustomize-version", "nameprefix", "namesuffix") {
		return nil
	}
	if src.Kustomize == nil {
		src.Kustomize = &v1alpha1.ApplicationSourceKustomize{}
	}
	k := src.Kustomize
	for _, img := range o.kustomizeImages {
		name := kustomizeImageName(img)
		k.Images = appUpsertBy(k.Images, v1alpha1.KustomizeImage(img), func(x v1alpha1.KustomizeImage) bool {
			return kustomizeImageName(string(x)) == name
		})
	}
	for _, r := range o.kustomizeReplicas {
		name, count, ok := strings.Cut(r, "=")
		n, err := strconv.Atoi(count)
		if !ok || name == "" || err != nil || n < 0 {
			return usageErrorf("--kustomize-replica %q: want name=count", r)
		}
		k.Replicas = appUpsertBy(k.Replicas, v1alpha1.KustomizeReplica{Name: name, Count: intstr.FromInt(n)},
			func(x v1alpha1.KustomizeReplica) bool { return x.Name == name })
	}
	if o.changed("kustomize-common-label") {
		kv, err := appParsePairs("--kustomize-common-label", o.kustomizeLabels)
		if err != nil {
			return err
		}
		k.CommonLabels = appMergeMap(k.CommonLabels, kv)
	}
	if o.changed("kustomize-common-annotation") {
		kv, err := appParsePairs("--kustomize-common-annotation", o.kustomizeAnnotations)
		if err != nil {
			return err
		}
		k.CommonAnnotations = appMergeMap(k.CommonAnnotations, kv)
	}
	if o.changed("kustomize-namespace") {
		k.Namespace = o.kustomizeNamespace
	}
	if o.changed("kustomize-version") {
		k.Version = o.kustomizeVersion
	}
	if o.changed("nameprefix") {
		k.NamePrefix = o.namePrefix
	}
	if o.changed("namesuffix") {
		k.NameSuffix = o.nameSuffix
	}
	return nil
}

// kustomizeImageName is the image an override applies to: "nginx" in "nginx=nginx:1.27" or "nginx:1.27".
func kustomizeImageName(img string) string {
	if name, _, ok := strings.Cut(img, "="); ok {
		return name
	}
	if i := strings.IndexByte(img, '@'); i >= 0 {
		img = img[:i]
	}
	if i := strings.LastIndexByte(img, ':'); i > strings.LastIndexByte(img, '/') {
		img = img[:i]
	}
	return img
}

func (o *specFlags) applyDirectory(src *v1alpha1.ApplicationSource) error {
	if !o.anyChanged("directory-recurse", "directory-include", "directory-exclude",
		"jsonnet-tla-str", "jsonnet-tla-code", "jsonnet-ext-var-str", "jsonnet-ext-var-code", "jsonnet-libs") {
		return nil
	}
	if src.Directory == nil {
		src.Directory = &v1alpha1.ApplicationSourceDirectory{}
	}
	d := src.Directory
	if o.changed("directory-recurse") {
		d.Recurse = new(o.directoryRecurse)
	}
	if o.changed("directory-include") {
		d.Include = o.directoryInclude
	}
	if o.changed("directory-exclude") {
		d.Exclude = o.directoryExclude
	}
	if !o.anyChanged("jsonnet-tla-str", "jsonnet-tla-code", "jsonnet-ext-var-str", "jsonnet-ext-var-code", "jsonnet-libs") {
		return nil
	}
	if d.Jsonnet == nil {
		d.Jsonnet = &v1alpha1.ApplicationSourceJsonnet{}
	}
	j := d.Jsonnet
	var err error
	if j.TLAs, err = upsertJsonnet(j.TLAs, "--jsonnet-tla-str", o.jsonnetTLAStr, false); err != nil {
		return err
	}
	if j.TLAs, err = upsertJsonnet(j.TLAs, "--jsonnet-tla-code", o.jsonnetTLACode, true); err != nil {
		return err
	}
	if j.ExtVars, err = upsertJsonnet(j.ExtVars, "--jsonnet-ext-var-str", o.jsonnetExtVarStr, false); err != nil {
		return err
	}
	if j.ExtVars, err = upsertJsonnet(j.ExtVars, "--jsonnet-ext-var-code", o.jsonnetExtVarCode, true); err != nil {
		return err
	}
	if o.changed("jsonnet-libs") {
		j.Libs = slices.Clone(o.jsonnetLib)
	}
	return nil
}

func upsertJsonnet(vars []v1alpha1.JsonnetVar, flag string, values []string, code bool) ([]v1alpha1.JsonnetVar, error) {
	for _, v := range values {
		name, value, ok := strings.Cut(v, "=")
		if !ok || name == "" {
			return nil, usageErrorf("%s %q: want name=value", flag, v)
		}
		jv := v1alpha1.JsonnetVar{Name: name, Value: value}
		if code {
			jv.Code = new(true)
		}
		vars = appUpsertBy(vars, jv, func(x v1alpha1.JsonnetVar) bool { return x.Name == name })
	}
	return vars, nil
}

func (o *specFlags) applySyncPolicy(spec *v1alpha1.ApplicationSpec) error {
	if !o.anyChanged("sync-policy", "auto-prune", "self-heal", "allow-empty", "sync-option",
		"sync-retry-limit", "sync-retry-backoff-duration", "sync-retry-backoff-max-duration", "sync-retry-backoff-factor", "sync-retry-refresh") {
		return nil
	}
	if spec.SyncPolicy == nil {
		spec.SyncPolicy = &v1alpha1.SyncPolicy{}
	}
	p := spec.SyncPolicy
	if o.changed("sync-policy") {
		switch strings.ToLower(o.syncPolicy) {
		case "auto", "automated", "automatic":
			if p.Automated == nil {
				p.Automated = &v1alpha1.SyncPolicyAutomated{}
			}
			p.Automated.Enabled = nil
		case "manual", "none", "":
			p.Automated = nil
		default:
			return usageErrorf("--sync-policy %q: want manual or auto", o.syncPolicy)
		}
	}
	for _, b := range []struct {
		flag  string
		value bool
		field func(*v1alpha1.SyncPolicyAutomated) **bool
	}{
		{"auto-prune", o.autoPrune, func(a *v1alpha1.SyncPolicyAutomated) **bool { return &a.Prune }},
		{"self-heal", o.selfHeal, func(a *v1alpha1.SyncPolicyAutomated) **bool { return &a.SelfHeal }},
		{"allow-empty", o.allowEmpty, func(a *v1alpha1.SyncPolicyAutomated) **bool { return &a.AllowEmpty }},
	} {
		if !o.changed(b.flag) {
			continue
		}
		if p.Automated == nil {
			return usageErrorf("--%s applies to automated sync only: add --sync-policy auto", b.flag)
		}
		*b.field(p.Automated) = new(b.value)
	}
	for _, opt := range o.syncOptions {
		if remove, ok := strings.CutPrefix(opt, "!"); ok {
			p.SyncOptions = appCompact(slices.DeleteFunc(p.SyncOptions, func(x string) bool {
				return x == remove || syncOptionKey(x) == syncOptionKey(remove) && !strings.Contains(remove, "=")
			}))
			continue
		}
		if !strings.Contains(opt, "=") {
			return usageErrorf("--sync-option %q: want Key=value, e.g. CreateNamespace=true", opt)
		}
		p.SyncOptions = appUpsertBy(p.SyncOptions, opt, func(x string) bool { return syncOptionKey(x) == syncOptionKey(opt) })
	}
	if err := o.applyRetry(p); err != nil {
		return err
	}
	if p.Automated == nil && len(p.SyncOptions) == 0 && p.Retry == nil && p.ManagedNamespaceMetadata == nil {
		spec.SyncPolicy = nil
	}
	return nil
}

func (o *specFlags) applyRetry(p *v1alpha1.SyncPolicy) error {
	if o.changed("sync-retry-limit") && o.retryLimit == 0 {
		p.Retry = nil
		return nil
	}
	if !o.anyChanged("sync-retry-limit", "sync-retry-backoff-duration", "sync-retry-backoff-max-duration", "sync-retry-backoff-factor", "sync-retry-refresh") {
		return nil
	}
	if p.Retry == nil {
		if !o.changed("sync-retry-limit") {
			return usageErrorf("the --sync-retry-* flags need --sync-retry-limit")
		}
		p.Retry = &v1alpha1.RetryStrategy{}
	}
	r := p.Retry
	if o.changed("sync-retry-limit") {
		r.Limit = new(o.retryLimit)
	}
	if o.anyChanged("sync-retry-backoff-duration", "sync-retry-backoff-max-duration", "sync-retry-backoff-factor") && r.Backoff == nil {
		r.Backoff = &v1alpha1.Backoff{}
	}
	if o.changed("sync-retry-backoff-duration") {
		r.Backoff.Duration = o.retryDuration
	}
	if o.changed("sync-retry-backoff-max-duration") {
		r.Backoff.MaxDuration = o.retryMaxDuration
	}
	if o.changed("sync-retry-backoff-factor") {
		r.Backoff.Factor = new(o.retryFactor)
	}
	if o.changed("sync-retry-refresh") {
		r.Refresh = new(o.retryRefresh)
	}
	return nil
}

func syncOptionKey(opt string) string {
	k, _, _ := strings.Cut(opt, "=")
	return k
}

// validateNew checks what an application created from flags needs.
func validateNew(app *v1alpha1.Application) error {
	var missing []string
	srcs := app.Spec.GetSources()
	if len(srcs) == 0 || srcs[0].RepoURL == "" {
		missing = append(missing, "--repo")
	}
	if app.Spec.Destination.Server == "" && app.Spec.Destination.Name == "" {
		missing = append(missing, "--dest-server or --dest-name")
	}
	if len(missing) > 0 {
		return usageErrorf("application %q needs %s", app.Name, strings.Join(missing, " and "))
	}
	return nil
}

// appParsePairs reads key=value flag values.
func appParsePairs(flag string, values []string) (map[string]string, error) {
	out := make(map[string]string, len(values))
	for _, v := range values {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" {
			return nil, usageErrorf("%s %q: want key=value", flag, v)
		}
		out[k] = val
	}
	return out, nil
}

func appMergeMap(dst, src map[string]string) map[string]string {
	if dst == nil {
		dst = make(map[string]string, len(src))
	}
	for k, v := range src {
		dst[k] = v
	}
	return dst
}

// appUpsertBy replaces the first element matching with v, or appends v.
func appUpsertBy[T any](list []T, v T, match func(T) bool) []T {
	if i := slices.IndexFunc(list, match); i >= 0 {
		list[i] = v
		return list
	}
	return append(list, v)
}
