package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// ApplicationSet generates Applications from a template and a list of generators.
//
// Unlike Application and AppProject, ApplicationSet has a status subresource, as in Argo CD (whose
// ApplicationSet controller writes status through it). So a `kubectl apply` of a manifest carrying a status
// drops that status, exactly as Argo CD's CRD does; the spec round-trips unchanged either way.
//
// +genclient
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=applicationsets,singular=applicationset,shortName=appset;appsets,categories=argocd
type ApplicationSet struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              ApplicationSetSpec `json:"spec"`
	// +optional
	Status ApplicationSetStatus `json:"status,omitzero"`
}

// ApplicationSetList is a list of ApplicationSets.
//
// +kubebuilder:object:root=true
type ApplicationSetList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata"`
	Items           []ApplicationSet `json:"items"`
}

// ApplicationSetSpec is the desired state of an ApplicationSet.
type ApplicationSetSpec struct {
	// GoTemplate renders the template with Go text/template (and Sprig) instead of `{{param}}` substitution.
	// +optional
	GoTemplate *bool `json:"goTemplate,omitempty"`
	// Generators produce the parameter sets; each set renders one Application.
	Generators []ApplicationSetGenerator `json:"generators"`
	Template   ApplicationSetTemplate    `json:"template"`
	// +optional
	SyncPolicy *ApplicationSetSyncPolicy `json:"syncPolicy,omitempty"`
	// +optional
	Strategy *ApplicationSetStrategy `json:"strategy,omitempty"`
	// PreservedFields are Application annotations and labels the controller leaves alone.
	// +optional
	PreservedFields *ApplicationPreservedFields `json:"preservedFields,omitempty"`
	// GoTemplateOptions are text/template options, e.g. `missingkey=error`.
	// +optional
	GoTemplateOptions []string `json:"goTemplateOptions,omitzero"`
	// ApplyNestedSelectors applies the selectors of generators nested in matrix and merge.
	// +optional
	ApplyNestedSelectors *bool `json:"applyNestedSelectors,omitempty"`
	// IgnoreApplicationDifferences are parts of generated Applications the controller does not overwrite.
	// +optional
	IgnoreApplicationDifferences ApplicationSetIgnoreDifferences `json:"ignoreApplicationDifferences,omitzero"`
	// TemplatePatch is a templated YAML/JSON patch applied to each rendered Application; it is the way to
	// template non-string fields.
	// +optional
	TemplatePatch *string `json:"templatePatch,omitempty"`
}

// ApplicationSetTemplate is the Application an ApplicationSet renders.
type ApplicationSetTemplate struct {
	ApplicationSetTemplateMeta `json:"metadata"`
	Spec                       ApplicationSpec `json:"spec"`
}

// ApplicationSetGeneratorTemplate overrides parts of the ApplicationSet's template for the Applications of
// one generator. Both halves are pointers, so `metadata: {}` (as Argo CD's examples write it) and an absent
// metadata both survive a round-trip.
type ApplicationSetGeneratorTemplate struct {
	// +optional
	Metadata *ApplicationSetTemplateMeta `json:"metadata,omitempty"`
	// +optional
	Spec *ApplicationSpec `json:"spec,omitempty"`
}

// ApplicationSetTemplateMeta is the metadata a template may set on generated Applications.
type ApplicationSetTemplateMeta struct {
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// +optional
	Labels map[string]string `json:"labels,omitzero"`
	// +optional
	Annotations map[string]string `json:"annotations,omitzero"`
	// +optional
	Finalizers []string `json:"finalizers,omitzero"`
}

// ApplicationsSyncPolicy says what the controller may do to generated Applications.
// +kubebuilder:validation:Enum=create-only;create-update;create-delete;sync
type ApplicationsSyncPolicy string

// Applications sync policies.
const (
	ApplicationsSyncPolicyCreateOnly   ApplicationsSyncPolicy = "create-only"
	ApplicationsSyncPolicyCreateUpdate ApplicationsSyncPolicy = "create-update"
	ApplicationsSyncPolicyCreateDelete ApplicationsSyncPolicy = "create-delete"
	ApplicationsSyncPolicySync         ApplicationsSyncPolicy = "sync"
)

