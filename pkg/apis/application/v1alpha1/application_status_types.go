package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Operation is a requested action on an Application. Only sync exists.
type Operation struct {
	// +optional
	Sync *SyncOperation `json:"sync,omitempty"`
	// +optional
	InitiatedBy *OperationInitiator `json:"initiatedBy,omitempty"`
	// +optional
	Info []Info `json:"info,omitzero"`
	// Retry says how the operation is retried when it fails.
	// +optional
	Retry *RetryStrategy `json:"retry,omitempty"`
}

// OperationInitiator says who asked for an operation.
type OperationInitiator struct {
	// +optional
	Username string `json:"username,omitempty"`
	// Automated is true when the controller started the operation (automated sync).
	// +optional
	Automated bool `json:"automated,omitempty"`
}

// SyncOperation is a sync request: what to sync, to which revision(s), and how.
type SyncOperation struct {
	// +optional
	Revision string `json:"revision,omitempty"`
	// +optional
	Prune bool `json:"prune,omitempty"`
	// +optional
	DryRun bool `json:"dryRun,omitempty"`
	// +optional
	SyncStrategy *SyncStrategy `json:"syncStrategy,omitempty"`
	// Resources limits the sync to these resources (selective sync).
	// +optional
	Resources []SyncOperationResource `json:"resources,omitzero"`
	// Source overrides spec.source for this sync.
	// +optional
	Source *ApplicationSource `json:"source,omitempty"`
	// Manifests overrides the rendered manifests (local sync).
	// +optional
	Manifests []string `json:"manifests,omitzero"`
	// +optional
	SyncOptions SyncOptions `json:"syncOptions,omitzero"`
	// +optional
	Sources ApplicationSources `json:"sources,omitzero"`
	// +optional
	Revisions []string `json:"revisions,omitzero"`
	// AutoHealAttemptsCount counts consecutive self-heal syncs, for the self-heal backoff.
	// +optional
	AutoHealAttemptsCount int64 `json:"autoHealAttemptsCount,omitempty"`
}

// SyncOperationResource names a resource in a selective sync.
type SyncOperationResource struct {
	// +optional
	Group string `json:"group,omitempty"`
	Kind  string `json:"kind"`
	Name  string `json:"name"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// SyncStrategy is apply (kubectl apply) or hook (run hooks only, applying nothing else); apply is the default.
type SyncStrategy struct {
	// +optional
	Apply *SyncStrategyApply `json:"apply,omitempty"`
	// +optional
	Hook *SyncStrategyHook `json:"hook,omitempty"`
}

// SyncStrategyApply applies manifests, with --force when Force is set.
type SyncStrategyApply struct {
	// +optional
	Force bool `json:"force,omitempty"`
}

// SyncStrategyHook runs hooks and applies nothing else.
type SyncStrategyHook struct {
	SyncStrategyApply `json:",inline"`
}

// SyncStatusCode is Synced, OutOfSync or Unknown.
type SyncStatusCode string

// Sync status codes.
const (
	SyncStatusCodeUnknown   SyncStatusCode = "Unknown"
	SyncStatusCodeSynced    SyncStatusCode = "Synced"
	SyncStatusCodeOutOfSync SyncStatusCode = "OutOfSync"
)

// HealthStatusCode is Healthy, Suspended, Progressing, Missing, Degraded or Unknown.
type HealthStatusCode string

// Health status codes, best first.
const (
	HealthStatusHealthy     HealthStatusCode = "Healthy"
	HealthStatusSuspended   HealthStatusCode = "Suspended"
	HealthStatusProgressing HealthStatusCode = "Progressing"
	HealthStatusMissing     HealthStatusCode = "Missing"
	HealthStatusDegraded    HealthStatusCode = "Degraded"
	HealthStatusUnknown     HealthStatusCode = "Unknown"
)

// OperationPhase is the phase of an operation.
type OperationPhase string

// Operation phases.
const (
	OperationRunning     OperationPhase = "Running"
	OperationTerminating OperationPhase = "Terminating"
	OperationFailed      OperationPhase = "Failed"
	OperationError       OperationPhase = "Error"
	OperationSucceeded   OperationPhase = "Succeeded"
)

// ResultCode is the outcome of syncing one resource.
type ResultCode string

// Resource result codes.
const (
	ResultCodeSynced       ResultCode = "Synced"
	ResultCodeSyncFailed   ResultCode = "SyncFailed"
	ResultCodePruned       ResultCode = "Pruned"
	ResultCodePruneSkipped ResultCode = "PruneSkipped"
)

// ApplicationSourceType is the kind of renderer a source uses.
type ApplicationSourceType string

// Source types.
const (
	ApplicationSourceTypeHelm      ApplicationSourceType = "Helm"
	ApplicationSourceTypeKustomize ApplicationSourceType = "Kustomize"
	ApplicationSourceTypeDirectory ApplicationSourceType = "Directory"
	ApplicationSourceTypePlugin    ApplicationSourceType = "Plugin"
)

// ResourceHealthLocation says where resource health is kept: inline in status.resources ("") or only in the
// resource tree cache ("appTree").
type ResourceHealthLocation string

// Resource health locations.
const (
	ResourceHealthLocationInline  ResourceHealthLocation = ""
	ResourceHealthLocationAppTree ResourceHealthLocation = "appTree"
)

// ApplicationStatus is the observed state of an Application, written by the controller.
type ApplicationStatus struct {
	// +optional
	Resources []ResourceStatus `json:"resources,omitzero"`
	// +optional
	Sync SyncStatus `json:"sync,omitzero"`
	// +optional
	Health HealthStatus `json:"health,omitzero"`
	// +optional
	History RevisionHistories `json:"history,omitzero"`
	// +optional
	Conditions []ApplicationCondition `json:"conditions,omitzero"`
	// ReconciledAt is when the controller last compared the Application with its sources.
	// +optional
	ReconciledAt *metav1.Time `json:"reconciledAt,omitempty"`
	// +optional
	OperationState *OperationState `json:"operationState,omitempty"`
	// ObservedAt is deprecated; Argo CD still writes it.
	// +optional
	ObservedAt *metav1.Time `json:"observedAt,omitempty"`
	// +optional
	SourceType ApplicationSourceType `json:"sourceType,omitempty"`
	// +optional
	Summary *ApplicationSummary `json:"summary,omitempty"`
	// +optional
	ResourceHealthSource ResourceHealthLocation `json:"resourceHealthSource,omitempty"`
	// +optional
	SourceTypes []ApplicationSourceType `json:"sourceTypes,omitzero"`
	// ControllerNamespace is the namespace of the controller that reconciles the Application.
	// +optional
	ControllerNamespace string `json:"controllerNamespace,omitempty"`
	// +optional
	SourceHydrator *SourceHydratorStatus `json:"sourceHydrator,omitempty"`
}

// ResourceStatus is the sync and health state of one managed resource.
type ResourceStatus struct {
	// +optional
	Group string `json:"group,omitempty"`
	// +optional
	Version string `json:"version,omitempty"`
	// +optional
	Kind string `json:"kind,omitempty"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	Status SyncStatusCode `json:"status,omitempty"`
	// Health is set only when resource health is kept inline.
	// +optional
	Health *HealthStatus `json:"health,omitempty"`
	// +optional
	Hook bool `json:"hook,omitempty"`
	// +optional
	RequiresPruning bool `json:"requiresPruning,omitempty"`
	// +optional
	SyncWave int64 `json:"syncWave,omitempty"`
	// +optional
	RequiresDeletionConfirmation bool `json:"requiresDeletionConfirmation,omitempty"`
}

