package livestate

import (
	"reflect"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ChangeType says what happened to a resource.
type ChangeType int

const (
	Added ChangeType = iota + 1
	Updated
	Deleted
)

func (t ChangeType) String() string {
	switch t {
	case Added:
		return "Added"
	case Updated:
		return "Updated"
	case Deleted:
		return "Deleted"
	}
	return "Unknown"
}

// Change is an event on a resource that belongs to at least one app, directly or through its owners.
type Change struct {
	Type ChangeType
	// Apps are the apps the resource belongs to (for an update that moved it, before and after).
	Apps []string
	// Resource is the new state, or the last known state when Deleted.
	Resource Resource
	// Old is the previous state when Updated.
	Old *Resource
}

// StatusOnly reports whether an update changed nothing but status and bookkeeping metadata, so a caller can
// reassess health without comparing or rendering again.
func (c Change) StatusOnly() bool {
	return c.Type == Updated && c.Old != nil && StatusOnly(c.Old.Object, c.Resource.Object)
}

// StatusOnly reports whether old and new differ only in status, metadata.resourceVersion and
// metadata.managedFields. It is false when either object is nil.
func StatusOnly(old, new *unstructured.Unstructured) bool {
	if old == nil || new == nil {
		return false
	}
	return equalExcept(old.Object, new.Object, "status", "metadata") &&
		equalExcept(mapAt(old.Object, "metadata"), mapAt(new.Object, "metadata"), "resourceVersion", "managedFields")
}

func mapAt(m map[string]any, key string) map[string]any {
	v, _ := m[key].(map[string]any)
	return v
}

// equalExcept compares two maps ignoring the given keys, without copying either.
func equalExcept(a, b map[string]any, skip ...string) bool {
	skipped := func(k string) bool {
		for _, s := range skip {
			if k == s {
				return true
			}
		}
		return false
	}
	n := 0
	for k, av := range a {
		if skipped(k) {
			continue
		}
		n++
		bv, ok := b[k]
		if !ok || !reflect.DeepEqual(av, bv) {
			return false
		}
	}
	for k := range b {
		if !skipped(k) {
			n--
		}
	}
	return n == 0
}
