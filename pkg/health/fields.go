package health

import (
	"encoding/json"
	"math"
)

// Field access on the unstructured map, without copying. Objects come from the API server (int64 numbers) or
// from YAML/JSON decoding (float64 or json.Number), so numbers accept all three.

func field(obj map[string]any, path ...string) (any, bool) {
	var cur any = obj
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func str(obj map[string]any, path ...string) string {
	v, _ := field(obj, path...)
	s, _ := v.(string)
	return s
}

func boolean(obj map[string]any, path ...string) bool {
	v, _ := field(obj, path...)
	b, _ := v.(bool)
	return b
}

// num returns the integer at path and whether it is set.
func num(obj map[string]any, path ...string) (int64, bool) {
	v, ok := field(obj, path...)
	if !ok {
		return 0, false
	}
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case float64:
		if n != math.Trunc(n) {
			return 0, false
		}
		return int64(n), true
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	}
	return 0, false
}

func numOr(obj map[string]any, def int64, path ...string) int64 {
	if n, ok := num(obj, path...); ok {
		return n
	}
	return def
}

func mapping(obj map[string]any, path ...string) map[string]any {
	v, _ := field(obj, path...)
	m, _ := v.(map[string]any)
	return m
}

func list(obj map[string]any, path ...string) []any {
	v, _ := field(obj, path...)
	l, _ := v.([]any)
	return l
}

// condition is one entry of status.conditions.
type condition struct {
	Type, Status, Reason, Message string
	ObservedGeneration            int64
	hasObservedGeneration         bool
}

func conditionsOf(obj map[string]any) []condition {
	raw := list(obj, "status", "conditions")
	out := make([]condition, 0, len(raw))
	for _, r := range raw {
		m, ok := r.(map[string]any)
		if !ok {
			continue
		}
		c := condition{Type: str(m, "type"), Status: str(m, "status"), Reason: str(m, "reason"), Message: str(m, "message")}
		c.ObservedGeneration, c.hasObservedGeneration = num(m, "observedGeneration")
		out = append(out, c)
	}
	return out
}

func findCondition(conds []condition, typ string) *condition {
	for i := range conds {
		if conds[i].Type == typ {
			return &conds[i]
		}
	}
	return nil
}

// generationLag reports whether the controller has not yet seen the latest spec.
func generationLag(obj map[string]any) bool {
	gen, ok := num(obj, "metadata", "generation")
	if !ok {
		return false
	}
	observed, ok := num(obj, "status", "observedGeneration")
	return ok && observed < gen
}

// reasonMessage joins a condition's reason and message the way kubectl describe reads.
func reasonMessage(c *condition) string {
	switch {
	case c.Reason != "" && c.Message != "":
		return c.Reason + ": " + c.Message
	case c.Message != "":
		return c.Message
	}
	return c.Reason
}
