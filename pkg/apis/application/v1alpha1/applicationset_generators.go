package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// ApplicationSetGenerator is one generator; exactly one of its generator fields is set. Selector filters the
// parameter sets it produces.
//
// A generator's template override is typed in Go but schemaless (preserved as is) in the CRD: a full
// ApplicationSpec schema in each of the sixteen places a generator template can appear made the
// ApplicationSet CRD about 1.4 MB, close to etcd's object size limit. The ApplicationSet's own
// spec.template keeps its full schema.
type ApplicationSetGenerator struct {
	// +optional
	List *ListGenerator `json:"list,omitempty"`
	// +optional
	Clusters *ClusterGenerator `json:"clusters,omitempty"`
	// +optional
	Git *GitGenerator `json:"git,omitempty"`
	// +optional
	SCMProvider *SCMProviderGenerator `json:"scmProvider,omitempty"`
	// +optional
	ClusterDecisionResource *DuckTypeGenerator `json:"clusterDecisionResource,omitempty"`
	// +optional
	PullRequest *PullRequestGenerator `json:"pullRequest,omitempty"`
	// +optional
	Matrix *MatrixGenerator `json:"matrix,omitempty"`
	// +optional
	Merge *MergeGenerator `json:"merge,omitempty"`
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
	// +optional
	Plugin *PluginGenerator `json:"plugin,omitempty"`
}

// ApplicationSetNestedGenerator is a generator inside a matrix or merge. A matrix or merge nested in it is
// kept as raw JSON (a CRD schema cannot recurse), with the same shape as MatrixGenerator and MergeGenerator
// whose own generators may not nest further.
type ApplicationSetNestedGenerator struct {
	// +optional
	List *ListGenerator `json:"list,omitempty"`
	// +optional
	Clusters *ClusterGenerator `json:"clusters,omitempty"`
	// +optional
	Git *GitGenerator `json:"git,omitempty"`
	// +optional
	SCMProvider *SCMProviderGenerator `json:"scmProvider,omitempty"`
	// +optional
	ClusterDecisionResource *DuckTypeGenerator `json:"clusterDecisionResource,omitempty"`
	// +optional
	PullRequest *PullRequestGenerator `json:"pullRequest,omitempty"`
	// Matrix is a nested MatrixGenerator, as raw JSON.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Matrix *runtime.RawExtension `json:"matrix,omitempty"`
	// Merge is a nested MergeGenerator, as raw JSON.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Merge *runtime.RawExtension `json:"merge,omitempty"`
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
	// +optional
	Plugin *PluginGenerator `json:"plugin,omitempty"`
}

// MatrixGenerator combines the parameters of two generators (a cartesian product).
type MatrixGenerator struct {
	Generators []ApplicationSetNestedGenerator `json:"generators"`
	// Template overrides parts of the ApplicationSet's template for this generator's Applications.
	// +optional
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	Template *ApplicationSetGeneratorTemplate `json:"template,omitempty"`
}

// MergeGenerator merges the parameters of generators, matching sets on MergeKeys.
type MergeGenerator struct {
	Generators []ApplicationSetNestedGenerator `json:"generators"`
	MergeKeys  []string                        `json:"mergeKeys"`
	// Template overrides parts of the ApplicationSet's template for this generator's Applications.
	// +optional
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	Template *ApplicationSetGeneratorTemplate `json:"template,omitempty"`
}

// ListGenerator produces one parameter set per element.
type ListGenerator struct {
	// Elements are free-form JSON objects; their keys become parameters.
	// +optional
	Elements []apiextensionsv1.JSON `json:"elements,omitzero"`
	// Template overrides parts of the ApplicationSet's template for this generator's Applications.
	// +optional
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	Template *ApplicationSetGeneratorTemplate `json:"template,omitempty"`
	// ElementsYaml is a (templated) YAML list of elements, used instead of Elements.
	// +optional
	ElementsYaml string `json:"elementsYaml,omitempty"`
}

// ClusterGenerator produces one parameter set per cluster Secret (and the local cluster) matching Selector.
type ClusterGenerator struct {
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
	// Template overrides parts of the ApplicationSet's template for this generator's Applications.
	// +optional
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	Template *ApplicationSetGeneratorTemplate `json:"template,omitempty"`
	// Values are extra parameters, templated with the cluster's parameters.
	// +optional
	Values map[string]string `json:"values,omitzero"`
	// FlatList produces a single parameter set holding the list of clusters.
	// +optional
	FlatList *bool `json:"flatList,omitempty"`
}

