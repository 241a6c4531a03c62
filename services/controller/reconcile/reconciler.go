package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/status"
	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	reposerverv1 "github.com/moorcd/moor/pkg/api/moor/reposerver/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/client/clientset/versioned"
	"github.com/moorcd/moor/pkg/clusters"
	"github.com/moorcd/moor/pkg/health"
	"github.com/moorcd/moor/pkg/kubeproto"
	"github.com/moorcd/moor/pkg/livestate"
	"github.com/moorcd/moor/pkg/project"
	"github.com/moorcd/moor/pkg/repoclient"
	"github.com/moorcd/moor/pkg/repocreds"
	"github.com/moorcd/moor/pkg/settings"
	moorsync "github.com/moorcd/moor/pkg/sync"
)

// Refresh levels, weakest first. A queued app keeps the strongest level asked for.
type Level int

// Levels.
const (
	// LevelCompare re-runs compare and health against the last render (a live resource changed).
	LevelCompare Level = iota + 1
	// LevelNormal renders again, with the repo-server's caches (periodic refresh, spec change).
	LevelNormal
	// LevelForce resolves the revisions afresh (no revision cache) before rendering: a user's refresh
	// (argocd.argoproj.io/refresh: normal) or a webhook.
	LevelForce
	// LevelHard renders again bypassing every cache (argocd.argoproj.io/refresh: hard).
	LevelHard
)

// AnnotationRefresh asks for a refresh (normal or hard); the controller removes it once handled.
const AnnotationRefresh = "argocd.argoproj.io/refresh"

// RepoServer is what the reconciler needs of the repo-server.
type RepoServer interface {
	GenerateManifests(ctx context.Context, req *reposerverv1.GenerateManifestsRequest) (*reposerverv1.GenerateManifestsResponse, error)
	ResolveRevision(ctx context.Context, req *reposerverv1.ResolveRevisionRequest) (*reposerverv1.ResolveRevisionResponse, error)
}

// Cluster is a destination's live state and diff engine.
type Cluster struct {
	Live     LiveState
	Differ   Differ
	ReadLive LiveReader
	Server   string
	Version  string   // "1.37.2"
	APIs     []string // group/version and group/version/Kind the cluster serves
	// Sync writes to the cluster; nil for a cluster Moor only reads.
	Sync *moorsync.Engine
}

// Deps are the reconciler's collaborators.
type Deps struct {
	Namespace string
	Client    versioned.Interface
	App       func(name string) (*v1alpha1.Application, error)
	Project   func(name string) (*v1alpha1.AppProject, error)
	Secrets   func() ([]corev1.Secret, error)
	Clusters  func() *clusters.Set
	Connect   func(ctx context.Context, c *clusters.Cluster) (*Cluster, error)
	Repo      RepoServer
	Assessor  func() *health.Assessor
	Settings  func() *settings.Settings
	Now       func() time.Time
	Log       *slog.Logger
	// Publisher, when set, receives each app's resource tree and managed resources.
	Publisher   Publisher
	StatusEvery time.Duration // how stale reconciledAt may get when nothing else changed (default 10 min)
	// Requeue asks for another reconcile of an app (after an operation ended, or when automated sync must wait).
	Requeue func(name string, level Level, after time.Duration)
	// SelfHeal is the self-heal backoff (default DefaultSelfHeal).
	SelfHeal SelfHeal
}

// Reconciler reconciles Applications.
type Reconciler struct {
	d Deps

	mu      sync.Mutex
	renders map[string]*render               // by app name
	written map[string]*v1alpha1.Application // the last operation write of each app, until the informer has it
}

// render is an app's last render: reused when only live state changed.
type render struct {
	// compared is the status parts computed from this render at live fingerprint fp; reused while nothing
	// the compare reads has changed.
	compared    *comparedStatus
	specHash    string
	desired     []*unstructured.Unstructured
	revisions   []string
	sourceTypes []v1alpha1.ApplicationSourceType
}

// comparedStatus is what a compare contributes to the status, with the fingerprint of its inputs.
type comparedStatus struct {
	fp     string
	status v1alpha1.ApplicationStatus
}

