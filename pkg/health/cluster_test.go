package health_test

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	"github.com/moorcd/moor/pkg/health"
	"github.com/moorcd/moor/test/kubetest"
)

func TestMain(m *testing.M) { kubetest.Main(m) }

var deploymentsGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}

// TestClusterDeployment follows a real Deployment on the local cluster (kwok runs its pods): Healthy after
// creation, Progressing then Healthy across an image update, and Degraded once a rollout that cannot be scheduled
// exceeds its progress deadline.
func TestClusterDeployment(t *testing.T) {
	t.Parallel()
	c := kubetest.Start(t)
	ns := c.Namespace(t)
	a := mustAssessor(t, health.Options{})
	ctx := t.Context()

	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas:                ptr.To[int32](2),
			ProgressDeadlineSeconds: ptr.To[int32](5),
			Selector:                &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "example.com/web:v1"}}},
			},
		},
	}
	if _, err := c.Kube.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	seen := waitFor(t, ctx, c, a, ns, "web", health.Healthy)
	t.Logf("create: %v", seen)

	update := func(mutate func(*appsv1.Deployment)) {
		t.Helper()
		d, err := c.Kube.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		mutate(d)
		if _, err := c.Kube.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	update(func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "example.com/web:v2" })
	seen = waitFor(t, ctx, c, a, ns, "web", health.Healthy)
	t.Logf("image update: %v", seen)
	if seen[0] != health.Progressing {
		t.Errorf("right after an update the Deployment was %s, want Progressing first (seen %v)", seen[0], seen)
	}

	update(func(d *appsv1.Deployment) {
		d.Spec.Template.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10000")}
	})
	seen = waitFor(t, ctx, c, a, ns, "web", health.Degraded)
	t.Logf("unschedulable update: %v", seen)
	if seen[0] != health.Progressing {
		t.Errorf("an unschedulable rollout started as %s, want Progressing (seen %v)", seen[0], seen)
	}
}

// waitFor polls the live Deployment until Assess returns want, and returns the distinct statuses seen in order.
func waitFor(t *testing.T, ctx context.Context, c *kubetest.Cluster, a *health.Assessor, ns, name string, want health.Status) []health.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var seen []health.Status
	var last *health.Result
	for {
		u, err := c.Dynamic.Resource(deploymentsGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get deployment: %v (seen %v, last %+v)", err, seen, last)
		}
		last, err = a.Assess(u)
		if err != nil || last == nil {
			t.Fatalf("Assess = %v, %v", last, err)
		}
		if len(seen) == 0 || seen[len(seen)-1] != last.Status {
			seen = append(seen, last.Status)
		}
		if last.Status == want {
			return seen
		}
		select {
		case <-ctx.Done():
			t.Fatalf("deployment never became %s: seen %v, last %+v", want, seen, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
