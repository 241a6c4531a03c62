package diff

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// orderSensitive names associative lists whose order still means something: init containers run in order.
var orderSensitive = map[string]bool{"initContainers": true}

// listShapes returns the union of every manager's fields in the objects' managedFields. Its Key and Value
// elements tell which lists the schema declares associative (keyed by merge keys, or sets) and by which
// keys, without needing the OpenAPI schema.
func listShapes(objs ...*unstructured.Unstructured) *fieldpath.Set {
	out := &fieldpath.Set{}
	for _, u := range objs {
		if u != nil {
			forEachManagedFields(u, func(_ string, s *fieldpath.Set) { out = out.Union(s) })
		}
	}
	return out
}

// forEachManagedFields calls f with each managedFields entry's manager and field set, read straight from the
// unstructured object (GetManagedFields converts through reflection and JSON, several times slower).
func forEachManagedFields(u *unstructured.Unstructured, f func(manager string, s *fieldpath.Set)) {
	entries, _, _ := unstructured.NestedFieldNoCopy(u.Object, "metadata", "managedFields")
	list, _ := entries.([]any)
	for _, e := range list {
		m, _ := e.(map[string]any)
		fields, _ := m["fieldsV1"].(map[string]any)
		manager, _ := m["manager"].(string)
		if fields == nil {
			continue
		}
		if s, ok := setFromFieldsV1(fields); ok {
			f(manager, s)
		}
	}
}

// setFromFieldsV1 builds a field set from FieldsV1 in its decoded form: keys are serialised path elements
// ("f:name", "k:{...}", "v:...", "i:0") and "." marks the enclosing element itself as a member.
func setFromFieldsV1(fields map[string]any) (*fieldpath.Set, bool) {
	s := &fieldpath.Set{}
	for k, v := range fields {
		if k == "." {
			continue
		}
		pe, err := fieldpath.DeserializePathElement(k)
		if err != nil {
			return nil, false
		}
		child, _ := v.(map[string]any)
		if len(child) == 0 {
			s.Members.Insert(pe)
			continue
		}
		if _, self := child["."]; self {
			s.Members.Insert(pe)
		}
		if len(child) == 1 && child["."] != nil {
			continue
		}
		sub, ok := setFromFieldsV1(child)
		if !ok {
			return nil, false
		}
		if !sub.Empty() {
			*s.Children.Descend(pe) = *sub
		}
	}
	return s, true
}

// sortAssociative puts the items of every associative list in v into key order, so two objects that differ
// only in the order of keyed items (env by name, ports by containerPort and protocol) compare equal: the API
// server treats those lists as maps. Lists not in s (atomic lists) keep their order.
func sortAssociative(v any, s *fieldpath.Set, field string) any {
	switch node := v.(type) {
	case map[string]any:
		s.Children.Iterate(func(pe fieldpath.PathElement) {
			if pe.FieldName == nil {
				return
			}
			if c, ok := node[*pe.FieldName]; ok {
				sub, _ := s.Children.Get(pe)
				node[*pe.FieldName] = sortAssociative(c, sub, *pe.FieldName)
			}
		})
		return node
	case []any:
		var keys []string
		isSet := false
		inspect := func(pe fieldpath.PathElement) {
			switch {
			case pe.Key != nil && keys == nil:
				for _, f := range *pe.Key {
					keys = append(keys, f.Name)
				}
			case pe.Value != nil:
				isSet = true
			}
		}
		s.Members.Iterate(inspect)
		s.Children.Iterate(inspect)
		if (keys != nil || isSet) && !orderSensitive[field] {
			sortKeys := make([]string, len(node))
			for i, item := range node {
				sortKeys[i] = itemSortKey(item, keys)
			}
			idx := make([]int, len(node))
			for i := range idx {
				idx[i] = i
			}
			slices.SortStableFunc(idx, func(a, b int) int { return strings.Compare(sortKeys[a], sortKeys[b]) })
			sorted := make([]any, len(node))
			for i, j := range idx {
				sorted[i] = node[j]
			}
			node = sorted
		}
		s.Children.Iterate(func(pe fieldpath.PathElement) {
			if pe.Index != nil {
				return
			}
			sub, _ := s.Children.Get(pe)
			for i, item := range node {
				if matchesElement(pe, i, item) {
					node[i] = sortAssociative(item, sub, "")
				}
			}
		})
		return node
	}
	return v
}

func itemSortKey(item any, keys []string) string {
	m, ok := item.(map[string]any)
	if !ok || keys == nil {
		return scalarKey(item)
	}
	var sb strings.Builder
	for _, k := range keys {
		sb.WriteString(scalarKey(m[k]))
		sb.WriteByte(0)
	}
	return sb.String()
}

func scalarKey(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case int64:
		return strconv.FormatInt(t, 10)
	case bool:
		return strconv.FormatBool(t)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