// New returns a Reconciler.
func New(d Deps) *Reconciler {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.StatusEvery <= 0 {
		d.StatusEvery = 10 * time.Minute
	}
	if d.SelfHeal == (SelfHeal{}) {
		d.SelfHeal = DefaultSelfHeal()
	}
	return &Reconciler{d: d, renders: map[string]*render{}, written: map[string]*v1alpha1.Application{}}
}

// Forget drops what the reconciler keeps for a deleted app.
func (r *Reconciler) Forget(name string) {
	r.mu.Lock()
	delete(r.renders, name)
	delete(r.written, name)
	r.mu.Unlock()
}

// Reconcile refreshes one app's status at the given level. It returns an error only for failures worth a
// retry (API conflicts, the repo-server unreachable); what the user must fix is written as a condition.
func (r *Reconciler) Reconcile(ctx context.Context, name string, level Level) error {
	app, err := r.d.App(name)
	if apierrors.IsNotFound(err) {
		r.Forget(name)
		return nil
	}
	if err != nil {
		return err
	}
	if app.DeletionTimestamp != nil {
		return nil // deletion is the sync engine's job
	}
	if v := app.Annotations[AnnotationRefresh]; v == "hard" {
		level = max(level, LevelHard)
	} else if v != "" {
		level = max(level, LevelForce)
	}
	log := r.d.Log.With("app", name)
	start := r.d.Now()
	st := r.refresh(ctx, app, level)
	fresh, err := r.writeStatus(ctx, app, st)
	if err != nil {
		return fmt.Errorf("write status of %s: %w", name, err)
	}
	log.DebugContext(ctx, "reconciled", "level", int(level), "sync", st.Sync.Status, "health", st.Health.Status, "duration", r.d.Now().Sub(start))
	if st.Sync.Status != v1alpha1.SyncStatusCodeOutOfSync {
		return nil
	}
	// Automated sync reads the app as just written (its resourceVersion guards the operation write).
	proj, _, err := r.appProject(app)
	if err != nil {
		return nil
	}
	cl, err := r.d.Clusters().Lookup(app.Spec.Destination.Server, app.Spec.Destination.Name)
	if err != nil {
		return nil
	}
	wait, err := r.autoSync(ctx, fresh, st, proj, cl.Server)
	if err != nil {
		return err
	}
	if wait > 0 && r.d.Requeue != nil {
		r.d.Requeue(name, LevelCompare, wait)
	}
	return nil
}

