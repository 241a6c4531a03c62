// Package server is the repo-server's gRPC surface: thin handlers that turn requests into calls on the
// manifests engine and its errors into gRPC codes (codes.go is the one place that mapping lives).
package server
