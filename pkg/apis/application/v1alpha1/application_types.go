package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Application is a set of Kubernetes resources, rendered from one or more sources, kept in sync with a destination.
//
// There is no status subresource, as in Argo CD: the controller writes status with ordinary updates, and
// `kubectl apply` of a manifest that carries a status keeps it.
//
// +genclient
// +genclient:noStatus
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=applications,singular=application,shortName=app;apps,categories=argocd
// +kubebuilder:printcolumn:name="Sync Status",type=string,JSONPath=`.status.sync.status`
// +kubebuilder:printcolumn:name="Health Status",type=string,JSONPath=`.status.health.status`
// +kubebuilder:printcolumn:name="Revision",type=string,JSONPath=`.status.sync.revision`,priority=10
// +kubebuilder:printcolumn:name="Project",type=string,JSONPath=`.spec.project`,priority=10
type Application struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`

	// The CEL rules live here rather than on ApplicationSpec because an ApplicationSet template (or a
	// generator's template override) may leave source and destination to templatePatch or to the merge.
	//
	// +kubebuilder:validation:XValidation:rule="has(self.source) || has(self.sources) || has(self.sourceHydrator)",message="spec.source, spec.sources or spec.sourceHydrator is required"
	// +kubebuilder:validation:XValidation:rule="has(self.destination)",message="spec.destination is required"
	Spec ApplicationSpec `json:"spec"`
	// +optional
	Status ApplicationStatus `json:"status,omitzero"`
	// Operation is a request, written by a user or the controller, that the controller carries out (a sync).
	// +optional
	Operation *Operation `json:"operation,omitempty"`
}

// ApplicationList is a list of Applications.
//
// +kubebuilder:object:root=true
type ApplicationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata"`
	Items           []Application `json:"items"`
}

// ApplicationSpec is the desired state of an Application.
type ApplicationSpec struct {
	// Source is the single source of the manifests. Use Sources for several.
	// +optional
	Source *ApplicationSource `json:"source,omitempty"`
	// Sources are several sources whose manifests are combined; a source with `ref` only supplies files to
	// the others (`$ref/path/values.yaml`).
	// +optional
	Sources ApplicationSources `json:"sources,omitzero"`
	// SourceHydrator renders a dry source into a hydrated branch and syncs from there.
	// +optional
	SourceHydrator *SourceHydrator `json:"sourceHydrator,omitempty"`
	// Destination is the cluster and namespace to deploy to.
	// +optional
	Destination ApplicationDestination `json:"destination,omitzero"`
	// Project is the AppProject the Application belongs to; empty means "default".
	// +optional
	Project string `json:"project,omitempty"`
	// +optional
	SyncPolicy *SyncPolicy `json:"syncPolicy,omitempty"`
	// +optional
	IgnoreDifferences IgnoreDifferences `json:"ignoreDifferences,omitzero"`
	// Info is free-form metadata shown in the UI.
	// +optional
	Info []Info `json:"info,omitzero"`
	// RevisionHistoryLimit is how many entries status.history keeps (default 10).
	// +kubebuilder:validation:Minimum=0
	// +optional
	RevisionHistoryLimit *int64 `json:"revisionHistoryLimit,omitempty"`
}

// ApplicationSources is a list of sources.
type ApplicationSources []ApplicationSource

// ApplicationSource says where manifests come from and how to render them.
type ApplicationSource struct {
	// RepoURL is a Git repository, Helm repository or OCI registry URL.
	RepoURL string `json:"repoURL"`
	// Path is the directory inside a Git repository.
	// +optional
	Path string `json:"path,omitempty"`
	// TargetRevision is a branch, tag, commit or Helm chart version (constraint).
	// +optional
	TargetRevision string `json:"targetRevision,omitempty"`
	// +optional
	Helm *ApplicationSourceHelm `json:"helm,omitempty"`
	// +optional
	Kustomize *ApplicationSourceKustomize `json:"kustomize,omitempty"`
	// +optional
	Directory *ApplicationSourceDirectory `json:"directory,omitempty"`
	// +optional
	Plugin *ApplicationSourcePlugin `json:"plugin,omitempty"`
	// Chart is the Helm chart name, for Helm repositories.
	// +optional
	Chart string `json:"chart,omitempty"`
	// Ref names this source so other sources can read its files as `$ref/...`.
	// +optional
	Ref string `json:"ref,omitempty"`
	// Name is a display name for the source.
	// +optional
	Name string `json:"name,omitempty"`
	// TagPrefix is stripped from tags when resolving semver constraints.
	// +optional
	TagPrefix string `json:"tagPrefix,omitempty"`
}

