package diff

import (
	"context"
	"encoding/base64"
	"maps"
	"slices"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// noiseMetadata are fields the API server owns; they differ between any two reads and say nothing about sync.
var noiseMetadata = []string{
	"managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink",
	"deletionTimestamp", "deletionGracePeriodSeconds",
}

// normalize returns a copy of u ready for comparison: noise and (usually) status removed, ignore rules
// applied, and empty maps, lists and nulls pruned.
func (d *Differ) normalize(ctx context.Context, u *unstructured.Unstructured, rules *ruleSet, owned ownedFields, compareStatus bool) (map[string]any, error) {
	// Copy all but the noise: managedFields alone are often a third of an object.
	obj := make(map[string]any, len(u.Object))
	for k, v := range u.Object {
		switch {
		case k == "status" && !compareStatus:
		case k == "metadata":
			md, _ := v.(map[string]any)
			c := make(map[string]any, len(md))
			for mk, mv := range md {
				if !slices.Contains(noiseMetadata, mk) {
					c[mk] = runtime.DeepCopyJSONValue(mv)
				}
			}
			obj[k] = c
		default:
			obj[k] = runtime.DeepCopyJSONValue(v)
		}
	}
	if isSecret(u) {
		foldStringData(obj)
	}
	if err := d.applyIgnores(ctx, obj, rules, owned); err != nil {
		return nil, err
	}
	pruned, _ := pruneEmpty(obj).(map[string]any)
	if pruned == nil {
		pruned = map[string]any{}
	}
	return pruned, nil
}

func hasStatus(u *unstructured.Unstructured) bool {
	st, ok := u.Object["status"].(map[string]any)
	return ok && len(st) > 0
}

func isSecret(u *unstructured.Unstructured) bool {
	gvk := u.GroupVersionKind()
	return gvk.Group == "" && gvk.Kind == "Secret"
}

// foldStringData does what the API server does with a Secret's stringData: encode each value into data,
// stringData winning over data for the same key.
func foldStringData(obj map[string]any) {
	sd, ok := obj["stringData"].(map[string]any)
	if !ok {
		delete(obj, "stringData")
		return
	}
	data, _ := obj["data"].(map[string]any)
	data = maps.Clone(data)
	if data == nil {
		data = map[string]any{}
	}
	for k, v := range sd {
		s, _ := v.(string)
		data[k] = base64.StdEncoding.EncodeToString([]byte(s))
	}
	obj["data"] = data
	delete(obj, "stringData")
}

// pruneEmpty drops nulls, empty maps and empty lists: the API server treats them as absent, and a
// manifest often writes `annotations: {}` or `env: []`. Lists keep their length (items are not dropped).
func pruneEmpty(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, c := range t {
			c = pruneEmpty(c)
			if isEmpty(c) {
				delete(t, k)
			} else {
				t[k] = c
			}
		}
		return t
	case []any:
		for i, c := range t {
			if p := pruneEmpty(c); p != nil {
				t[i] = p
			} else {
				t[i] = map[string]any{}
			}
		}
		return t
	}
	return v
}

func isEmpty(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(t) == 0
	case []any:
		return len(t) == 0
	}
	return false
}

// equalValues compares two JSON-like trees, treating numbers of different Go types as equal when their
// values are (int64 from the API, float64 or int from other decoders).
func equalValues(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !equalValues(xv, yv) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalValues(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	if xf, ok := number(a); ok {
		yf, ok := number(b)
		return ok && xf == yf
	}
	return a == b
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case float64:
		return n, true
	case float32:
		return float64(n), true
	}
	return 0, false
}

// overlay is the offline prediction: live with desired's fields laid over it, so fields the API server
// defaulted or other controllers set survive. Equal quantities keep live's spelling ("1000m" and "1"), and
// lists of named items are matched by name.
func overlay(live, desired *unstructured.Unstructured) *unstructured.Unstructured {
	out := overlayValue(runtime.DeepCopyJSONValue(live.Object), runtime.DeepCopyJSONValue(desired.Object), "", "")
	m, _ := out.(map[string]any)
	return &unstructured.Unstructured{Object: m}
}

// quantityParents are the maps whose values are resource quantities in the built-in kinds.
var quantityParents = map[string]bool{"limits": true, "requests": true, "hard": true, "capacity": true, "overhead": true}

func overlayValue(live, desired any, parent, key string) any {
	switch d := desired.(type) {
	case map[string]any:
		l, ok := live.(map[string]any)
		if !ok {
			return d
		}
		for k, dv := range d {
			l[k] = overlayValue(l[k], dv, key, k)
		}
		return l
	case []any:
		l, ok := live.([]any)
		if !ok || len(l) != len(d) {
			return d
		}
		if byName, ok := indexByName(l); ok {
			if dNames, ok := indexByName(d); ok && len(dNames) == len(byName) {
				out := make([]any, len(l))
				copy(out, l)
				for name, di := range dNames {
					li, found := byName[name]
					if !found {
						return d
					}
					out[li] = overlayValue(l[li], d[di], parent, key)
				}
				return out
			}
		}
		for i := range d {
			l[i] = overlayValue(l[i], d[i], parent, key)
		}
		return l
	case string:
		isQuantity := quantityParents[parent] || key == "sizeLimit" || key == "storage"
		if ls, ok := live.(string); ok && ls != d && isQuantity && sameQuantity(ls, d) {
			return ls
		}
		return d
	}
	if equalValues(live, desired) {
		return live
	}
	return desired
}

func sameQuantity(a, b string) bool {
	qa, err := resource.ParseQuantity(a)
	if err != nil {
		return false
	}
	qb, err := resource.ParseQuantity(b)
	return err == nil && qa.Cmp(qb) == 0
}

// indexByName maps each item's "name" to its index when every item is a map with a unique string name.
func indexByName(items []any) (map[string]int, bool) {
	idx := make(map[string]int, len(items))
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, false
		}
		name, ok := m["name"].(string)
		if !ok {
			return nil, false
		}
		if _, dup := idx[name]; dup {
			return nil, false
		}
		idx[name] = i
	}
	return idx, true
}
