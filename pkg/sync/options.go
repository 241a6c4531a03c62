package sync

import (
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Options are the sync options (Argo CD's syncPolicy.syncOptions keys), set for the app and overridden per
// resource by the argocd.argoproj.io/sync-options annotation.
type Options struct {
	Validate                    bool // Validate=false turns server-side field validation off
	ServerSideApply             bool // ServerSideApply=false applies client-side, with the last-applied annotation
	Replace                     bool
	Force                       bool
	PruneDisabled               bool // Prune=false
	PruneConfirm                bool // Prune=confirm
	DeleteDisabled              bool // Delete=false (app deletion keeps the resource)
	DeleteConfirm               bool // Delete=confirm
	PruneLast                   bool
	ApplyOutOfSyncOnly          bool
	SkipDryRunOnMissingResource bool
	CreateNamespace             bool
	FailOnSharedResource        bool
	RespectIgnoreDifferences    bool
	PrunePropagationPolicy      metav1.DeletionPropagation
}

// DefaultOptions are the options when none is given: validation on, server-side apply (Moor's default; Argo
// CD's is client-side), foreground prune propagation.
func DefaultOptions() Options {
	return Options{Validate: true, ServerSideApply: true, PrunePropagationPolicy: metav1.DeletePropagationForeground}
}

// ParseOptions overlays "Key=value" items on base. Unknown keys are ignored, as Argo CD does.
func ParseOptions(base Options, items []string) Options {
	o := base
	for _, item := range items {
		for part := range strings.SplitSeq(item, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			on := v == "" || strings.EqualFold(v, "true")
			switch k {
			case "Validate":
				o.Validate = on
			case "ServerSideApply":
				o.ServerSideApply = on
			case "Replace":
				o.Replace = on
			case "Force":
				o.Force = on
			case "Prune":
				o.PruneDisabled = strings.EqualFold(v, "false")
				o.PruneConfirm = strings.EqualFold(v, "confirm")
			case "Delete":
				o.DeleteDisabled = strings.EqualFold(v, "false")
				o.DeleteConfirm = strings.EqualFold(v, "confirm")
			case "PruneLast":
				o.PruneLast = on
			case "ApplyOutOfSyncOnly":
				o.ApplyOutOfSyncOnly = on
			case "SkipDryRunOnMissingResource":
				o.SkipDryRunOnMissingResource = on
			case "CreateNamespace":
				o.CreateNamespace = on
			case "FailOnSharedResource":
				o.FailOnSharedResource = on
			case "RespectIgnoreDifferences":
				o.RespectIgnoreDifferences = on
			case "PrunePropagationPolicy":
				switch strings.ToLower(v) {
				case "background":
					o.PrunePropagationPolicy = metav1.DeletePropagationBackground
				case "orphan":
					o.PrunePropagationPolicy = metav1.DeletePropagationOrphan
				default:
					o.PrunePropagationPolicy = metav1.DeletePropagationForeground
				}
			}
		}
	}
	return o
}

// ResourceOptions overlays an object's sync-options annotation on the app's options.
func ResourceOptions(app Options, annotations map[string]string) Options {
	v := annotations[AnnotationSyncOptions]
	if v == "" {
		return app
	}
	return ParseOptions(app, []string{v})
}
