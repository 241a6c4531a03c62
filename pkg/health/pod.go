package health

import "strings"

// IgnoreRestartPolicyAnnotation makes a run-to-completion Pod (restartPolicy Never or OnFailure) assessed as a
// long-running one: Ready → Healthy rather than Running → Progressing.
const IgnoreRestartPolicyAnnotation = "argocd.argoproj.io/ignore-restart-policy"

// waitingErrors are container waiting reasons that will not fix themselves.
var waitingErrors = map[string]bool{
	"CrashLoopBackOff":           true,
	"ImagePullBackOff":           true,
	"ErrImagePull":               true,
	"ErrImageNeverPull":          true,
	"InvalidImageName":           true,
	"CreateContainerConfigError": true,
	"CreateContainerError":       true,
	"RunContainerError":          true,
}

func podHealth(obj map[string]any) *Result {
	restart := str(obj, "spec", "restartPolicy")
	longRunning := restart == "" || restart == "Always" ||
		str(obj, "metadata", "annotations", IgnoreRestartPolicyAnnotation) == "true"
	phase := str(obj, "status", "phase")
	msg := str(obj, "status", "message")

	switch phase {
	case "Succeeded":
		return result(Healthy, msg)
	case "Failed":
		if msg == "" {
			msg = terminatedMessage(obj, "state", "lastState")
		}
		return result(Degraded, msg)
	case "Unknown":
		return result(Unknown, msg)
	case "", "Pending", "Running":
	default:
		return resultf(Unknown, "unknown pod phase %q", phase)
	}

	if bad := containerError(obj); bad != "" {
		return result(Degraded, bad)
	}
	if phase != "Running" {
		if c := findCondition(conditionsOf(obj), "PodScheduled"); msg == "" && c != nil && c.Status == "False" {
			msg = reasonMessage(c)
		}
		return result(Progressing, msg)
	}
	if !longRunning {
		return result(Progressing, msg)
	}
	if c := findCondition(conditionsOf(obj), "Ready"); c != nil && c.Status == "True" {
		return result(Healthy, msg)
	}
	// A container of a long-running Pod that has exited with an error is failing, not starting.
	if t := terminatedMessage(obj, "state"); t != "" {
		return result(Degraded, t)
	}
	return result(Progressing, msg)
}

// containerError returns the message of the first container (init containers first) stuck in an error state.
func containerError(obj map[string]any) string {
	for _, key := range []string{"initContainerStatuses", "containerStatuses"} {
		for _, raw := range list(obj, "status", key) {
			cs, _ := raw.(map[string]any)
			reason := str(cs, "state", "waiting", "reason")
			if waitingErrors[reason] {
				if m := str(cs, "state", "waiting", "message"); m != "" {
					return reason + ": " + m
				}
				return reason
			}
		}
	}
	return ""
}

// terminatedMessage describes containers whose current or last run ended with a non-zero exit code.
func terminatedMessage(obj map[string]any, states ...string) string {
	var parts []string
	for _, raw := range list(obj, "status", "containerStatuses") {
		cs, _ := raw.(map[string]any)
		for _, state := range states {
			t := mapping(cs, state, "terminated")
			if t == nil {
				continue
			}
			if code, _ := num(t, "exitCode"); code != 0 {
				m := str(t, "message")
				if m == "" {
					m = str(t, "reason")
				}
				parts = append(parts, "container "+str(cs, "name")+": "+m)
				break
			}
		}
	}
	return strings.Join(parts, "; ")
}
