package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// LeaseName is the Lease replicas of the controller compete for in its namespace.
const LeaseName = "moor-controller"

// lead runs work while this replica holds the Lease; without leader election it just runs work. Losing the
// Lease ends Start with an error: the process exits and restarts as a follower, so no two replicas ever run
// operations at once.
func (c *Controller) lead(ctx context.Context, work func(context.Context) error) error {
	if !c.opts.LeaderElect {
		return work(ctx)
	}
	id := c.opts.LeaderID
	if id == "" {
		host, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("leader election identity: %w", err)
		}
		id = host
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: c.opts.Namespace, Name: LeaseName},
		Client:     c.kube.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: id},
	}
	outer := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var workErr error
	led := false
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   15 * time.Second,
		RenewDeadline:   10 * time.Second,
		RetryPeriod:     2 * time.Second,
		ReleaseOnCancel: true,
		Name:            LeaseName,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				led = true
				c.log.Info("leading", "identity", id)
				workErr = work(ctx)
				cancel()
			},
			OnStoppedLeading: func() { c.log.Info("stopped leading", "identity", id) },
		},
	})
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	c.log.Info("waiting for the lease", "lease", LeaseName, "identity", id)
	le.Run(ctx)
	switch {
	case outer.Err() != nil || workErr != nil:
		return workErr // shutting down, or the work failed
	case led:
		return errors.New("lost the lease " + LeaseName + "; exiting so that only one replica syncs")
	default:
		return errors.New("leader election ended without leading")
	}
}