// HealthStatus is a health code with an optional message.
type HealthStatus struct {
	// +optional
	Status HealthStatusCode `json:"status,omitempty"`
	// +optional
	Message string `json:"message,omitempty"`
	// +optional
	LastTransitionTime *metav1.Time `json:"lastTransitionTime,omitempty"`
}

// SyncStatus is how the live state compares with the target state.
type SyncStatus struct {
	Status SyncStatusCode `json:"status"`
	// +optional
	ComparedTo *ComparedTo `json:"comparedTo,omitempty"`
	// +optional
	Revision string `json:"revision,omitempty"`
	// +optional
	Revisions []string `json:"revisions,omitzero"`
}

// ComparedTo is the spec the last comparison used.
type ComparedTo struct {
	// Source is written by Argo CD even for multi-source Applications (as `{repoURL: ""}`).
	// +optional
	Source *ApplicationSource `json:"source,omitempty"`
	// +optional
	Destination ApplicationDestination `json:"destination"`
	// +optional
	Sources ApplicationSources `json:"sources,omitzero"`
	// +optional
	IgnoreDifferences IgnoreDifferences `json:"ignoreDifferences,omitzero"`
}

// RevisionHistories is the sync history, oldest first.
type RevisionHistories []RevisionHistory

// RevisionHistory is one completed sync.
type RevisionHistory struct {
	// +optional
	Revision   string      `json:"revision,omitempty"`
	DeployedAt metav1.Time `json:"deployedAt"`
	ID         int64       `json:"id"`
	// +optional
	Source *ApplicationSource `json:"source,omitempty"`
	// +optional
	DeployStartedAt *metav1.Time `json:"deployStartedAt,omitempty"`
	// +optional
	Sources ApplicationSources `json:"sources,omitzero"`
	// +optional
	Revisions []string `json:"revisions,omitzero"`
	// +optional
	InitiatedBy *OperationInitiator `json:"initiatedBy,omitempty"`
}

// ApplicationConditionType is the type of an Application condition.
type ApplicationConditionType string

