package kubeproto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// MarshalOptions are the protojson options of Moor's API: JSON (lowerCamelCase) names, and fields with zero
// values left out, as Kubernetes' omitempty does.
var MarshalOptions = protojson.MarshalOptions{UseProtoNames: false, EmitUnpopulated: false}

// UnmarshalOptions are the protojson options of Moor's API: unknown fields are an error, so a misspelt field
// fails loudly instead of being dropped.
var UnmarshalOptions = protojson.UnmarshalOptions{DiscardUnknown: false}

// Marshal returns the JSON form of m as Kubernetes would write it: protojson with [MarshalOptions], with every
// 64-bit integer field written as a JSON number, compact.
func Marshal(m proto.Message) ([]byte, error) {
	return marshal(MarshalOptions, m)
}

// Unmarshal parses the JSON form of a message into m. 64-bit integers may be numbers or strings.
func Unmarshal(b []byte, m proto.Message) error {
	return UnmarshalOptions.Unmarshal(b, m)
}

func marshal(opts protojson.MarshalOptions, m proto.Message) ([]byte, error) {
	indent := opts.Indent
	multiline := opts.Multiline || indent != ""
	opts.Multiline, opts.Indent = false, ""
	b, err := opts.Marshal(m)
	if err != nil {
		return nil, err
	}
	out, err := rewrite(b, planFor(m.ProtoReflect().Descriptor()))
	if err != nil {
		return nil, fmt.Errorf("kubeproto: rewrite %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	if multiline {
		if indent == "" {
			indent = "  "
		}
		var buf bytes.Buffer
		if err := json.Indent(&buf, out, "", indent); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	return out, nil
}

var errSyntax = errors.New("unexpected end or byte in protojson output")

// rewrite applies plan to the protojson document b, in place: unquoting 64-bit integers and dropping
// whitespace only ever shortens the text, so the write offset never overtakes the read offset.
func rewrite(b []byte, plan valuePlan) ([]byte, error) {
	rw := rewriter{b: b}
	if err := rw.value(plan); err != nil {
		return nil, fmt.Errorf("%w at offset %d", err, rw.r)
	}
	rw.skipSpace()
	if rw.r != len(rw.b) {
		return nil, fmt.Errorf("%w at offset %d", errSyntax, rw.r)
	}
	return rw.b[:rw.w], nil
}

type rewriter struct {
	b []byte
	r int // read offset
	w int // write offset, w <= r
}

func (x *rewriter) skipSpace() {
	for x.r < len(x.b) {
		switch x.b[x.r] {
		case ' ', '\t', '\n', '\r':
			x.r++
		default:
			return
		}
	}
}

// next skips whitespace and returns the next byte without consuming it (0 at the end).
func (x *rewriter) next() byte {
	x.skipSpace()
	if x.r == len(x.b) {
		return 0
	}
	return x.b[x.r]
}

// put copies the byte at the read offset.
func (x *rewriter) put() {
	x.b[x.w] = x.b[x.r]
	x.w++
	x.r++
}

// expect copies the next byte, which must be c.
func (x *rewriter) expect(c byte) error {
	if x.next() != c {
		return errSyntax
	}
	x.put()
	return nil
}

// stringEnd returns the offset just past the string starting at the read offset.
func (x *rewriter) stringEnd() (int, error) {
	for i := x.r + 1; i < len(x.b); i++ {
		switch x.b[i] {
		case '\\':
			i++
		case '"':
			return i + 1, nil
		}
	}
	return 0, errSyntax
}

// copyString copies the string at the read offset and returns its contents (without quotes) as written.
func (x *rewriter) copyString() ([]byte, error) {
	if x.next() != '"' {
		return nil, errSyntax
	}
	end, err := x.stringEnd()
	if err != nil {
		return nil, err
	}
	start := x.w
	x.w += copy(x.b[x.w:], x.b[x.r:end])
	x.r = end
	return x.b[start+1 : x.w-1], nil
}

// copyValue copies one JSON value of any shape.
func (x *rewriter) copyValue() error {
	switch c := x.next(); c {
	case 0:
		return errSyntax
	case '"':
		_, err := x.copyString()
		return err
	case '{', '[':
		depth := 0
		for x.r < len(x.b) {
			switch x.b[x.r] {
			case '"':
				if _, err := x.copyString(); err != nil {
					return err
				}
				continue
			case ' ', '\t', '\n', '\r':
				x.r++
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			x.put()
			if depth == 0 {
				return nil
			}
		}
		return errSyntax
	default: // number, true, false, null
		for x.r < len(x.b) {
			switch x.b[x.r] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return nil
			}
			x.put()
		}
		return nil
	}
}

func (x *rewriter) value(p valuePlan) error {
	switch p.kind {
	case kindInt64:
		return x.int64Value()
	case kindMessage:
		return x.object(p.msg)
	default:
		return x.copyValue()
	}
}

// int64Value writes a quoted integer as a number. Anything else (a number already, null) is copied.
func (x *rewriter) int64Value() error {
	if x.next() != '"' {
		return x.copyValue()
	}
	end, err := x.stringEnd()
	if err != nil {
		return err
	}
	digits := x.b[x.r+1 : end-1]
	if !isInteger(digits) {
		return x.copyValue()
	}
	x.w += copy(x.b[x.w:], digits)
	x.r = end
	return nil
}

func isInteger(s []byte) bool {
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	if len(s) == 0 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// object rewrites the JSON object of a message.
func (x *rewriter) object(mp *messagePlan) error {
	if x.next() != '{' {
		return x.copyValue()
	}
	x.put()
	if x.next() == '}' {
		x.put()
		return nil
	}
	for {
		name, err := x.copyString()
		if err != nil {
			return err
		}
		if err := x.expect(':'); err != nil {
			return err
		}
		if fp, ok := mp.fields[string(name)]; ok {
			err = x.field(fp)
		} else {
			err = x.copyValue()
		}
		if err != nil {
			return err
		}
		if done, err := x.separator('}'); done || err != nil {
			return err
		}
	}
}

// separator copies a ',' (and returns false) or the closing byte (and returns true).
func (x *rewriter) separator(closing byte) (bool, error) {
	switch x.next() {
	case ',':
		x.put()
		return false, nil
	case closing:
		x.put()
		return true, nil
	}
	return false, errSyntax
}

// field rewrites the value of a field: one value, an array of values, or an object of map values.
func (x *rewriter) field(fp fieldPlan) error {
	switch {
	case fp.list:
		if x.next() != '[' {
			return x.copyValue()
		}
		x.put()
		if x.next() == ']' {
			x.put()
			return nil
		}
		for {
			if err := x.value(fp.elem); err != nil {
				return err
			}
			if done, err := x.separator(']'); done || err != nil {
				return err
			}
		}
	case fp.dict:
		if x.next() != '{' {
			return x.copyValue()
		}
		x.put()
		if x.next() == '}' {
			x.put()
			return nil
		}
		for {
			if _, err := x.copyString(); err != nil {
				return err
			}
			if err := x.expect(':'); err != nil {
				return err
			}
			if err := x.value(fp.elem); err != nil {
				return err
			}
			if done, err := x.separator('}'); done || err != nil {
				return err
			}
		}
	default:
		return x.value(fp.elem)
	}
}
