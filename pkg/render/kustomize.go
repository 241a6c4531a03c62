package render

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/pkg/util"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/openapi"
	"sigs.k8s.io/kustomize/kyaml/resid"
	"sigs.k8s.io/yaml"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

// ErrRemoteBaseDisabled is a kustomization that names a remote base or file (a Git URL or an http(s)
// URL) while remote bases are disabled. It is wrapped in *Error naming the kustomization.
var ErrRemoteBaseDisabled = errors.New("remote kustomize bases are disabled")

// KustomizationFileNames are the names kustomize recognises, in its order of preference.
var KustomizationFileNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// KustomizeRenderer builds a kustomization with krusty, in-process.
//
// The Application's source.kustomize overrides are applied the way `kustomize edit` applies them in
// Argo CD: to the app's own kustomization file, not to a wrapping overlay (so namePrefix replaces the
// file's prefix rather than stacking, and images/replicas merge by name). The edited file lives only in
// the render's view of the tree; nothing is written.
//
// Loads are root-only (kustomize's default: a kustomization reads files in its own directory tree and
// other kustomizations, such as ../base, as resources), and no path resolves outside the repository.
// Helm charts inside kustomizations (helmCharts) and exec/container plugins are disabled.
type KustomizeRenderer struct {
	// AllowRemoteBases lets kustomizations name remote bases (Git URLs, which kustomize clones by running
	// git) and http(s) files. Off by default: a render should read only the commit.
	AllowRemoteBases bool
}

var _ Renderer = (*KustomizeRenderer)(nil)

// openAPIMu guards kustomize's process-wide OpenAPI schema: a kustomization with an `openapi` field
// replaces it for every concurrent build, so such builds run alone and reset it after.
var openAPIMu sync.RWMutex

// Render implements Renderer.
func (k *KustomizeRenderer) Render(ctx context.Context, req *Request) (*Result, error) {
	if req.FS == nil {
		return nil, errors.New("render kustomize: no repository tree")
	}
	limits := req.Limits.WithDefaults()
	appPath, err := cleanTreePath(req.Path)
	if err != nil {
		return nil, fmt.Errorf("app path: %w", err)
	}
	kname, err := findKustomization(req.FS, appPath)
	if err != nil {
		return nil, err
	}
	kfile := path.Join(appPath, kname)
	kfs := newKustFS(ctx, req.FS, limits.MaxFileBytes, k.AllowRemoteBases)

	var overrides *v1alpha1.ApplicationSourceKustomize
	if req.Source != nil {
		overrides = req.Source.Kustomize
	}
	data, err := kfs.readTree(kfile)
	if err != nil {
		return nil, err
	}
	var kz types.Kustomization
	if err := kz.Unmarshal(data); err != nil {
		return nil, &Error{File: kfile, Err: errors.New(k.cleanMessage(err.Error()))}
	}
	if hasKustomizeOverrides(overrides) {
		if err := applyKustomizeOverrides(&kz, overrides, req, appPath); err != nil {
			return nil, &Error{File: kfile, Err: err}
		}
		edited, err := yaml.Marshal(&kz)
		if err != nil {
			return nil, fmt.Errorf("kustomization %s: %w", kfile, err)
		}
		kfs.edits[kfile] = edited
	}
	if !k.AllowRemoteBases {
		if err := checkNoRemote(kfs, appPath, map[string]bool{}); err != nil {
			return nil, err
		}
	}

	customOpenAPI := len(kz.OpenAPI) > 0
	objs, err := guarded(ctx, "kustomize", func() ([]*unstructured.Unstructured, error) {
		if customOpenAPI {
			openAPIMu.Lock()
			defer openAPIMu.Unlock()
			defer openapi.ResetOpenAPI()
		} else {
			openAPIMu.RLock()
			defer openAPIMu.RUnlock()
		}
		opts := krusty.MakeDefaultOptions()
		opts.Reorder = krusty.ReorderOptionUnspecified // as `kustomize build`: legacy order unless sortOptions
		opts.LoadRestrictions = types.LoadRestrictionsRootOnly
		opts.PluginConfig = types.DisabledPluginConfig()
		m, err := krusty.MakeKustomizer(opts).Run(kfs, kfs.abs(appPath))
		if err != nil {
			return nil, err
		}
		budget := sizeBudget{max: limits.MaxManifestBytes}
		objs := make([]*unstructured.Unstructured, 0, m.Size())
		for _, r := range m.Resources() {
			j, err := r.MarshalJSON()
			if err != nil {
				return nil, fmt.Errorf("encode %s: %w", r.CurId(), err)
			}
			if err := budget.add(len(j)); err != nil {
				return nil, err
			}
			var obj map[string]any
			if err := utiljson.Unmarshal(j, &obj); err != nil {
				return nil, fmt.Errorf("decode %s: %w", r.CurId(), err)
			}
			objs = append(objs, &unstructured.Unstructured{Object: obj})
		}
		return objs, nil
	})
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return nil, fmt.Errorf("kustomize build %s: %w", appPath, ctx.Err())
		case errors.Is(err, ErrTooLarge):
			return nil, fmt.Errorf("kustomize build %s: %w", appPath, err)
		}
		if esc := kfs.escapeError(); esc != nil {
			msg := k.cleanMessage(err.Error())
			if strings.Contains(msg, esc.Error()) {
				return nil, &Error{File: kfile, Err: &messageError{msg: msg, err: esc}}
			}
			return nil, &Error{File: kfile, Err: fmt.Errorf("%s: %w", msg, esc)}
		}
		return nil, &Error{File: kfile, Err: errors.New(k.cleanMessage(err.Error()))}
	}
	return &Result{Objects: objs, SourceType: SourceTypeKustomize}, nil
}

