package sync

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

func obj(kind, name string, ann ...string) *unstructured.Unstructured {
	api := "v1"
	switch kind {
	case "Deployment":
		api = "apps/v1"
	case "Job":
		api = "batch/v1"
	case "CustomResourceDefinition":
		api = "apiextensions.k8s.io/v1"
	case "Widget":
		api = "example.com/v1"
	}
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": api, "kind": kind, "metadata": map[string]any{"name": name}}}
	if kind != "Namespace" && kind != "CustomResourceDefinition" {
		u.SetNamespace("ns")
	}
	if len(ann) > 0 {
		m := map[string]string{}
		for i := 0; i+1 < len(ann); i += 2 {
			m[ann[i]] = ann[i+1]
		}
		u.SetAnnotations(m)
	}
	return u
}

func describe(ts []*task) []string {
	var out []string
	for _, t := range ts {
		verb := map[taskKind]string{kindApply: "apply", kindHook: "hook", kindPrune: "prune"}[t.kind]
		out = append(out, fmt.Sprintf("%s %s/%d %s/%s", verb, t.phase, t.wave, t.gvk().Kind, t.obj().GetName()))
	}
	return out
}

func TestPlanOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		req  Request
		want []string
	}{
		{
			name: "kind order inside a wave, namespaces and CRDs first",
			req: Request{Resources: []Resource{
				{Desired: obj("Widget", "w")}, {Desired: obj("Deployment", "web")}, {Desired: obj("ConfigMap", "cm")},
				{Desired: obj("CustomResourceDefinition", "widgets.example.com")}, {Desired: obj("Namespace", "ns")},
			}},
			want: []string{"apply Sync/0 Namespace/ns", "apply Sync/0 ConfigMap/cm", "apply Sync/0 CustomResourceDefinition/widgets.example.com",
				"apply Sync/0 Deployment/web", "apply Sync/0 Widget/w"},
		},
		{
			name: "phases then waves; hooks by phase; Skip never runs",
			req: Request{OpID: "1-0", Resources: []Resource{
				{Desired: obj("ConfigMap", "late", AnnotationSyncWave, "5")},
				{Desired: obj("ConfigMap", "early", AnnotationSyncWave, "-1")},
				{Desired: obj("Job", "post", AnnotationHook, "PostSync")},
				{Desired: obj("Job", "pre", AnnotationHook, "PreSync,SyncFail")},
				{Desired: obj("ConfigMap", "skipped", AnnotationHook, "Skip")},
				{Desired: obj("Job", "helm-pre", AnnotationHelmHook, "pre-install", AnnotationHelmHookWeight, "3")},
			}},
			want: []string{"hook PreSync/0 Job/pre", "hook PreSync/3 Job/helm-pre", "apply Sync/-1 ConfigMap/early",
				"apply Sync/5 ConfigMap/late", "hook PostSync/0 Job/post", "hook SyncFail/0 Job/pre"},
		},
		{
			name: "prunes mirror their waves; PruneLast after every wave",
			req: Request{Prune: true, Resources: []Resource{
				{Desired: obj("ConfigMap", "keep", AnnotationSyncWave, "1")},
				{Live: obj("ConfigMap", "gone-w0")},
				{Live: obj("ConfigMap", "gone-w2", AnnotationSyncWave, "2")},
				{Live: obj("ConfigMap", "last", AnnotationSyncOptions, "PruneLast=true")},
				{Live: obj("Job", "old-hook", AnnotationHook, "PreSync")},
			}},
			want: []string{"prune Sync/0 ConfigMap/gone-w2", "apply Sync/1 ConfigMap/keep", "prune Sync/2 ConfigMap/gone-w0", "prune Sync/3 ConfigMap/last"},
		},
		{
			name: "selective sync: only the named resources, no hooks",
			req: Request{Selected: []v1alpha1.SyncOperationResource{{Kind: "ConfigMap", Namespace: "ns", Name: "a"}}, Resources: []Resource{
				{Desired: obj("ConfigMap", "a")}, {Desired: obj("ConfigMap", "b")}, {Desired: obj("Job", "pre", AnnotationHook, "PreSync")},
			}},
			want: []string{"apply Sync/0 ConfigMap/a"},
		},
		{
			name: "ApplyOutOfSyncOnly leaves Synced objects alone",
			req: Request{Options: ParseOptions(DefaultOptions(), []string{"ApplyOutOfSyncOnly=true"}), Resources: []Resource{
				{Desired: obj("ConfigMap", "same"), Live: obj("ConfigMap", "same"), Status: v1alpha1.SyncStatusCodeSynced},
				{Desired: obj("ConfigMap", "drifted"), Live: obj("ConfigMap", "drifted"), Status: v1alpha1.SyncStatusCodeOutOfSync},
			}},
			want: []string{"apply Sync/0 ConfigMap/drifted"},
		},
		{
			name: "CreateNamespace goes before everything",
			req: Request{Namespace: "dest", Options: ParseOptions(DefaultOptions(), []string{"CreateNamespace=true"}),
				Resources: []Resource{{Desired: obj("Job", "pre", AnnotationHook, "PreSync")}}},
			want: []string{"apply PreSync/-2147483648 Namespace/dest", "hook PreSync/0 Job/pre"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts, err := plan(&tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if got := describe(ts); !slices.Equal(got, tc.want) {
				t.Errorf("plan:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(tc.want, "\n     "))
			}
		})
	}
}

func TestPlanRefusesToPruneEverythingFromAnEmptyRender(t *testing.T) {
	t.Parallel()
	req := &Request{Prune: true, Resources: []Resource{{Live: obj("ConfigMap", "a")}}}
	if _, err := plan(req); !errors.Is(err, ErrEmptyRender) {
		t.Fatalf("err = %v, want ErrEmptyRender", err)
	}
	req.AllowEmpty = true
	if ts, err := plan(req); err != nil || len(ts) != 1 {
		t.Fatalf("with allowEmpty: %v %v", describe(ts), err)
	}
}

func TestHookNamesAreStablePerOperation(t *testing.T) {
	t.Parallel()
	u := obj("Job", "")
	u.SetGenerateName("migrate-")
	a, b := hookName(u, "100-0", PhasePreSync), hookName(u, "100-0", PhasePreSync)
	c := hookName(u, "100-1", PhasePreSync)
	if a != b || a == c || !strings.HasPrefix(a, "migrate-") {
		t.Fatalf("names %q %q %q", a, b, c)
	}
}

func TestParseOptions(t *testing.T) {
	t.Parallel()
	o := ParseOptions(DefaultOptions(), []string{"ServerSideApply=false", "Prune=confirm,PrunePropagationPolicy=background", "Validate=false"})
	if o.ServerSideApply || !o.PruneConfirm || o.PrunePropagationPolicy != "Background" || o.Validate {
		t.Fatalf("options = %+v", o)
	}
	r := ResourceOptions(o, map[string]string{AnnotationSyncOptions: "Prune=false, ServerSideApply=true"})
	if !r.PruneDisabled || r.PruneConfirm || !r.ServerSideApply {
		t.Fatalf("resource options = %+v", r)
	}
}
