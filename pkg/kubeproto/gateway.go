package kubeproto

import (
	"bytes"
	"cmp"
	"encoding/json"
	"io"
	"reflect"
	"slices"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/proto"
)

// GatewayMarshaler is the grpc-gateway marshaler of Moor's REST API: [runtime.JSONPb] with Moor's options,
// except that messages are written by [Marshal], so 64-bit integers are JSON numbers.
//
// Besides messages, grpc-gateway hands marshalers a few wrappers of its own: the {"result": msg} chunks of
// server streams and the {"error": status} chunk that ends a failed stream. JSONPb marshals their values with
// its own Marshal method, which an embedding type cannot override, so GatewayMarshaler walks string-keyed maps
// and slices of messages itself. Decoding is JSONPb's, with [UnmarshalOptions].
type GatewayMarshaler struct {
	runtime.JSONPb
}

var (
	_ runtime.Marshaler = (*GatewayMarshaler)(nil)
	_ runtime.Delimited = (*GatewayMarshaler)(nil)
)

// NewGatewayMarshaler returns the marshaler to install with
// runtime.WithMarshalerOption(runtime.MIMEWildcard, kubeproto.NewGatewayMarshaler()).
func NewGatewayMarshaler() *GatewayMarshaler {
	return &GatewayMarshaler{JSONPb: runtime.JSONPb{MarshalOptions: MarshalOptions, UnmarshalOptions: UnmarshalOptions}}
}

var protoMessageType = reflect.TypeFor[proto.Message]()

// Marshal writes v as JSON.
func (m *GatewayMarshaler) Marshal(v any) ([]byte, error) {
	if msg, ok := v.(proto.Message); ok {
		return marshal(m.MarshalOptions, msg)
	}
	rv := reflect.ValueOf(v)
	switch {
	case !rv.IsValid():
		return []byte("null"), nil
	case rv.Kind() == reflect.Map && rv.Type().Key().Kind() == reflect.String && holdsMessages(rv.Type().Elem()):
		return m.marshalMap(rv)
	case rv.Kind() == reflect.Slice && holdsMessages(rv.Type().Elem()):
		return m.marshalSlice(rv)
	}
	return m.JSONPb.Marshal(v)
}

// holdsMessages reports whether values of type t may be messages.
func holdsMessages(t reflect.Type) bool {
	return t.Kind() == reflect.Interface || t.Implements(protoMessageType)
}

func (m *GatewayMarshaler) marshalMap(rv reflect.Value) ([]byte, error) {
	if rv.IsNil() {
		return []byte("null"), nil
	}
	keys := rv.MapKeys()
	slices.SortFunc(keys, func(a, b reflect.Value) int { return cmp.Compare(a.String(), b.String()) })
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		name, err := json.Marshal(k.String())
		if err != nil {
			return nil, err
		}
		buf.Write(name)
		buf.WriteByte(':')
		b, err := m.Marshal(rv.MapIndex(k).Interface())
		if err != nil {
			return nil, err
		}
		buf.Write(b)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func (m *GatewayMarshaler) marshalSlice(rv reflect.Value) ([]byte, error) {
	if rv.IsNil() {
		return []byte("null"), nil
	}
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i := range rv.Len() {
		if i > 0 {
			buf.WriteByte(',')
		}
		b, err := m.Marshal(rv.Index(i).Interface())
		if err != nil {
			return nil, err
		}
		buf.Write(b)
	}
	buf.WriteByte(']')
	return buf.Bytes(), nil
}

// NewEncoder returns an encoder that writes each value as [GatewayMarshaler.Marshal] does, followed by the
// stream delimiter, as JSONPb's encoder does.
func (m *GatewayMarshaler) NewEncoder(w io.Writer) runtime.Encoder {
	return runtime.EncoderFunc(func(v any) error {
		b, err := m.Marshal(v)
		if err != nil {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		_, err = w.Write(m.Delimiter())
		return err
	})
}
