package diff

import (
	"cmp"
	"context"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/itchyny/gojq"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/value"
)

// ruleSet is every ignoreDifferences entry that matches one resource, compiled.
type ruleSet struct {
	pointers [][]string
	jq       []*jqExpr
	managers []string
}

type jqExpr struct {
	src  string
	code *gojq.Code
}

// jqCache compiles each jqPathExpression once per Differ.
type jqCache struct{ m sync.Map } // string -> *jqExpr

func (c *jqCache) get(src string) (*jqExpr, error) {
	if v, ok := c.m.Load(src); ok {
		return v.(*jqExpr), nil
	}
	// path(...) turns the user's filter into the paths it selects; deleting them is then done on the
	// original object, so its number types are left alone.
	q, err := gojq.Parse("path(" + src + ")")
	if err != nil {
		return nil, fmt.Errorf("parse jqPathExpression %q: %w", src, err)
	}
	code, err := gojq.Compile(q)
	if err != nil {
		return nil, fmt.Errorf("compile jqPathExpression %q: %w", src, err)
	}
	e := &jqExpr{src: src, code: code}
	v, _ := c.m.LoadOrStore(src, e)
	return v.(*jqExpr), nil
}

// rulesFor collects the system-wide and application rules matching u. Group, kind, name and namespace are
// shell globs ("*" matches all, as resource.customizations.ignoreDifferences.all does); an empty name or
// namespace matches any.
func (d *Differ) rulesFor(u *unstructured.Unstructured, opts ResourceOptions) (*ruleSet, error) {
	gk := u.GroupVersionKind().GroupKind()
	rs := &ruleSet{}
	for _, rule := range slices.Concat(d.opts.SystemIgnoreDifferences, opts.IgnoreDifferences) {
		if !globMatch(rule.Group, gk.Group) || !globMatch(rule.Kind, gk.Kind) ||
			(rule.Name != "" && !globMatch(rule.Name, u.GetName())) ||
			(rule.Namespace != "" && !globMatch(rule.Namespace, u.GetNamespace())) {
			continue
		}
		for _, p := range rule.JSONPointers {
			tokens, err := parsePointer(p)
			if err != nil {
				return nil, err
			}
			rs.pointers = append(rs.pointers, tokens)
		}
		for _, src := range rule.JQPathExpressions {
			e, err := d.jq.get(src)
			if err != nil {
				return nil, err
			}
			rs.jq = append(rs.jq, e)
		}
		rs.managers = append(rs.managers, rule.ManagedFieldsManagers...)
	}
	return rs, nil
}

func globMatch(pattern, s string) bool {
	if pattern == s || pattern == "*" {
		return true
	}
	ok, err := path.Match(pattern, s)
	return err == nil && ok
}

