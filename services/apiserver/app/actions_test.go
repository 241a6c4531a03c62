package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/moorcd/moor/test/kubetest"
)

func TestResourceActions(t *testing.T) {
	kc := kubetest.Start(t)
	dest := kc.Namespace(t)
	const name = "actions-app"
	labels := map[string]string{"app": "web"}
	pod := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "example.invalid/c"}}}}
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Annotations: map[string]string{"argocd.argoproj.io/tracking-id": name + ":apps/Deployment:" + dest + "/web"}},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: pod}}
	dep.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways
	if _, err := kc.Kube.AppsV1().Deployments(dest).Create(t.Context(), dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cj := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "nightly", Annotations: map[string]string{"argocd.argoproj.io/tracking-id": name + ":batch/CronJob:" + dest + "/nightly"}},
		Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *", Suspend: new(true), JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: pod}}}}
	if _, err := kc.Kube.BatchV1().CronJobs(dest).Create(t.Context(), cj, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	f := start(t, defaultSettings(), false, newApp(name, toNamespace(dest)))
	admin := f.login(t, "admin", f.adminPassword(t))
	alice := f.login(t, "alice", userPassword) // role:readonly
	q := func(group, kind, res string) string {
		return fmt.Sprintf("?namespace=%s&resourceName=%s&group=%s&version=v1&kind=%s", dest, res, group, kind)
	}
	actions := func(t *testing.T) map[string]bool {
		t.Helper()
		var res struct {
			Actions []struct {
				Name     string
				Disabled bool
			}
		}
		code, body, _ := f.do(t, http.MethodGet, "/api/v1/applications/"+name+"/resource/actions"+q("apps", "Deployment", "web"), alice, nil)
		if code != http.StatusOK {
			t.Fatalf("list actions: %d %s", code, body)
		}
		if err := json.Unmarshal(body, &res); err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, a := range res.Actions {
			out[a.Name] = !a.Disabled
		}
		return out
	}
	run := func(token, group, kind, res, action string) (int, string) {
		code, body, _ := f.do(t, http.MethodPost, "/api/v1/applications/"+name+"/resource/actions"+q(group, kind, res), token, action)
		return code, string(body)
	}

	if got := actions(t); len(got) != 3 || !got["restart"] || !got["pause"] || got["resume"] {
		t.Errorf("deployment actions = %v, want restart and pause enabled, resume disabled", got)
	}
	if code, body := run(alice, "apps", "Deployment", "web", "restart"); code != http.StatusForbidden {
		t.Errorf("readonly restart: %d %s, want 403", code, body)
	}
	if code, body := run(admin, "apps", "Deployment", "web", "restart"); code != http.StatusOK {
		t.Fatalf("restart: %d %s", code, body)
	}
	live, err := kc.Kube.AppsV1().Deployments(dest).Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil || live.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] == "" {
		t.Errorf("restart left no restartedAt annotation on the pod template: %v", err)
	}
	if code, body := run(admin, "apps", "Deployment", "web", "pause"); code != http.StatusOK {
		t.Fatalf("pause: %d %s", code, body)
	}
	if got := actions(t); got["pause"] || !got["resume"] {
		t.Errorf("after pause, actions = %v, want resume enabled and pause disabled", got)
	}
	if code, body := run(admin, "apps", "Deployment", "web", "pause"); code != http.StatusBadRequest && code != http.StatusPreconditionFailed {
		t.Errorf("pause of a paused Deployment: %d %s, want a refusal", code, body)
	}
	if code, body := run(admin, "apps", "Deployment", "web", "explode"); code != http.StatusBadRequest {
		t.Errorf("an unknown action: %d %s, want 400", code, body)
	}
	if code, body := run(admin, "batch", "CronJob", "nightly", "create-job"); code != http.StatusOK {
		t.Fatalf("create-job: %d %s", code, body)
	}
	var jobs *batchv1.JobList
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if jobs, err = kc.Kube.BatchV1().Jobs(dest).List(t.Context(), metav1.ListOptions{}); err == nil && len(jobs.Items) > 0 {
			break
		}
	}
	if jobs == nil || len(jobs.Items) != 1 || len(jobs.Items[0].OwnerReferences) != 1 || jobs.Items[0].OwnerReferences[0].Name != "nightly" {
		t.Errorf("create-job made %v, want one Job owned by the CronJob", jobs)
	}
}
