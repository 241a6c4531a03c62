package diff_test

import (
	"testing"

	"github.com/moorcd/moor/pkg/diff"
)

// BenchmarkDiffDeployment is one uncached comparison: a server-side dry-run apply to the local API server
// and the normalise-and-compare step. BenchmarkDiffDeployment/cached is the same with the prediction cached.
func BenchmarkDiffDeployment(b *testing.B) {
	e := newEnv(b)
	desired := e.obj(b, deployment)
	e.apply(b, desired, diff.DefaultFieldManager)
	live := e.get(b, desired)
	for _, bc := range []struct {
		name    string
		refresh bool
	}{{"dry-run", true}, {"cached", false}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				res, err := e.d.Diff(b.Context(), desired, live, diff.ResourceOptions{Refresh: bc.refresh})
				if err != nil {
					b.Fatal(err)
				}
				if res.LiveRefreshed { // the deployment controller wrote meanwhile: catch up like a watch would
					live = e.get(b, desired)
				}
			}
		})
	}
}

// BenchmarkNormalizeAndCompare is the in-process part alone, without a server: normalising a realistic
// Deployment as the API server returns it (managedFields included), ignore rules, and the comparison.
func BenchmarkNormalizeAndCompare(b *testing.B) {
	live := mustParse(b, serverDeployment)
	desired := mustParse(b, deployment)
	desired.SetNamespace("ns")
	d, err := diff.New(diff.Options{SystemIgnoreDifferences: nil})
	if err != nil {
		b.Fatal(err)
	}
	opts := diff.ResourceOptions{}
	b.ReportAllocs()
	for b.Loop() {
		res, err := d.Diff(b.Context(), desired, live, opts)
		if err != nil {
			b.Fatal(err)
		}
		if res.Modified {
			b.Fatalf("modified:\n%s", res.Diff)
		}
	}
}

// serverDeployment is deployment as the API server stores it after an apply by moor-controller.
const serverDeployment = `
apiVersion: apps/v1
kind: Deployment
metadata:
  annotations: {deployment.kubernetes.io/revision: "1"}
  creationTimestamp: "2026-07-01T10:00:00Z"
  generation: 1
  labels: {app: web}
  managedFields:
  - apiVersion: apps/v1
    fieldsType: FieldsV1
    fieldsV1:
      f:metadata: {f:labels: {f:app: {}}}
      f:spec:
        f:replicas: {}
        f:selector: {}
        f:template:
          f:metadata: {f:labels: {f:app: {}}}
          f:spec:
            f:containers:
              k:{"name":"app"}:
                .: {}
                f:env:
                  k:{"name":"A"}: {.: {}, f:name: {}, f:value: {}}
                  k:{"name":"B"}: {.: {}, f:name: {}, f:value: {}}
                f:image: {}
                f:name: {}
                f:ports:
                  k:{"containerPort":80,"protocol":"TCP"}: {.: {}, f:containerPort: {}}
                f:resources: {f:limits: {f:cpu: {}, f:memory: {}}, f:requests: {f:cpu: {}, f:memory: {}}}
    manager: moor-controller
    operation: Apply
    time: "2026-07-01T10:00:00Z"
  - apiVersion: apps/v1
    fieldsType: FieldsV1
    fieldsV1:
      f:metadata: {f:annotations: {.: {}, f:deployment.kubernetes.io/revision: {}}}
    manager: kube-controller-manager
    operation: Update
    time: "2026-07-01T10:00:01Z"
  name: web
  namespace: ns
  resourceVersion: "12345"
  uid: 6f1c1c9e-1b7e-4a53-9d43-0c8a4a4f2b10
spec:
  progressDeadlineSeconds: 600
  replicas: 2
  revisionHistoryLimit: 10
  selector:
    matchLabels: {app: web}
  strategy:
    rollingUpdate: {maxSurge: 25%, maxUnavailable: 25%}
    type: RollingUpdate
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - env:
        - {name: A, value: "1"}
        - {name: B, value: "2"}
        image: nginx:1.25
        imagePullPolicy: IfNotPresent
        name: app
        ports:
        - {containerPort: 80, protocol: TCP}
        resources:
          limits: {cpu: "2", memory: 2Gi}
          requests: {cpu: "1", memory: 1Gi}
        terminationMessagePath: /dev/termination-log
        terminationMessagePolicy: File
      dnsPolicy: ClusterFirst
      restartPolicy: Always
      schedulerName: default-scheduler
      securityContext: {}
      terminationGracePeriodSeconds: 30
status:
  availableReplicas: 2
  observedGeneration: 1
  readyReplicas: 2
  replicas: 2
  updatedReplicas: 2
`
