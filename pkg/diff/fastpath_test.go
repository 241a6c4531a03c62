package diff

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

const fastLive = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: team
  annotations:
    argocd.argoproj.io/tracking-id: web:apps/Deployment:team/web
    deployment.kubernetes.io/revision: "1"
  managedFields:
  - manager: moor-controller
    operation: Apply
    apiVersion: apps/v1
    fieldsType: FieldsV1
    fieldsV1:
      f:metadata:
        f:annotations:
          f:argocd.argoproj.io/tracking-id: {}
      f:spec:
        f:replicas: {}
        f:selector: {}
        f:template:
          f:metadata:
            f:labels:
              f:app: {}
          f:spec:
            f:containers:
              k:{"name":"web"}:
                .: {}
                f:image: {}
                f:name: {}
  - manager: kube-controller-manager
    operation: Update
    apiVersion: apps/v1
    fieldsType: FieldsV1
    fieldsV1:
      f:metadata:
        f:annotations:
          f:deployment.kubernetes.io/revision: {}
spec:
  replicas: 2
  revisionHistoryLimit: 10
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: "nginx:1.27", imagePullPolicy: IfNotPresent, terminationMessagePath: /dev/termination-log}
      restartPolicy: Always
status: {replicas: 2}
`

const fastDesired = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: team
  annotations: {argocd.argoproj.io/tracking-id: "web:apps/Deployment:team/web"}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.27"}]
`

func TestAppliedInSync(t *testing.T) {
	t.Parallel()
	load := func(s string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(s), &u.Object); err != nil {
			t.Fatal(err)
		}
		return u
	}
	tests := []struct {
		name   string
		mutate func(desired, live *unstructured.Unstructured)
		want   bool
	}{
		{"what was applied", func(d, l *unstructured.Unstructured) {}, true},
		{"new image", func(d, l *unstructured.Unstructured) {
			_ = unstructured.SetNestedSlice(d.Object, []any{map[string]any{"name": "web", "image": "nginx:1.28"}}, "spec", "template", "spec", "containers")
		}, false},
		{"a field no longer set", func(d, l *unstructured.Unstructured) { unstructured.RemoveNestedField(d.Object, "spec", "replicas") }, false},
		{"a new field", func(d, l *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(d.Object, int64(5), "spec", "minReadySeconds")
		}, false},
		{"live edited by hand", func(d, l *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(l.Object, int64(3), "spec", "replicas")
		}, false},
		{"no apply entry", func(d, l *unstructured.Unstructured) {
			unstructured.RemoveNestedField(l.Object, "metadata", "managedFields")
		}, false},
		{"another form of the same value", func(d, l *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(d.Object, float64(2), "spec", "replicas") // JSON numbers decode as float64
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, l := load(fastDesired), load(fastLive)
			tt.mutate(d, l)
			if got := appliedInSync(d, l, DefaultFieldManager); got != tt.want {
				t.Errorf("appliedInSync = %v, want %v", got, tt.want)
			}
		})
	}
}
