package app

import (
	"errors"
	"time"

	"github.com/spf13/pflag"

	"github.com/moorcd/moor/pkg/cache"
	"github.com/moorcd/moor/pkg/logging"
	"github.com/moorcd/moor/pkg/webhook"
)

// Options are the api-server's settings.
type Options struct {
	Log logging.Options
	// Cache is where the controller publishes resource trees and managed resources (give it the same --redis).
	Cache cache.Options

	Kubeconfig string
	// Namespace holds Applications, AppProjects, argocd-cm, argocd-rbac-cm, argocd-secret and the TLS Secret.
	Namespace  string
	RepoServer string
	// Controller is the controller's metrics address, where moor-server reads resource trees and managed
	// resources when no Redis is shared.
	Controller string

	ListenAddress  string
	MetricsAddress string
	// Insecure serves plaintext (HTTP/1.1 and h2c); otherwise TLS with TLSCert/TLSKey or a self-signed
	// certificate kept in the Secret argocd-server-tls.
	Insecure bool
	TLSCert  string
	TLSKey   string

	// WebhookMaxBytes bounds a webhook payload; WebhookRate and WebhookBurst bound the webhook requests of
	// one source address.
	WebhookMaxBytes int64
	WebhookRate     float64
	WebhookBurst    int

	KubeQPS       float32
	KubeBurst     int
	ShutdownGrace time.Duration
	// SyncTimeout bounds the wait for the informer caches at start.
	SyncTimeout time.Duration
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	return &Options{
		Log:             logging.Options{Level: "info", Format: "json"},
		Cache:           *cache.NewOptions(),
		Namespace:       "moor",
		RepoServer:      "moor-repo-server:8081",
		ListenAddress:   ":8080",
		MetricsAddress:  ":8083",
		WebhookMaxBytes: webhook.DefaultMaxBytes,
		WebhookRate:     20,
		WebhookBurst:    50,
		KubeQPS:         500,
		KubeBurst:       1000,
		ShutdownGrace:   10 * time.Second,
		SyncTimeout:     time.Minute,
	}
}

// BindFlags registers the flags.
func (o *Options) BindFlags(fs *pflag.FlagSet) {
	o.Log.BindFlags(fs)
	o.Cache.BindFlags(fs)
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "kubeconfig of the control cluster (empty: in-cluster, or $KUBECONFIG)")
	fs.StringVar(&o.Namespace, "namespace", o.Namespace, "namespace of Applications, AppProjects, settings (argocd-cm, argocd-rbac-cm, argocd-secret) and the TLS Secret")
	fs.StringVar(&o.RepoServer, "repo-server", o.RepoServer, "repo-server address host:port (validates sync revisions)")
	fs.StringVar(&o.Controller, "controller", o.Controller, "controller metrics address host:port, where resource trees and managed resources are read when no --redis is shared (empty: Redis only)")
	fs.StringVar(&o.ListenAddress, "listen", o.ListenAddress, "gRPC and REST listen address (one port for HTTP/2 and HTTP/1.1)")
	fs.StringVar(&o.MetricsAddress, "metrics-listen", o.MetricsAddress, "Prometheus metrics listen address (empty: off)")
	fs.BoolVar(&o.Insecure, "insecure", o.Insecure, "serve plaintext (HTTP/1.1 and h2c) instead of TLS")
	fs.StringVar(&o.TLSCert, "tls-cert", o.TLSCert, "TLS certificate file (PEM); default: a self-signed one kept in the Secret argocd-server-tls")
	fs.StringVar(&o.TLSKey, "tls-key", o.TLSKey, "TLS private key file (PEM), with --tls-cert")
	fs.Int64Var(&o.WebhookMaxBytes, "webhook-max-bytes", o.WebhookMaxBytes, "largest webhook payload accepted")
	fs.Float64Var(&o.WebhookRate, "webhook-rate", o.WebhookRate, "webhook requests per second allowed from one source address")
	fs.IntVar(&o.WebhookBurst, "webhook-burst", o.WebhookBurst, "webhook requests one source address may send in a burst")
	fs.Float32Var(&o.KubeQPS, "kube-api-qps", o.KubeQPS, "requests per second to the Kubernetes API server")
	fs.IntVar(&o.KubeBurst, "kube-api-burst", o.KubeBurst, "burst of requests to the Kubernetes API server")
	fs.DurationVar(&o.ShutdownGrace, "shutdown-grace", o.ShutdownGrace, "how long running requests may finish at shutdown")
}

// Validate checks the options.
func (o *Options) Validate() error {
	errs := []error{o.Log.Validate(), o.Cache.Validate()}
	if o.Namespace == "" {
		errs = append(errs, errors.New("--namespace is required"))
	}
	if o.RepoServer == "" {
		errs = append(errs, errors.New("--repo-server is required"))
	}
	if o.ListenAddress == "" {
		errs = append(errs, errors.New("--listen is required"))
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		errs = append(errs, errors.New("--tls-cert and --tls-key go together"))
	}
	if o.Insecure && o.TLSCert != "" {
		errs = append(errs, errors.New("--insecure and --tls-cert exclude each other"))
	}
	if o.WebhookMaxBytes <= 0 || o.WebhookRate <= 0 || o.WebhookBurst < 1 {
		errs = append(errs, errors.New("--webhook-max-bytes, --webhook-rate and --webhook-burst must be positive"))
	}
	if o.KubeQPS <= 0 || o.KubeBurst < 1 {
		errs = append(errs, errors.New("--kube-api-qps and --kube-api-burst must be positive"))
	}
	return errors.Join(errs...)
}
