package diff_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/diff"
)

const deployment = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: nginx:1.25
        ports:
        - containerPort: 80
        env:
        - {name: A, value: "1"}
        - {name: B, value: "2"}
        resources:
          requests: {cpu: 1000m, memory: 1024Mi}
          limits: {cpu: "2", memory: 2Gi}
`

const service = `
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - name: http
    port: 80
    targetPort: 8080
  - name: metrics
    port: 9090
    targetPort: metrics
`

const secret = `
apiVersion: v1
kind: Secret
metadata:
  name: creds
stringData:
  password: hunter2-plain
  user: admin
`

const configMap = `
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  a: "1"
  b: "2"
`

// TestNoFalseOutOfSync applies each manifest as Moor's controller would, lets the cluster do what it does to
// it, and expects the unchanged manifest to compare Synced.
func TestNoFalseOutOfSync(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name     string
		manifest string
		// setup runs after the manifest was applied and before live is read.
		setup  func(t *testing.T, e *env, desired *unstructured.Unstructured)
		ignore []v1alpha1.ResourceIgnoreDifferences
	}{
		{name: "deployment with defaulted fields and quantities 1000m and 1024Mi", manifest: deployment},
		{name: "service with int and named targetPort, defaulted protocol and clusterIP", manifest: service},
		{name: "secret written with stringData", manifest: secret},
		{
			name:     "env list applied in another order before",
			manifest: deployment,
			setup: func(t *testing.T, e *env, desired *unstructured.Unstructured) {
				prev := desired.DeepCopy()
				c := containers(prev)
				env := c[0].(map[string]any)["env"].([]any)
				slices.Reverse(env)
				e.apply(t, prev, diff.DefaultFieldManager)
			},
		},
		{
			name:     "annotation set by the deployment controller",
			manifest: deployment,
			setup: func(t *testing.T, e *env, desired *unstructured.Unstructured) {
				eventually(t, 30*time.Second, "deployment.kubernetes.io/revision", func() bool {
					return e.get(t, desired).GetAnnotations()["deployment.kubernetes.io/revision"] != ""
				})
			},
		},
		{
			name:     "label added by another field manager",
			manifest: configMap,
			setup: func(t *testing.T, e *env, desired *unstructured.Unstructured) {
				e.apply(t, e.obj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: settings, labels: {team: payments}}}`), "labeller")
			},
		},
		{
			name:     "replicas owned by an autoscaler, ignored by managedFieldsManagers",
			manifest: deployment,
			setup: func(t *testing.T, e *env, desired *unstructured.Unstructured) {
				e.apply(t, e.obj(t, `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {replicas: 5}}`), "hpa-sim")
			},
			ignore: []v1alpha1.ResourceIgnoreDifferences{{Group: "apps", Kind: "Deployment", ManagedFieldsManagers: []string{"hpa-sim"}}},
		},
		{
			name:     "value changed by another manager, ignored by jsonPointer with ~1 escape",
			manifest: `{apiVersion: v1, kind: ConfigMap, metadata: {name: paths, annotations: {example.com/owner: me}}, data: {c: "3"}}`,
			setup: func(t *testing.T, e *env, desired *unstructured.Unstructured) {
				e.apply(t, e.obj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: paths, annotations: {example.com/owner: you}}}`), "someone")
			},
			ignore: []v1alpha1.ResourceIgnoreDifferences{{Kind: "ConfigMap", Name: "paths", JSONPointers: []string{"/metadata/annotations/example.com~1owner"}}},
		},
		{
			name:     "image changed by another manager, ignored by jqPathExpression",
			manifest: deployment,
			setup: func(t *testing.T, e *env, desired *unstructured.Unstructured) {
				e.apply(t, e.obj(t, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers: [{name: app, image: "nginx:1.27"}]`), "image-updater")
			},
			ignore: []v1alpha1.ResourceIgnoreDifferences{{
				Group: "*", Kind: "*",
				JQPathExpressions: []string{`.spec.template.spec.containers[] | select(.name == "app") | .image`},
			}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			desired := e.obj(t, tc.manifest)
			e.apply(t, desired, diff.DefaultFieldManager)
			if tc.setup != nil {
				tc.setup(t, e, desired)
			}
			live := e.get(t, desired)
			res, err := e.d.Diff(t.Context(), desired, live, diff.ResourceOptions{IgnoreDifferences: tc.ignore})
			if err != nil {
				t.Fatal(err)
			}
			if res.Modified {
				t.Errorf("Modified = true, want false; paths %v\n%s", res.Paths, res.Diff)
			}
		})
	}
}