// refresh computes the new status. Failures become conditions; the earlier resources are kept so a broken
// render never looks like an empty app.
func (r *Reconciler) refresh(ctx context.Context, app *v1alpha1.Application, level Level) *v1alpha1.ApplicationStatus {
	st := app.Status.DeepCopy()
	now := metav1.NewTime(r.d.Now())
	st.ReconciledAt = &now
	st.ObservedAt = &now
	st.ControllerNamespace = r.d.Namespace
	fail := func(typ v1alpha1.ApplicationConditionType, msg string) *v1alpha1.ApplicationStatus {
		st.Conditions = mergeConditions(app.Status.Conditions, []v1alpha1.ApplicationCondition{condition(typ, msg)}, now)
		st.Sync.Status = v1alpha1.SyncStatusCodeUnknown
		if st.Health.Status == "" {
			st.Health.Status = v1alpha1.HealthStatusUnknown
		}
		return st
	}

	proj, projName, err := r.appProject(app)
	if err != nil {
		return fail(v1alpha1.ApplicationConditionInvalidSpecError, fmt.Sprintf("Application referencing project %s which does not exist", projName))
	}
	dest := app.Spec.Destination
	cl, err := r.d.Clusters().Lookup(dest.Server, dest.Name)
	if err != nil {
		return fail(v1alpha1.ApplicationConditionInvalidSpecError, fmt.Sprintf("Unable to find destination cluster: %v", err))
	}
	if v := project.CheckApplication(proj, app, cl.Server); len(v) > 0 {
		return fail(v1alpha1.ApplicationConditionInvalidSpecError, violations(v))
	}
	conn, err := r.d.Connect(ctx, cl)
	if err != nil {
		return fail(v1alpha1.ApplicationConditionComparisonError, fmt.Sprintf("Cluster %s is not reachable: %v", cl.Server, err))
	}

	rd, err := r.desired(ctx, app, proj, conn, level)
	if err != nil {
		return fail(v1alpha1.ApplicationConditionComparisonError, err.Error())
	}
	cs := settingsOf(r.d.Settings)
	assessor := r.d.Assessor()
	live := conn.Live.ByApp(app.Name)
	for _, d := range rd.desired { // desired objects that exist but are not (yet) tracked by this app count too
		ns := d.GetNamespace()
		if ns == "" {
			ns = dest.Namespace
		}
		if r, ok := conn.Live.Get(d.GroupVersionKind(), ns, d.GetName()); ok && r.App != app.Name {
			live = append(live, r)
		}
	}
	orphaned := orphans(conn.Live, proj, dest.Namespace)
	live = append(live, orphaned...)
	fp := fingerprint(app, proj, live, assessor, cs)
	if c := rd.compared; c != nil && c.fp == fp && level != LevelHard {
		// Nothing compare reads has changed: same render, same live objects, same project and settings.
		cached := c.status.DeepCopy()
		st.Sync, st.Health, st.Resources, st.Summary = cached.Sync, cached.Health, cached.Resources, cached.Summary
		st.SourceType, st.SourceTypes, st.Conditions = cached.SourceType, cached.SourceTypes, cached.Conditions
		return st
	}
	cmp := compare(ctx, &compareInput{
		app: app, instance: app.Name, desired: rd.desired, namespace: dest.Namespace,
		live: conn.Live, differ: conn.Differ, readLive: conn.ReadLive, assessor: assessor,
		ignoreExtra:  strings.Contains(app.Annotations["argocd.argoproj.io/compare-options"], "IgnoreExtraneous"),
		trackingMode: cs.TrackingMethod, labelKey: cs.InstanceLabelKey,
	})
	for _, m := range cmp.resources {
		if m.desired == nil {
			continue
		}
		namespaced := m.key.Namespace != ""
		if !project.ResourceAllowed(proj, m.key.Group, m.key.Kind, m.key.Name, namespaced) {
			cmp.errors = append(cmp.errors, condition(v1alpha1.ApplicationConditionInvalidSpecError,
				fmt.Sprintf("Resource %s is not permitted in project %s", m.key, proj.Name)))
		}
	}

	if o := proj.Spec.OrphanedResources; o != nil && o.Warn != nil && *o.Warn && len(orphaned) > 0 {
		cmp.warnings = append(cmp.warnings, orphanWarning(len(orphaned)))
	}
	r.publish(ctx, app.Namespace, app.Name, conn, cmp, assessor, orphaned)

	st.Sync = v1alpha1.SyncStatus{
		Status: cmp.sync,
		ComparedTo: &v1alpha1.ComparedTo{
			Source: app.Spec.Source, Sources: app.Spec.Sources, Destination: dest, IgnoreDifferences: app.Spec.IgnoreDifferences,
		},
	}
	if app.Spec.HasMultipleSources() {
		st.Sync.Revisions = rd.revisions
		st.SourceTypes = rd.sourceTypes
		st.SourceType = ""
	} else if len(rd.revisions) > 0 {
		st.Sync.Revision = rd.revisions[0]
		if len(rd.sourceTypes) > 0 {
			st.SourceType = rd.sourceTypes[0]
		}
	}
	if len(cmp.errors) > 0 && cmp.sync == v1alpha1.SyncStatusCodeSynced {
		st.Sync.Status = v1alpha1.SyncStatusCodeUnknown
	}
	st.Health = keepTransition(app.Status.Health, cmp.health, now)
	st.Resources = resourceStatuses(cmp.resources)
	st.Summary = summarize(cmp.resources)
	st.Conditions = mergeConditions(app.Status.Conditions, append(cmp.errors, cmp.warnings...), now)
	if len(cmp.errors) == 0 {
		rd.compared = &comparedStatus{fp: fp, status: *st.DeepCopy()}
	}
	return st
}

// appProject returns the app's AppProject and its name ("default" when spec.project is empty).
func (r *Reconciler) appProject(app *v1alpha1.Application) (*v1alpha1.AppProject, string, error) {
	name := app.Spec.Project
	if name == "" {
		name = project.DefaultName
	}
	proj, err := r.d.Project(name)
	return proj, name, err
}

// violations joins a project check's findings into one condition message.
func violations(v []project.Violation) string {
	msgs := make([]string, len(v))
	for i := range v {
		msgs[i] = v[i].Message
	}
	return strings.Join(msgs, "; ")
}

