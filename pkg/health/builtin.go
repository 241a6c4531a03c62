package health

// checkFunc assesses one object; nil means "no health".
type checkFunc func(obj map[string]any) *Result

type groupKind struct{ group, kind string }

// builtins are Moor's Go checks, keyed by API group and kind (any version).
var builtins = map[groupKind]checkFunc{
	{"apps", "Deployment"}:                     deploymentHealth,
	{"extensions", "Deployment"}:               deploymentHealth,
	{"apps", "StatefulSet"}:                    statefulSetHealth,
	{"apps", "DaemonSet"}:                      daemonSetHealth,
	{"extensions", "DaemonSet"}:                daemonSetHealth,
	{"apps", "ReplicaSet"}:                     replicaSetHealth,
	{"extensions", "ReplicaSet"}:               replicaSetHealth,
	{"", "Pod"}:                                podHealth,
	{"", "Service"}:                            serviceHealth,
	{"networking.k8s.io", "Ingress"}:           ingressHealth,
	{"extensions", "Ingress"}:                  ingressHealth,
	{"", "PersistentVolumeClaim"}:              pvcHealth,
	{"batch", "Job"}:                           jobHealth,
	{"batch", "CronJob"}:                       cronJobHealth,
	{"autoscaling", "HorizontalPodAutoscaler"}: hpaHealth,
	{"apiregistration.k8s.io", "APIService"}:   apiServiceHealth,
	{"policy", "PodDisruptionBudget"}:          pdbHealth,
	{"argoproj.io", "Application"}:             applicationHealth,
}

func builtin(group, kind string) checkFunc { return builtins[groupKind{group, kind}] }

// HasBuiltin reports whether Moor ships a Go check for group and kind.
func HasBuiltin(group, kind string) bool { return builtin(group, kind) != nil }
