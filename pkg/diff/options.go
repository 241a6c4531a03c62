package diff

import (
	"strings"
)

// Annotations a resource (or Application) carries to tune compare and sync, comma-separated lists.
const (
	AnnotationCompareOptions = "argocd.argoproj.io/compare-options"
	AnnotationSyncOptions    = "argocd.argoproj.io/sync-options"
)

// CompareOptions are the options of the compare-options annotation.
type CompareOptions struct {
	// IgnoreExtraneous: a live resource Git does not have leaves the application Synced.
	IgnoreExtraneous bool
	// ServerSideDiff is nil when unset, else ServerSideDiff=true|false.
	ServerSideDiff *bool
	// IncludeMutationWebhook=true keeps webhook mutations in the prediction (see doc.go).
	IncludeMutationWebhook bool
}

// ParseCompareOptions reads the compare-options annotation from an object's annotations.
func ParseCompareOptions(annotations map[string]string) CompareOptions {
	var o CompareOptions
	for k, v := range ParseOptionList(annotations[AnnotationCompareOptions]) {
		switch k {
		case "IgnoreExtraneous":
			o.IgnoreExtraneous = v != "false"
		case "ServerSideDiff":
			b := v == "true"
			o.ServerSideDiff = &b
		case "IncludeMutationWebhook":
			o.IncludeMutationWebhook = v == "true"
		}
	}
	return o
}

// SyncOptions returns the sync-options annotation as a map, e.g. {"Prune": "false", "Replace": "true"}.
func SyncOptions(annotations map[string]string) map[string]string {
	return ParseOptionList(annotations[AnnotationSyncOptions])
}

// ParseOptionList parses "A=b,C,D=e" into {"A": "b", "C": "", "D": "e"}; spaces around items are dropped.
func ParseOptionList(s string) map[string]string {
	out := map[string]string{}
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, _ := strings.Cut(item, "=")
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out
}