// TestNoFalseOutOfSyncWithMutatingAdmissionPolicy: a mutation by admission (here a MutatingAdmissionPolicy,
// standing for a webhook) shows in the dry run as it did in the apply, so it is no difference.
func TestNoFalseOutOfSyncWithMutatingAdmissionPolicy(t *testing.T) {
	e := newEnv(t)
	policy := mustParse(t, fmt.Sprintf(`
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicy
metadata: {name: %[1]s}
spec:
  failurePolicy: Fail
  reinvocationPolicy: Never
  matchConstraints:
    namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: %[1]s}}
    resourceRules:
    - {apiGroups: [""], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [configmaps]}
  mutations:
  - patchType: ApplyConfiguration
    applyConfiguration:
      expression: 'Object{metadata: Object.metadata{labels: {"injected": "true"}}}'
`, e.ns))
	binding := mustParse(t, fmt.Sprintf(`
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicyBinding
metadata: {name: %[1]s}
spec:
  policyName: %[1]s
  matchResources:
    namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: %[1]s}}
`, e.ns))
	e.deleteOnCleanup(t, binding)
	e.deleteOnCleanup(t, policy)
	e.apply(t, policy, "moor-test")
	e.apply(t, binding, "moor-test")

	probe := e.obj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: probe}}`)
	eventually(t, 20*time.Second, "the admission policy to take effect", func() bool {
		return e.apply(t, probe, "moor-test").GetLabels()["injected"] == "true"
	})

	desired := e.obj(t, configMap)
	e.apply(t, desired, diff.DefaultFieldManager)
	live := e.get(t, desired)
	if live.GetLabels()["injected"] != "true" {
		t.Fatalf("live labels %v: the policy did not mutate", live.GetLabels())
	}
	res, err := e.d.Diff(t.Context(), desired, live, diff.ResourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Modified {
		t.Errorf("Modified = true, want false; paths %v\n%s", res.Paths, res.Diff)
	}
}

func TestDetectsChanges(t *testing.T) {
	e := newEnv(t)

	t.Run("changed image names the field", func(t *testing.T) {
		applied := e.obj(t, deployment)
		live := e.apply(t, applied, diff.DefaultFieldManager)
		desired := applied.DeepCopy()
		containers(desired)[0].(map[string]any)["image"] = "nginx:1.26"
		res, err := e.d.Diff(t.Context(), desired, live, diff.ResourceOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Modified {
			t.Fatal("Modified = false, want true")
		}
		if want := "spec.template.spec.containers[name=app].image"; !slices.Contains(res.Paths, want) {
			t.Errorf("Paths = %v, want %s among them", res.Paths, want)
		}
		for _, want := range []string{"-        image: nginx:1.25", "+        image: nginx:1.26"} {
			if !strings.Contains(res.Diff, want) {
				t.Errorf("diff lacks %q:\n%s", want, res.Diff)
			}
		}
	})

	t.Run("field removed from git is removed by sync", func(t *testing.T) {
		applied := e.obj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: removed, labels: {old: "yes"}}, data: {a: "1"}}`)
		live := e.apply(t, applied, diff.DefaultFieldManager)
		desired := e.obj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: removed}, data: {a: "1"}}`)
		res, err := e.d.Diff(t.Context(), desired, live, diff.ResourceOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Modified || !slices.Contains(res.Paths, "metadata.labels.old") {
			t.Errorf("Modified = %v, Paths = %v; want the label's removal", res.Modified, res.Paths)
		}
	})

	t.Run("autoscaled replicas differ unless ignored", func(t *testing.T) {
		desired := e.obj(t, strings.Replace(deployment, "name: web\n", "name: scaled\n", 1))
		e.apply(t, desired, diff.DefaultFieldManager)
		e.apply(t, e.obj(t, `{apiVersion: apps/v1, kind: Deployment, metadata: {name: scaled}, spec: {replicas: 5}}`), "hpa-sim")
		res, err := e.d.Diff(t.Context(), desired, e.get(t, desired), diff.ResourceOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Modified || !slices.Contains(res.Paths, "spec.replicas") {
			t.Errorf("Modified = %v, Paths = %v; want spec.replicas", res.Modified, res.Paths)
		}
	})

	t.Run("secret value change shows masks, never the value", func(t *testing.T) {
		applied := e.obj(t, secret)
		live := e.apply(t, applied, diff.DefaultFieldManager)
		desired := e.obj(t, strings.Replace(secret, "hunter2-plain", "correct-horse", 1))
		res, err := e.d.Diff(t.Context(), desired, live, diff.ResourceOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Modified || !slices.Contains(res.Paths, "data.password") || slices.Contains(res.Paths, "data.user") {
			t.Errorf("Modified = %v, Paths = %v; want data.password only", res.Modified, res.Paths)
		}
		if !strings.Contains(res.Diff, "password: ++++++++") {
			t.Errorf("diff shows no mask:\n%s", res.Diff)
		}
		assertNoSecret(t, res, "hunter2-plain", "correct-horse", "admin")
	})

	t.Run("missing live is a creation without dry run", func(t *testing.T) {
		desired := e.obj(t, `{apiVersion: v1, kind: Secret, metadata: {name: fresh}, stringData: {token: t0ps3cret}}`)
		res, err := e.d.Diff(t.Context(), desired, nil, diff.ResourceOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Modified || res.NormalizedLive != nil || res.PredictedLive == nil {
			t.Errorf("got Modified %v, live %v, predicted %v", res.Modified, res.NormalizedLive, res.PredictedLive)
		}
		assertNoSecret(t, res, "t0ps3cret")
	})

	t.Run("invalid desired is a per-resource error", func(t *testing.T) {
		applied := e.obj(t, configMap)
		live := e.apply(t, applied, diff.DefaultFieldManager)
		desired := e.obj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: settings, labels: {"bad label!": x}}}`)
		_, err := e.d.Diff(t.Context(), desired, live, diff.ResourceOptions{})
		var re *diff.ResourceError
		if !errors.As(err, &re) || re.Name != "settings" || re.GroupKind.Kind != "ConfigMap" {
			t.Errorf("err = %v, want a *diff.ResourceError for ConfigMap settings", err)
		}
	})
}

