package diff

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// appliedInSync reports, without asking the API server, that applying desired would change nothing: the
// fields Moor's field manager owns in live (its server-side apply entry in managedFields) hold exactly what
// desired sets, and desired sets nothing else. Server-side apply of the same configuration is a no-op, so
// the dry run can be skipped. Anything else (a value written in another form, such as 1000m for 1; a
// field another manager took over; a field desired no longer sets) answers false and the dry run decides.
func appliedInSync(desired, live *unstructured.Unstructured, manager string) bool {
	set := appliedSet(live, manager)
	if set == nil {
		return false
	}
	applied, _ := extractFieldSet(live.Object, set).(map[string]any)
	if applied == nil {
		return false
	}
	applied["apiVersion"], applied["kind"] = live.GetAPIVersion(), live.GetKind()
	meta, _ := applied["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		applied["metadata"] = meta
	}
	meta["name"] = live.GetName()
	if ns := live.GetNamespace(); ns != "" {
		meta["namespace"] = ns
	}
	want := prepareDesired(desired).Object
	delete(want, "status")
	return equalValues(pruneEmpty(want), pruneEmpty(applied))
}

// appliedSet is the field set of manager's Apply entry in live's managedFields, nil when there is none.
func appliedSet(live *unstructured.Unstructured, manager string) *fieldpath.Set {
	entries, _, _ := unstructured.NestedFieldNoCopy(live.Object, "metadata", "managedFields")
	list, _ := entries.([]any)
	for _, e := range list {
		m, _ := e.(map[string]any)
		if m["manager"] != manager || m["operation"] != "Apply" {
			continue
		}
		fields, _ := m["fieldsV1"].(map[string]any)
		if fields == nil {
			return nil
		}
		s, ok := setFromFieldsV1(fields)
		if !ok {
			return nil
		}
		return s
	}
	return nil
}

// extractFieldSet returns a copy of the parts of v that s names: whole values for members without children,
// and owned children only for the rest. List items keep their live order.
func extractFieldSet(v any, s *fieldpath.Set) any {
	switch node := v.(type) {
	case map[string]any:
		out := map[string]any{}
		s.Members.Iterate(func(pe fieldpath.PathElement) {
			if pe.FieldName == nil {
				return
			}
			if _, hasChildren := s.Children.Get(pe); hasChildren {
				return
			}
			if child, ok := node[*pe.FieldName]; ok {
				out[*pe.FieldName] = deepCopyValue(child)
			}
		})
		s.Children.Iterate(func(pe fieldpath.PathElement) {
			if pe.FieldName == nil {
				return
			}
			if child, ok := node[*pe.FieldName]; ok {
				sub, _ := s.Children.Get(pe)
				out[*pe.FieldName] = extractFieldSet(child, sub)
			}
		})
		return out
	case []any:
		var out []any
		for i, item := range node {
			whole := false
			s.Members.Iterate(func(pe fieldpath.PathElement) {
				if _, hasChildren := s.Children.Get(pe); !hasChildren && matchesElement(pe, i, item) {
					whole = true
				}
			})
			if whole {
				out = append(out, deepCopyValue(item))
				continue
			}
			s.Children.Iterate(func(pe fieldpath.PathElement) {
				if matchesElement(pe, i, item) {
					sub, _ := s.Children.Get(pe)
					out = append(out, extractFieldSet(item, sub))
				}
			})
		}
		if out == nil {
			return []any{}
		}
		return out
	}
	return v
}

func deepCopyValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, c := range t {
			out[k] = deepCopyValue(c)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, c := range t {
			out[i] = deepCopyValue(c)
		}
		return out
	}
	return v
}
