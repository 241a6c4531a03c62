package app

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/moorcd/moor/pkg/cache"
	"github.com/moorcd/moor/pkg/logging"
)

// Options are the controller's settings.
type Options struct {
	Log   logging.Options
	Cache cache.Options

	Kubeconfig     string
	Namespace      string
	RepoServer     string
	MetricsAddress string
	// StatusProcessors refresh app status in parallel; OperationProcessors run syncs in parallel.
	StatusProcessors    int
	OperationProcessors int
	// KubeQPS and KubeBurst bound the controller's requests to each cluster.
	KubeQPS   float32
	KubeBurst int
	// LeaderElect runs the controller only while it holds the Lease moor-controller (one active replica).
	LeaderElect bool
	// LeaderID names this replica in the Lease (default: the host name, so a restarted pod takes it back at once).
	LeaderID string
	// Resync and Jitter override argocd-cm's timeout.reconciliation when set (negative: use argocd-cm).
	Resync   time.Duration
	Jitter   time.Duration
	Debounce time.Duration
	// MemoryLimit is the Go runtime's soft memory limit ("256Mi"); empty leaves GOMEMLIMIT in charge.
	MemoryLimit string
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	return &Options{
		Log:                 logging.Options{Level: "info", Format: "json"},
		Cache:               *cacheDefaults(),
		Namespace:           "moor",
		RepoServer:          "moor-repo-server:8081",
		MetricsAddress:      ":8082",
		StatusProcessors:    20,
		OperationProcessors: 10,
		KubeQPS:             500,
		KubeBurst:           1000,
		LeaderElect:         true,
		Resync:              -1,
		Jitter:              -1,
		Debounce:            time.Second,
	}
}

// BindFlags registers the flags.
func (o *Options) BindFlags(fs *pflag.FlagSet) {
	o.Log.BindFlags(fs)
	o.Cache.BindFlags(fs)
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "kubeconfig of the control cluster (empty: in-cluster, or $KUBECONFIG)")
	fs.StringVar(&o.Namespace, "namespace", o.Namespace, "namespace of Applications, AppProjects, settings and repository and cluster Secrets")
	fs.StringVar(&o.RepoServer, "repo-server", o.RepoServer, "repo-server address host:port")
	fs.StringVar(&o.MetricsAddress, "metrics-listen", o.MetricsAddress, "Prometheus metrics listen address (empty: off)")
	fs.IntVar(&o.StatusProcessors, "status-processors", o.StatusProcessors, "apps whose status is refreshed in parallel")
	fs.IntVar(&o.OperationProcessors, "operation-processors", o.OperationProcessors, "syncs run in parallel")
	fs.Float32Var(&o.KubeQPS, "kube-api-qps", o.KubeQPS, "requests per second to each Kubernetes API server")
	fs.IntVar(&o.KubeBurst, "kube-api-burst", o.KubeBurst, "burst of requests to each Kubernetes API server")
	fs.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect, "run only while holding the Lease moor-controller, so two replicas never sync one app at once")
	fs.StringVar(&o.LeaderID, "leader-election-id", o.LeaderID, "this replica's identity in the Lease (default: host name)")
	fs.DurationVar(&o.Resync, "app-resync", o.Resync, "periodic refresh interval (0 disables; default: argocd-cm timeout.reconciliation, else 120s)")
	fs.DurationVar(&o.Jitter, "app-resync-jitter", o.Jitter, "random delay added to the periodic refresh (default: argocd-cm timeout.reconciliation.jitter, else 60s)")
	fs.StringVar(&o.MemoryLimit, "memory-limit", o.MemoryLimit, "soft memory limit of the Go runtime, e.g. 256Mi (set it a little under the container's limit; empty: GOMEMLIMIT)")
	fs.DurationVar(&o.Debounce, "live-change-debounce", o.Debounce, "how long a burst of live changes of one app is gathered into one compare")
}

// cacheDefaults sizes the in-process level for published app states (trees and managed resources). The
// api-server reads them from Redis (--redis); in process only a small recent window is kept.
func cacheDefaults() *cache.Options {
	o := cache.NewOptions()
	o.MemoryBytes = 16 << 20
	return o
}

// Validate checks the options.
func (o *Options) Validate() error {
	var errs []error
	errs = append(errs, o.Log.Validate(), o.Cache.Validate())
	if o.Namespace == "" {
		errs = append(errs, errors.New("--namespace is required"))
	}
	if o.RepoServer == "" {
		errs = append(errs, errors.New("--repo-server is required"))
	}
	if o.MemoryLimit != "" {
		if _, err := resource.ParseQuantity(o.MemoryLimit); err != nil {
			errs = append(errs, fmt.Errorf("--memory-limit %q: %v", o.MemoryLimit, err))
		}
	}
	if o.StatusProcessors < 1 || o.OperationProcessors < 1 {
		errs = append(errs, errors.New("--status-processors and --operation-processors must be at least 1"))
	}
	if o.KubeQPS <= 0 || o.KubeBurst < 1 {
		errs = append(errs, errors.New("--kube-api-qps and --kube-api-burst must be positive"))
	}
	return errors.Join(errs...)
}
