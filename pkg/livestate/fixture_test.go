package livestate

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
)

var (
	gvkDeployment = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	gvkReplicaSet = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"}
	gvkPod        = schema.GroupVersionKind{Version: "v1", Kind: "Pod"}
	gvkConfigMap  = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
)

// objOption shapes a fixture object.
type objOption func(*unstructured.Unstructured)

// obj builds a live object of kind gvk with uid "<kind>-<ns>-<name>" unless withUID says otherwise.
func obj(gvk schema.GroupVersionKind, ns, name string, opts ...objOption) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	u.SetNamespace(ns)
	u.SetName(name)
	u.SetUID(types.UID(fmt.Sprintf("%s-%s-%s", gvk.Kind, ns, name)))
	u.SetResourceVersion("1")
	for _, o := range opts {
		o(u)
	}
	return u
}

func trackedBy(app string) objOption {
	return func(u *unstructured.Unstructured) {
		gvk := u.GroupVersionKind()
		id := TrackingID{App: app, Group: gvk.Group, Kind: gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName()}
		withAnnotation(AnnotationTrackingID, id.String())(u)
	}
}

func withAnnotation(k, v string) objOption {
	return func(u *unstructured.Unstructured) {
		a := u.GetAnnotations()
		if a == nil {
			a = map[string]string{}
		}
		a[k] = v
		u.SetAnnotations(a)
	}
}

func withLabel(k, v string) objOption {
	return func(u *unstructured.Unstructured) {
		l := u.GetLabels()
		if l == nil {
			l = map[string]string{}
		}
		l[k] = v
		u.SetLabels(l)
	}
}

func ownedBy(owner *unstructured.Unstructured) objOption {
	return func(u *unstructured.Unstructured) {
		refs := u.GetOwnerReferences()
		refs = append(refs, ownerRef(owner))
		u.SetOwnerReferences(refs)
	}
}

func withField(value any, path ...string) objOption {
	return func(u *unstructured.Unstructured) {
		_ = unstructured.SetNestedField(u.Object, value, path...)
	}
}

// offlineCluster is a Cluster that is never started: tests feed it events through feed.
func offlineCluster(opts Options) *Cluster {
	c, err := New(&rest.Config{Host: "http://127.0.0.1:1"}, opts)
	if err != nil {
		panic(err)
	}
	return c
}

// offlineWatch stands for the informer of one type.
var offlineWatch = &watch{}

// feed applies an add (or an update when the object was fed before) as an informer would.
func (c *Cluster) feed(u *unstructured.Unstructured) {
	s := c.prune.prune(u.DeepCopy(), u.GroupVersionKind())
	c.idx.mu.RLock()
	old := c.idx.byUID[s.UID]
	c.idx.mu.RUnlock()
	if old != nil {
		c.handle(offlineWatch, Updated, old, s)
		return
	}
	c.handle(offlineWatch, Added, nil, s)
}

func (c *Cluster) feedDelete(u *unstructured.Unstructured) {
	c.idx.mu.RLock()
	old := c.idx.byUID[u.GetUID()]
	c.idx.mu.RUnlock()
	c.handle(offlineWatch, Deleted, nil, old)
}

func ownerRef(owner *unstructured.Unstructured) metav1.OwnerReference {
	controller := true
	return metav1.OwnerReference{
		APIVersion: owner.GetAPIVersion(), Kind: owner.GetKind(), Name: owner.GetName(), UID: owner.GetUID(), Controller: &controller,
	}
}
