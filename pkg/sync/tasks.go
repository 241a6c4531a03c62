package sync

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

// Annotations the sync engine reads on desired objects (Argo CD's, so charts and manifests keep their meaning)
// and the one it writes on the hooks it creates.
const (
	AnnotationSyncWave         = "argocd.argoproj.io/sync-wave"
	AnnotationHook             = "argocd.argoproj.io/hook"
	AnnotationHookDeletePolicy = "argocd.argoproj.io/hook-delete-policy"
	AnnotationSyncOptions      = "argocd.argoproj.io/sync-options"
	AnnotationDeletionApproved = "argocd.argoproj.io/deletion-approved"
	AnnotationHelmHook         = "helm.sh/hook"
	AnnotationHelmHookWeight   = "helm.sh/hook-weight"
	AnnotationHelmDeletePolicy = "helm.sh/hook-delete-policy"
	// AnnotationOperation marks a hook with the operation run that created it, so a controller restarted in
	// the middle of a sync adopts the hook instead of running it a second time.
	AnnotationOperation = "moor.dev/sync-operation"
)

// Phase is a sync phase. Hooks name the phase they run in; every other resource is applied in Sync.
type Phase string

// Phases, in the order they run. SyncFail runs only when an earlier phase failed.
const (
	PhasePreSync  Phase = "PreSync"
	PhaseSync     Phase = "Sync"
	PhasePostSync Phase = "PostSync"
	PhaseSyncFail Phase = "SyncFail"
)

func phaseRank(p Phase) int {
	switch p {
	case PhasePreSync:
		return 0
	case PhaseSync:
		return 1
	case PhasePostSync:
		return 2
	default:
		return 3
	}
}

// Hook delete policies.
const (
	PolicyHookSucceeded      = "HookSucceeded"
	PolicyHookFailed         = "HookFailed"
	PolicyBeforeHookCreation = "BeforeHookCreation"
)

// taskKind says what a task does to its object.
type taskKind int

const (
	kindApply taskKind = iota
	kindHook
	kindPrune
)

// task is one step of a sync: apply an object, run a hook, or prune an object.
type task struct {
	kind    taskKind
	phase   Phase
	wave    int64
	desired *unstructured.Unstructured // apply and hook
	live    *unstructured.Unstructured // prune, and the current object of an apply
	status  v1alpha1.SyncStatusCode    // the compare's verdict for an apply
	opts    Options                    // app options overlaid with the object's sync-options annotation
	// deletePolicies of a hook; BeforeHookCreation when none is given.
	deletePolicies map[string]bool
	// namespaceTask is the Namespace CreateNamespace=true makes: applied, never tracked.
	namespaceTask bool
}

func (t *task) obj() *unstructured.Unstructured {
	if t.desired != nil {
		return t.desired
	}
	return t.live
}

func (t *task) gvk() schema.GroupVersionKind { return t.obj().GroupVersionKind() }

// key identifies a task's result: a hook runs once per phase, so the phase is part of it.
func (t *task) key() string {
	o := t.obj()
	gvk := o.GroupVersionKind()
	return resultKey(string(t.phase), gvk.Group, gvk.Kind, o.GetNamespace(), o.GetName())
}

func resultKey(phase, group, kind, namespace, name string) string {
	return phase + "\x00" + group + "\x00" + kind + "\x00" + namespace + "\x00" + name
}

func (t *task) String() string {
	o := t.obj()
	gvk := o.GroupVersionKind()
	g := gvk.Group
	if g != "" {
		g += "/"
	}
	if ns := o.GetNamespace(); ns != "" {
		return fmt.Sprintf("%s%s %s/%s", g, gvk.Kind, ns, o.GetName())
	}
	return fmt.Sprintf("%s%s %s", g, gvk.Kind, o.GetName())
}

// hookPhases returns the phases a hook runs in, and whether the object is a hook at all. An object marked
// Skip is a hook with no phase: it is never applied. Helm's hook annotations count when Argo CD's is absent,
// mapped as Argo CD maps them; Helm hooks without a sync-time meaning (tests, rollbacks, deletes) are skipped.
func hookPhases(u *unstructured.Unstructured) (phases []Phase, isHook bool) {
	ann := u.GetAnnotations()
	if v := strings.TrimSpace(ann[AnnotationHook]); v != "" {
		for h := range strings.SplitSeq(v, ",") {
			switch p := Phase(strings.TrimSpace(h)); p {
			case PhasePreSync, PhaseSync, PhasePostSync, PhaseSyncFail:
				phases = append(phases, p)
			}
			// Skip, PreDelete, PostDelete: not run by a sync.
		}
		return dedupPhases(phases), true
	}
	if v := strings.TrimSpace(ann[AnnotationHelmHook]); v != "" {
		for h := range strings.SplitSeq(v, ",") {
			switch strings.TrimSpace(h) {
			case "crd-install", "pre-install", "pre-upgrade":
				phases = append(phases, PhasePreSync)
			case "post-install", "post-upgrade":
				phases = append(phases, PhasePostSync)
			}
		}
		return dedupPhases(phases), true
	}
	return nil, false
}

