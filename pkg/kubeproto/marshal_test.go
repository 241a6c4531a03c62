package kubeproto_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	_ "google.golang.org/protobuf/types/known/structpb"
	_ "google.golang.org/protobuf/types/known/wrapperspb"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/kubeproto"
)

func TestMarshalWritesKubernetesJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		doc  doc
		msg  func() proto.Message
	}{
		{
			name: "application with spec only",
			doc:  appDoc("shop"),
			msg:  func() proto.Message { return &apiv1.Application{} },
		},
		{
			name: "application with status and operation",
			doc:  appDoc("shop", withStatus(5, 3), withOperation()),
			msg:  func() proto.Message { return &apiv1.Application{} },
		},
		{
			name: "minimal application",
			doc:  doc{"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": doc{"name": "a"}, "spec": doc{}},
			msg:  func() proto.Message { return &apiv1.Application{} },
		},
		{
			name: "metadata beyond float64 precision",
			doc: doc{"metadata": doc{
				"name": "big", "generation": int64(1<<53 + 1), "deletionGracePeriodSeconds": int64(0),
				"deletionTimestamp": "2025-03-14T10:00:00Z",
			}},
			msg: func() proto.Message { return &apiv1.Application{} },
		},
		{
			name: "app project",
			doc: doc{
				"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
				"metadata": doc{"name": "default", "namespace": "argocd", "generation": int64(1)},
				"spec": doc{
					"sourceRepos":  []any{"*"},
					"destinations": []any{doc{"server": "*", "namespace": "*"}},
					"roles": []any{doc{
						"name": "ci", "policies": []any{"p, proj:default:ci, applications, sync, default/*, allow"},
						"jwtTokens": []any{doc{"iat": int64(1741944413), "exp": int64(0), "id": "t1"}},
					}},
				},
				"status": doc{"jwtTokensByRole": doc{"ci": doc{"items": []any{doc{"iat": int64(1741944413), "id": "t1"}}}}},
			},
			msg: func() proto.Message { return &apiv1.AppProject{} },
		},
		{
			name: "application list",
			doc: doc{
				"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationList",
				"metadata": doc{"resourceVersion": "184467", "continue": "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ", "remainingItemCount": int64(0)},
				"items":    []any{appDoc("a"), appDoc("b", withStatus(2, 1))},
			},
			msg: func() proto.Message { return &apiv1.ApplicationList{} },
		},
		{
			name: "event list",
			doc: doc{
				"metadata": doc{"resourceVersion": "7"},
				"items": []any{doc{
					"metadata":       doc{"name": "shop.17c", "namespace": "argocd"},
					"involvedObject": doc{"kind": "Application", "name": "shop"},
					"reason":         "OperationStarted", "count": int64(1), "type": "Normal",
					"firstTimestamp": "2025-03-14T09:29:41Z",
				}},
			},
			msg: func() proto.Message { return &apiv1.EventList{} },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			msg := tt.msg()
			if err := kubeproto.ToEnvelope(tt.doc, msg); err != nil {
				t.Fatal(err)
			}
			got, err := kubeproto.Marshal(msg)
			if err != nil {
				t.Fatal(err)
			}
			requireSameJSON(t, got, mustJSON(t, tt.doc))
			requireCompact(t, got)
		})
	}
}

