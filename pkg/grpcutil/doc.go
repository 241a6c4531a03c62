// Package grpcutil builds Moor's gRPC servers the same way in every service: the standard health service,
// reflection, Prometheus metrics per method and code, panic recovery, and graceful shutdown.
package grpcutil