// cleanMessage shows kustomize's absolute paths as repository paths.
func (k *KustomizeRenderer) cleanMessage(msg string) string {
	return strings.ReplaceAll(msg, kustRoot+"/", "")
}

// findKustomization returns the name of the kustomization file in dir.
func findKustomization(fsys fs.FS, dir string) (string, error) {
	st, err := fs.Stat(fsys, dir)
	if err != nil {
		return "", notFound(dir, err)
	}
	if !st.IsDir() {
		return "", &Error{File: dir, Err: errors.New("app path is not a directory")}
	}
	for _, n := range KustomizationFileNames {
		if fi, err := fs.Stat(fsys, path.Join(dir, n)); err == nil && !fi.IsDir() {
			return n, nil
		}
	}
	return "", fmt.Errorf("no kustomization file in %s: %w", dir, ErrNotFound)
}

func hasKustomizeOverrides(o *v1alpha1.ApplicationSourceKustomize) bool {
	if o == nil {
		return false
	}
	return o.NamePrefix != "" || o.NameSuffix != "" || len(o.Images) > 0 || len(o.Replicas) > 0 ||
		len(o.CommonLabels) > 0 || len(o.CommonAnnotations) > 0 || o.Namespace != "" ||
		len(o.Patches) > 0 || len(o.Components) > 0
}

func isTrue(b *bool) bool { return b != nil && *b }

// applyKustomizeOverrides edits a kustomization the way Argo CD's `kustomize edit` calls do.
func applyKustomizeOverrides(kz *types.Kustomization, o *v1alpha1.ApplicationSourceKustomize, req *Request, appPath string) error {
	if o.NamePrefix != "" {
		kz.NamePrefix = o.NamePrefix
	}
	if o.NameSuffix != "" {
		kz.NameSuffix = o.NameSuffix
	}
	if o.Namespace != "" {
		kz.Namespace = o.Namespace
	}
	for _, s := range o.Images {
		img, err := parseKustomizeImage(string(s))
		if err != nil {
			return err
		}
		setImage(kz, img)
	}
	for _, r := range o.Replicas {
		n, err := replicaCount(r.Count)
		if err != nil {
			return fmt.Errorf("replicas %s: %w", r.Name, err)
		}
		setReplicas(kz, types.Replica{Name: r.Name, Count: n})
	}
	if len(o.CommonLabels) > 0 {
		if err := addLabels(kz, o.CommonLabels, isTrue(o.ForceCommonLabels), isTrue(o.LabelWithoutSelector), isTrue(o.LabelIncludeTemplates)); err != nil {
			return err
		}
	}
	if len(o.CommonAnnotations) > 0 {
		ann := o.CommonAnnotations
		if isTrue(o.CommonAnnotationsEnvsubst) {
			env := buildEnv(req)
			ann = make(map[string]string, len(o.CommonAnnotations))
			for key, v := range o.CommonAnnotations {
				ann[key] = envsubst(v, env)
			}
		}
		if kz.CommonAnnotations == nil {
			kz.CommonAnnotations = map[string]string{}
		}
		for _, key := range sortedKeys(ann) {
			if _, ok := kz.CommonAnnotations[key]; ok && !isTrue(o.ForceCommonAnnotations) {
				return fmt.Errorf("commonAnnotations: %q is already set in the kustomization (set forceCommonAnnotations to override it)", key)
			}
			kz.CommonAnnotations[key] = ann[key]
		}
	}
	for _, p := range o.Patches {
		kp := types.Patch{Path: p.Path, Patch: p.Patch}
		if len(p.Options) > 0 {
			kp.Options = &types.PatchArgs{AllowNameChange: p.Options["allowNameChange"], AllowKindChange: p.Options["allowKindChange"]}
		}
		if p.Target != nil {
			kp.Target = &types.Selector{
				ResId: resid.ResId{
					Gvk:       resid.Gvk{Group: p.Target.Group, Version: p.Target.Version, Kind: p.Target.Kind},
					Name:      p.Target.Name,
					Namespace: p.Target.Namespace,
				},
				AnnotationSelector: p.Target.AnnotationSelector,
				LabelSelector:      p.Target.LabelSelector,
			}
		}
		kz.Patches = append(kz.Patches, kp)
	}
	for _, c := range o.Components {
		if isTrue(o.IgnoreMissingComponents) && !isRemote(c) {
			p, err := joinInTree(appPath, c)
			if err != nil {
				return fmt.Errorf("component: %w", err)
			}
			if _, err := fs.Stat(req.FS, p); err != nil {
				continue
			}
		}
		if !containsString(kz.Components, c) {
			kz.Components = append(kz.Components, c)
		}
	}
	return nil
}

