package kubeproto_test

import (
	"encoding/json"
	"testing"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/kubeproto"
)

// realisticApp is an Application as a busy install holds it: 60 managed resources, 10 history entries, a
// finished sync operation and a pending one (about 14.5 KB of JSON).
func realisticApp() doc { return appDoc("shop", withStatus(60, 10), withOperation()) }

// BenchmarkMarshalApplication measures the REST encoding of one Application. The sub-benchmarks put
// kubeproto.Marshal next to what it is built from (protojson alone, which quotes 64-bit integers) and next to
// encoding/json of the same document as a map (the cost of an unstructured Kubernetes object).
func BenchmarkMarshalApplication(b *testing.B) {
	d := realisticApp()
	app := &apiv1.Application{}
	if err := kubeproto.ToEnvelope(d, app); err != nil {
		b.Fatal(err)
	}
	gw := kubeproto.NewGatewayMarshaler()
	cases := []struct {
		name    string
		marshal func() ([]byte, error)
	}{
		{"kubeproto.Marshal", func() ([]byte, error) { return kubeproto.Marshal(app) }},
		{"GatewayMarshaler", func() ([]byte, error) { return gw.Marshal(app) }},
		{"GatewayMarshaler_stream_chunk", func() ([]byte, error) { return gw.Marshal(map[string]any{"result": app}) }},
		{"protojson_only", func() ([]byte, error) { return kubeproto.MarshalOptions.Marshal(app) }},
		{"encoding_json_map", func() ([]byte, error) { return json.Marshal(d) }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			out, err := c.marshal()
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(out)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.marshal(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUnmarshalApplication measures decoding a REST body into the envelope.
func BenchmarkUnmarshalApplication(b *testing.B) {
	body := mustJSON(b, realisticApp())
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var app apiv1.Application
		if err := kubeproto.Unmarshal(body, &app); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEnvelope measures the conversions the API server makes per object between the CRD Go type (here its
// map form) and the envelope.
func BenchmarkEnvelope(b *testing.B) {
	d := realisticApp()
	app := &apiv1.Application{}
	if err := kubeproto.ToEnvelope(d, app); err != nil {
		b.Fatal(err)
	}
	b.Run("ToEnvelope", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := kubeproto.ToEnvelope(d, &apiv1.Application{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("FromEnvelope", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var back map[string]any
			if err := kubeproto.FromEnvelope(app, &back); err != nil {
				b.Fatal(err)
			}
		}
	})
}