// parsePointer splits an RFC 6901 JSON pointer into unescaped tokens.
func parsePointer(p string) ([]string, error) {
	if p == "" {
		return nil, fmt.Errorf("jsonPointer %q: empty pointer would ignore the whole object", p)
	}
	if !strings.HasPrefix(p, "/") {
		return nil, fmt.Errorf("jsonPointer %q: must start with /", p)
	}
	tokens := strings.Split(p[1:], "/")
	for i, t := range tokens {
		tokens[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return tokens, nil
}

func (d *Differ) applyIgnores(ctx context.Context, obj map[string]any, rules *ruleSet, owned ownedFields) error {
	if owned != nil {
		removeFieldSet(obj, owned)
	}
	for _, p := range rules.pointers {
		removePath(obj, stringsToAny(p))
	}
	for _, e := range rules.jq {
		paths, err := d.runJQ(ctx, e, obj)
		if err != nil {
			return err
		}
		// Deepest and highest-index paths first, so deleting one never shifts another.
		slices.SortFunc(paths, func(a, b []any) int { return -comparePaths(a, b) })
		for _, p := range paths {
			removePath(obj, p)
		}
	}
	return nil
}

func (d *Differ) runJQ(ctx context.Context, e *jqExpr, obj map[string]any) ([][]any, error) {
	ctx, cancel := context.WithTimeout(ctx, d.opts.JQTimeout)
	defer cancel()
	iter := e.code.RunWithContext(ctx, toJQ(obj))
	var paths [][]any
	for {
		v, ok := iter.Next()
		if !ok {
			return paths, nil
		}
		if _, isErr := v.(error); isErr {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("jqPathExpression %q: timed out after %s", e.src, d.opts.JQTimeout)
			}
			// A filter that stops applying (e.g. iterating a list the object lacks) selects what it found so far.
			return paths, nil
		}
		if p, ok := v.([]any); ok && len(p) > 0 {
			paths = append(paths, p)
		}
	}
}

// toJQ copies an unstructured tree into the types gojq accepts (int, not int64).
func toJQ(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, c := range t {
			m[k] = toJQ(c)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, c := range t {
			l[i] = toJQ(c)
		}
		return l
	case int64:
		return int(t)
	case int32:
		return int(t)
	case float32:
		return float64(t)
	}
	return v
}

func stringsToAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func comparePaths(a, b []any) int {
	for i := range min(len(a), len(b)) {
		ai, aInt := a[i].(int)
		bi, bInt := b[i].(int)
		var c int
		switch {
		case aInt && bInt:
			c = cmp.Compare(ai, bi)
		case aInt:
			c = -1
		case bInt:
			c = 1
		default:
			c = cmp.Compare(fmt.Sprint(a[i]), fmt.Sprint(b[i]))
		}
		if c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}

// removePath deletes the value at p (map keys as strings; list indexes as ints or decimal strings) when it
// exists.
func removePath(obj map[string]any, p []any) {
	var parent any = obj
	for i, tok := range p {
		last := i == len(p)-1
		switch node := parent.(type) {
		case map[string]any:
			k, ok := tok.(string)
			if !ok {
				return
			}
			if last {
				delete(node, k)
				return
			}
			child, ok := node[k]
			if !ok {
				return
			}
			if l, isList := child.([]any); isList && i+1 < len(p) {
				if idx, ok := listIndex(p[i+1], len(l)); ok && i+1 == len(p)-1 {
					node[k] = slices.Delete(l, idx, idx+1)
					return
				}
			}
			parent = child
		case []any:
			idx, ok := listIndex(tok, len(node))
			if !ok || last {
				return // deleting from a list is handled by its parent, which owns the slice header
			}
			parent = node[idx]
		default:
			return
		}
	}
}

func listIndex(tok any, n int) (int, bool) {
	var idx int
	switch t := tok.(type) {
	case int:
		idx = t
	case string:
		i, err := strconv.Atoi(t)
		if err != nil {
			return 0, false
		}
		idx = i
	default:
		return 0, false
	}
	return idx, idx >= 0 && idx < n
}

// ownedFields is the union of the fields that ignored managers own, or nil.
type ownedFields = *fieldpath.Set

// managerFields reads which fields the given managers own from live's managedFields (predicted's when the
// live object was stored without them).
func managerFields(live, predicted *unstructured.Unstructured, managers []string) ownedFields {
	if len(managers) == 0 {
		return nil
	}
	source := live
	if !hasManagedFields(live) && predicted != nil {
		source = predicted
	}
	var set *fieldpath.Set
	forEachManagedFields(source, func(manager string, s *fieldpath.Set) {
		if !slices.Contains(managers, manager) {
			return
		}
		if set == nil {
			set = s
		} else {
			set = set.Union(s)
		}
	})
	return set
}

func hasManagedFields(u *unstructured.Unstructured) bool {
	mf, _, _ := unstructured.NestedFieldNoCopy(u.Object, "metadata", "managedFields")
	l, _ := mf.([]any)
	return len(l) > 0
}

// removeFieldSet deletes from v the fields of s. A map field that is owned and also has owned children
// (FieldsV1's ".") loses only those children, so an ignored manager that added one label does not hide the
// whole labels map; an owned list item is removed whole.
func removeFieldSet(v any, s *fieldpath.Set) any {
	switch node := v.(type) {
	case map[string]any:
		s.Children.Iterate(func(pe fieldpath.PathElement) {
			if pe.FieldName == nil {
				return
			}
			if child, ok := node[*pe.FieldName]; ok {
				sub, _ := s.Children.Get(pe)
				node[*pe.FieldName] = removeFieldSet(child, sub)
			}
		})
		s.Members.Iterate(func(pe fieldpath.PathElement) {
			if pe.FieldName == nil {
				return
			}
			if _, hasChildren := s.Children.Get(pe); !hasChildren {
				delete(node, *pe.FieldName)
			}
		})
		return node
	case []any:
		// Owned items go whole (first, while their key fields are still there to match). Index elements only
		// occur in atomic lists, which are owned as a unit.
		node = slices.DeleteFunc(node, func(item any) bool {
			found := false
			s.Members.Iterate(func(pe fieldpath.PathElement) {
				found = found || (pe.Index == nil && matchesElement(pe, -1, item))
			})
			return found
		})
		s.Children.Iterate(func(pe fieldpath.PathElement) {
			sub, _ := s.Children.Get(pe)
			for i, item := range node {
				if matchesElement(pe, i, item) {
					node[i] = removeFieldSet(item, sub)
				}
			}
		})
		return node
	}
	return v
}

// matchesElement reports whether list item i is the one pe names.
func matchesElement(pe fieldpath.PathElement, i int, item any) bool {
	switch {
	case pe.Index != nil:
		return *pe.Index == i
	case pe.Value != nil:
		return value.Equals(value.NewValueInterface(item), *pe.Value)
	case pe.Key != nil:
		m, ok := item.(map[string]any)
		if !ok {
			return false
		}
		for _, f := range *pe.Key {
			fv, ok := m[f.Name]
			if !ok || !value.Equals(value.NewValueInterface(fv), f.Value) {
				return false
			}
		}
		return true
	}
	return false
}