// fingerprint identifies everything a compare reads besides the render: the app's spec, the project, the
// live objects the app tracks (by uid and resourceVersion), and the health and tracking settings.
func fingerprint(app *v1alpha1.Application, proj *v1alpha1.AppProject, live []livestate.Resource, assessor *health.Assessor, s *settings.Settings) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%s\x00%s\x00%p\x00%s\x00%s\x00", app.UID, app.Generation, app.Annotations["argocd.argoproj.io/compare-options"],
		proj.ResourceVersion, assessor, s.TrackingMethod, s.InstanceLabelKey)
	keys := make([]string, 0, len(live))
	for _, r := range live {
		keys = append(keys, string(r.UID)+"@"+r.ResourceVersion)
	}
	sort.Strings(keys)
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// desired renders every source, or reuses the last render when only live state changed.
func (r *Reconciler) desired(ctx context.Context, app *v1alpha1.Application, proj *v1alpha1.AppProject, conn *Cluster, level Level) (*render, error) {
	hash := specHash(app)
	r.mu.Lock()
	last := r.renders[app.Name]
	r.mu.Unlock()
	if level == LevelCompare && last != nil && last.specHash == hash {
		return last, nil
	}
	secrets, err := r.d.Secrets()
	if err != nil {
		return nil, fmt.Errorf("list repository secrets: %w", err)
	}
	sources := app.Spec.GetSources()
	if level >= LevelNormal {
		revs, err := r.resolveRevisions(ctx, sources, proj, secrets, level >= LevelForce)
		if err == nil && level < LevelHard && last != nil && last.specHash == hash && slices.Equal(revs, last.revisions) {
			return last, nil // no new commit: nothing to render
		}
		if err == nil && level >= LevelForce {
			// Render exactly what was just resolved, not what the repo-server's revision cache still says.
			pinned := make([]v1alpha1.ApplicationSource, len(sources))
			for i := range sources {
				pinned[i] = *sources[i].DeepCopy()
				if revs[i] != "" {
					pinned[i].TargetRevision = revs[i]
				}
			}
			sources = pinned
		}
	}
	out, err := r.renderSources(ctx, app, sources, proj, conn, secrets, level == LevelHard)
	if err != nil {
		return nil, err
	}
	out.specHash = hash
	r.mu.Lock()
	r.renders[app.Name] = out
	r.mu.Unlock()
	return out, nil
}

// renderSources asks the repo-server for every source's manifests.
func (r *Reconciler) renderSources(ctx context.Context, app *v1alpha1.Application, sources []v1alpha1.ApplicationSource,
	proj *v1alpha1.AppProject, conn *Cluster, secrets []corev1.Secret, noCache bool) (*render, error) {
	if len(sources) == 0 {
		return nil, errors.New("application has no source")
	}
	refs := map[string]*reposerverv1.RefSource{}
	for _, s := range sources {
		if s.Ref != "" {
			repo, err := repocreds.Resolve(secrets, s.RepoURL, proj.Name)
			if err != nil {
				return nil, fmt.Errorf("ref source $%s: %w", s.Ref, err)
			}
			refs[s.Ref] = &reposerverv1.RefSource{Repo: repoclient.Repository(repo), Revision: s.TargetRevision}
		}
	}
	out := &render{}
	for i, s := range sources {
		if s.Ref != "" && s.Path == "" && s.Chart == "" {
			out.revisions = append(out.revisions, "")
			out.sourceTypes = append(out.sourceTypes, "")
			continue // only supplies files to other sources
		}
		repo, err := repocreds.Resolve(secrets, s.RepoURL, proj.Name)
		if err != nil {
			return nil, fmt.Errorf("source %d (%s): %w", i, s.RepoURL, err)
		}
		srcStruct, err := kubeproto.ToStruct(s)
		if err != nil {
			return nil, err
		}
		resp, err := r.d.Repo.GenerateManifests(ctx, &reposerverv1.GenerateManifestsRequest{
			Repo: repoclient.Repository(repo), Source: srcStruct, Revision: s.TargetRevision, RefSources: refs,
			AppName: app.Name, Namespace: app.Spec.Destination.Namespace, KubeVersion: conn.Version,
			ApiVersions: conn.APIs, ProjectName: proj.Name, ProjectSourceRepos: proj.Spec.SourceRepos,
			NoCache:               noCache,
			ManifestGeneratePaths: splitPaths(app.Annotations["argocd.argoproj.io/manifest-generate-paths"]),
		})
		if err != nil {
			return nil, fmt.Errorf("Failed to load target state: failed to generate manifest for source %d of %d: %s",
				i+1, len(sources), status.Convert(err).Message())
		}
		objs, err := parseManifests(resp.GetManifests())
		if err != nil {
			return nil, err
		}
		out.desired = append(out.desired, objs...)
		out.revisions = append(out.revisions, resp.GetRevision())
		out.sourceTypes = append(out.sourceTypes, v1alpha1.ApplicationSourceType(resp.GetSourceType()))
	}
	return out, nil
}