// ApplicationSetSyncPolicy controls creation, update and deletion of generated Applications.
type ApplicationSetSyncPolicy struct {
	// PreserveResourcesOnDeletion keeps the deployed resources when an Application is deleted.
	// +optional
	PreserveResourcesOnDeletion *bool `json:"preserveResourcesOnDeletion,omitempty"`
	// +optional
	ApplicationsSync *ApplicationsSyncPolicy `json:"applicationsSync,omitempty"`
}

// ApplicationSetStrategy controls the order in which generated Applications are updated and deleted.
type ApplicationSetStrategy struct {
	// Type is AllAtOnce (default) or RollingSync.
	// +optional
	Type string `json:"type,omitempty"`
	// +optional
	RollingSync *ApplicationSetRolloutStrategy `json:"rollingSync,omitempty"`
	// DeletionOrder is AllAtOnce (default) or Reverse (reverse of the rolling sync steps).
	// +optional
	DeletionOrder string `json:"deletionOrder,omitempty"`
}

// ApplicationSetRolloutStrategy is a progressive sync in steps.
type ApplicationSetRolloutStrategy struct {
	// +optional
	Steps []ApplicationSetRolloutStep `json:"steps,omitzero"`
}

// ApplicationSetRolloutStep selects Applications by label and syncs at most MaxUpdate of them at once.
type ApplicationSetRolloutStep struct {
	// +optional
	MatchExpressions []ApplicationMatchExpression `json:"matchExpressions,omitzero"`
	// MaxUpdate is a count or a percentage ("25%").
	// +optional
	MaxUpdate *intstr.IntOrString `json:"maxUpdate,omitempty"`
}

// ApplicationMatchExpression is a label requirement (In / NotIn).
type ApplicationMatchExpression struct {
	// +optional
	Key string `json:"key,omitempty"`
	// +optional
	Operator string `json:"operator,omitempty"`
	// +optional
	Values []string `json:"values,omitzero"`
}

// ApplicationPreservedFields names annotations and labels of generated Applications that are kept.
type ApplicationPreservedFields struct {
	// +optional
	Annotations []string `json:"annotations,omitzero"`
	// +optional
	Labels []string `json:"labels,omitzero"`
}

// ApplicationSetIgnoreDifferences is a list of ignored Application differences.
type ApplicationSetIgnoreDifferences []ApplicationSetResourceIgnoreDifferences

// ApplicationSetResourceIgnoreDifferences ignores parts of generated Applications (all when Name is empty).
type ApplicationSetResourceIgnoreDifferences struct {
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	JSONPointers []string `json:"jsonPointers,omitzero"`
	// +optional
	JQPathExpressions []string `json:"jqPathExpressions,omitzero"`
}

// ApplicationSetStatus is the observed state of an ApplicationSet.
type ApplicationSetStatus struct {
	// +optional
	Conditions []ApplicationSetCondition `json:"conditions,omitzero"`
	// ApplicationStatus is the progressive-sync state of each Application.
	// +optional
	ApplicationStatus []ApplicationSetApplicationStatus `json:"applicationStatus,omitzero"`
	// Resources are the generated Applications with their sync and health.
	// +optional
	Resources []ResourceStatus `json:"resources,omitzero"`
	// +optional
	ResourcesCount int64 `json:"resourcesCount,omitempty"`
}

// ApplicationSetCondition is a condition of an ApplicationSet (ErrorOccurred, ParametersGenerated,
// ResourcesUpToDate, RolloutProgressing).
type ApplicationSetCondition struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	// +optional
	LastTransitionTime *metav1.Time `json:"lastTransitionTime,omitempty"`
	// Status is True, False or Unknown.
	Status string `json:"status"`
	Reason string `json:"reason"`
}

// ApplicationSetApplicationStatus is the progressive-sync state of one generated Application.
type ApplicationSetApplicationStatus struct {
	Application string `json:"application"`
	// +optional
	LastTransitionTime *metav1.Time `json:"lastTransitionTime,omitempty"`
	Message            string       `json:"message"`
	// Status is Waiting, Pending, Progressing or Healthy.
	Status string `json:"status"`
	// Step is the rolling sync step (1-based) the Application belongs to.
	Step string `json:"step"`
	// +optional
	TargetRevisions []string `json:"targetRevisions,omitzero"`
}
