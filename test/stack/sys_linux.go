package stack

import "syscall"

// sysProcAttr puts a service in its own process group, so a Ctrl-C in the terminal reaches only the
// program that started it (which stops the services in order), and kills it when that program dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