// resolveRevisions asks the repo-server (cheaply: ls-remote, cached unless noCache) for the commit, chart
// version or digest each source's targetRevision points at now; "" for a source that only supplies files.
func (r *Reconciler) resolveRevisions(ctx context.Context, sources []v1alpha1.ApplicationSource, proj *v1alpha1.AppProject,
	secrets []corev1.Secret, noCache bool) ([]string, error) {
	out := make([]string, len(sources))
	for i, s := range sources {
		if s.Ref != "" && s.Path == "" && s.Chart == "" {
			continue // a ref-only source; its commit is part of the render's key at the repo-server
		}
		repo, err := repocreds.Resolve(secrets, s.RepoURL, proj.Name)
		if err != nil {
			return nil, err
		}
		res, err := r.d.Repo.ResolveRevision(ctx, &reposerverv1.ResolveRevisionRequest{
			Repo: repoclient.Repository(repo), Revision: s.TargetRevision, Chart: s.Chart, NoCache: noCache})
		if err != nil {
			return nil, err
		}
		out[i] = res.GetRevision()
	}
	return out, nil
}

func splitPaths(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ";") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// specHash covers what changes the render: sources, destination and the refresh-relevant annotations.
func specHash(app *v1alpha1.Application) string {
	b, _ := json.Marshal(struct {
		Source      *v1alpha1.ApplicationSource
		Sources     v1alpha1.ApplicationSources
		Destination v1alpha1.ApplicationDestination
		Paths       string
	}{app.Spec.Source, app.Spec.Sources, app.Spec.Destination, app.Annotations["argocd.argoproj.io/manifest-generate-paths"]})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func settingsOf(f func() *settings.Settings) *settings.Settings {
	if f == nil {
		return settings.Defaults()
	}
	if s := f(); s != nil {
		return s
	}
	return settings.Defaults()
}

// writeStatus patches status (and removes a handled refresh annotation) when anything but the timestamps
// changed, or when reconciledAt has grown older than StatusEvery: no write storms.
func (r *Reconciler) writeStatus(ctx context.Context, app *v1alpha1.Application, st *v1alpha1.ApplicationStatus) (*v1alpha1.Application, error) {
	_, refresh := app.Annotations[AnnotationRefresh]
	if !refresh && sameIgnoringTimes(&app.Status, st) && app.Status.ReconciledAt != nil &&
		r.d.Now().Sub(app.Status.ReconciledAt.Time) < r.d.StatusEvery {
		return app, nil
	}
	// A merge patch computed from the old status, so fields that became empty are removed (null), not kept.
	oldDoc, err := json.Marshal(map[string]any{"status": &app.Status})
	if err != nil {
		return nil, err
	}
	newDoc := map[string]any{"status": st}
	if refresh {
		newDoc["metadata"] = map[string]any{"annotations": map[string]any{AnnotationRefresh: nil}}
	}
	newJSON, err := json.Marshal(newDoc)
	if err != nil {
		return nil, err
	}
	body, err := jsonpatch.CreateMergePatch(oldDoc, newJSON)
	if err != nil {
		return nil, err
	}
	if refresh {
		// CreateMergePatch drops a null that has nothing to remove in oldDoc; the annotation is not in it.
		var p map[string]any
		if err := json.Unmarshal(body, &p); err != nil {
			return nil, err
		}
		p["metadata"] = map[string]any{"annotations": map[string]any{AnnotationRefresh: nil}}
		if body, err = json.Marshal(p); err != nil {
			return nil, err
		}
	}
	return r.d.Client.ArgoprojV1alpha1().Applications(app.Namespace).Patch(ctx, app.Name, types.MergePatchType, body, metav1.PatchOptions{})
}

func sameIgnoringTimes(a, b *v1alpha1.ApplicationStatus) bool {
	x, y := a.DeepCopy(), b.DeepCopy()
	x.ReconciledAt, y.ReconciledAt, x.ObservedAt, y.ObservedAt = nil, nil, nil, nil
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

func condition(typ v1alpha1.ApplicationConditionType, msg string) v1alpha1.ApplicationCondition {
	return v1alpha1.ApplicationCondition{Type: typ, Message: msg}
}

// mergeConditions keeps a condition's lastTransitionTime while it stays the same.
func mergeConditions(old, cur []v1alpha1.ApplicationCondition, now metav1.Time) []v1alpha1.ApplicationCondition {
	prev := map[string]*metav1.Time{}
	for _, c := range old {
		prev[string(c.Type)+"\x00"+c.Message] = c.LastTransitionTime
	}
	out := make([]v1alpha1.ApplicationCondition, 0, len(cur))
	for _, c := range cur {
		if t, ok := prev[string(c.Type)+"\x00"+c.Message]; ok && t != nil {
			c.LastTransitionTime = t
		} else {
			c.LastTransitionTime = &now
		}
		out = append(out, c)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Type < out[j].Type })
	if len(out) == 0 {
		return nil
	}
	return out
}

func keepTransition(old, cur v1alpha1.HealthStatus, now metav1.Time) v1alpha1.HealthStatus {
	if old.Status == cur.Status && old.LastTransitionTime != nil {
		cur.LastTransitionTime = old.LastTransitionTime
	} else {
		cur.LastTransitionTime = &now
	}
	return cur
}

func resourceStatuses(ms []*managed) []v1alpha1.ResourceStatus {
	out := make([]v1alpha1.ResourceStatus, 0, len(ms))
	for _, m := range ms {
		obj := m.desired
		if obj == nil {
			obj = m.live
		}
		rs := v1alpha1.ResourceStatus{
			Group: m.key.Group, Kind: m.key.Kind, Namespace: m.key.Namespace, Name: m.key.Name,
			Status: m.status, Hook: m.hook, RequiresPruning: m.desired == nil, SyncWave: m.wave,
		}
		if obj != nil {
			rs.Version = obj.GroupVersionKind().Version
		}
		if m.health != nil {
			rs.Health = &v1alpha1.HealthStatus{Status: v1alpha1.HealthStatusCode(m.health.Status), Message: m.health.Message}
		}
		out = append(out, rs)
	}
	return out
}

// summarize lists the images the app runs and the URLs its Ingresses and load balancers expose.
func summarize(ms []*managed) *v1alpha1.ApplicationSummary {
	imgs, urls := map[string]bool{}, map[string]bool{}
	for _, m := range ms {
		obj := m.live
		if obj == nil {
			obj = m.desired
		}
		if obj == nil {
			continue
		}
		for _, img := range images(obj) {
			imgs[img] = true
		}
		if m.key.Kind == "Ingress" {
			tlsHosts := map[string]bool{}
			tls, _, _ := unstructured.NestedSlice(obj.Object, "spec", "tls")
			for _, t := range tls {
				if tm, ok := t.(map[string]any); ok {
					hosts, _, _ := unstructured.NestedStringSlice(tm, "hosts")
					for _, h := range hosts {
						tlsHosts[h] = true
					}
				}
			}
			rules, _, _ := unstructured.NestedSlice(obj.Object, "spec", "rules")
			for _, rule := range rules {
				if rm, ok := rule.(map[string]any); ok {
					if h, ok := rm["host"].(string); ok && h != "" {
						scheme := "http"
						if tlsHosts[h] {
							scheme = "https"
						}
						urls[scheme+"://"+h] = true
					}
				}
			}
		}
	}
	if len(imgs) == 0 && len(urls) == 0 {
		return nil
	}
	s := &v1alpha1.ApplicationSummary{}
	for i := range imgs {
		s.Images = append(s.Images, i)
	}
	for u := range urls {
		s.ExternalURLs = append(s.ExternalURLs, u)
	}
	sort.Strings(s.Images)
	sort.Strings(s.ExternalURLs)
	return s
}
