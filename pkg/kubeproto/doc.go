// Package kubeproto moves Kubernetes objects through Moor's protobuf API without changing their JSON.
//
// # The representation
//
// The REST form of an Application must be the very document `kubectl get application NAME -o json` prints.
// Kubernetes serves custom resources only as JSON, and their schema is the CRD (the Go types in
// pkg/apis/application/v1alpha1). So every shape the argoproj.io CRDs define travels in proto as its
// Kubernetes JSON form (see proto/moor/api/v1/resources.proto):
//
//	message Application {
//	  string api_version = 1;            // "apiVersion"
//	  string kind = 2;
//	  ObjectMeta metadata = 3;           // typed mirror of metav1.ObjectMeta, so routes can bind {application.metadata.name}
//	  google.protobuf.Struct spec = 4;   // the CRD's JSON, untouched
//	  google.protobuf.Struct status = 5;
//	  google.protobuf.Struct operation = 6;
//	}
//
// AppProject, ApplicationSet and the lists (metadata + items) use the same envelope. Shapes that are Moor's own
// (repositories, clusters, sessions, trees) are ordinary typed messages whose JSON names are Argo CD's.
//
// # What this package adds to protojson
//
// protojson writes 64-bit integers as JSON strings ("generation": "3"), while Kubernetes and Argo CD write
// numbers. [Marshal] runs protojson and then a single descriptor-guided pass over its output that unquotes the
// values of 64-bit integer fields (int64, sint64, sfixed64, uint64, fixed64 and the Int64Value/UInt64Value
// wrappers, in singular, optional, repeated and map fields, at any depth). The contents of Struct, Value and
// ListValue are JSON already and are left alone. The pass also drops protojson's insignificant whitespace, so
// the output is compact and byte-stable across builds. [Unmarshal] is protojson, which accepts numbers and
// strings for 64-bit integers alike and rejects unknown fields.
//
// [GatewayMarshaler] is the grpc-gateway runtime.Marshaler built on the same functions, for unary responses,
// streamed chunks ({"result": ...}) and error bodies alike. The API server installs it with
//
//	runtime.WithMarshalerOption(runtime.MIMEWildcard, kubeproto.NewGatewayMarshaler())
//
// [ToEnvelope] and [FromEnvelope] convert between a Kubernetes Go object and its envelope through JSON, and
// [ToStruct] / [FromStruct] do the same for one Struct field.
//
// # Known limits
//
//   - A Struct stores every number as a double: an integer inside spec, status or operation above 2^53 loses
//     precision. No argoproj.io CRD field holds such values; typed fields (metadata.generation) are exact.
//   - 64-bit integers inside a google.protobuf.Any keep protojson's quoted form (Any appears only in gRPC error
//     details).
//   - Struct keys are written in sorted order, Kubernetes writes struct fields in declaration order: the
//     documents are equal as JSON, not byte for byte.
package kubeproto
