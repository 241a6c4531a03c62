// Package reconcile is the controller's read path for one Application, as ordered steps: resolve the
// project and destination, render every source through the repo-server, match rendered objects with the live
// ones, diff them, assess health, and write the status, only when it changed.
//
// Desired state is kept per app between reconciles, so a change to a live resource (a watch event) re-runs
// compare and health against the last render without asking the repo-server again.
package reconcile