// sampleFile describes a message with every kind of 64-bit field, in every position, to test the rewrite
// without depending on which fields the API happens to have.
const sampleFile = `
name: "kubeproto_sample.proto"
package: "kubeproto.sample"
syntax: "proto3"
dependency: ["google/protobuf/struct.proto", "google/protobuf/wrappers.proto"]
message_type {
  name: "Sample"
  field { name: "i64" number: 1 label: LABEL_OPTIONAL type: TYPE_INT64 }
  field { name: "u64" number: 2 label: LABEL_OPTIONAL type: TYPE_UINT64 }
  field { name: "s64" number: 3 label: LABEL_OPTIONAL type: TYPE_SINT64 }
  field { name: "f64" number: 4 label: LABEL_OPTIONAL type: TYPE_FIXED64 }
  field { name: "sf64" number: 5 label: LABEL_OPTIONAL type: TYPE_SFIXED64 }
  field { name: "list" number: 6 label: LABEL_REPEATED type: TYPE_INT64 }
  field { name: "by_name" number: 7 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".kubeproto.sample.Sample.ByNameEntry" }
  field { name: "child" number: 8 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".kubeproto.sample.Sample" }
  field { name: "children" number: 9 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".kubeproto.sample.Sample" }
  field { name: "kids" number: 10 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".kubeproto.sample.Sample.KidsEntry" }
  field { name: "wrapped" number: 11 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.Int64Value" }
  field { name: "uwrapped" number: 12 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.UInt64Value" }
  field { name: "doc" number: 13 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.Struct" }
  field { name: "text" number: 14 label: LABEL_OPTIONAL type: TYPE_STRING }
  field { name: "i32" number: 15 label: LABEL_OPTIONAL type: TYPE_INT32 }
  field { name: "opt" number: 16 label: LABEL_OPTIONAL type: TYPE_INT64 proto3_optional: true oneof_index: 0 }
  field { name: "by_id" number: 17 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".kubeproto.sample.Sample.ByIdEntry" }
  field { name: "leaf" number: 18 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".kubeproto.sample.Leaf" }
  field { name: "wrapped_list" number: 19 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".google.protobuf.Int64Value" }
  oneof_decl { name: "_opt" }
  nested_type {
    name: "ByNameEntry"
    field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
    field { name: "value" number: 2 label: LABEL_OPTIONAL type: TYPE_INT64 }
    options { map_entry: true }
  }
  nested_type {
    name: "KidsEntry"
    field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
    field { name: "value" number: 2 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".kubeproto.sample.Sample" }
    options { map_entry: true }
  }
  nested_type {
    name: "ByIdEntry"
    field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_INT64 }
    field { name: "value" number: 2 label: LABEL_OPTIONAL type: TYPE_STRING }
    options { map_entry: true }
  }
}
message_type {
  name: "Leaf"
  field { name: "name" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
  field { name: "count" number: 2 label: LABEL_OPTIONAL type: TYPE_INT32 }
}
`

