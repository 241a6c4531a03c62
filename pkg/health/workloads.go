package health

// Workload checks follow the rollout logic of kubectl rollout status, with Argo CD's statuses and messages.

func deploymentHealth(obj map[string]any) *Result {
	if boolean(obj, "spec", "paused") {
		return result(Suspended, "Deployment is paused")
	}
	if generationLag(obj) {
		return result(Progressing, "Waiting for rollout to finish: observed deployment generation less than desired generation")
	}
	for _, c := range conditionsOf(obj) {
		if c.Type == "Progressing" && c.Reason == "ProgressDeadlineExceeded" {
			return resultf(Degraded, "Deployment %q exceeded its progress deadline", str(obj, "metadata", "name"))
		}
	}
	desired := numOr(obj, 1, "spec", "replicas")
	replicas := numOr(obj, 0, "status", "replicas")
	updated := numOr(obj, 0, "status", "updatedReplicas")
	available := numOr(obj, 0, "status", "availableReplicas")
	switch {
	case updated < desired:
		return resultf(Progressing, "Waiting for rollout to finish: %d out of %d new replicas have been updated...", updated, desired)
	case replicas > updated:
		return resultf(Progressing, "Waiting for rollout to finish: %d old replicas are pending termination...", replicas-updated)
	case available < updated:
		return resultf(Progressing, "Waiting for rollout to finish: %d of %d updated replicas are available...", available, updated)
	}
	return result(Healthy, "")
}

func statefulSetHealth(obj map[string]any) *Result {
	observed := numOr(obj, 0, "status", "observedGeneration")
	if observed == 0 || generationLag(obj) {
		return result(Progressing, "Waiting for statefulset spec update to be observed...")
	}
	desired := numOr(obj, 1, "spec", "replicas")
	ready := numOr(obj, 0, "status", "readyReplicas")
	if ready < desired {
		return resultf(Progressing, "Waiting for %d pods to be ready...", desired-ready)
	}
	if str(obj, "spec", "updateStrategy", "type") == "OnDelete" {
		return resultf(Healthy, "statefulset has %d ready pods", ready)
	}
	updated := numOr(obj, 0, "status", "updatedReplicas")
	if partition, ok := num(obj, "spec", "updateStrategy", "rollingUpdate", "partition"); ok && partition > 0 {
		want := desired - partition
		if updated < want {
			return resultf(Progressing, "Waiting for partitioned roll out to finish: %d out of %d new pods have been updated...", updated, want)
		}
		return resultf(Healthy, "partitioned roll out complete: %d new pods have been updated...", updated)
	}
	current, update := str(obj, "status", "currentRevision"), str(obj, "status", "updateRevision")
	if update != "" && current != update {
		return resultf(Progressing, "waiting for statefulset rolling update to complete %d pods at revision %s...", updated, update)
	}
	return resultf(Healthy, "statefulset rolling update complete %d pods at revision %s...", numOr(obj, 0, "status", "currentReplicas"), current)
}

func daemonSetHealth(obj map[string]any) *Result {
	if generationLag(obj) {
		return result(Progressing, "Waiting for rollout to finish: observed daemon set generation less than desired generation")
	}
	desired := numOr(obj, 0, "status", "desiredNumberScheduled")
	updated := numOr(obj, 0, "status", "updatedNumberScheduled")
	if str(obj, "spec", "updateStrategy", "type") == "OnDelete" {
		return resultf(Healthy, "daemon set %d out of %d new pods have been updated", updated, desired)
	}
	if updated < desired {
		return resultf(Progressing, "Waiting for daemon set %q rollout to finish: %d out of %d new pods have been updated...", str(obj, "metadata", "name"), updated, desired)
	}
	if available := numOr(obj, 0, "status", "numberAvailable"); available < desired {
		return resultf(Progressing, "Waiting for daemon set %q rollout to finish: %d of %d updated pods are available...", str(obj, "metadata", "name"), available, desired)
	}
	return result(Healthy, "")
}

func replicaSetHealth(obj map[string]any) *Result {
	if generationLag(obj) {
		return result(Progressing, "Waiting for rollout to finish: observed replica set generation less than desired generation")
	}
	if c := findCondition(conditionsOf(obj), "ReplicaFailure"); c != nil && c.Status == "True" {
		return result(Degraded, c.Message)
	}
	desired := numOr(obj, 1, "spec", "replicas")
	if available := numOr(obj, 0, "status", "availableReplicas"); available < desired {
		return resultf(Progressing, "Waiting for rollout to finish: %d out of %d new replicas are available...", available, desired)
	}
	return result(Healthy, "")
}
