package health

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

// IgnoreHealthCheckAnnotation set to "true" on a resource keeps it out of its application's health.
const IgnoreHealthCheckAnnotation = "argocd.argoproj.io/ignore-healthcheck"

// ResourceHealth is one managed resource of an application, as the roll-up sees it.
type ResourceHealth struct {
	Group, Kind, Namespace, Name string
	// Health is the resource's health: nil when it has no health check, Missing when it is not in the cluster.
	Health *Result
	// Hook marks a sync hook (argocd.argoproj.io/hook or helm.sh/hook); hooks never count.
	Hook bool
	// IgnoreHealthCheck mirrors the argocd.argoproj.io/ignore-healthcheck: "true" annotation.
	IgnoreHealthCheck bool
}

// IgnoresHealthCheck reports whether obj carries argocd.argoproj.io/ignore-healthcheck: "true".
func IgnoresHealthCheck(obj *unstructured.Unstructured) bool {
	return obj.GetAnnotations()[IgnoreHealthCheckAnnotation] == "true"
}

// AppHealth rolls resource healths up into the application's: the worst status among the resources that count.
// Skipped, as the reference states: hooks, resources with ignore-healthcheck, resources without a health check,
// Missing resources, and child Applications (argoproj.io) that are Missing or Unknown.
//
// One addition: when resources exist but every one that was not otherwise skipped is Missing (nothing deployed
// yet), the application is Missing, which is what Argo CD shows for a new, unsynced application. An application
// with nothing that counts is Healthy.
func AppHealth(resources []ResourceHealth) Result {
	app := Result{Status: Healthy}
	counted, missing := 0, 0
	for _, r := range resources {
		if r.Hook || r.IgnoreHealthCheck || r.Health == nil {
			continue
		}
		st := r.Health.Status
		if r.Group == "argoproj.io" && r.Kind == "Application" && (st == Missing || st == Unknown) {
			continue
		}
		if st == Missing {
			missing++
			continue
		}
		counted++
		if IsWorse(app.Status, st) {
			app.Status = st
		}
	}
	if counted == 0 && missing > 0 {
		app.Status = Missing
	}
	return app
}

// Worst returns the worst of the given statuses, Healthy for none.
func Worst(statuses ...Status) Status {
	w := Healthy
	for _, s := range statuses {
		if IsWorse(w, s) {
			w = s
		}
	}
	return w
}