func dedupPhases(ps []Phase) []Phase {
	seen := map[Phase]bool{}
	out := ps[:0]
	for _, p := range ps {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// IsHook reports whether an object is a sync hook (including Skip), which compare leaves out and prune spares.
func IsHook(u *unstructured.Unstructured) bool {
	_, ok := hookPhases(u)
	return ok
}

// Wave is an object's sync wave: argocd.argoproj.io/sync-wave, else a Helm hook's weight, else 0.
func Wave(u *unstructured.Unstructured) int64 {
	ann := u.GetAnnotations()
	for _, k := range []string{AnnotationSyncWave, AnnotationHelmHookWeight} {
		if v, ok := ann[k]; ok {
			if w, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				return w
			}
		}
	}
	return 0
}

func deletePolicies(u *unstructured.Unstructured) map[string]bool {
	out := map[string]bool{}
	ann := u.GetAnnotations()
	for p := range strings.SplitSeq(ann[AnnotationHookDeletePolicy], ",") {
		if p = strings.TrimSpace(p); p != "" {
			out[p] = true
		}
	}
	for p := range strings.SplitSeq(ann[AnnotationHelmDeletePolicy], ",") {
		switch strings.TrimSpace(p) {
		case "before-hook-creation":
			out[PolicyBeforeHookCreation] = true
		case "hook-succeeded":
			out[PolicyHookSucceeded] = true
		case "hook-failed":
			out[PolicyHookFailed] = true
		}
	}
	if len(out) == 0 {
		out[PolicyBeforeHookCreation] = true
	}
	return out
}

// hookName gives a hook with only generateName a name derived from the operation, so a restarted controller
// finds the hook it created instead of creating another.
func hookName(u *unstructured.Unstructured, opID string, phase Phase) string {
	if n := u.GetName(); n != "" {
		return n
	}
	sum := sha256.Sum256([]byte(opID + "\x00" + string(phase) + "\x00" + u.GetGenerateName()))
	return u.GetGenerateName() + hex.EncodeToString(sum[:])[:5]
}

// kindOrder is the order of kinds inside one wave: what others depend on first (Helm's install order, which
// Argo CD uses). Kinds not listed (custom resources) come last.
var kindOrder = func() map[string]int {
	kinds := []string{
		"Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy", "PodDisruptionBudget",
		"ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass", "PersistentVolume",
		"PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
		"ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList", "Service", "DaemonSet",
		"Pod", "ReplicationController", "ReplicaSet", "Deployment", "HorizontalPodAutoscaler", "StatefulSet", "Job",
		"CronJob", "IngressClass", "Ingress", "APIService",
	}
	m := make(map[string]int, len(kinds))
	for i, k := range kinds {
		m[k] = i
	}
	return m
}()

func kindRank(kind string) int {
	if r, ok := kindOrder[kind]; ok {
		return r
	}
	return len(kindOrder)
}

// sortTasks orders tasks by phase, wave, kind and name. Prunes of one wave run in the reverse kind order
// (a Deployment goes before the ConfigMap it mounts).
func sortTasks(ts []*task) {
	sort.SliceStable(ts, func(i, j int) bool {
		a, b := ts[i], ts[j]
		if ra, rb := phaseRank(a.phase), phaseRank(b.phase); ra != rb {
			return ra < rb
		}
		if a.wave != b.wave {
			return a.wave < b.wave
		}
		if (a.kind == kindPrune) != (b.kind == kindPrune) {
			return a.kind != kindPrune // applies of a wave before its prunes
		}
		ka, kb := kindRank(a.gvk().Kind), kindRank(b.gvk().Kind)
		if a.kind == kindPrune {
			ka, kb = kb, ka
		}
		if ka != kb {
			return ka < kb
		}
		if a.gvk().Kind != b.gvk().Kind {
			return a.gvk().Kind < b.gvk().Kind
		}
		return a.obj().GetName() < b.obj().GetName()
	})
}

// placePrunes gives prune tasks their waves: the waves of the pruned objects mirrored, so what was created
// last is deleted first, inside the span of waves the prunes occupy; with PruneLast, after every other wave.
func placePrunes(ts []*task) {
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	lastWave := int64(math.MinInt64)
	for _, t := range ts {
		if t.phase != PhaseSync {
			continue
		}
		if t.kind == kindPrune {
			lo, hi = min(lo, t.wave), max(hi, t.wave)
		}
		lastWave = max(lastWave, t.wave)
	}
	for _, t := range ts {
		if t.kind != kindPrune {
			continue
		}
		t.wave = lo + hi - t.wave
		if t.opts.PruneLast {
			t.wave = lastWave + 1
		}
	}
}
