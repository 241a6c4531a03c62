package livestate

import (
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// Resource is one cached live object. Values handed out share Object with the cache: callers must not modify it.
type Resource struct {
	// GVK names the type in the version the cache watches (the server's preferred version).
	GVK             schema.GroupVersionKind
	Namespace, Name string
	UID             types.UID
	ResourceVersion string
	// App is the Application that tracks the object ("" when untracked). With annotation tracking it is the
	// app part of the tracking id, <namespace>_<name> for apps outside the control namespace.
	App string
	// Owners are the object's ownerReferences.
	Owners []metav1.OwnerReference
	// Object is the object without managedFields and kubectl's last-applied annotation. It is nil for objects
	// that are neither tracked nor owned: for those only the fields above are kept (see the package doc).
	Object *unstructured.Unstructured
}

// Ref names the resource.
func (r *Resource) Ref() ResourceRef {
	return ResourceRef{Group: r.GVK.Group, Version: r.GVK.Version, Kind: r.GVK.Kind, Namespace: r.Namespace, Name: r.Name, UID: r.UID}
}

// Partial reports whether the cache kept only the identity of the object, not its spec and status.
// Callers that need the whole object (to compare it before it becomes tracked) read it from the API server.
func (r *Resource) Partial() bool { return r.Object == nil }

// ResourceRef identifies a resource in a tree.
type ResourceRef struct {
	Group, Version, Kind string
	Namespace, Name      string
	UID                  types.UID
}

// stored is what the informers keep: a Resource with the accessors the informer machinery needs.
type stored struct {
	Resource
}

var (
	_ metav1.ObjectMetaAccessor = (*stored)(nil)
	_ runtime.Object            = (*stored)(nil)
)

// GetObjectMeta serves the informer's key and resource-version lookups.
func (s *stored) GetObjectMeta() metav1.Object {
	return &metav1.ObjectMeta{Namespace: s.Namespace, Name: s.Name, UID: s.UID, ResourceVersion: s.ResourceVersion}
}

func (s *stored) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

func (s *stored) DeepCopyObject() runtime.Object {
	c := *s
	c.Owners = append([]metav1.OwnerReference(nil), s.Owners...)
	if s.Object != nil {
		c.Object = s.Object.DeepCopy()
	}
	return &c
}

// tracker decides which app, if any, tracks an object.
type tracker struct {
	method         TrackingMethod
	labelKey       string
	installationID string
}

// appOf returns the app tracking u, or "".
func (t tracker) appOf(u *unstructured.Unstructured, gvk schema.GroupVersionKind) string {
	if t.installationID != "" && u.GetAnnotations()[AnnotationInstallationID] != t.installationID {
		return ""
	}
	if t.method == TrackingLabel {
		return u.GetLabels()[t.labelKey]
	}
	id, ok := ParseTrackingID(u.GetAnnotations()[AnnotationTrackingID])
	if !ok {
		return ""
	}
	// An id copied onto another object (by an operator or by hand) must not make it part of the app.
	if id.Group != gvk.Group || id.Kind != gvk.Kind || id.Name != u.GetName() {
		return ""
	}
	if ns := u.GetNamespace(); ns != "" && id.Namespace != ns {
		return ""
	}
	return id.App
}

// TrackingID is a parsed argocd.argoproj.io/tracking-id value.
type TrackingID struct {
	App, Group, Kind, Namespace, Name string
}

// String formats the id as Argo CD writes it.
func (id TrackingID) String() string {
	return id.App + ":" + id.Group + "/" + id.Kind + ":" + id.Namespace + "/" + id.Name
}

// ParseTrackingID parses <app>:<group>/<kind>:<namespace>/<name>; the group and namespace may be empty.
func ParseTrackingID(v string) (TrackingID, bool) {
	app, rest, ok := strings.Cut(v, ":")
	if !ok || app == "" {
		return TrackingID{}, false
	}
	gk, nn, ok := strings.Cut(rest, ":")
	if !ok {
		return TrackingID{}, false
	}
	group, kind, ok := strings.Cut(gk, "/")
	if !ok || kind == "" {
		return TrackingID{}, false
	}
	ns, name, ok := strings.Cut(nn, "/")
	if !ok || name == "" || strings.Contains(name, "/") {
		return TrackingID{}, false
	}
	return TrackingID{App: app, Group: group, Kind: kind, Namespace: ns, Name: name}, true
}

// pruner turns a decoded object into what the cache keeps.
type pruner struct {
	tracker
	keepManagedFields bool
}

// prune builds the cached form of u, a watched object of type gvk. Tracked objects and objects with owners
// (the descendants a resource tree shows with their health) keep their body; every other object keeps only
// its identity and owner references. u is consumed: its maps are reused, not copied.
func (p pruner) prune(u *unstructured.Unstructured, gvk schema.GroupVersionKind) *stored {
	s := &stored{Resource: Resource{
		GVK:             gvk,
		Namespace:       u.GetNamespace(),
		Name:            u.GetName(),
		UID:             u.GetUID(),
		ResourceVersion: u.GetResourceVersion(),
		App:             p.appOf(u, gvk),
		Owners:          u.GetOwnerReferences(),
	}}
	if s.App == "" && len(s.Owners) == 0 {
		return s
	}
	md, _ := u.Object["metadata"].(map[string]any)
	if md != nil {
		if !p.keepManagedFields {
			delete(md, "managedFields")
		}
		if ann, _ := md["annotations"].(map[string]any); ann != nil {
			delete(ann, annotationLastApplied)
			if len(ann) == 0 {
				delete(md, "annotations")
			}
		}
	}
	s.Object = u
	return s
}
