package helm_test

import (
	"testing"

	"github.com/moorcd/moor/pkg/render/helm"
)

// BenchmarkRenderChart15 is a cold render of a typical chart of about 15 templates (testdata/repo/apps/webapp:
// deployment, service, ingress, hpa, serviceaccount, configmap, secret, pdb, networkpolicy, role,
// rolebinding, a ServiceMonitor, a job hook, a test hook, NOTES.txt, _helpers.tpl, a CRD and a vendored
// subchart): read from the tree, load, template, sort and parse into unstructured objects. Goal: under 50 ms.
func BenchmarkRenderChart15(b *testing.B) {
	r := helm.New(helm.Options{})
	req := webappRequest()
	b.ReportAllocs()
	for b.Loop() {
		res, err := r.Render(b.Context(), req)
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Objects) != 16 {
			b.Fatalf("%d objects", len(res.Objects))
		}
	}
}