// ApplicationSourceHelm holds the Helm options of a source.
type ApplicationSourceHelm struct {
	// +optional
	ValueFiles []string `json:"valueFiles,omitzero"`
	// +optional
	Parameters []HelmParameter `json:"parameters,omitzero"`
	// +optional
	ReleaseName string `json:"releaseName,omitempty"`
	// Values is a values file inline, as a YAML string.
	// +optional
	Values string `json:"values,omitempty"`
	// +optional
	FileParameters []HelmFileParameter `json:"fileParameters,omitzero"`
	// Version is the Helm major version (v3).
	// +optional
	Version string `json:"version,omitempty"`
	// +optional
	PassCredentials *bool `json:"passCredentials,omitempty"`
	// +optional
	IgnoreMissingValueFiles *bool `json:"ignoreMissingValueFiles,omitempty"`
	// +optional
	SkipCrds *bool `json:"skipCrds,omitempty"`
	// ValuesObject is a values file inline, as an object; it wins over Values.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	ValuesObject *runtime.RawExtension `json:"valuesObject,omitempty"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// +optional
	KubeVersion string `json:"kubeVersion,omitempty"`
	// +optional
	APIVersions []string `json:"apiVersions,omitzero"`
	// +optional
	SkipTests *bool `json:"skipTests,omitempty"`
	// +optional
	SkipSchemaValidation *bool `json:"skipSchemaValidation,omitempty"`
}

// HelmParameter is a `--set` (or `--set-string` with forceString) value.
type HelmParameter struct {
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	Value string `json:"value,omitempty"`
	// +optional
	ForceString *bool `json:"forceString,omitempty"`
}

// HelmFileParameter is a `--set-file` value.
type HelmFileParameter struct {
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	Path string `json:"path,omitempty"`
}