func sampleDescriptor(t testing.TB) protoreflect.MessageDescriptor {
	t.Helper()
	var fdp descriptorpb.FileDescriptorProto
	if err := prototext.Unmarshal([]byte(sampleFile), &fdp); err != nil {
		t.Fatal(err)
	}
	fd, err := protodesc.NewFile(&fdp, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	return fd.Messages().ByName("Sample")
}

func TestMarshalWrites64BitIntegersAsNumbers(t *testing.T) {
	t.Parallel()
	md := sampleDescriptor(t)
	tests := []struct {
		name string
		in   string // any JSON the message accepts
		want string
	}{
		{
			name: "every 64-bit scalar kind, and the others untouched",
			in:   `{"i64":"-9223372036854775808","u64":"18446744073709551615","s64":-5,"f64":"7","sf64":"-7","i32":3,"text":"42"}`,
			want: `{"i64":-9223372036854775808,"u64":18446744073709551615,"s64":-5,"f64":7,"sf64":-7,"text":"42","i32":3}`,
		},
		{
			name: "repeated, map values, but not map keys",
			in:   `{"list":["1",2,"-3"],"byName":{"a":"1","b":2},"byId":{"5":"x"}}`,
			want: `{"list":[1,2,-3],"byName":{"a":1,"b":2},"byId":{"5":"x"}}`,
		},
		{
			name: "nested, recursive, repeated and map messages",
			in:   `{"child":{"child":{"i64":"3"}},"children":[{"i64":"1"},{"list":["2"]},{}],"kids":{"k":{"u64":"9"}}}`,
			want: `{"child":{"child":{"i64":3}},"children":[{"i64":1},{"list":[2]},{}],"kids":{"k":{"u64":9}}}`,
		},
		{
			name: "64-bit wrappers",
			in:   `{"wrapped":"12","uwrapped":"13","wrappedList":["1","2"]}`,
			want: `{"wrapped":12,"uwrapped":13,"wrappedList":[1,2]}`,
		},
		{
			name: "Struct contents are JSON already and stay as they are",
			in:   `{"doc":{"n":"1","m":1,"nested":{"i64":"2"},"list":["3",4.5,null,true]}}`,
			want: `{"doc":{"n":"1","m":1,"nested":{"i64":"2"},"list":["3",4.5,null,true]}}`,
		},
		{
			name: "optional zero is kept",
			in:   `{"opt":"0"}`,
			want: `{"opt":0}`,
		},
		{
			name: "message without 64-bit fields",
			in:   `{"leaf":{"name":"a","count":1}}`,
			want: `{"leaf":{"name":"a","count":1}}`,
		},
		{
			name: "escapes in strings and keys",
			in:   `{"text":"say \"hi\" \\ {\"i64\":\"1\"}","byName":{"a\"b":"1","c\\":"2"}}`,
			want: `{"text":"say \"hi\" \\ {\"i64\":\"1\"}","byName":{"a\"b":1,"c\\":2}}`,
		},
		{
			name: "empty",
			in:   `{}`,
			want: `{}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			msg := dynamicpb.NewMessage(md)
			if err := kubeproto.Unmarshal([]byte(tt.in), msg); err != nil {
				t.Fatal(err)
			}
			got, err := kubeproto.Marshal(msg)
			if err != nil {
				t.Fatal(err)
			}
			requireSameJSON(t, got, []byte(tt.want))
			requireCompact(t, got)
		})
	}
}

func TestMarshalTypedMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		msg  proto.Message
		want string
	}{
		{
			name: "cluster: optional shard 0 and nested counters",
			msg: &apiv1.Cluster{
				Server: "https://kubernetes.default.svc", Shard: proto.Int64(0),
				Info:   &apiv1.ClusterInfo{ApplicationsCount: 3, CacheInfo: &apiv1.ClusterCacheInfo{ResourcesCount: 1200}},
				Config: &apiv1.ClusterConfig{TlsClientConfig: &apiv1.TLSClientConfig{CaData: []byte("pem")}},
			},
			want: `{"server":"https://kubernetes.default.svc","config":{"tlsClientConfig":{"caData":"cGVt"}},"info":{"cacheInfo":{"resourcesCount":1200},"applicationsCount":3},"shard":0}`,
		},
		{
			name: "repository: Argo CD's JSON names",
			msg:  &apiv1.Repository{Repo: "https://github.com/example/shop.git", EnableOci: true, GithubAppId: 12, GithubAppInstallationId: 34, Depth: 1},
			want: `{"repo":"https://github.com/example/shop.git","enableOCI":true,"githubAppID":12,"githubAppInstallationID":34,"depth":1}`,
		},
		{
			name: "resource tree: repeated messages deep down",
			msg: &apiv1.ApplicationTree{Hosts: []*apiv1.HostInfo{{
				Name:          "node-1",
				ResourcesInfo: []*apiv1.HostResourceInfo{{ResourceName: "cpu", RequestedByApp: 250, Capacity: 4000}},
			}}},
			want: `{"hosts":[{"name":"node-1","resourcesInfo":[{"resourceName":"cpu","requestedByApp":250,"capacity":4000}]}]}`,
		},
		{
			name: "version: capitalised names",
			msg:  &apiv1.VersionServiceVersionResponse{Version: "v0.1.0", GoVersion: "go1.26"},
			want: `{"Version":"v0.1.0","GoVersion":"go1.26"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := kubeproto.Marshal(tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			requireSameJSON(t, got, []byte(tt.want))
		})
	}
}

func TestUnmarshal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		in             string
		wantGeneration int64
		wantErr        bool
	}{
		{name: "generation as a number", in: `{"metadata":{"name":"a","generation":3}}`, wantGeneration: 3},
		{name: "generation as a string", in: `{"metadata":{"name":"a","generation":"3"}}`, wantGeneration: 3},
		{name: "null creationTimestamp, as Go's metav1.Time writes it", in: `{"metadata":{"name":"a","creationTimestamp":null}}`},
		{name: "unknown field", in: `{"metadata":{"name":"a","clusterName":"x"}}`, wantErr: true},
		{name: "spec that is not an object", in: `{"spec":[]}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var app apiv1.Application
			err := kubeproto.Unmarshal([]byte(tt.in), &app)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got := app.GetMetadata().GetGeneration(); got != tt.wantGeneration {
				t.Fatalf("generation = %d, want %d", got, tt.wantGeneration)
			}
		})
	}
}

func TestMarshalIndent(t *testing.T) {
	t.Parallel()
	m := &kubeproto.GatewayMarshaler{}
	m.MarshalOptions = kubeproto.MarshalOptions
	m.Indent = "  "
	got, err := m.Marshal(&apiv1.ObjectMeta{Name: "a", Generation: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"name\": \"a\",\n  \"generation\": 2\n}"
	if string(got) != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// requireCompact fails if b has whitespace outside strings.
func requireCompact(t testing.TB, b []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), b) {
		t.Fatalf("output is not compact: %s", b)
	}
}
