// Package health assesses the health of live Kubernetes objects and rolls it up into an application's health,
// with Argo CD's statuses, order and rules (Healthy, Suspended, Progressing, Missing, Degraded, Unknown).
//
// An Assessor (New) checks one object in this order:
//
//  1. metadata.deletionTimestamp set → Progressing "Pending deletion".
//  2. A Lua check configured for the object's group and kind (argocd-cm's
//     resource.customizations.health.<group>_<kind>; see Options.Lua). Lua wins over the built-ins.
//  3. A built-in Go check: Deployment, StatefulSet, DaemonSet, ReplicaSet, Pod, Service, Ingress,
//     PersistentVolumeClaim, Job, CronJob, HorizontalPodAutoscaler, APIService, PodDisruptionBudget, and
//     argoproj.io Application.
//  4. A generic rule for any other resource that publishes standard conditions (Ready, Available, Progressing,
//     Reconciling, Stalled, Crossplane's Synced) or status.observedGeneration (see generic).
//  5. Otherwise no health (nil): like Argo CD, such resources do not count in the roll-up.
//
// Pods and ReplicaSets owned by another resource are assessed like any other; whether they count is the
// roll-up's business (the controller rolls up only the resources it manages).
//
// AppHealth is the roll-up: the worst status of the resources that count. Hooks, resources annotated
// argocd.argoproj.io/ignore-healthcheck: "true", resources without a health check, Missing resources and child
// Applications in Missing or Unknown are skipped, as the reference states. Read literally that would make an app
// whose resources are all missing Healthy; Moor reports Missing then, as Argo CD shows for a new app.
//
// Differences from Argo CD, on purpose:
//   - Application (argoproj.io) has a built-in check (its own status.health; Progressing before the first
//     assessment). Argo CD removed it in 1.8 and asks for a Lua snippet; Moor's app-of-apps wave gating needs it.
//   - CronJob: Suspended when spec.suspend, else Healthy. The Jobs it starts carry their own health; a running
//     or failed run does not make the CronJob (and so the app) flap.
//   - PodDisruptionBudget: currentHealthy < desiredHealthy → Degraded, else Healthy.
//   - Ingress keeps Argo CD's rule (Healthy once status.loadBalancer.ingress is set). Many clusters never set it
//     (no ingress controller, or one that does not publish addresses), which leaves Ingresses Progressing; a Lua
//     check for networking.k8s.io_Ingress is the way out.
//
// Lua checks run in gopher-lua with Argo CD's convention: the object is the global `obj`, the script returns a
// table {status = "...", message = "..."}; a status outside the six is an error (ErrInvalidStatus), and a script
// returning nil means "no health". Scripts are compiled once in New. They run sandboxed: only the base functions
// in allowedGlobals and the string, table and math libraries (no os, io, package, debug, load, require, dofile);
// a wall-clock limit (Options.LuaTimeout, default 1s, checked at every instruction), a call-depth limit and a
// value-stack limit; string.rep is capped at 1 MiB. Each run gets a fresh global environment. Interpreters are
// pooled (sync.Pool) and one that errors or times out is discarded rather than reused.
//
// Known limits: gopher-lua has no instruction counter or allocation limit, so CPU is bounded by wall-clock time
// only, and a script that doubles a string by concatenation can allocate a lot of memory before its time runs
// out. A single long Go-side library call (a pathological string.find pattern) is not interrupted until it
// returns. Scripts can still mutate the shared string/table/math library tables of a pooled interpreter; Lua
// checks are cluster-admin configuration, as in Argo CD.
package health