func TestPredictionIsCached(t *testing.T) {
	e := newEnv(t)
	desired := e.obj(t, configMap) // no controller writes to it, so its resourceVersion stays put
	// Applied by another manager, so the no-dry-run path (Moor's own apply entry equals desired) does not
	// answer and the dry-run prediction and its cache are what is measured.
	live := e.apply(t, desired, "kubectl")
	first, err := e.d.Diff(t.Context(), desired, live, diff.ResourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	second, err := e.d.Diff(t.Context(), desired, live, diff.ResourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	refreshed, err := e.d.Diff(t.Context(), desired, live, diff.ResourceOptions{Refresh: true})
	if err != nil {
		t.Fatal(err)
	}
	if first.Cached || !second.Cached || refreshed.Cached {
		t.Errorf("Cached = %v, %v, %v; want false, true, false", first.Cached, second.Cached, refreshed.Cached)
	}
}

func TestDiffAll(t *testing.T) {
	e := newEnv(t)
	var pairs []diff.Pair
	for i := range 12 {
		d := e.obj(t, fmt.Sprintf(`{apiVersion: v1, kind: ConfigMap, metadata: {name: cm-%d}, data: {a: "1"}}`, i))
		pairs = append(pairs, diff.Pair{Desired: d, Live: e.apply(t, d, diff.DefaultFieldManager)})
	}
	changed := pairs[3].Desired.DeepCopy()
	changed.Object["data"] = map[string]any{"a": "2"}
	pairs[3].Desired = changed
	pairs = append(pairs, diff.Pair{Live: pairs[0].Live}) // extraneous
	results, err := e.d.DiffAll(t.Context(), pairs, diff.ResourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		want := i == 3 || i == len(pairs)-1
		if r.Modified != want {
			t.Errorf("pair %d: Modified = %v, want %v\n%s", i, r.Modified, want, r.Diff)
		}
	}
}

func containers(u *unstructured.Unstructured) []any {
	c, _, _ := unstructured.NestedFieldNoCopy(u.Object, "spec", "template", "spec", "containers")
	return c.([]any)
}

// assertNoSecret fails when a plaintext value or its base64 appears anywhere in the result.
func assertNoSecret(t *testing.T, res *diff.Result, values ...string) {
	t.Helper()
	var all strings.Builder
	all.WriteString(res.Diff)
	all.WriteString(strings.Join(res.Paths, " "))
	for _, u := range []*unstructured.Unstructured{res.PredictedLive, res.NormalizedLive} {
		if u != nil {
			b, _ := json.Marshal(u.Object)
			all.Write(b)
		}
	}
	for _, v := range values {
		for _, form := range []string{v, base64.StdEncoding.EncodeToString([]byte(v))} {
			if strings.Contains(all.String(), form) {
				t.Errorf("result reveals %q", form)
			}
		}
	}
}
