package app

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/moorcd/moor/pkg/refresh"
	"github.com/moorcd/moor/services/controller/reconcile"
)

// watchRefreshRequests queues every refresh request ConfigMap (pkg/refresh) the informer sees, including
// those written while no controller ran. Only the leader's worker carries them out and deletes them.
func (c *Controller) watchRefreshRequests() error {
	add := func(obj any) {
		if cm, ok := obj.(*corev1.ConfigMap); ok {
			c.reqQueue.Add(cm.Name)
		}
	}
	_, err := c.reqInf.Core().V1().ConfigMaps().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: add, UpdateFunc: func(_, obj any) { add(obj) },
	})
	return err
}

// refreshRequestWorker refreshes the apps each request names (a fresh revision resolve, as the
// argocd.argoproj.io/refresh annotation does) and then deletes the request.
func (c *Controller) refreshRequestWorker(ctx context.Context) {
	lister := c.reqInf.Core().V1().ConfigMaps().Lister().ConfigMaps(c.opts.Namespace)
	for {
		name, shutdown := c.reqQueue.Get()
		if shutdown {
			return
		}
		err := func() error {
			cm, err := lister.Get(name)
			if apierrors.IsNotFound(err) {
				return nil
			}
			if err != nil {
				return err
			}
			apps, level, err := refresh.Parse(cm)
			if err != nil {
				c.log.Warn("refresh request ignored", "configMap", name, "error", err)
			}
			l := reconcile.LevelForce
			if level == refresh.Hard {
				l = reconcile.LevelHard
			}
			for _, app := range apps {
				c.enqueueName(app, l, 0)
			}
			c.log.Debug("refresh requested", "configMap", name, "apps", len(apps), "level", level, "reason", cm.Annotations[refresh.AnnotationReason])
			dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			uid := cm.UID
			err = c.kube.CoreV1().ConfigMaps(c.opts.Namespace).Delete(dctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
			if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
				return nil
			}
			return err
		}()
		if err != nil && ctx.Err() == nil {
			c.log.Warn("refresh request", "configMap", name, "error", err)
			c.reqQueue.AddRateLimited(name)
		} else {
			c.reqQueue.Forget(name)
		}
		c.reqQueue.Done(name)
	}
}
