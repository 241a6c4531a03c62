// Package redistest runs a real redis-server on loopback for tests: one process per call to Start, on a
// free 127.0.0.1 port, with no persistence (--save "" --appendonly no) and its working directory in
// t.TempDir(). t.Cleanup kills it.
//
// When redis-server is not installed the test is skipped with a message saying how to install it, unless
// MOOR_REQUIRE_REDIS is set (CI sets it), in which case the test fails instead.
//
// Known limits: Linux and other Unix systems only (the child gets SIGKILL if the test binary dies, on
// Linux); no TLS, ACLs or clustering. The helper speaks just enough RESP (PING) to know the server is up,
// so it has no client library dependency.
package redistest