// ApplicationSourceKustomize holds the Kustomize options of a source.
type ApplicationSourceKustomize struct {
	// +optional
	NamePrefix string `json:"namePrefix,omitempty"`
	// +optional
	NameSuffix string `json:"nameSuffix,omitempty"`
	// +optional
	Images KustomizeImages `json:"images,omitzero"`
	// +optional
	CommonLabels map[string]string `json:"commonLabels,omitzero"`
	// +optional
	Version string `json:"version,omitempty"`
	// +optional
	CommonAnnotations map[string]string `json:"commonAnnotations,omitzero"`
	// +optional
	ForceCommonLabels *bool `json:"forceCommonLabels,omitempty"`
	// +optional
	ForceCommonAnnotations *bool `json:"forceCommonAnnotations,omitempty"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// +optional
	CommonAnnotationsEnvsubst *bool `json:"commonAnnotationsEnvsubst,omitempty"`
	// +optional
	Replicas KustomizeReplicas `json:"replicas,omitzero"`
	// +optional
	Patches KustomizePatches `json:"patches,omitzero"`
	// +optional
	Components []string `json:"components,omitzero"`
	// +optional
	LabelWithoutSelector *bool `json:"labelWithoutSelector,omitempty"`
	// +optional
	KubeVersion string `json:"kubeVersion,omitempty"`
	// +optional
	APIVersions []string `json:"apiVersions,omitzero"`
	// +optional
	IgnoreMissingComponents *bool `json:"ignoreMissingComponents,omitempty"`
	// +optional
	LabelIncludeTemplates *bool `json:"labelIncludeTemplates,omitempty"`
}

// KustomizeImage is a `kustomize edit set image` argument, e.g. `nginx=nginx:1.27` or `nginx:1.27`.
type KustomizeImage string

// KustomizeImages is a list of image overrides.
type KustomizeImages []KustomizeImage

// KustomizeReplica overrides the replica count of a named workload.
type KustomizeReplica struct {
	Name string `json:"name"`
	// Count is a number or a string holding a number.
	Count intstr.IntOrString `json:"count"`
}

// KustomizeReplicas is a list of replica overrides.
type KustomizeReplicas []KustomizeReplica

// KustomizePatch is a Kustomize patch, inline or from a file, with an optional target.
type KustomizePatch struct {
	// +optional
	Path string `json:"path,omitempty"`
	// +optional
	Patch string `json:"patch,omitempty"`
	// +optional
	Target *KustomizeSelector `json:"target,omitempty"`
	// +optional
	Options map[string]bool `json:"options,omitzero"`
}

// KustomizePatches is a list of patches.
type KustomizePatches []KustomizePatch

// KustomizeSelector selects the resources a patch applies to.
type KustomizeSelector struct {
	KustomizeResID `json:",inline"`
	// +optional
	AnnotationSelector string `json:"annotationSelector,omitempty"`
	// +optional
	LabelSelector string `json:"labelSelector,omitempty"`
}

// KustomizeResID identifies resources by group, version, kind, name and namespace.
type KustomizeResID struct {
	KustomizeGVK `json:",inline"`
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// KustomizeGVK is a group, version and kind, each optional.
type KustomizeGVK struct {
	// +optional
	Group string `json:"group,omitempty"`
	// +optional
	Version string `json:"version,omitempty"`
	// +optional
	Kind string `json:"kind,omitempty"`
}

// ApplicationSourceDirectory holds the options of a plain directory (YAML, JSON and Jsonnet files).
type ApplicationSourceDirectory struct {
	// +optional
	Recurse *bool `json:"recurse,omitempty"`
	// +optional
	Jsonnet *ApplicationSourceJsonnet `json:"jsonnet,omitempty"`
	// Exclude is a glob (or `{a,b}` list of globs) of files to skip.
	// +optional
	Exclude string `json:"exclude,omitempty"`
	// Include is a glob (or `{a,b}` list of globs) of files to read.
	// +optional
	Include string `json:"include,omitempty"`
	// +optional
	DisableExtensionFilter *bool `json:"disableExtensionFilter,omitempty"`
}

// ApplicationSourceJsonnet holds the Jsonnet options of a directory.
type ApplicationSourceJsonnet struct {
	// +optional
	ExtVars []JsonnetVar `json:"extVars,omitzero"`
	// +optional
	TLAs []JsonnetVar `json:"tlas,omitzero"`
	// Libs are library search paths.
	// +optional
	Libs []string `json:"libs,omitzero"`
}

// JsonnetVar is an external variable or top-level argument; Code says the value is Jsonnet, not a string.
type JsonnetVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	// +optional
	Code *bool `json:"code,omitempty"`
}

// ApplicationSourcePlugin holds the options of a config management plugin.
type ApplicationSourcePlugin struct {
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	Env Env `json:"env,omitzero"`
	// +optional
	Parameters ApplicationSourcePluginParameters `json:"parameters,omitzero"`
}

// EnvEntry is an environment variable given to a plugin (as ARGOCD_ENV_<name>).
type EnvEntry struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Env is a list of environment variables.
type Env []EnvEntry

// ApplicationSourcePluginParameters is a list of plugin parameters.
type ApplicationSourcePluginParameters []ApplicationSourcePluginParameter

// ApplicationSourcePluginParameter is a named parameter of a plugin: a string, an array or a map.
type ApplicationSourcePluginParameter struct {
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	String *string `json:"string,omitempty"`
	// +optional
	Array []string `json:"array,omitzero"`
	// +optional
	Map map[string]string `json:"map,omitzero"`
}

// ApplicationDestination is a cluster (by API server URL or by name) and a namespace.
type ApplicationDestination struct {
	// Server is the API server URL of the cluster.
	// +optional
	Server string `json:"server,omitempty"`
	// Namespace is the namespace of namespaced resources that set none.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// Name is the name of the cluster (an alternative to Server).
	// +optional
	Name string `json:"name,omitempty"`
}

// SourceHydrator renders a dry source and commits the result to a branch that the Application syncs from.
type SourceHydrator struct {
	DrySource  DrySource  `json:"drySource"`
	SyncSource SyncSource `json:"syncSource"`
	// HydrateTo is a staging branch the hydrated manifests go to before reaching syncSource.targetBranch.
	// +optional
	HydrateTo *HydrateTo `json:"hydrateTo,omitempty"`
}

// DrySource is the un-rendered source of a hydrator.
type DrySource struct {
	RepoURL        string `json:"repoURL"`
	TargetRevision string `json:"targetRevision"`
	Path           string `json:"path"`
	// +optional
	Helm *ApplicationSourceHelm `json:"helm,omitempty"`
	// +optional
	Kustomize *ApplicationSourceKustomize `json:"kustomize,omitempty"`
	// +optional
	Directory *ApplicationSourceDirectory `json:"directory,omitempty"`
	// +optional
	Plugin *ApplicationSourcePlugin `json:"plugin,omitempty"`
}

// SyncSource is where hydrated manifests are written and synced from.
type SyncSource struct {
	TargetBranch string `json:"targetBranch"`
	Path         string `json:"path"`
	// RepoURL defaults to the dry source's repository.
	// +optional
	RepoURL string `json:"repoURL,omitempty"`
}

// HydrateTo is the branch hydrated manifests are pushed to first.
type HydrateTo struct {
	TargetBranch string `json:"targetBranch"`
}

// SyncPolicy controls when and how a sync happens.
type SyncPolicy struct {
	// Automated turns on automated sync.
	// +optional
	Automated *SyncPolicyAutomated `json:"automated,omitempty"`
	// SyncOptions are `Key=value` options, e.g. `CreateNamespace=true`.
	// +optional
	SyncOptions SyncOptions `json:"syncOptions,omitzero"`
	// +optional
	Retry *RetryStrategy `json:"retry,omitempty"`
	// ManagedNamespaceMetadata is put on the namespace made by CreateNamespace=true.
	// +optional
	ManagedNamespaceMetadata *ManagedNamespaceMetadata `json:"managedNamespaceMetadata,omitempty"`
}

// SyncOptions is a list of `Key=value` sync options.
type SyncOptions []string

// SyncPolicyAutomated says what automated sync may do. Every field is a pointer: unset differs from false
// (an unset Enabled means on).
type SyncPolicyAutomated struct {
	// +optional
	Prune *bool `json:"prune,omitempty"`
	// +optional
	SelfHeal *bool `json:"selfHeal,omitempty"`
	// +optional
	AllowEmpty *bool `json:"allowEmpty,omitempty"`
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
}

// RetryStrategy says how a failed sync is retried.
type RetryStrategy struct {
	// Limit is the number of retries; -1 means no limit.
	// +kubebuilder:validation:Minimum=-1
	// +optional
	Limit *int64 `json:"limit,omitempty"`
	// +optional
	Backoff *Backoff `json:"backoff,omitempty"`
	// Refresh re-resolves the target revision before each retry.
	// +optional
	Refresh *bool `json:"refresh,omitempty"`
}

// Backoff is the wait between retries: duration × factor^attempt, capped at maxDuration.
type Backoff struct {
	// Duration is a Go duration ("5s") or a number of seconds as a string.
	// +optional
	Duration string `json:"duration,omitempty"`
	// +optional
	Factor *int64 `json:"factor,omitempty"`
	// +optional
	MaxDuration string `json:"maxDuration,omitempty"`
}

// ManagedNamespaceMetadata is the labels and annotations of a namespace created by a sync.
type ManagedNamespaceMetadata struct {
	// +optional
	Labels map[string]string `json:"labels,omitzero"`
	// +optional
	Annotations map[string]string `json:"annotations,omitzero"`
}

// IgnoreDifferences is a list of diff exclusions.
type IgnoreDifferences []ResourceIgnoreDifferences

// ResourceIgnoreDifferences excludes parts of matching resources from the diff.
type ResourceIgnoreDifferences struct {
	// +optional
	Group string `json:"group,omitempty"`
	Kind  string `json:"kind"`
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// +optional
	JSONPointers []string `json:"jsonPointers,omitzero"`
	// +optional
	JQPathExpressions []string `json:"jqPathExpressions,omitzero"`
	// ManagedFieldsManagers ignores fields owned by these field managers.
	// +optional
	ManagedFieldsManagers []string `json:"managedFieldsManagers,omitzero"`
}

// Info is a name and value shown in the UI.
type Info struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// HasMultipleSources reports whether the app uses spec.sources; as in Argo CD, spec.sources wins over
// spec.source when both are set.
func (s *ApplicationSpec) HasMultipleSources() bool { return len(s.Sources) > 0 }

// GetSources returns the sources the app renders: spec.sources, else spec.source, else none.
func (s *ApplicationSpec) GetSources() ApplicationSources {
	if s.HasMultipleSources() {
		return s.Sources
	}
	if s.Source != nil {
		return ApplicationSources{*s.Source}
	}
	return nil
}
