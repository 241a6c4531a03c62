package reconcile

import (
	"fmt"
	"path"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/livestate"
)

// NamespaceRoots is what orphan detection needs of the live-state cache.
type NamespaceRoots interface {
	Roots(namespace string) []livestate.Resource
}

// builtInNotOrphans are objects Kubernetes creates in every namespace; they are never reported.
var builtInNotOrphans = []v1alpha1.OrphanedResourceKey{
	{Kind: "ServiceAccount", Name: "default"},
	{Kind: "ConfigMap", Name: "kube-root-ca.crt"},
}

// orphans lists the objects of the app's destination namespace that no app tracks and nothing owns, when the
// project asks for orphaned-resource monitoring (spec.orphanedResources).
func orphans(live LiveState, proj *v1alpha1.AppProject, namespace string) []livestate.Resource {
	if proj.Spec.OrphanedResources == nil || namespace == "" {
		return nil
	}
	nr, ok := live.(NamespaceRoots)
	if !ok {
		return nil
	}
	ignore := append(append([]v1alpha1.OrphanedResourceKey{}, builtInNotOrphans...), proj.Spec.OrphanedResources.Ignore...)
	var out []livestate.Resource
	for _, r := range nr.Roots(namespace) {
		if r.App != "" || ignored(ignore, r) {
			continue
		}
		out = append(out, r)
	}
	return out
}

func ignored(keys []v1alpha1.OrphanedResourceKey, r livestate.Resource) bool {
	for _, k := range keys {
		if glob(k.Group, r.GVK.Group) && glob(k.Kind, r.GVK.Kind) && glob(k.Name, r.Name) {
			return true
		}
	}
	return false
}

// glob matches a pattern where empty and "*" match anything.
func glob(pattern, s string) bool {
	if pattern == "" || pattern == "*" {
		return true
	}
	ok, _ := path.Match(pattern, s)
	return ok
}

func orphanWarning(n int) v1alpha1.ApplicationCondition {
	return condition(v1alpha1.ApplicationConditionOrphanedResourceWarning, fmt.Sprintf("Application has %d orphaned resources", n))
}
