// Package settings reads Moor's settings from Argo CD's ConfigMap (argocd-cm), so an existing install's
// settings keep working: resource tracking, reconciliation timeouts, resource exclusions and inclusions,
// health customizations in Lua and ignoreDifferences customizations.
package settings

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

// ConfigMapName is the settings ConfigMap Moor reads, Argo CD's name.
const ConfigMapName = "argocd-cm"

// Tracking methods.
const (
	TrackingAnnotation         = "annotation"
	TrackingLabel              = "label"
	TrackingAnnotationAndLabel = "annotation+label"
)

// Settings are the parsed settings.
type Settings struct {
	// TrackingMethod is annotation (default), label or annotation+label; InstanceLabelKey is the label key.
	TrackingMethod   string
	InstanceLabelKey string
	InstallationID   string

	// Reconciliation is the periodic refresh interval (0 disables), Jitter the random extra delay, and
	// HardReconciliation the interval of hard refreshes (0 disables).
	Reconciliation     time.Duration
	Jitter             time.Duration
	HardReconciliation time.Duration

	// Exclusions and Inclusions filter which resource types are watched.
	Exclusions []ResourceFilter
	Inclusions []ResourceFilter

	// HealthLua maps "<group>_<kind>" to a Lua health script (resource.customizations.health.<group>_<kind>).
	HealthLua map[string]string
	// IgnoreDifferences maps "<group>_<kind>" (or "all") to system-wide ignore rules.
	IgnoreDifferences map[string]IgnoreRule
}

// ResourceFilter is one entry of resource.exclusions / resource.inclusions.
type ResourceFilter struct {
	APIGroups []string `json:"apiGroups,omitempty"`
	Kinds     []string `json:"kinds,omitempty"`
	Clusters  []string `json:"clusters,omitempty"`
}

// IgnoreRule is a system-wide ignoreDifferences customization.
type IgnoreRule struct {
	JSONPointers          []string `json:"jsonPointers,omitempty"`
	JQPathExpressions     []string `json:"jqPathExpressions,omitempty"`
	ManagedFieldsManagers []string `json:"managedFieldsManagers,omitempty"`
}

// SystemIgnoreDifferences returns the system-wide ignore rules as per-resource rules: the key
// "<group>_<kind>" names one kind ("_<kind>" or "<kind>" for the core group) and "all" every kind.
func (s *Settings) SystemIgnoreDifferences() []v1alpha1.ResourceIgnoreDifferences {
	keys := make([]string, 0, len(s.IgnoreDifferences))
	for k := range s.IgnoreDifferences {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]v1alpha1.ResourceIgnoreDifferences, 0, len(keys))
	for _, k := range keys {
		r := s.IgnoreDifferences[k]
		group, kind := "*", "*"
		if k != "all" {
			if i := strings.LastIndex(k, "_"); i >= 0 {
				group, kind = k[:i], k[i+1:]
			} else {
				group, kind = "", k
			}
		}
		out = append(out, v1alpha1.ResourceIgnoreDifferences{
			Group: group, Kind: kind, JSONPointers: r.JSONPointers, JQPathExpressions: r.JQPathExpressions,
			ManagedFieldsManagers: r.ManagedFieldsManagers,
		})
	}
	return out
}

// Defaults returns the settings of an install without argocd-cm.
func Defaults() *Settings {
	return &Settings{
		TrackingMethod:    TrackingAnnotation,
		InstanceLabelKey:  "app.kubernetes.io/instance",
		Reconciliation:    120 * time.Second,
		Jitter:            60 * time.Second,
		HealthLua:         map[string]string{},
		IgnoreDifferences: map[string]IgnoreRule{},
	}
}

const (
	healthPrefix = "resource.customizations.health."
	ignorePrefix = "resource.customizations.ignoreDifferences."
)

// Parse reads a settings ConfigMap (nil means defaults). Errors name the key.
func Parse(cm *corev1.ConfigMap) (*Settings, error) {
	s := Defaults()
	if cm == nil {
		return s, nil
	}
	d := cm.Data
	if v := strings.TrimSpace(d["application.resourceTrackingMethod"]); v != "" {
		switch v {
		case TrackingAnnotation, TrackingLabel, TrackingAnnotationAndLabel:
			s.TrackingMethod = v
		default:
			return nil, fmt.Errorf("%s: application.resourceTrackingMethod %q: want annotation, label or annotation+label", cm.Name, v)
		}
	}
	if v := strings.TrimSpace(d["application.instanceLabelKey"]); v != "" {
		s.InstanceLabelKey = v
	}
	s.InstallationID = strings.TrimSpace(d["installationID"])
	for key, dst := range map[string]*time.Duration{
		"timeout.reconciliation":        &s.Reconciliation,
		"timeout.reconciliation.jitter": &s.Jitter,
		"timeout.hard.reconciliation":   &s.HardReconciliation,
	} {
		if v := strings.TrimSpace(d[key]); v != "" {
			dur, err := time.ParseDuration(v)
			if err != nil || dur < 0 {
				return nil, fmt.Errorf("%s: %s %q: want a duration like 180s", cm.Name, key, v)
			}
			*dst = dur
		}
	}
	for key, dst := range map[string]*[]ResourceFilter{"resource.exclusions": &s.Exclusions, "resource.inclusions": &s.Inclusions} {
		if v := d[key]; strings.TrimSpace(v) != "" {
			if err := yaml.UnmarshalStrict([]byte(v), dst); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", cm.Name, key, err)
			}
		}
	}
	for k, v := range d {
		switch {
		case strings.HasPrefix(k, healthPrefix):
			s.HealthLua[strings.TrimPrefix(k, healthPrefix)] = v
		case strings.HasPrefix(k, ignorePrefix):
			var r IgnoreRule
			if err := yaml.UnmarshalStrict([]byte(v), &r); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", cm.Name, k, err)
			}
			s.IgnoreDifferences[strings.TrimPrefix(k, ignorePrefix)] = r
		case k == "resource.customizations":
			// The older single-key form: a map of "group/Kind" to {health.lua, ignoreDifferences}.
			var legacy map[string]struct {
				HealthLua         string `json:"health.lua"`
				IgnoreDifferences string `json:"ignoreDifferences"`
				Actions           string `json:"actions"`
				KnownTypeFields   []any  `json:"knownTypeFields"`
				UseOpenLibs       bool   `json:"health.lua.useOpenLibs"`
			}
			if err := yaml.Unmarshal([]byte(v), &legacy); err != nil {
				return nil, fmt.Errorf("%s: resource.customizations: %w", cm.Name, err)
			}
			for gk, c := range legacy {
				key := strings.Replace(gk, "/", "_", 1)
				if !strings.Contains(gk, "/") {
					key = "_" + gk
				}
				if c.HealthLua != "" {
					s.HealthLua[key] = c.HealthLua
				}
				if c.IgnoreDifferences != "" {
					var r IgnoreRule
					if err := yaml.Unmarshal([]byte(c.IgnoreDifferences), &r); err != nil {
						return nil, fmt.Errorf("%s: resource.customizations[%s].ignoreDifferences: %w", cm.Name, gk, err)
					}
					s.IgnoreDifferences[key] = r
				}
			}
		}
	}
	return s, nil
}
