package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// AppProject groups Applications and restricts what they may deploy, from where and to where.
//
// There is no status subresource, as in Argo CD: status.jwtTokensByRole is written with ordinary updates.
//
// +genclient
// +genclient:noStatus
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=appprojects,singular=appproject,shortName=appproj;appprojs,categories=argocd
type AppProject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              AppProjectSpec `json:"spec"`
	// +optional
	Status AppProjectStatus `json:"status,omitzero"`
}

// AppProjectList is a list of AppProjects.
//
// +kubebuilder:object:root=true
type AppProjectList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata"`
	Items           []AppProject `json:"items"`
}

// AppProjectSpec is the policy of a project.
type AppProjectSpec struct {
	// SourceRepos are globs of repository URLs Applications may use.
	// +optional
	SourceRepos []string `json:"sourceRepos,omitzero"`
	// Destinations are the clusters and namespaces Applications may deploy to (globs; `!` negates).
	// +optional
	Destinations []ApplicationDestination `json:"destinations,omitzero"`
	// +optional
	Description string `json:"description,omitempty"`
	// +optional
	Roles []ProjectRole `json:"roles,omitzero"`
	// ClusterResourceWhitelist are the cluster-scoped kinds Applications may deploy.
	// +optional
	ClusterResourceWhitelist []ClusterResourceRestrictionItem `json:"clusterResourceWhitelist,omitzero"`
	// NamespaceResourceBlacklist are the namespaced kinds Applications may not deploy.
	// +optional
	NamespaceResourceBlacklist []metav1.GroupKind `json:"namespaceResourceBlacklist,omitzero"`
	// +optional
	OrphanedResources *OrphanedResourcesMonitorSettings `json:"orphanedResources,omitempty"`
	// SyncWindows allow or deny syncs on a schedule.
	// +optional
	SyncWindows SyncWindows `json:"syncWindows,omitzero"`
	// NamespaceResourceWhitelist are the namespaced kinds Applications may deploy (all when unset).
	// +optional
	NamespaceResourceWhitelist []metav1.GroupKind `json:"namespaceResourceWhitelist,omitzero"`
	// SignatureKeys are the GPG key IDs a commit must be signed with.
	// +optional
	SignatureKeys []SignatureKey `json:"signatureKeys,omitzero"`
	// ClusterResourceBlacklist are the cluster-scoped kinds Applications may not deploy.
	// +optional
	ClusterResourceBlacklist []ClusterResourceRestrictionItem `json:"clusterResourceBlacklist,omitzero"`
	// SourceNamespaces are the namespaces (globs) Applications of this project may live in.
	// +optional
	SourceNamespaces []string `json:"sourceNamespaces,omitzero"`
	// PermitOnlyProjectScopedClusters limits destinations to clusters that belong to this project.
	// +optional
	PermitOnlyProjectScopedClusters *bool `json:"permitOnlyProjectScopedClusters,omitempty"`
	// DestinationServiceAccounts are the service accounts a sync impersonates, per destination.
	// +optional
	DestinationServiceAccounts []ApplicationDestinationServiceAccount `json:"destinationServiceAccounts,omitzero"`
	// SourceIntegrity is the source verification policy. Moor keeps it as a free-form object.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	SourceIntegrity *runtime.RawExtension `json:"sourceIntegrity,omitempty"`
}

// ClusterResourceRestrictionItem is a cluster-scoped kind, optionally limited to a name (glob).
type ClusterResourceRestrictionItem struct {
	Group string `json:"group"`
	Kind  string `json:"kind"`
	// +optional
	Name string `json:"name,omitempty"`
}

// ProjectRole is a named set of policies that tokens and SSO groups can hold.
type ProjectRole struct {
	Name string `json:"name"`
	// +optional
	Description string `json:"description,omitempty"`
	// Policies are Casbin lines, `p, proj:<project>:<role>, <resource>, <action>, <object>, allow|deny`.
	// +optional
	Policies []string `json:"policies,omitzero"`
	// JWTTokens are the tokens issued for this role (deprecated here; see status.jwtTokensByRole).
	// +optional
	JWTTokens []JWTToken `json:"jwtTokens,omitzero"`
	// Groups are the SSO groups that hold this role.
	// +optional
	Groups []string `json:"groups,omitzero"`
}

// JWTToken records an issued project token (the token itself is never stored).
type JWTToken struct {
	IssuedAt int64 `json:"iat"`
	// +optional
	ExpiresAt int64 `json:"exp,omitempty"`
	// +optional
	ID string `json:"id,omitempty"`
}

// JWTTokens is the list of tokens of one role.
type JWTTokens struct {
	// +optional
	Items []JWTToken `json:"items,omitzero"`
}

// AppProjectStatus is the observed state of a project.
type AppProjectStatus struct {
	// JWTTokensByRole are the issued tokens, by role name.
	// +optional
	JWTTokensByRole map[string]JWTTokens `json:"jwtTokensByRole,omitzero"`
}

// OrphanedResourcesMonitorSettings turns on reporting of resources in destination namespaces that no
// Application manages.
type OrphanedResourcesMonitorSettings struct {
	// Warn adds an OrphanedResourceWarning condition to Applications.
	// +optional
	Warn *bool `json:"warn,omitempty"`
	// +optional
	Ignore []OrphanedResourceKey `json:"ignore,omitzero"`
}

// OrphanedResourceKey matches resources (globs) that are never reported as orphaned.
type OrphanedResourceKey struct {
	// +optional
	Group string `json:"group,omitempty"`
	// +optional
	Kind string `json:"kind,omitempty"`
	// +optional
	Name string `json:"name,omitempty"`
}

// SyncWindows is a list of sync windows.
type SyncWindows []SyncWindow

// SyncWindow allows or denies syncs of matching Applications while its schedule is active.
type SyncWindow struct {
	// Kind is allow or deny.
	// +kubebuilder:validation:Enum=allow;deny
	// +optional
	Kind string `json:"kind,omitempty"`
	// Schedule is a cron expression for when the window opens.
	// +optional
	Schedule string `json:"schedule,omitempty"`
	// Duration is how long the window stays open (e.g. 1h).
	// +optional
	Duration string `json:"duration,omitempty"`
	// +optional
	Applications []string `json:"applications,omitzero"`
	// +optional
	Namespaces []string `json:"namespaces,omitzero"`
	// +optional
	Clusters []string `json:"clusters,omitzero"`
	// ManualSync lets manual syncs through a deny window (or outside an allow window).
	// +optional
	ManualSync *bool `json:"manualSync,omitempty"`
	// +optional
	TimeZone string `json:"timeZone,omitempty"`
	// AndOperator requires all of applications, namespaces and clusters to match, not any.
	// +optional
	AndOperator *bool `json:"andOperator,omitempty"`
	// +optional
	Description string `json:"description,omitempty"`
	// SyncOverrun lets a running sync finish when a deny window opens.
	// +optional
	SyncOverrun *bool `json:"syncOverrun,omitempty"`
}

// SignatureKey is a GPG key ID trusted for commit signatures.
type SignatureKey struct {
	KeyID string `json:"keyID"`
}

// ApplicationDestinationServiceAccount is the service account a sync to matching destinations impersonates.
type ApplicationDestinationServiceAccount struct {
	Server string `json:"server"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// DefaultServiceAccount is `name` or `namespace:name`.
	DefaultServiceAccount string `json:"defaultServiceAccount"`
}