// Application condition types.
const (
	ApplicationConditionInvalidSpecError        ApplicationConditionType = "InvalidSpecError"
	ApplicationConditionComparisonError         ApplicationConditionType = "ComparisonError"
	ApplicationConditionSyncError               ApplicationConditionType = "SyncError"
	ApplicationConditionDeletionError           ApplicationConditionType = "DeletionError"
	ApplicationConditionUnknownError            ApplicationConditionType = "UnknownError"
	ApplicationConditionSharedResourceWarning   ApplicationConditionType = "SharedResourceWarning"
	ApplicationConditionRepeatedResourceWarning ApplicationConditionType = "RepeatedResourceWarning"
	ApplicationConditionExcludedResourceWarning ApplicationConditionType = "ExcludedResourceWarning"
	ApplicationConditionOrphanedResourceWarning ApplicationConditionType = "OrphanedResourceWarning"
)

// ApplicationCondition is an error or warning about an Application.
type ApplicationCondition struct {
	Type    ApplicationConditionType `json:"type"`
	Message string                   `json:"message"`
	// +optional
	LastTransitionTime *metav1.Time `json:"lastTransitionTime,omitempty"`
}

// OperationState is the progress and result of the current or last operation.
type OperationState struct {
	Operation Operation      `json:"operation"`
	Phase     OperationPhase `json:"phase"`
	// +optional
	Message string `json:"message,omitempty"`
	// +optional
	SyncResult *SyncOperationResult `json:"syncResult,omitempty"`
	StartedAt  metav1.Time          `json:"startedAt"`
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
	// +optional
	RetryCount int64 `json:"retryCount,omitempty"`
}

// SyncOperationResult is the result of a sync.
type SyncOperationResult struct {
	// +optional
	Resources ResourceResults `json:"resources,omitzero"`
	Revision  string          `json:"revision"`
	// +optional
	Source *ApplicationSource `json:"source,omitempty"`
	// +optional
	Sources ApplicationSources `json:"sources,omitzero"`
	// +optional
	Revisions []string `json:"revisions,omitzero"`
	// +optional
	ManagedNamespaceMetadata *ManagedNamespaceMetadata `json:"managedNamespaceMetadata,omitempty"`
}

// ResourceResults is the per-resource results of a sync.
type ResourceResults []ResourceResult

// ResourceResult is what a sync did to one resource. Group, version, kind, namespace and name are always
// written (even empty), as Argo CD does.
type ResourceResult struct {
	Group     string `json:"group"`
	Version   string `json:"version"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// +optional
	Status ResultCode `json:"status,omitempty"`
	// +optional
	Message string `json:"message,omitempty"`
	// HookType is PreSync, Sync, PostSync, SyncFail, PreDelete, PostDelete or Skip, when the resource is a hook.
	// +optional
	HookType string `json:"hookType,omitempty"`
	// HookPhase is the phase of a hook: Running, Succeeded, Failed, Error or Terminating.
	// +optional
	HookPhase OperationPhase `json:"hookPhase,omitempty"`
	// SyncPhase is the phase the resource was synced in.
	// +optional
	SyncPhase string `json:"syncPhase,omitempty"`
	// +optional
	Images []string `json:"images,omitzero"`
}

// ApplicationSummary is derived information shown in lists.
type ApplicationSummary struct {
	// +optional
	ExternalURLs []string `json:"externalURLs,omitzero"`
	// +optional
	Images []string `json:"images,omitzero"`
	// +optional
	IsAppOfApps bool `json:"isAppOfApps,omitempty"`
}

// SourceHydratorStatus is the state of the source hydrator.
type SourceHydratorStatus struct {
	// +optional
	LastSuccessfulOperation *SuccessfulHydrateOperation `json:"lastSuccessfulOperation,omitempty"`
	// +optional
	CurrentOperation *HydrateOperation `json:"currentOperation,omitempty"`
}

// HydrateOperationPhase is Hydrating, Failed or Hydrated.
type HydrateOperationPhase string

// Hydrate operation phases.
const (
	HydrateOperationPhaseHydrating HydrateOperationPhase = "Hydrating"
	HydrateOperationPhaseFailed    HydrateOperationPhase = "Failed"
	HydrateOperationPhaseHydrated  HydrateOperationPhase = "Hydrated"
)

// HydrateOperation is an in-progress or finished hydration.
type HydrateOperation struct {
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// +optional
	FinishedAt *metav1.Time          `json:"finishedAt,omitempty"`
	Phase      HydrateOperationPhase `json:"phase"`
	// +optional
	Message string `json:"message"`
	// +optional
	DrySHA string `json:"drySHA,omitempty"`
	// +optional
	HydratedSHA string `json:"hydratedSHA,omitempty"`
	// +optional
	SourceHydrator *SourceHydrator `json:"sourceHydrator,omitempty"`
}

// SuccessfulHydrateOperation is the last hydration that succeeded.
type SuccessfulHydrateOperation struct {
	// +optional
	DrySHA string `json:"drySHA,omitempty"`
	// +optional
	HydratedSHA string `json:"hydratedSHA,omitempty"`
	// +optional
	SourceHydrator *SourceHydrator `json:"sourceHydrator,omitempty"`
}
