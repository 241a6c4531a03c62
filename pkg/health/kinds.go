package health

import (
	"encoding/json"
	"fmt"
	"strings"
)

func serviceHealth(obj map[string]any) *Result {
	if str(obj, "spec", "type") == "LoadBalancer" && len(list(obj, "status", "loadBalancer", "ingress")) == 0 {
		return result(Progressing, "Waiting for the load balancer to be provisioned")
	}
	return result(Healthy, "")
}

// ingressHealth keeps Argo CD's rule: Healthy once an ingress controller has published an address. Clusters
// whose ingress controller never writes status.loadBalancer (or with no controller) keep Ingresses Progressing;
// a Lua check for networking.k8s.io_Ingress overrides this.
func ingressHealth(obj map[string]any) *Result {
	if len(list(obj, "status", "loadBalancer", "ingress")) == 0 {
		return result(Progressing, "Waiting for the ingress controller to publish an address")
	}
	return result(Healthy, "")
}

func pvcHealth(obj map[string]any) *Result {
	switch phase := str(obj, "status", "phase"); phase {
	case "Bound":
		return result(Healthy, "")
	case "Pending":
		return result(Progressing, "")
	case "Lost":
		return result(Degraded, "")
	default:
		return resultf(Unknown, "unknown claim phase %q", phase)
	}
}

func jobHealth(obj map[string]any) *Result {
	conds := conditionsOf(obj)
	for _, t := range []string{"Failed", "FailureTarget"} {
		if c := findCondition(conds, t); c != nil && c.Status == "True" {
			return result(Degraded, c.Message)
		}
	}
	if c := findCondition(conds, "Complete"); c != nil && c.Status == "True" {
		return result(Healthy, c.Message)
	}
	if c := findCondition(conds, "Suspended"); boolean(obj, "spec", "suspend") || (c != nil && c.Status == "True") {
		msg := "Job is suspended"
		if c != nil && c.Message != "" {
			msg = c.Message
		}
		return result(Suspended, msg)
	}
	if c := findCondition(conds, "SuccessCriteriaMet"); c != nil && c.Status == "True" {
		return result(Progressing, c.Message)
	}
	return result(Progressing, "Job is running")
}

// cronJobHealth is deliberately simple: Suspended when spec.suspend, else Healthy. The Jobs a CronJob starts are
// assessed on their own (they appear in the resource tree); a running or failed run does not change the
// CronJob's health, so a frequent schedule does not make the app flap between Healthy and Progressing.
func cronJobHealth(obj map[string]any) *Result {
	if boolean(obj, "spec", "suspend") {
		return result(Suspended, "CronJob is suspended")
	}
	if last := str(obj, "status", "lastScheduleTime"); last != "" {
		return result(Healthy, "last scheduled at "+last)
	}
	return result(Healthy, "")
}

// hpaDegradedReasons are condition reasons (status False) meaning the autoscaler cannot do its job.
var hpaDegradedReasons = map[string]bool{
	"FailedGetScale":                   true,
	"FailedUpdateScale":                true,
	"FailedGetResourceMetric":          true,
	"FailedGetContainerResourceMetric": true,
	"FailedGetPodsMetric":              true,
	"FailedGetObjectMetric":            true,
	"FailedGetExternalMetric":          true,
	"InvalidSelector":                  true,
	"InvalidMetricSourceType":          true,
	"FailedComputeMetricsReplicas":     true,
}

// hpaHealth reads conditions from status (autoscaling/v2) or, for autoscaling/v1 objects, from the
// autoscaling.alpha.kubernetes.io/conditions annotation, where the API server keeps them.
func hpaHealth(obj map[string]any) *Result {
	conds := conditionsOf(obj)
	if len(conds) == 0 {
		if raw := str(obj, "metadata", "annotations", "autoscaling.alpha.kubernetes.io/conditions"); raw != "" {
			var v1 []condition
			if err := json.Unmarshal([]byte(raw), &v1); err == nil {
				conds = v1
			}
		}
	}
	for i := range conds {
		if c := &conds[i]; c.Status == "False" && hpaDegradedReasons[c.Reason] {
			return result(Degraded, c.Message)
		}
	}
	if c := findCondition(conds, "AbleToScale"); c != nil && c.Status == "True" {
		return result(Healthy, c.Message)
	}
	return result(Progressing, "Waiting to Autoscale")
}

func apiServiceHealth(obj map[string]any) *Result {
	c := findCondition(conditionsOf(obj), "Available")
	switch {
	case c == nil:
		return result(Progressing, "Waiting to be processed")
	case c.Status == "True":
		return result(Healthy, c.Message)
	default:
		return result(Progressing, reasonMessage(c))
	}
}

func pdbHealth(obj map[string]any) *Result {
	if generationLag(obj) {
		return result(Progressing, "Waiting for the disruption controller to observe the latest spec")
	}
	if _, ok := field(obj, "status"); !ok {
		return result(Progressing, "Waiting for status")
	}
	current := numOr(obj, 0, "status", "currentHealthy")
	desired := numOr(obj, 0, "status", "desiredHealthy")
	if current < desired {
		return resultf(Degraded, "%d healthy pods, %d required", current, desired)
	}
	return resultf(Healthy, "%d healthy pods, %d disruptions allowed", current, numOr(obj, 0, "status", "disruptionsAllowed"))
}

// applicationHealth reports a child Application's own status.health for app-of-apps. Argo CD removed this check
// in 1.8 and asks users to restore it in Lua; Moor ships it because sync-wave gating of child apps needs it.
// An Application not yet assessed is Progressing; an unknown status string reads as Unknown.
func applicationHealth(obj map[string]any) *Result {
	h := mapping(obj, "status", "health")
	s := str(h, "status")
	if s == "" {
		return result(Progressing, "")
	}
	st, err := ParseStatus(s)
	if err != nil {
		return resultf(Unknown, "%s", strings.TrimSpace(fmt.Sprintf("unknown health status %q %s", s, str(h, "message"))))
	}
	return result(st, str(h, "message"))
}