// GitGenerator produces parameter sets from the directories or files of a Git repository.
type GitGenerator struct {
	RepoURL string `json:"repoURL"`
	// +optional
	Directories []GitDirectoryGeneratorItem `json:"directories,omitzero"`
	// +optional
	Files []GitFileGeneratorItem `json:"files,omitzero"`
	// +optional
	Revision string `json:"revision,omitempty"`
	// +optional
	RequeueAfterSeconds *int64 `json:"requeueAfterSeconds,omitempty"`
	// Template overrides parts of the ApplicationSet's template for this generator's Applications.
	// +optional
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	Template *ApplicationSetGeneratorTemplate `json:"template,omitempty"`
	// PathParamPrefix prefixes the path parameters (to tell two git generators in a matrix apart).
	// +optional
	PathParamPrefix string `json:"pathParamPrefix,omitempty"`
	// +optional
	Values map[string]string `json:"values,omitzero"`
}

// GitDirectoryGeneratorItem is a directory glob, included or excluded.
type GitDirectoryGeneratorItem struct {
	Path string `json:"path"`
	// +optional
	Exclude *bool `json:"exclude,omitempty"`
}

// GitFileGeneratorItem is a file glob (JSON or YAML files whose keys become parameters), included or excluded.
type GitFileGeneratorItem struct {
	Path string `json:"path"`
	// +optional
	Exclude *bool `json:"exclude,omitempty"`
}

// DuckTypeGenerator produces parameter sets from the status of a duck-typed resource (e.g. a PlacementDecision).
type DuckTypeGenerator struct {
	// ConfigMapRef names the ConfigMap describing the resource kind and where its decisions are.
	ConfigMapRef string `json:"configMapRef"`
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	RequeueAfterSeconds *int64 `json:"requeueAfterSeconds,omitempty"`
	// +optional
	LabelSelector *metav1.LabelSelector `json:"labelSelector,omitempty"`
	// Template overrides parts of the ApplicationSet's template for this generator's Applications.
	// +optional
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	Template *ApplicationSetGeneratorTemplate `json:"template,omitempty"`
	// +optional
	Values map[string]string `json:"values,omitzero"`
}

// PluginGenerator produces parameter sets from an HTTP plugin.
type PluginGenerator struct {
	ConfigMapRef PluginConfigMapRef `json:"configMapRef"`
	// +optional
	Input *PluginInput `json:"input,omitempty"`
	// +optional
	RequeueAfterSeconds *int64 `json:"requeueAfterSeconds,omitempty"`
	// Template overrides parts of the ApplicationSet's template for this generator's Applications.
	// +optional
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	Template *ApplicationSetGeneratorTemplate `json:"template,omitempty"`
	// +optional
	Values map[string]string `json:"values,omitzero"`
}

// PluginConfigMapRef names the ConfigMap holding the plugin's URL and token reference.
type PluginConfigMapRef struct {
	Name string `json:"name"`
}

// PluginInput is what the generator sends to the plugin.
type PluginInput struct {
	// Parameters are free-form JSON values, by name.
	// +optional
	Parameters map[string]apiextensionsv1.JSON `json:"parameters,omitzero"`
}

// SecretRef is a key of a Secret in the ApplicationSet's namespace.
type SecretRef struct {
	SecretName string `json:"secretName"`
	Key        string `json:"key"`
}

// ConfigMapKeyRef is a key of a ConfigMap in the ApplicationSet's namespace.
type ConfigMapKeyRef struct {
	ConfigMapName string `json:"configMapName"`
	Key           string `json:"key"`
}

// BasicAuthBitbucketServer is a username and a password Secret.
type BasicAuthBitbucketServer struct {
	Username    string     `json:"username"`
	PasswordRef *SecretRef `json:"passwordRef"`
}

// BearerTokenBitbucket is a bearer token Secret (Bitbucket Server / Data Center).
type BearerTokenBitbucket struct {
	TokenRef *SecretRef `json:"tokenRef"`
}

// BearerTokenBitbucketCloud is a bearer token Secret (Bitbucket Cloud).
type BearerTokenBitbucketCloud struct {
	TokenRef *SecretRef `json:"tokenRef"`
}
