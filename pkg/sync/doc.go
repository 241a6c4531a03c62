// Package sync applies an Application's desired objects to a cluster: the sync engine (phases, waves,
// hooks, prune, dry run, sync options) and Kube, the client that writes single objects with server-side
// apply, client-side apply, replace or force.
//
// The engine is stepped, not run: Engine.Step plans the tasks again from the desired and live objects,
// reads what earlier steps did from the operation's recorded results and the live objects, starts the
// next group (phase, then wave) that has not run, and returns Running with a reason while it waits. A
// controller killed at any moment loses nothing: a prune is derived again from the live objects, an apply
// is idempotent, and a hook carries the id of the operation run that created it (moor.dev/sync-operation),
// so a restarted controller adopts it instead of running it twice.
//
// Semantics are Argo CD's: phases PreSync, Sync, PostSync (SyncFail when one fails); waves from
// argocd.argoproj.io/sync-wave; within a wave the kind order Helm installs in, Namespaces and CRDs first;
// each wave waits until it is healthy before the next starts (the last one does not wait); prunes run in
// mirrored wave order, after every wave with PruneLast; hook-delete-policy HookSucceeded, HookFailed and
// BeforeHookCreation (the default). Where Moor differs, it is on purpose:
//   - server-side apply with the field manager moor-controller is the default (ServerSideApply=false gives
//     client-side apply), so objects over the 262,144-byte annotation limit sync;
//   - a Suspended resource counts as healthy for the next wave (a suspended CronJob would block it forever);
//   - a hook that disappears before its result is read (a Job removed by ttlSecondsAfterFinished) is taken
//     as complete instead of hanging the sync;
//   - objects the compare found Synced are not dry-run again (the compare's server-side diff was one);
//   - there is no fixed delay between waves: a wave waits for the observed generation to be healthy.
//
// Limits: PreDelete and PostDelete hooks are not run; the hook sync strategy behaves as apply.
package sync