// parseKustomizeImage parses Argo CD's image override forms: `name=newName:tag`, `name=newName@digest`,
// `name=newName`, `name:tag` and `name@digest`.
func parseKustomizeImage(s string) (types.Image, error) {
	if s == "" {
		return types.Image{}, errors.New("images: empty entry")
	}
	if name, repl, ok := strings.Cut(s, "="); ok {
		if name == "" || repl == "" {
			return types.Image{}, fmt.Errorf("images: %q: want name=newName[:tag|@digest]", s)
		}
		newName, tag, digest := util.SplitImageName(repl)
		img := types.Image{Name: name, NewTag: tag, Digest: digest}
		if newName != "" && newName != name {
			img.NewName = newName
		}
		return img, nil
	}
	name, tag, digest := util.SplitImageName(s)
	if tag == "" && digest == "" {
		return types.Image{}, fmt.Errorf("images: %q: want name:tag, name@digest or name=newName[:tag]", s)
	}
	return types.Image{Name: name, NewTag: tag, Digest: digest}, nil
}

// setImage merges an override into the images list by name, as `kustomize edit set image` does.
func setImage(kz *types.Kustomization, img types.Image) {
	for i := range kz.Images {
		e := &kz.Images[i]
		if e.Name != img.Name {
			continue
		}
		if img.NewName != "" {
			e.NewName = img.NewName
		}
		if img.NewTag != "" {
			e.NewTag, e.Digest = img.NewTag, ""
		}
		if img.Digest != "" {
			e.Digest, e.NewTag = img.Digest, ""
		}
		return
	}
	kz.Images = append(kz.Images, img)
}

func setReplicas(kz *types.Kustomization, r types.Replica) {
	for i := range kz.Replicas {
		if kz.Replicas[i].Name == r.Name {
			kz.Replicas[i].Count = r.Count
			return
		}
	}
	kz.Replicas = append(kz.Replicas, r)
}

func replicaCount(c intstr.IntOrString) (int64, error) {
	if c.Type == intstr.Int {
		return int64(c.IntVal), nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(c.StrVal), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("count %q is not a number", c.StrVal)
	}
	return n, nil
}

// addLabels adds common labels as `kustomize edit add label [--force] [--without-selector
// [--include-templates]]` does: to commonLabels, or as a labels entry that leaves selectors alone.
func addLabels(kz *types.Kustomization, labels map[string]string, force, withoutSelector, includeTemplates bool) error {
	for _, key := range sortedKeys(labels) {
		_, inCommon := kz.CommonLabels[key]
		inLabels := false
		for _, l := range kz.Labels {
			if _, ok := l.Pairs[key]; ok {
				inLabels = true
			}
		}
		if (inCommon || inLabels) && !force {
			return fmt.Errorf("commonLabels: %q is already set in the kustomization (set forceCommonLabels to override it)", key)
		}
	}
	if !withoutSelector {
		if kz.CommonLabels == nil {
			kz.CommonLabels = map[string]string{}
		}
		for key, v := range labels {
			kz.CommonLabels[key] = v
		}
		return nil
	}
	pairs := make(map[string]string, len(labels))
	for key, v := range labels {
		pairs[key] = v
	}
	kz.Labels = append(kz.Labels, types.Label{Pairs: pairs, IncludeTemplates: includeTemplates})
	return nil
}

// buildEnv is the environment Argo CD gives builds, as far as a render knows it (the revision is not
// part of a Request).
func buildEnv(req *Request) map[string]string {
	env := map[string]string{
		"ARGOCD_APP_NAME":        req.AppName,
		"ARGOCD_APP_NAMESPACE":   req.Namespace,
		"ARGOCD_APP_SOURCE_PATH": req.Path,
		"KUBE_VERSION":           req.KubeVersion,
		"KUBE_API_VERSIONS":      strings.Join(req.APIVersions, ","),
	}
	if req.Source != nil {
		env["ARGOCD_APP_SOURCE_REPO_URL"] = req.Source.RepoURL
		env["ARGOCD_APP_SOURCE_TARGET_REVISION"] = req.Source.TargetRevision
	}
	return env
}

