package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// progressEvery is how often a long cluster build reports that it is still working.
var progressEvery = 30 * time.Second

// upWaitDelay is how long up.sh and its children get to exit after ctx ends (SIGTERM) before up.sh is
// killed and its stderr closed.
var upWaitDelay = 10 * time.Second

// clusterBinDir is where hack/cluster/build.sh caches the local cluster's binaries, and whether a finished
// build is there: ${MOOR_CACHE_DIR:-$HOME/.cache/moor}/cluster/<kube>-etcd<etcd>-kwok<kwok>/bin.
func clusterBinDir(root string) (string, bool, error) {
	data, err := os.ReadFile(filepath.Join(root, "hack", "versions.env"))
	if err != nil {
		return "", false, err
	}
	v := map[string]string{}
	for line := range strings.SplitSeq(string(data), "\n") {
		if k, val, ok := strings.Cut(strings.TrimSpace(line), "="); ok && !strings.HasPrefix(k, "#") {
			v[k] = strings.Trim(val, `"'`)
		}
	}
	cache := os.Getenv("MOOR_CACHE_DIR")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", false, err
		}
		cache = filepath.Join(home, ".cache", "moor")
	}
	dir := filepath.Join(cache, "cluster", v["KUBE_VERSION"]+"-etcd"+v["ETCD_VERSION"]+"-kwok"+v["KWOK_VERSION"])
	_, err = os.Stat(filepath.Join(dir, ".complete"))
	return filepath.Join(dir, "bin"), err == nil, nil
}

// startCluster runs hack/cluster/up.sh (idempotent: a running cluster is left alone) and returns the
// kubeconfig it prints. When the cluster's binaries are not built yet it says so first, and while they
// build it prints up.sh's steps and, every progressEvery, how long the current step has taken.
func startCluster(ctx context.Context, root string, out io.Writer) (string, error) {
	_, built, err := clusterBinDir(root)
	if err != nil {
		return "", err
	}
	if !built {
		fmt.Fprint(out, `
The local cluster is built once on this machine: etcd, kwok and Kubernetes (kube-apiserver,
kube-controller-manager, kube-scheduler, kubectl) compiled from source. That takes 15 to 20 minutes on
2 cores; later runs start it in seconds. Progress follows.

`)
	}
	cmd := exec.CommandContext(ctx, filepath.Join(root, "hack", "cluster", "up.sh"))
	cmd.Dir = root
	// up.sh and what it runs (build.sh compiling Kubernetes) form a process group, all stopped together when
	// ctx ends; WaitDelay bounds how long Wait then waits for them to exit and to close stderr, after which
	// up.sh is killed and the pipe closed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = upWaitDelay
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	// Wait copies stderr into pw (and ends the copy after WaitDelay); the scanner reads it from pr.
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("hack/cluster/up.sh: %w", err)
	}
	var (
		mu        sync.Mutex
		step      = "starting"
		stepStart = time.Now()
		last      []string
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			mu.Lock()
			step, stepStart = strings.TrimPrefix(strings.TrimPrefix(line, "cluster-build: "), "cluster-up: "), time.Now()
			last = append(last, line)
			if len(last) > 20 {
				last = last[1:]
			}
			mu.Unlock()
			fmt.Fprintf(out, "  %s  %s\n", time.Now().Format("15:04:05"), line)
		}
		_, _ = io.Copy(io.Discard, pr) // after a line too long: keep draining, so the copy in Wait never blocks
	}()
	start := time.Now()
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	waitErr := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		pw.Close()
		<-done
		waitErr <- err
	}()
	for {
		select {
		case err := <-waitErr:
			if ctx.Err() != nil {
				return "", fmt.Errorf("hack/cluster/up.sh: %w", context.Cause(ctx))
			}
			if err != nil {
				mu.Lock()
				defer mu.Unlock()
				return "", fmt.Errorf("hack/cluster/up.sh: %w\n%s", err, strings.Join(last, "\n"))
			}
			if !built {
				fmt.Fprintf(out, "  the local cluster was built and started in %v\n", time.Since(start).Round(time.Second))
			}
			lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
			return strings.TrimSpace(lines[len(lines)-1]), nil
		case <-ctx.Done():
			// Cancel has signalled up.sh's process group; give it WaitDelay (and a little more) to stop.
			select {
			case <-waitErr:
			case <-time.After(upWaitDelay + 2*time.Second):
			}
			return "", fmt.Errorf("hack/cluster/up.sh: %w", context.Cause(ctx))
		case <-tick.C:
			mu.Lock()
			fmt.Fprintf(out, "  %s  ... still %s (%v on this step, %v in all)\n", time.Now().Format("15:04:05"),
				step, time.Since(stepStart).Round(time.Second), time.Since(start).Round(time.Second))
			mu.Unlock()
		}
	}
}
