//go:build !linux

package stack

import "syscall"

// sysProcAttr puts a service in its own process group. Outside Linux a service outlives a program that dies
// without stopping it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
