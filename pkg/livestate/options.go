package livestate

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TrackingMethod says how a live object names the Application that owns it, as Argo CD's
// application.resourceTrackingMethod does.
type TrackingMethod string

const (
	// TrackingAnnotation reads the annotation argocd.argoproj.io/tracking-id (Argo CD's default).
	TrackingAnnotation TrackingMethod = "annotation"
	// TrackingLabel reads the instance label (app.kubernetes.io/instance unless Options.InstanceLabelKey says).
	TrackingLabel TrackingMethod = "label"
	// TrackingAnnotationAndLabel reads the annotation; the label is informational only.
	TrackingAnnotationAndLabel TrackingMethod = "annotation+label"
)

const (
	// AnnotationTrackingID carries <app>:<group>/<kind>:<namespace>/<name>.
	AnnotationTrackingID = "argocd.argoproj.io/tracking-id"
	// AnnotationInstallationID scopes tracking to one installation when Options.InstallationID is set.
	AnnotationInstallationID = "argocd.argoproj.io/installation-id"
	// DefaultInstanceLabelKey is the label read by TrackingLabel.
	DefaultInstanceLabelKey = "app.kubernetes.io/instance"
	// annotationLastApplied is kubectl's client-side apply record; it doubles an object's size and is dropped.
	annotationLastApplied = "kubectl.kubernetes.io/last-applied-configuration"
)

// FilteredResource is one entry of resource.exclusions or resource.inclusions, in Argo CD's shape. Each list
// holds globs (* and ?); an empty list matches everything. Clusters match the destination's server URL.
type FilteredResource struct {
	APIGroups []string `json:"apiGroups,omitempty"`
	Kinds     []string `json:"kinds,omitempty"`
	Clusters  []string `json:"clusters,omitempty"`
}

// Match reports whether the rule covers the group and kind on the cluster at server.
func (r FilteredResource) Match(group, kind, server string) bool {
	return matchAny(r.APIGroups, group) && matchAny(r.Kinds, kind) && matchAny(r.Clusters, server)
}

func matchAny(globs []string, s string) bool {
	if len(globs) == 0 {
		return true
	}
	for _, g := range globs {
		if glob(g, s) {
			return true
		}
	}
	return false
}

// DefaultExclusions is used when Options.Exclusions is nil. It leaves out high-churn or high-volume kinds
// that no Application manages and whose watch would cost more than it tells: endpoints (owned by Services and
// rewritten on every pod change), leases (renewed every few seconds), certificate requests, and the
// per-object policy reports of Kyverno and the Policy WG. It follows the list Argo CD ships in argocd-cm.
var DefaultExclusions = []FilteredResource{
	{APIGroups: []string{"", "discovery.k8s.io"}, Kinds: []string{"Endpoints", "EndpointSlice"}},
	{APIGroups: []string{"coordination.k8s.io"}, Kinds: []string{"Lease", "LeaseCandidate"}},
	{APIGroups: []string{"authentication.k8s.io", "authorization.k8s.io"}},
	{APIGroups: []string{"metrics.k8s.io"}},
	{APIGroups: []string{"certificates.k8s.io"}, Kinds: []string{"CertificateSigningRequest"}},
	{APIGroups: []string{"cert-manager.io"}, Kinds: []string{"CertificateRequest"}},
	{APIGroups: []string{"cilium.io"}, Kinds: []string{"CiliumIdentity", "CiliumEndpoint", "CiliumEndpointSlice"}},
	{
		APIGroups: []string{"kyverno.io", "reports.kyverno.io", "wgpolicyk8s.io"},
		Kinds: []string{
			"PolicyReport", "ClusterPolicyReport", "EphemeralReport", "ClusterEphemeralReport",
			"AdmissionReport", "ClusterAdmissionReport", "BackgroundScanReport", "ClusterBackgroundScanReport",
			"UpdateRequest",
		},
	},
}

// alwaysExcluded are never watched, whatever the options say: events are a firehose no app can own.
var alwaysExcluded = []schema.GroupKind{{Group: "", Kind: "Event"}, {Group: "events.k8s.io", Kind: "Event"}}

// Options configure a Cluster.
type Options struct {
	// Server is the destination's server URL, matched by the Clusters globs of exclusions and inclusions.
	Server string
	// Tracking is the tracking method; empty means TrackingAnnotation.
	Tracking TrackingMethod
	// InstanceLabelKey is the label read by TrackingLabel; empty means DefaultInstanceLabelKey.
	InstanceLabelKey string
	// InstallationID, when set, tracks only objects whose argocd.argoproj.io/installation-id equals it.
	InstallationID string
	// Exclusions are kinds never watched. Nil means DefaultExclusions; an empty non-nil slice excludes nothing.
	// Core and events.k8s.io Events are always excluded.
	Exclusions []FilteredResource
	// Inclusions, when not empty, restrict the watched kinds to those matching one rule (exclusions still apply).
	Inclusions []FilteredResource
	// RediscoveryInterval is how often discovery runs again to pick up new or removed API types; CRD events
	// also trigger it. Zero means one minute.
	RediscoveryInterval time.Duration
	// KeepManagedFields keeps metadata.managedFields on tracked objects, for callers that diff by field owner.
	KeepManagedFields bool
	// Logger receives the cache's logs; nil means slog.Default().
	Logger *slog.Logger
}

func (o *Options) setDefaults() {
	if o.Tracking == "" {
		o.Tracking = TrackingAnnotation
	}
	if o.InstanceLabelKey == "" {
		o.InstanceLabelKey = DefaultInstanceLabelKey
	}
	if o.Exclusions == nil {
		o.Exclusions = DefaultExclusions
	}
	if o.RediscoveryInterval <= 0 {
		o.RediscoveryInterval = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Validate reports options that cannot work.
func (o *Options) Validate() error {
	var errs []error
	switch o.Tracking {
	case "", TrackingAnnotation, TrackingLabel, TrackingAnnotationAndLabel:
	default:
		errs = append(errs, fmt.Errorf("tracking method %q: want annotation, label or annotation+label", o.Tracking))
	}
	if o.RediscoveryInterval < 0 {
		errs = append(errs, errors.New("rediscovery interval must not be negative"))
	}
	return errors.Join(errs...)
}

// Watched reports whether the options let the cache watch kind gk.
func (o *Options) Watched(gk schema.GroupKind) bool {
	for _, ex := range alwaysExcluded {
		if ex == gk {
			return false
		}
	}
	if len(o.Inclusions) > 0 {
		included := false
		for _, r := range o.Inclusions {
			if r.Match(gk.Group, gk.Kind, o.Server) {
				included = true
				break
			}
		}
		if !included {
			return false
		}
	}
	for _, r := range o.Exclusions {
		if r.Match(gk.Group, gk.Kind, o.Server) {
			return false
		}
	}
	return true
}

// glob matches s against pattern, where * matches any run of characters (slashes included, since server URLs
// have them) and ? any one character.
func glob(pattern, s string) bool {
	px, sx := 0, 0
	starP, starS := -1, 0
	for sx < len(s) {
		switch {
		case px < len(pattern) && (pattern[px] == '?' || pattern[px] == s[sx]):
			px++
			sx++
		case px < len(pattern) && pattern[px] == '*':
			starP, starS = px, sx
			px++
		case starP >= 0:
			starS++
			px, sx = starP+1, starS
		default:
			return false
		}
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}
