package sync

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/health"
)

// hookOutcome reads how far a hook has come from its live object: Jobs and Pods by their own status (a Job
// that has not started yet is Running, not Missing), anything else by its health (no health check counts as
// done as soon as it exists).
func hookOutcome(u *unstructured.Unstructured, assess HealthFunc) (v1alpha1.OperationPhase, string) {
	switch u.GetKind() {
	case "Job":
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["status"] != "True" {
				continue
			}
			msg, _ := m["message"].(string)
			switch m["type"] {
			case "Complete", "SuccessCriteriaMet":
				return v1alpha1.OperationSucceeded, msg
			case "Failed", "FailureTarget":
				return v1alpha1.OperationFailed, msg
			}
		}
		return v1alpha1.OperationRunning, "job running"
	case "Pod":
		phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
		msg, _, _ := unstructured.NestedString(u.Object, "status", "message")
		switch phase {
		case "Succeeded":
			return v1alpha1.OperationSucceeded, msg
		case "Failed":
			return v1alpha1.OperationFailed, msg
		}
		return v1alpha1.OperationRunning, "pod " + phase
	}
	if assess == nil {
		return v1alpha1.OperationSucceeded, ""
	}
	st, msg := assess(u)
	switch st {
	case "", health.Healthy, health.Suspended:
		return v1alpha1.OperationSucceeded, msg
	case health.Degraded:
		return v1alpha1.OperationFailed, msg
	default:
		return v1alpha1.OperationRunning, msg
	}
}

// established reports whether a CustomResourceDefinition serves its kind yet.
func established(u *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		if m, _ := c.(map[string]any); m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}

// crdDefines returns the group and kind a desired CustomResourceDefinition introduces.
func crdDefines(u *unstructured.Unstructured) (group, kind string, ok bool) {
	if u.GetKind() != "CustomResourceDefinition" || u.GroupVersionKind().Group != "apiextensions.k8s.io" {
		return "", "", false
	}
	group, _, _ = unstructured.NestedString(u.Object, "spec", "group")
	kind, _, _ = unstructured.NestedString(u.Object, "spec", "names", "kind")
	return group, kind, kind != ""
}
