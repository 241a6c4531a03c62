package kubeproto

import (
	"sync"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// valueKind says how one JSON value (a field's, a list element's or a map value's) is rewritten.
type valueKind uint8

const (
	// kindCopy values are copied as they are, minus whitespace: strings, bools, 32-bit numbers, enums,
	// well-known types with a JSON form of their own, and messages with no 64-bit integer anywhere below them.
	kindCopy valueKind = iota
	// kindInt64 values are quoted 64-bit integers that become JSON numbers.
	kindInt64
	// kindMessage values are JSON objects whose members are the fields of valuePlan.msg.
	kindMessage
)

type valuePlan struct {
	kind valueKind
	msg  *messagePlan // for kindMessage
}

type fieldPlan struct {
	elem valuePlan
	list bool // the field's value is an array of elem
	dict bool // the field's value is an object whose values are elem (a proto map)
}

// messagePlan maps the JSON names of the fields that need rewriting to how to rewrite them. Every other member
// of the object is copied.
type messagePlan struct {
	fields map[string]fieldPlan
}

// plans caches the plan of each message descriptor; a plan is immutable once stored.
var plans sync.Map // protoreflect.MessageDescriptor -> valuePlan

// planFor returns how to rewrite the protojson form of a message of type md.
func planFor(md protoreflect.MessageDescriptor) valuePlan {
	if k, ok := wellKnownKind(md); ok {
		return valuePlan{kind: k}
	}
	if p, ok := plans.Load(md); ok {
		return p.(valuePlan)
	}
	for d, p := range buildPlans(md) {
		plans.LoadOrStore(d, p)
	}
	p, _ := plans.Load(md)
	return p.(valuePlan)
}

// graphNode is what buildPlans learns about one message type.
type graphNode struct {
	direct64 bool                             // has a 64-bit integer field of its own
	children []protoreflect.MessageDescriptor // message types of its fields (well-known types excluded)
}

// buildPlans returns the plans of root and of every message type reachable from it. Which types lead to a
// 64-bit integer is settled over the whole graph first, because message types may be recursive.
func buildPlans(root protoreflect.MessageDescriptor) map[protoreflect.MessageDescriptor]valuePlan {
	graph := map[protoreflect.MessageDescriptor]*graphNode{}
	var walk func(md protoreflect.MessageDescriptor)
	walk = func(md protoreflect.MessageDescriptor) {
		if _, seen := graph[md]; seen {
			return
		}
		n := &graphNode{}
		graph[md] = n
		fields := md.Fields()
		for i := range fields.Len() {
			elem, child := elemOf(fields.Get(i))
			switch {
			case elem == kindInt64:
				n.direct64 = true
			case child != nil:
				n.children = append(n.children, child)
				walk(child)
			}
		}
	}
	walk(root)

	has64 := map[protoreflect.MessageDescriptor]bool{}
	for md, n := range graph {
		has64[md] = n.direct64
	}
	for changed := true; changed; {
		changed = false
		for md, n := range graph {
			if has64[md] {
				continue
			}
			for _, c := range n.children {
				if has64[c] {
					has64[md], changed = true, true
					break
				}
			}
		}
	}

	msgPlans := map[protoreflect.MessageDescriptor]*messagePlan{}
	for md := range graph {
		if has64[md] {
			msgPlans[md] = &messagePlan{fields: map[string]fieldPlan{}}
		}
	}
	out := make(map[protoreflect.MessageDescriptor]valuePlan, len(graph))
	for md := range graph {
		mp := msgPlans[md]
		if mp == nil {
			out[md] = valuePlan{kind: kindCopy}
			continue
		}
		fields := md.Fields()
		for i := range fields.Len() {
			fd := fields.Get(i)
			elem, child := elemOf(fd)
			var vp valuePlan
			switch {
			case elem == kindInt64:
				vp = valuePlan{kind: kindInt64}
			case child != nil && has64[child]:
				vp = valuePlan{kind: kindMessage, msg: msgPlans[child]}
			default:
				continue
			}
			mp.fields[fd.JSONName()] = fieldPlan{elem: vp, list: fd.IsList(), dict: fd.IsMap()}
		}
		out[md] = valuePlan{kind: kindMessage, msg: mp}
	}
	return out
}

// elemOf classifies the values of fd (its map values for a map): kindInt64, or a message type to descend
// into, or neither.
func elemOf(fd protoreflect.FieldDescriptor) (valueKind, protoreflect.MessageDescriptor) {
	if fd.IsMap() {
		fd = fd.MapValue()
	}
	switch fd.Kind() {
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind,
		protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return kindInt64, nil
	case protoreflect.MessageKind, protoreflect.GroupKind:
		if k, ok := wellKnownKind(fd.Message()); ok {
			return k, nil
		}
		return kindMessage, fd.Message()
	}
	return kindCopy, nil
}

// wellKnownKind reports whether md is a well-known type with a JSON form of its own, and how to treat it.
func wellKnownKind(md protoreflect.MessageDescriptor) (valueKind, bool) {
	if md.ParentFile() == nil || md.ParentFile().Package() != "google.protobuf" {
		return 0, false
	}
	switch md.Name() {
	case "Int64Value", "UInt64Value":
		return kindInt64, true
	case "Any", "Timestamp", "Duration", "FieldMask", "Struct", "Value", "ListValue", "Empty",
		"BoolValue", "Int32Value", "UInt32Value", "FloatValue", "DoubleValue", "StringValue", "BytesValue":
		return kindCopy, true
	}
	return 0, false
}
