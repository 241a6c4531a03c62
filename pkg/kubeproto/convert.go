package kubeproto

import (
	"bytes"
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// ToEnvelope fills msg (an envelope such as apiv1.Application) from a Kubernetes Go object (such as
// *v1alpha1.Application) through the object's JSON form. msg is reset first.
func ToEnvelope(obj any, msg proto.Message) error {
	b, err := json.Marshal(obj)
	if err != nil {
		return fmt.Errorf("kubeproto: encode %T: %w", obj, err)
	}
	if err := Unmarshal(b, msg); err != nil {
		return fmt.Errorf("kubeproto: decode %T into %s: %w", obj, msg.ProtoReflect().Descriptor().FullName(), err)
	}
	return nil
}

// FromEnvelope fills a Kubernetes Go object (a pointer) from an envelope through the envelope's JSON form.
func FromEnvelope(msg proto.Message, obj any) error {
	b, err := Marshal(msg)
	if err != nil {
		return fmt.Errorf("kubeproto: encode %s: %w", msg.ProtoReflect().Descriptor().FullName(), err)
	}
	if err := json.Unmarshal(b, obj); err != nil {
		return fmt.Errorf("kubeproto: decode %s into %T: %w", msg.ProtoReflect().Descriptor().FullName(), obj, err)
	}
	return nil
}

// ToStruct returns the JSON form of v (a Go value that marshals to a JSON object, e.g. an ApplicationSpec) as
// a Struct. A value that marshals to null gives a nil Struct.
func ToStruct(v any) (*structpb.Struct, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("kubeproto: encode %T: %w", v, err)
	}
	if bytes.Equal(b, []byte("null")) {
		return nil, nil
	}
	s := &structpb.Struct{}
	if err := protojson.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("kubeproto: decode %T into a Struct: %w", v, err)
	}
	return s, nil
}

// FromStruct fills v (a pointer) from the JSON form of s. A nil Struct leaves v unchanged.
func FromStruct(s *structpb.Struct, v any) error {
	if s == nil {
		return nil
	}
	b, err := protojson.Marshal(s)
	if err != nil {
		return fmt.Errorf("kubeproto: encode Struct: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("kubeproto: decode Struct into %T: %w", v, err)
	}
	return nil
}
