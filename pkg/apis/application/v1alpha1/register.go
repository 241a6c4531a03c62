package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupName is the API group of every resource in this package.
const GroupName = "argoproj.io"

// Kinds, resources and short names, as Argo CD registers them.
const (
	ApplicationKind      = "Application"
	ApplicationSingular  = "application"
	ApplicationPlural    = "applications"
	ApplicationShortName = "app"

	AppProjectKind      = "AppProject"
	AppProjectSingular  = "appproject"
	AppProjectPlural    = "appprojects"
	AppProjectShortName = "appproj"

	ApplicationSetKind      = "ApplicationSet"
	ApplicationSetSingular  = "applicationset"
	ApplicationSetPlural    = "applicationsets"
	ApplicationSetShortName = "appset"
)

var (
	// SchemeGroupVersion is the group and version of this package's types.
	SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1alpha1"}

	// ApplicationGroupVersionKind, AppProjectGroupVersionKind and ApplicationSetGroupVersionKind name the kinds.
	ApplicationGroupVersionKind    = SchemeGroupVersion.WithKind(ApplicationKind)
	AppProjectGroupVersionKind     = SchemeGroupVersion.WithKind(AppProjectKind)
	ApplicationSetGroupVersionKind = SchemeGroupVersion.WithKind(ApplicationSetKind)

	// ApplicationGroupVersionResource, AppProjectGroupVersionResource and ApplicationSetGroupVersionResource
	// name the resources, for dynamic clients.
	ApplicationGroupVersionResource    = SchemeGroupVersion.WithResource(ApplicationPlural)
	AppProjectGroupVersionResource     = SchemeGroupVersion.WithResource(AppProjectPlural)
	ApplicationSetGroupVersionResource = SchemeGroupVersion.WithResource(ApplicationSetPlural)

	// SchemeBuilder registers this package's types; AddToScheme adds them to a scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	AddToScheme   = SchemeBuilder.AddToScheme
)

// Kind takes an unqualified kind and returns a group-qualified GroupKind.
func Kind(kind string) schema.GroupKind {
	return SchemeGroupVersion.WithKind(kind).GroupKind()
}

// Resource takes an unqualified resource and returns a group-qualified GroupResource.
func Resource(resource string) schema.GroupResource {
	return SchemeGroupVersion.WithResource(resource).GroupResource()
}

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(SchemeGroupVersion,
		&Application{}, &ApplicationList{},
		&AppProject{}, &AppProjectList{},
		&ApplicationSet{}, &ApplicationSetList{},
	)
	metav1.AddToGroupVersion(scheme, SchemeGroupVersion)
	return nil
}
