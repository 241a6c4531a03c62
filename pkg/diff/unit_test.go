package diff_test

import (
	"strings"
	"testing"
	"time"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/diff"
)

// offline returns a Differ without a cluster: desired is overlaid on live in process.
func offline(t testing.TB, opts diff.Options) *diff.Differ {
	t.Helper()
	d, err := diff.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestOfflineCompare(t *testing.T) {
	live := mustParse(t, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ns, resourceVersion: "7", uid: abc, generation: 3, creationTimestamp: "2026-01-01T00:00:00Z"}
spec:
  replicas: 1
  revisionHistoryLimit: 10
  template:
    spec:
      containers:
      - {name: b, image: busybox, imagePullPolicy: Always}
      - {name: a, image: nginx, resources: {requests: {cpu: "1", memory: 1Gi}}, terminationMessagePath: /dev/termination-log}
status: {replicas: 1}
`)
	tests := []struct {
		name    string
		desired string
		ignore  []v1alpha1.ResourceIgnoreDifferences
		want    bool
		paths   []string
	}{
		{name: "defaulted fields, quantities and keyed order", want: false, desired: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ns, creationTimestamp: null, annotations: {}}
spec:
  replicas: 1
  template:
    spec:
      containers:
      - {name: a, image: nginx, resources: {requests: {cpu: 1000m, memory: 1024Mi}}}
      - {name: b, image: busybox}
`},
		{name: "changed image", want: true, paths: []string{"spec.template.spec.containers[name=a].image"}, desired: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ns}
spec:
  template:
    spec:
      containers:
      - {name: a, image: nginx:2}
      - {name: b, image: busybox}
`},
		{name: "changed replicas ignored by jsonPointer", want: false,
			ignore:  []v1alpha1.ResourceIgnoreDifferences{{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/spec/replicas"}}},
			desired: `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: ns}, spec: {replicas: 3}}`},
		{name: "rule for another name does not apply", want: true, paths: []string{"spec.replicas"},
			ignore:  []v1alpha1.ResourceIgnoreDifferences{{Group: "apps", Kind: "Deployment", Name: "other", JSONPointers: []string{"/spec/replicas"}}},
			desired: `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: ns}, spec: {replicas: 3}}`},
		{name: "changed image ignored by jq", want: false,
			ignore:  []v1alpha1.ResourceIgnoreDifferences{{Group: "*", Kind: "*", JQPathExpressions: []string{`.spec.template.spec.containers[] | select(.name == "a") | .image`, `.spec.missing[]`}}},
			desired: `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: ns}, spec: {template: {spec: {containers: [{name: a, image: "nginx:2"}, {name: b, image: busybox}]}}}}`},
	}
	d := offline(t, diff.Options{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := d.Diff(t.Context(), mustParse(t, tc.desired), live, diff.ResourceOptions{IgnoreDifferences: tc.ignore})
			if err != nil {
				t.Fatal(err)
			}
			if res.Modified != tc.want {
				t.Errorf("Modified = %v, want %v; paths %v\n%s", res.Modified, tc.want, res.Paths, res.Diff)
			}
			if strings.Join(res.Paths, ",") != strings.Join(tc.paths, ",") {
				t.Errorf("Paths = %v, want %v", res.Paths, tc.paths)
			}
		})
	}
}

func TestSystemRulesAndJQErrors(t *testing.T) {
	live := mustParse(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: ns}, data: {a: "1"}}`)
	desired := mustParse(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: ns}, data: {a: "2"}}`)

	d := offline(t, diff.Options{SystemIgnoreDifferences: []v1alpha1.ResourceIgnoreDifferences{{Group: "*", Kind: "*", JQPathExpressions: []string{".data.a"}}}})
	if res, err := d.Diff(t.Context(), desired, live, diff.ResourceOptions{}); err != nil || res.Modified {
		t.Errorf("system-wide rule: Modified = %v, err = %v; want false, nil", res != nil && res.Modified, err)
	}

	bad := []v1alpha1.ResourceIgnoreDifferences{{Kind: "ConfigMap", JQPathExpressions: []string{".data[ | x"}}}
	if _, err := offline(t, diff.Options{}).Diff(t.Context(), desired, live, diff.ResourceOptions{IgnoreDifferences: bad}); err == nil {
		t.Error("invalid jq expression: no error")
	}

	slow := []v1alpha1.ResourceIgnoreDifferences{{Kind: "ConfigMap", JQPathExpressions: []string{"def f: f; f"}}}
	d = offline(t, diff.Options{JQTimeout: 50 * time.Millisecond})
	start := time.Now()
	_, err := d.Diff(t.Context(), desired, live, diff.ResourceOptions{IgnoreDifferences: slow})
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("endless jq expression: err = %v, want a timeout", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("endless jq expression took %s", took)
	}
}

func TestSecretMasks(t *testing.T) {
	d := offline(t, diff.Options{})
	live := mustParse(t, `
apiVersion: v1
kind: Secret
metadata:
  name: s
  namespace: ns
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"stringData":{"a":"same-value"}}'
data: {a: c2FtZS12YWx1ZQ==, b: b2xkLXZhbHVl}
`)
	desired := mustParse(t, `{apiVersion: v1, kind: Secret, metadata: {name: s, namespace: ns}, stringData: {a: same-value, b: new-value}}`)
	res, err := d.Diff(t.Context(), desired, live, diff.ResourceOptions{IgnoreDifferences: []v1alpha1.ResourceIgnoreDifferences{{Kind: "Secret", JSONPointers: []string{"/metadata/annotations"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Modified {
		t.Fatal("Modified = false, want true")
	}
	p, l := res.PredictedLive.Object["data"].(map[string]any), res.NormalizedLive.Object["data"].(map[string]any)
	if p["a"] != l["a"] {
		t.Errorf("equal values masked differently: %v and %v", p["a"], l["a"])
	}
	if p["b"] == l["b"] {
		t.Errorf("different values masked alike: %v", p["b"])
	}
	if !strings.HasPrefix(p["a"].(string), "++++++++") {
		t.Errorf("mask %q lacks the + prefix", p["a"])
	}
	assertNoSecret(t, res, "same-value", "old-value", "new-value")

	masked := d.MaskSecret(live)
	if s := masked.GetAnnotations()["kubectl.kubernetes.io/last-applied-configuration"]; strings.Contains(s, "same-value") {
		t.Errorf("last-applied annotation not masked: %s", s)
	}
	if live.Object["data"].(map[string]any)["a"] != "c2FtZS12YWx1ZQ==" {
		t.Error("MaskSecret modified its argument")
	}
}

func TestParseCompareOptions(t *testing.T) {
	o := diff.ParseCompareOptions(map[string]string{diff.AnnotationCompareOptions: "IgnoreExtraneous, ServerSideDiff=false,IncludeMutationWebhook=true"})
	if !o.IgnoreExtraneous || o.ServerSideDiff == nil || *o.ServerSideDiff || !o.IncludeMutationWebhook {
		t.Errorf("got %+v", o)
	}
	if o := diff.ParseCompareOptions(nil); o.IgnoreExtraneous || o.ServerSideDiff != nil {
		t.Errorf("empty: got %+v", o)
	}
	so := diff.SyncOptions(map[string]string{diff.AnnotationSyncOptions: "Prune=false,Replace=true"})
	if so["Prune"] != "false" || so["Replace"] != "true" {
		t.Errorf("sync options %v", so)
	}
}
