package livestate

import (
	"slices"
	"sort"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestParseTrackingID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want TrackingID
		ok   bool
	}{
		{"namespaced", "myapp:apps/Deployment:prod/web", TrackingID{"myapp", "apps", "Deployment", "prod", "web"}, true},
		{"core group", "myapp:/ConfigMap:prod/settings", TrackingID{"myapp", "", "ConfigMap", "prod", "settings"}, true},
		{"cluster scoped", "myapp:rbac.authorization.k8s.io/ClusterRole:/reader", TrackingID{"myapp", "rbac.authorization.k8s.io", "ClusterRole", "", "reader"}, true},
		{"app in another namespace", "team-a_myapp:/Service:prod/web", TrackingID{"team-a_myapp", "", "Service", "prod", "web"}, true},
		{"empty", "", TrackingID{}, false},
		{"no app", ":apps/Deployment:prod/web", TrackingID{}, false},
		{"no kind", "myapp:apps/:prod/web", TrackingID{}, false},
		{"no name", "myapp:apps/Deployment:prod/", TrackingID{}, false},
		{"label value", "myapp", TrackingID{}, false},
		{"missing parts", "myapp:apps/Deployment", TrackingID{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseTrackingID(tt.in)
			if ok != tt.ok || got != tt.want {
				t.Fatalf("ParseTrackingID(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
			if ok && got.String() != tt.in {
				t.Errorf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}

func TestTrackedApp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts Options
		obj  *unstructured.Unstructured
		want string
	}{
		{"annotation", Options{}, obj(gvkConfigMap, "prod", "a", trackedBy("app1")), "app1"},
		{"annotation copied to another object", Options{},
			obj(gvkConfigMap, "prod", "copy", withAnnotation(AnnotationTrackingID, "app1:/ConfigMap:prod/a")), ""},
		{"annotation of another kind", Options{},
			obj(gvkConfigMap, "prod", "a", withAnnotation(AnnotationTrackingID, "app1:/Secret:prod/a")), ""},
		{"annotation from another namespace", Options{},
			obj(gvkConfigMap, "prod", "a", withAnnotation(AnnotationTrackingID, "app1:/ConfigMap:dev/a")), ""},
		{"cluster scoped ignores the namespace", Options{},
			obj(schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, "", "prod",
				withAnnotation(AnnotationTrackingID, "app1:/Namespace:argocd/prod")), "app1"},
		{"label ignored in annotation mode", Options{}, obj(gvkConfigMap, "prod", "a", withLabel(DefaultInstanceLabelKey, "app1")), ""},
		{"label", Options{Tracking: TrackingLabel}, obj(gvkConfigMap, "prod", "a", withLabel(DefaultInstanceLabelKey, "app1")), "app1"},
		{"custom label key", Options{Tracking: TrackingLabel, InstanceLabelKey: "moor.dev/app"},
			obj(gvkConfigMap, "prod", "a", withLabel("moor.dev/app", "app1")), "app1"},
		{"annotation in label mode", Options{Tracking: TrackingLabel}, obj(gvkConfigMap, "prod", "a", trackedBy("app1")), ""},
		{"annotation+label reads the annotation", Options{Tracking: TrackingAnnotationAndLabel},
			obj(gvkConfigMap, "prod", "a", trackedBy("app1"), withLabel(DefaultInstanceLabelKey, "other")), "app1"},
		{"other installation", Options{InstallationID: "moor-1"},
			obj(gvkConfigMap, "prod", "a", trackedBy("app1"), withAnnotation(AnnotationInstallationID, "moor-2")), ""},
		{"same installation", Options{InstallationID: "moor-1"},
			obj(gvkConfigMap, "prod", "a", trackedBy("app1"), withAnnotation(AnnotationInstallationID, "moor-1")), "app1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := offlineCluster(tt.opts)
			if got := c.prune.appOf(tt.obj, tt.obj.GroupVersionKind()); got != tt.want {
				t.Errorf("app = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPruneKeepsOnlyWhatIsNeeded(t *testing.T) {
	t.Parallel()
	c := offlineCluster(Options{})
	dep := obj(gvkDeployment, "prod", "web")
	heavy := []objOption{
		withField([]any{map[string]any{"manager": "kubectl"}}, "metadata", "managedFields"),
		withAnnotation(annotationLastApplied, `{"big":"json"}`),
		withField(int64(2), "spec", "replicas"),
		withField("Running", "status", "phase"),
	}

	tracked := c.prune.prune(obj(gvkDeployment, "prod", "web", append(heavy, trackedBy("app1"))...), gvkDeployment)
	if tracked.Object == nil {
		t.Fatal("tracked object lost its body")
	}
	if _, ok := tracked.Object.Object["metadata"].(map[string]any)["managedFields"]; ok {
		t.Error("managedFields kept")
	}
	if _, ok := tracked.Object.GetAnnotations()[annotationLastApplied]; ok {
		t.Error("last-applied-configuration kept")
	}
	if _, ok := tracked.Object.GetAnnotations()[AnnotationTrackingID]; !ok {
		t.Error("tracking id dropped")
	}
	if n, _, _ := unstructured.NestedInt64(tracked.Object.Object, "spec", "replicas"); n != 2 {
		t.Error("spec dropped from a tracked object")
	}

	owned := c.prune.prune(obj(gvkReplicaSet, "prod", "web-1", append(heavy, ownedBy(dep))...), gvkReplicaSet)
	if owned.Object == nil || owned.Owners[0].UID != dep.GetUID() {
		t.Errorf("owned object: body kept %v, owners %v", owned.Object != nil, owned.Owners)
	}

	plain := c.prune.prune(obj(gvkConfigMap, "prod", "other", heavy...), gvkConfigMap)
	if !plain.Partial() || plain.Name != "other" || plain.Namespace != "prod" || plain.UID == "" || plain.ResourceVersion != "1" {
		t.Errorf("untracked object: %+v", plain.Resource)
	}
}

func TestIndexes(t *testing.T) {
	t.Parallel()
	c := offlineCluster(Options{})
	var changes []Change
	c.OnChange(func(ch Change) { changes = append(changes, ch) })

	dep := obj(gvkDeployment, "prod", "web", trackedBy("app1"))
	rs := obj(gvkReplicaSet, "prod", "web-1", ownedBy(dep))
	pod := obj(gvkPod, "prod", "web-1-a", ownedBy(rs))
	cm := obj(gvkConfigMap, "prod", "settings", trackedBy("app1"))
	other := obj(gvkConfigMap, "prod", "other", trackedBy("app2"))
	stray := obj(gvkPod, "prod", "stray")
	// Children may arrive before their owners: informers of different types do not wait for each other.
	for _, u := range []*unstructured.Unstructured{pod, rs, dep, cm, other, stray} {
		c.feed(u)
	}

	if got := names(c.ByApp("app1")); !slices.Equal(got, []string{"settings", "web"}) {
		t.Errorf("ByApp(app1) = %v", got)
	}
	if got := names(c.Children(rs.GetUID())); !slices.Equal(got, []string{"web-1-a"}) {
		t.Errorf("Children(rs) = %v", got)
	}
	tree := map[string][]string{}
	for _, n := range c.Tree("app1") {
		var parents []string
		for _, p := range n.ParentRefs {
			parents = append(parents, p.Kind+"/"+p.Name)
		}
		tree[n.GVK.Kind+"/"+n.Name] = parents
	}
	want := map[string][]string{
		"Deployment/web": nil, "ConfigMap/settings": nil,
		"ReplicaSet/web-1": {"Deployment/web"}, "Pod/web-1-a": {"ReplicaSet/web-1"},
	}
	if !equalTree(tree, want) {
		t.Errorf("Tree(app1) = %v, want %v", tree, want)
	}

	// A pod update reaches the app through its owners; a stray pod concerns no app.
	changes = nil
	c.feed(obj(gvkPod, "prod", "web-1-a", ownedBy(rs), withField("Running", "status", "phase")))
	c.feed(obj(gvkPod, "prod", "stray", withField("Running", "status", "phase")))
	if len(changes) != 1 || !slices.Equal(changes[0].Apps, []string{"app1"}) || changes[0].Resource.Name != "web-1-a" {
		t.Fatalf("changes = %+v", changes)
	}
	if !changes[0].StatusOnly() {
		t.Error("a status change was not reported as StatusOnly")
	}

	// Moving a resource to another app tells both.
	changes = nil
	c.feed(obj(gvkConfigMap, "prod", "settings", trackedBy("app2")))
	if len(changes) != 1 || !slices.Equal(sorted(changes[0].Apps), []string{"app1", "app2"}) || changes[0].StatusOnly() {
		t.Fatalf("changes = %+v", changes)
	}
	if got := names(c.ByApp("app1")); !slices.Equal(got, []string{"web"}) {
		t.Errorf("ByApp(app1) after move = %v", got)
	}

	changes = nil
	c.feedDelete(pod)
	if len(changes) != 1 || changes[0].Type != Deleted || !slices.Equal(changes[0].Apps, []string{"app1"}) {
		t.Fatalf("changes = %+v", changes)
	}
	if got := c.Children(rs.GetUID()); len(got) != 0 {
		t.Errorf("Children(rs) after delete = %v", names(got))
	}
}

func TestStatusOnly(t *testing.T) {
	t.Parallel()
	base := obj(gvkDeployment, "prod", "web", withField(int64(2), "spec", "replicas"), withField(int64(1), "status", "replicas"))
	tests := []struct {
		name string
		new  *unstructured.Unstructured
		want bool
	}{
		{"status", obj(gvkDeployment, "prod", "web", withField(int64(2), "spec", "replicas"), withField(int64(2), "status", "replicas")), true},
		{"resource version", obj(gvkDeployment, "prod", "web", withField(int64(2), "spec", "replicas"), withField(int64(1), "status", "replicas"),
			withField("2", "metadata", "resourceVersion")), true},
		{"spec", obj(gvkDeployment, "prod", "web", withField(int64(3), "spec", "replicas"), withField(int64(1), "status", "replicas")), false},
		{"label", obj(gvkDeployment, "prod", "web", withField(int64(2), "spec", "replicas"), withField(int64(1), "status", "replicas"),
			withLabel("tier", "web")), false},
		{"spec removed", obj(gvkDeployment, "prod", "web", withField(int64(1), "status", "replicas")), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := StatusOnly(base, tt.new); got != tt.want {
				t.Errorf("StatusOnly = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWatched(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts Options
		gk   schema.GroupKind
		want bool
	}{
		{"deployment by default", Options{}, schema.GroupKind{Group: "apps", Kind: "Deployment"}, true},
		{"events always excluded", Options{Exclusions: []FilteredResource{}}, schema.GroupKind{Kind: "Event"}, false},
		{"events.k8s.io always excluded", Options{Exclusions: []FilteredResource{}}, schema.GroupKind{Group: "events.k8s.io", Kind: "Event"}, false},
		{"default excludes endpoints", Options{}, schema.GroupKind{Kind: "Endpoints"}, false},
		{"default excludes leases", Options{}, schema.GroupKind{Group: "coordination.k8s.io", Kind: "Lease"}, false},
		{"own exclusions replace the defaults", Options{Exclusions: []FilteredResource{{Kinds: []string{"Secret"}}}},
			schema.GroupKind{Kind: "Endpoints"}, true},
		{"glob group", Options{Exclusions: []FilteredResource{{APIGroups: []string{"*.example.com"}, Kinds: []string{"*"}}}},
			schema.GroupKind{Group: "widgets.example.com", Kind: "Widget"}, false},
		{"cluster glob matches", Options{Server: "https://prod.example.com:6443",
			Exclusions: []FilteredResource{{Kinds: []string{"Secret"}, Clusters: []string{"https://prod.*"}}}},
			schema.GroupKind{Kind: "Secret"}, false},
		{"cluster glob does not match", Options{Server: "https://dev.example.com:6443",
			Exclusions: []FilteredResource{{Kinds: []string{"Secret"}, Clusters: []string{"https://prod.*"}}}},
			schema.GroupKind{Kind: "Secret"}, true},
		{"inclusions restrict", Options{Inclusions: []FilteredResource{{APIGroups: []string{"apps"}}}},
			schema.GroupKind{Kind: "ConfigMap"}, false},
		{"inclusions admit", Options{Inclusions: []FilteredResource{{APIGroups: []string{"apps"}}}},
			schema.GroupKind{Group: "apps", Kind: "Deployment"}, true},
		{"exclusions win over inclusions", Options{
			Inclusions: []FilteredResource{{APIGroups: []string{"apps"}}},
			Exclusions: []FilteredResource{{Kinds: []string{"ReplicaSet"}}}},
			schema.GroupKind{Group: "apps", Kind: "ReplicaSet"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.setDefaults()
			if got := tt.opts.Watched(tt.gk); got != tt.want {
				t.Errorf("Watched(%v) = %v, want %v", tt.gk, got, tt.want)
			}
		})
	}
}

func TestGlob(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "https://a/b", true},
		{"apps", "apps", true},
		{"apps", "app", false},
		{"*.k8s.io", "events.k8s.io", true},
		{"*.k8s.io", "k8s.io", false},
		{"a?c", "abc", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
	}
	for _, tt := range tests {
		if got := glob(tt.pattern, tt.s); got != tt.want {
			t.Errorf("glob(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	t.Parallel()
	if err := (&Options{Tracking: "uid"}).Validate(); err == nil {
		t.Error("unknown tracking method accepted")
	}
	if err := (&Options{Tracking: TrackingAnnotationAndLabel}).Validate(); err != nil {
		t.Error(err)
	}
}

func names(rs []Resource) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Name)
	}
	sort.Strings(out)
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

func equalTree(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || !slices.Equal(v, w) {
			return false
		}
	}
	return true
}
