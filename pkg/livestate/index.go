package livestate

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"
)

// index holds the cross-type indexes: every cached object by UID, tracked objects by app, and children by
// owner UID. The informers' own stores answer lookups by name.
type index struct {
	mu       sync.RWMutex
	byUID    map[types.UID]*stored
	byApp    map[string]map[types.UID]struct{}
	children map[types.UID]map[types.UID]struct{}
	// roots are objects without owners, by namespace: the candidates for orphaned-resource warnings.
	roots map[string]map[types.UID]struct{}
}

func newIndex() *index {
	return &index{
		byUID:    map[types.UID]*stored{},
		byApp:    map[string]map[types.UID]struct{}{},
		children: map[types.UID]map[types.UID]struct{}{},
		roots:    map[string]map[types.UID]struct{}{},
	}
}

// maxOwnerDepth bounds the walk up owner references; real chains are three or four long.
const maxOwnerDepth = 16

func (x *index) addLocked(s *stored) {
	if prev := x.byUID[s.UID]; prev != nil && prev != s {
		x.removeLocked(prev)
	}
	x.byUID[s.UID] = s
	if s.App != "" {
		addTo(x.byApp, s.App, s.UID)
	}
	for _, o := range s.Owners {
		addTo(x.children, o.UID, s.UID)
	}
	if len(s.Owners) == 0 && s.Namespace != "" {
		addTo(x.roots, s.Namespace, s.UID)
	}
}

func (x *index) removeLocked(s *stored) {
	if x.byUID[s.UID] != s {
		return // already replaced by a newer object with this UID
	}
	delete(x.byUID, s.UID)
	if s.App != "" {
		removeFrom(x.byApp, s.App, s.UID)
	}
	for _, o := range s.Owners {
		removeFrom(x.children, o.UID, s.UID)
	}
	if len(s.Owners) == 0 && s.Namespace != "" {
		removeFrom(x.roots, s.Namespace, s.UID)
	}
}

func addTo[K comparable](m map[K]map[types.UID]struct{}, k K, uid types.UID) {
	set := m[k]
	if set == nil {
		set = map[types.UID]struct{}{}
		m[k] = set
	}
	set[uid] = struct{}{}
}

func removeFrom[K comparable](m map[K]map[types.UID]struct{}, k K, uid types.UID) {
	set := m[k]
	delete(set, uid)
	if len(set) == 0 {
		delete(m, k)
	}
}

// appsLocked returns the apps s belongs to: its own, or those of its tracked ancestors.
func (x *index) appsLocked(s *stored) []string {
	if s.App != "" {
		return []string{s.App}
	}
	var apps []string
	seen := map[types.UID]bool{s.UID: true}
	level := []*stored{s}
	for depth := 0; depth < maxOwnerDepth && len(level) > 0; depth++ {
		var next []*stored
		for _, r := range level {
			for _, o := range r.Owners {
				if seen[o.UID] {
					continue
				}
				seen[o.UID] = true
				owner := x.byUID[o.UID]
				switch {
				case owner == nil:
				case owner.App != "":
					apps = appendUnique(apps, owner.App)
				default:
					next = append(next, owner)
				}
			}
		}
		level = next
	}
	return apps
}

func appendUnique(list []string, s string) []string {
	for _, v := range list {
		if v == s {
			return list
		}
	}
	return append(list, s)
}

func (x *index) byAppResources(app string) []Resource {
	x.mu.RLock()
	defer x.mu.RUnlock()
	set := x.byApp[app]
	out := make([]Resource, 0, len(set))
	for uid := range set {
		out = append(out, x.byUID[uid].Resource)
	}
	return out
}

func (x *index) childrenOf(uid types.UID) []Resource {
	x.mu.RLock()
	defer x.mu.RUnlock()
	set := x.children[uid]
	out := make([]Resource, 0, len(set))
	for c := range set {
		if s := x.byUID[c]; s != nil {
			out = append(out, s.Resource)
		}
	}
	return out
}

func (x *index) get(uid types.UID) (Resource, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	s := x.byUID[uid]
	if s == nil {
		return Resource{}, false
	}
	return s.Resource, true
}

// Node is one resource of an app's tree.
type Node struct {
	Resource
	// ParentRefs are the node's owners that are themselves in the tree.
	ParentRefs []ResourceRef
}

func (x *index) tree(app string) []Node {
	x.mu.RLock()
	defer x.mu.RUnlock()
	roots := x.byApp[app]
	inTree := make(map[types.UID]bool, len(roots))
	order := make([]*stored, 0, len(roots))
	for uid := range roots {
		inTree[uid] = true
		order = append(order, x.byUID[uid])
	}
	for i := 0; i < len(order); i++ {
		for c := range x.children[order[i].UID] {
			if inTree[c] {
				continue
			}
			if s := x.byUID[c]; s != nil {
				inTree[c] = true
				order = append(order, s)
			}
		}
	}
	nodes := make([]Node, len(order))
	for i, s := range order {
		nodes[i].Resource = s.Resource
		for _, o := range s.Owners {
			if owner := x.byUID[o.UID]; owner != nil && inTree[o.UID] {
				nodes[i].ParentRefs = append(nodes[i].ParentRefs, owner.Ref())
			}
		}
	}
	return nodes
}

// rootsIn returns the objects of a namespace that have no owner.
func (x *index) rootsIn(namespace string) []Resource {
	x.mu.RLock()
	defer x.mu.RUnlock()
	set := x.roots[namespace]
	out := make([]Resource, 0, len(set))
	for uid := range set {
		out = append(out, x.byUID[uid].Resource)
	}
	return out
}
