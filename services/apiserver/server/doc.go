// Package server holds the api-server's gRPC handlers (moor.api.v1) and its Git webhook endpoint. Handlers
// are thin: they authorize the caller (authorize), read from informer caches, write through the clientset and
// turn errors into gRPC codes in one place (errors.go), which the REST gateway maps to HTTP statuses.
//
// Sync, Rollback and TerminateOperation only write the Application (its operation, or the operation state's
// phase); the controller runs the operation. Services of moor.api.v1 that this package does not implement yet
// are registered as Unimplemented, so they still pass authentication.
//
// Known limits: List does not paginate yet; Get's refresh parameter requests a refresh (annotation) but does
// not wait for it; Session.Delete clears the cookie but cannot revoke a login session (sessions carry no id).
package server
