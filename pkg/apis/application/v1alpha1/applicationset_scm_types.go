package v1alpha1

// SCMProviderGenerator produces one parameter set per repository (or branch) of an SCM organization.
// Exactly one provider is set.
type SCMProviderGenerator struct {
	// +optional
	Github *SCMProviderGeneratorGithub `json:"github,omitempty"`
	// +optional
	Gitlab *SCMProviderGeneratorGitlab `json:"gitlab,omitempty"`
	// +optional
	Bitbucket *SCMProviderGeneratorBitbucket `json:"bitbucket,omitempty"`
	// +optional
	BitbucketServer *SCMProviderGeneratorBitbucketServer `json:"bitbucketServer,omitempty"`
	// +optional
	Gitea *SCMProviderGeneratorGitea `json:"gitea,omitempty"`
	// +optional
	AzureDevOps *SCMProviderGeneratorAzureDevOps `json:"azureDevOps,omitempty"`
	// +optional
	AWSCodeCommit *SCMProviderGeneratorAWSCodeCommit `json:"awsCodeCommit,omitempty"`
	// Filters keep a repository when any filter matches (all conditions of that filter).
	// +optional
	Filters []SCMProviderGeneratorFilter `json:"filters,omitzero"`
	// CloneProtocol is ssh or https.
	// +optional
	CloneProtocol string `json:"cloneProtocol,omitempty"`
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

// SCMProviderGeneratorGithub lists the repositories of a GitHub organization or user.
type SCMProviderGeneratorGithub struct {
	Organization string `json:"organization"`
	// +optional
	API string `json:"api,omitempty"`
	// +optional
	TokenRef *SecretRef `json:"tokenRef,omitempty"`
	// AppSecretName names a repo-creds Secret holding GitHub App credentials.
	// +optional
	AppSecretName string `json:"appSecretName,omitempty"`
	// +optional
	AllBranches *bool `json:"allBranches,omitempty"`
	// +optional
	ExcludeArchivedRepos *bool `json:"excludeArchivedRepos,omitempty"`
}

// SCMProviderGeneratorGitlab lists the projects of a GitLab group.
type SCMProviderGeneratorGitlab struct {
	Group string `json:"group"`
	// +optional
	IncludeSubgroups *bool `json:"includeSubgroups,omitempty"`
	// +optional
	API string `json:"api,omitempty"`
	// +optional
	TokenRef *SecretRef `json:"tokenRef,omitempty"`
	// +optional
	AllBranches *bool `json:"allBranches,omitempty"`
	// +optional
	Insecure *bool `json:"insecure,omitempty"`
	// +optional
	IncludeSharedProjects *bool `json:"includeSharedProjects,omitempty"`
	// +optional
	Topic string `json:"topic,omitempty"`
	// +optional
	CARef *ConfigMapKeyRef `json:"caRef,omitempty"`
	// +optional
	ExcludeArchivedRepos *bool `json:"excludeArchivedRepos,omitempty"`
}

// SCMProviderGeneratorBitbucket lists the repositories of a Bitbucket Cloud workspace.
type SCMProviderGeneratorBitbucket struct {
	Owner string `json:"owner"`
	// +optional
	User string `json:"user,omitempty"`
	// +optional
	AppPasswordRef *SecretRef `json:"appPasswordRef,omitempty"`
	// +optional
	BearerToken *BearerTokenBitbucketCloud `json:"bearerToken,omitempty"`
	// +optional
	AllBranches *bool `json:"allBranches,omitempty"`
}

// SCMProviderGeneratorBitbucketServer lists the repositories of a Bitbucket Server / Data Center project.
type SCMProviderGeneratorBitbucketServer struct {
	Project string `json:"project"`
	API     string `json:"api"`
	// +optional
	BasicAuth *BasicAuthBitbucketServer `json:"basicAuth,omitempty"`
	// +optional
	BearerToken *BearerTokenBitbucket `json:"bearerToken,omitempty"`
	// +optional
	AllBranches *bool `json:"allBranches,omitempty"`
	// +optional
	Insecure *bool `json:"insecure,omitempty"`
	// +optional
	CARef *ConfigMapKeyRef `json:"caRef,omitempty"`
}

// SCMProviderGeneratorGitea lists the repositories of a Gitea organization or user.
type SCMProviderGeneratorGitea struct {
	Owner string `json:"owner"`
	API   string `json:"api"`
	// +optional
	TokenRef *SecretRef `json:"tokenRef,omitempty"`
	// +optional
	AllBranches *bool `json:"allBranches,omitempty"`
	// +optional
	Insecure *bool `json:"insecure,omitempty"`
	// +optional
	ExcludeArchivedRepos *bool `json:"excludeArchivedRepos,omitempty"`
}

// SCMProviderGeneratorAzureDevOps lists the repositories of an Azure DevOps team project.
type SCMProviderGeneratorAzureDevOps struct {
	Organization string `json:"organization"`
	// +optional
	API         string `json:"api,omitempty"`
	TeamProject string `json:"teamProject"`
	// +optional
	AccessTokenRef *SecretRef `json:"accessTokenRef,omitempty"`
	// +optional
	AllBranches *bool `json:"allBranches,omitempty"`
}

// SCMProviderGeneratorAWSCodeCommit lists the repositories of AWS CodeCommit matching tag filters.
type SCMProviderGeneratorAWSCodeCommit struct {
	// +optional
	TagFilters []TagFilter `json:"tagFilters,omitzero"`
	// Role is an IAM role ARN to assume.
	// +optional
	Role string `json:"role,omitempty"`
	// +optional
	Region string `json:"region,omitempty"`
	// +optional
	AllBranches *bool `json:"allBranches,omitempty"`
}

// TagFilter is a resource tag (an empty value matches any value).
type TagFilter struct {
	Key string `json:"key"`
	// +optional
	Value string `json:"value,omitempty"`
}

// SCMProviderGeneratorFilter keeps repositories matching all of its set conditions.
type SCMProviderGeneratorFilter struct {
	// +optional
	RepositoryMatch *string `json:"repositoryMatch,omitempty"`
	// +optional
	PathsExist []string `json:"pathsExist,omitzero"`
	// +optional
	PathsDoNotExist []string `json:"pathsDoNotExist,omitzero"`
	// +optional
	LabelMatch *string `json:"labelMatch,omitempty"`
	// +optional
	BranchMatch *string `json:"branchMatch,omitempty"`
}

// PullRequestGenerator produces one parameter set per open pull request. Exactly one provider is set.
type PullRequestGenerator struct {
	// +optional
	Github *PullRequestGeneratorGithub `json:"github,omitempty"`
	// +optional
	GitLab *PullRequestGeneratorGitLab `json:"gitlab,omitempty"`
	// +optional
	Gitea *PullRequestGeneratorGitea `json:"gitea,omitempty"`
	// +optional
	BitbucketServer *PullRequestGeneratorBitbucketServer `json:"bitbucketServer,omitempty"`
	// +optional
	Bitbucket *PullRequestGeneratorBitbucket `json:"bitbucket,omitempty"`
	// +optional
	AzureDevOps *PullRequestGeneratorAzureDevOps `json:"azuredevops,omitempty"`
	// +optional
	Filters []PullRequestGeneratorFilter `json:"filters,omitzero"`
	// +optional
	RequeueAfterSeconds *int64 `json:"requeueAfterSeconds,omitempty"`
	// Template overrides parts of the ApplicationSet's template for this generator's Applications.
	// +optional
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	Template *ApplicationSetGeneratorTemplate `json:"template,omitempty"`
	// ContinueOnRepoNotFoundError produces no parameters, instead of an error, when the repository is missing.
	// +optional
	ContinueOnRepoNotFoundError *bool `json:"continueOnRepoNotFoundError,omitempty"`
	// +optional
	Values map[string]string `json:"values,omitzero"`
}

// PullRequestGeneratorGithub lists the pull requests of a GitHub repository.
type PullRequestGeneratorGithub struct {
	Owner string `json:"owner"`
	Repo  string `json:"repo"`
	// +optional
	API string `json:"api,omitempty"`
	// +optional
	TokenRef *SecretRef `json:"tokenRef,omitempty"`
	// +optional
	AppSecretName string `json:"appSecretName,omitempty"`
	// +optional
	Labels []string `json:"labels,omitzero"`
}

// PullRequestGeneratorGitLab lists the merge requests of a GitLab project.
type PullRequestGeneratorGitLab struct {
	Project string `json:"project"`
	// +optional
	API string `json:"api,omitempty"`
	// +optional
	TokenRef *SecretRef `json:"tokenRef,omitempty"`
	// +optional
	Labels []string `json:"labels,omitzero"`
	// PullRequestState is opened (default), closed, merged or all.
	// +optional
	PullRequestState string `json:"pullRequestState,omitempty"`
	// +optional
	Insecure *bool `json:"insecure,omitempty"`
	// +optional
	CARef *ConfigMapKeyRef `json:"caRef,omitempty"`
}

// PullRequestGeneratorGitea lists the pull requests of a Gitea repository.
type PullRequestGeneratorGitea struct {
	Owner string `json:"owner"`
	Repo  string `json:"repo"`
	API   string `json:"api"`
	// +optional
	TokenRef *SecretRef `json:"tokenRef,omitempty"`
	// +optional
	Insecure *bool `json:"insecure,omitempty"`
	// +optional
	Labels []string `json:"labels,omitzero"`
}

// PullRequestGeneratorBitbucketServer lists the pull requests of a Bitbucket Server / Data Center repository.
type PullRequestGeneratorBitbucketServer struct {
	Project string `json:"project"`
	Repo    string `json:"repo"`
	API     string `json:"api"`
	// +optional
	BasicAuth *BasicAuthBitbucketServer `json:"basicAuth,omitempty"`
	// +optional
	BearerToken *BearerTokenBitbucket `json:"bearerToken,omitempty"`
	// +optional
	Insecure *bool `json:"insecure,omitempty"`
	// +optional
	CARef *ConfigMapKeyRef `json:"caRef,omitempty"`
}

// PullRequestGeneratorBitbucket lists the pull requests of a Bitbucket Cloud repository.
type PullRequestGeneratorBitbucket struct {
	Owner string `json:"owner"`
	Repo  string `json:"repo"`
	// +optional
	API string `json:"api,omitempty"`
	// +optional
	BasicAuth *BasicAuthBitbucketServer `json:"basicAuth,omitempty"`
	// +optional
	BearerToken *BearerTokenBitbucketCloud `json:"bearerToken,omitempty"`
}

// PullRequestGeneratorAzureDevOps lists the pull requests of an Azure DevOps repository.
type PullRequestGeneratorAzureDevOps struct {
	Organization string `json:"organization"`
	Project      string `json:"project"`
	Repo         string `json:"repo"`
	// +optional
	API string `json:"api,omitempty"`
	// +optional
	TokenRef *SecretRef `json:"tokenRef,omitempty"`
	// +optional
	Labels []string `json:"labels,omitzero"`
}

// PullRequestGeneratorFilter keeps pull requests matching all of its set conditions.
type PullRequestGeneratorFilter struct {
	// +optional
	BranchMatch *string `json:"branchMatch,omitempty"`
	// +optional
	TargetBranchMatch *string `json:"targetBranchMatch,omitempty"`
	// +optional
	TitleMatch *string `json:"titleMatch,omitempty"`
}
