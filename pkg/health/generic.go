package health

import "strings"

// progressReasons are Ready=False reasons that say "still working" rather than "failed", as used by
// cert-manager, Crossplane, Cluster API and Flux. Any other Ready=False reason, with nothing else saying the
// controller is still at work, reads as Degraded.
var progressReasons = map[string]bool{
	"Progressing":              true,
	"Reconciling":              true,
	"ReconciliationInProgress": true,
	"InProgress":               true,
	"Pending":                  true,
	"Creating":                 true,
	"Provisioning":             true,
	"Initializing":             true,
	"Issuing":                  true,
	"DependencyNotReady":       true,
	"WaitingForDependencies":   true,
}

// workingTypes are condition types that, when True, say the controller is still at work: kstatus's
// Reconciling, the API conventions' Progressing, and cert-manager's Issuing.
var workingTypes = []string{"Reconciling", "Progressing", "Issuing"}

// generic assesses a resource Moor has no specific check for, from the conditions that Kubernetes API
// conventions (and kstatus) standardise. It returns nil when the object publishes none of them.
//
//  1. status.observedGeneration, or the observedGeneration of the Ready condition, below
//     metadata.generation → Progressing (the status describes an older spec).
//  2. Stalled=True → Degraded; Crossplane's Synced=False (a reconcile error) → Degraded.
//  3. Ready: True → Healthy (unless a working condition is True: Progressing); Unknown → Progressing; False → Progressing
//     when a working condition (workingTypes) is True or the reason is a known in-progress reason, else Degraded.
//  4. Without Ready: Available True → Healthy, False → Progressing when Progressing=True else Degraded.
//  5. A working condition alone → Progressing.
func generic(obj map[string]any) *Result {
	conds := conditionsOf(obj)
	ready := findCondition(conds, "Ready")
	if generationLag(obj) ||
		(ready != nil && ready.hasObservedGeneration && ready.ObservedGeneration < numOr(obj, 0, "metadata", "generation")) {
		return resultf(Progressing, "Waiting for the controller to observe generation %d", numOr(obj, 0, "metadata", "generation"))
	}
	if len(conds) == 0 {
		return nil
	}
	isTrue := func(t string) *condition {
		if c := findCondition(conds, t); c != nil && c.Status == "True" {
			return c
		}
		return nil
	}
	if c := isTrue("Stalled"); c != nil {
		return result(Degraded, reasonMessage(c))
	}
	var working *condition
	for _, t := range workingTypes {
		if working = isTrue(t); working != nil {
			break
		}
	}
	if synced := findCondition(conds, "Synced"); synced != nil && synced.Status == "False" {
		return result(Degraded, reasonMessage(synced))
	}
	if ready != nil {
		switch ready.Status {
		case "True":
			if working != nil {
				return result(Progressing, reasonMessage(working))
			}
			return result(Healthy, ready.Message)
		case "False":
			if working != nil || progressReasons[ready.Reason] || strings.HasSuffix(ready.Reason, "InProgress") {
				return result(Progressing, reasonMessage(ready))
			}
			return result(Degraded, reasonMessage(ready))
		default:
			return result(Progressing, reasonMessage(ready))
		}
	}
	if avail := findCondition(conds, "Available"); avail != nil {
		switch {
		case avail.Status == "True":
			return result(Healthy, avail.Message)
		case working != nil:
			return result(Progressing, reasonMessage(avail))
		default:
			return result(Degraded, reasonMessage(avail))
		}
	}
	if working != nil {
		return result(Progressing, reasonMessage(working))
	}
	return nil
}
