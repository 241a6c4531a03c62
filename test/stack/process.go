package stack

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// stopGrace is how long a service may take to shut down after SIGTERM before it is killed.
const stopGrace = 15 * time.Second

// process is one service: its command line, its log file and, while it runs, its OS process.
type process struct {
	name    string // RepoServer, Controller or Server
	path    string
	args    []string
	env     []string
	logPath string

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{} // closed when cmd has exited
	err     error         // cmd.Wait's result, once exited
	started time.Time
}

// start runs the process once more with the same command line, appending to its log file.
func (p *process) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		select {
		case <-p.exited:
		default:
			return fmt.Errorf("%s is running", p.name)
		}
	}
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(logf, "=== %s %s %s\n", time.Now().Format(time.RFC3339Nano), filepath.Base(p.path), strings.Join(p.args, " "))
	cmd := exec.Command(p.path, p.args...)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	exited := make(chan struct{})
	p.cmd, p.exited, p.err, p.started = cmd, exited, nil, time.Now()
	go func() {
		err := cmd.Wait()
		logf.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(exited)
	}()
	return nil
}

// running returns the current command and its exit channel (nil when never started).
func (p *process) running() (*exec.Cmd, chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd, p.exited
}

// exitErr describes how the process ended, or returns nil while it runs.
func (p *process) exitErr() error {
	_, exited := p.running()
	if exited == nil {
		return errors.New(p.name + " was never started")
	}
	select {
	case <-exited:
	default:
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		return fmt.Errorf("%s exited", p.name)
	}
	return fmt.Errorf("%s exited: %w", p.name, p.err)
}

// signal sends sig and waits up to wait for the process to exit; it kills it when the wait runs out. A
// process that is not running is left alone. It returns the exit error of a process that exited on its
// own with a failure before the signal, or failed to stop gracefully.
func (p *process) signal(sig syscall.Signal, wait time.Duration) error {
	cmd, exited := p.running()
	if cmd == nil {
		return nil
	}
	select {
	case <-exited:
		return nil
	default:
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(wait):
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("%s did not stop within %s of %s; killed", p.name, wait, sig)
	}
	if sig == syscall.SIGKILL {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return fmt.Errorf("%s: %w", p.name, p.err)
	}
	return nil
}

// Usage is what a service's current process used, from /proc.
type Usage struct {
	// PeakRSSMiB is the peak resident set size (VmHWM) of the current process.
	PeakRSSMiB float64
	// RSSMiB is the resident set size now (VmRSS).
	RSSMiB float64
	// CPUSeconds is user plus system CPU time since the process started.
	CPUSeconds float64
	// PID of the current process.
	PID int
}

func (p *process) usage() (Usage, error) {
	cmd, exited := p.running()
	if cmd == nil {
		return Usage{}, fmt.Errorf("%s was never started", p.name)
	}
	select {
	case <-exited:
		return Usage{}, fmt.Errorf("%s is not running", p.name)
	default:
	}
	return procUsage(cmd.Process.Pid)
}

// procUsage reads /proc/PID/status and /proc/PID/stat.
func procUsage(pid int) (Usage, error) {
	u := Usage{PID: pid}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return u, err
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		field, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
		if err != nil {
			continue
		}
		switch field {
		case "VmHWM":
			u.PeakRSSMiB = kb / 1024
		case "VmRSS":
			u.RSSMiB = kb / 1024
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return u, err
	}
	// The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return u, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(fields))
	}
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	u.CPUSeconds = (utime + stime) / clockTicks
	return u, nil
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat times: 100 on every Linux architecture Go supports.
const clockTicks = 100

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