// envsubst replaces $VAR and ${VAR} with env values (unknown names become empty) and $$ with $.
func envsubst(s string, env map[string]string) string {
	return os.Expand(s, func(name string) string {
		if name == "$" {
			return "$"
		}
		return env[name]
	})
}

// checkNoRemote walks the kustomizations reachable from dir and refuses remote references before
// kustomize sees them (kustomize would clone with git, or fetch over http, on its own).
func checkNoRemote(kfs *kustFS, dir string, seen map[string]bool) error {
	if seen[dir] {
		return nil
	}
	seen[dir] = true
	var kname string
	for _, n := range KustomizationFileNames {
		if fi, err := kfs.stat(path.Join(dir, n)); err == nil && !fi.IsDir() {
			kname = n
			break
		}
	}
	if kname == "" {
		return nil
	}
	kfile := path.Join(dir, kname)
	data, err := kfs.readTree(kfile)
	if err != nil {
		return err
	}
	var kz types.Kustomization
	if err := kz.Unmarshal(data); err != nil {
		return nil // kustomize reports it, with its own words
	}
	refuse := func(field, entry string) error {
		return &Error{File: kfile, Err: fmt.Errorf("%s entry %q: %w", field, entry, ErrRemoteBaseDisabled)}
	}
	// Entries that may be other kustomizations: follow local directories.
	dirLists := map[string][]string{
		"resources": kz.Resources, "bases": kz.Bases, "components": kz.Components,
		"generators": kz.Generators, "transformers": kz.Transformers, "validators": kz.Validators,
	}
	for _, field := range []string{"resources", "bases", "components", "generators", "transformers", "validators"} {
		for _, e := range dirLists[field] {
			if isRemote(e) {
				return refuse(field, e)
			}
			if strings.Contains(e, "\n") {
				continue // an inline generator or transformer
			}
			p, err := joinInTree(dir, e)
			if err != nil {
				return &Error{File: kfile, Err: fmt.Errorf("%s entry %q: %w", field, e, ErrPathEscape)}
			}
			if fi, err := kfs.stat(p); err == nil && fi.IsDir() {
				if err := checkNoRemote(kfs, p, seen); err != nil {
					return err
				}
			}
		}
	}
	// Entries that name files.
	files := map[string][]string{"crds": kz.Crds, "configurations": kz.Configurations}
	for _, p := range kz.PatchesStrategicMerge {
		files["patchesStrategicMerge"] = append(files["patchesStrategicMerge"], string(p))
	}
	for _, p := range append(append([]types.Patch{}, kz.Patches...), kz.PatchesJson6902...) {
		files["patches"] = append(files["patches"], p.Path)
	}
	for _, r := range kz.Replacements {
		files["replacements"] = append(files["replacements"], r.Path)
	}
	for _, g := range kz.ConfigMapGenerator {
		files["configMapGenerator"] = append(files["configMapGenerator"], generatorFiles(g.GeneratorArgs)...)
	}
	for _, g := range kz.SecretGenerator {
		files["secretGenerator"] = append(files["secretGenerator"], generatorFiles(g.GeneratorArgs)...)
	}
	if p, ok := kz.OpenAPI["path"]; ok {
		files["openapi"] = []string{p}
	}
	for _, field := range sortedKeys(files) {
		for _, e := range files[field] {
			if isRemote(e) {
				return refuse(field, e)
			}
		}
	}
	return nil
}

// messageError is a message that already tells its cause, which errors.Is can still find.
type messageError struct {
	msg string
	err error
}

func (e *messageError) Error() string { return e.msg }
func (e *messageError) Unwrap() error { return e.err }

func generatorFiles(g types.GeneratorArgs) []string {
	var out []string
	for _, f := range g.FileSources {
		if _, p, ok := strings.Cut(f, "="); ok {
			f = p
		}
		out = append(out, f)
	}
	out = append(out, g.EnvSources...)
	if g.EnvSource != "" {
		out = append(out, g.EnvSource)
	}
	return out
}

// isRemote reports whether kustomize would fetch a reference from the network: an http(s) URL, or
// anything kustomize's own parser takes for a Git repository (github.com/org/repo, git::..., ssh).
func isRemote(s string) (remote bool) {
	s = strings.TrimSpace(s)
	if s == "" || strings.Contains(s, "\n") {
		return false
	}
	if u, err := url.Parse(s); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		return true
	}
	defer func() {
		if recover() != nil {
			remote = true // kustomize could not make sense of it as local either: refuse
		}
	}()
	// Origin.Append runs kustomize's Git URL parser, the same one its loader uses.
	return (&resource.Origin{}).Append(s).Repo != ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func containsString(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
