package project

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

func proj(spec v1alpha1.AppProjectSpec) *v1alpha1.AppProject {
	return &v1alpha1.AppProject{ObjectMeta: metav1.ObjectMeta{Name: "team"}, Spec: spec}
}

func TestSourceAllowed(t *testing.T) {
	t.Parallel()
	p := proj(v1alpha1.AppProjectSpec{SourceRepos: []string{"https://github.com/acme/*", "!https://github.com/acme/secret*"}})
	tests := []struct {
		repo string
		want bool
	}{
		{"https://github.com/acme/apps.git", true},
		{"https://github.com/acme/apps", true},
		{"https://GitHub.com/acme/apps/", true},
		{"https://github.com/acme/nested/apps", true},
		{"https://github.com/acme/secret-stuff", false},
		{"https://github.com/other/apps", false},
	}
	for _, tt := range tests {
		if got := SourceAllowed(p, tt.repo); got != tt.want {
			t.Errorf("SourceAllowed(%q) = %v, want %v", tt.repo, got, tt.want)
		}
	}
	if !SourceAllowed(Default("moor"), "git@example.com:x/y.git") {
		t.Error("the default project must allow any repository")
	}
}

func TestDestinationAllowed(t *testing.T) {
	t.Parallel()
	p := proj(v1alpha1.AppProjectSpec{Destinations: []v1alpha1.ApplicationDestination{
		{Server: "https://kubernetes.default.svc", Namespace: "team-*"},
		{Name: "prod", Namespace: "shop"},
		{Server: "*", Namespace: "!kube-system"},
	}})
	tests := []struct {
		name, server, cluster, ns string
		want                      bool
	}{
		{"glob namespace", "https://kubernetes.default.svc", "", "team-a", true},
		{"other namespace", "https://kubernetes.default.svc", "", "default", false},
		{"by cluster name", "", "prod", "shop", true},
		{"name mismatch", "", "staging", "shop", false},
		{"denied namespace", "https://kubernetes.default.svc", "", "kube-system", false},
		{"cluster-scoped", "https://kubernetes.default.svc", "", "", true},
	}
	for _, tt := range tests {
		if got := DestinationAllowed(p, tt.server, tt.cluster, tt.ns); got != tt.want {
			t.Errorf("%s: DestinationAllowed = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestResourceAllowed(t *testing.T) {
	t.Parallel()
	p := proj(v1alpha1.AppProjectSpec{
		ClusterResourceWhitelist:   []v1alpha1.ClusterResourceRestrictionItem{{Group: "", Kind: "Namespace"}, {Group: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "team-*"}},
		NamespaceResourceBlacklist: []metav1.GroupKind{{Group: "", Kind: "ResourceQuota"}},
	})
	tests := []struct {
		name                    string
		group, kind, objectName string
		namespaced, want        bool
	}{
		{"whitelisted cluster kind", "", "Namespace", "x", false, true},
		{"cluster kind by name", "rbac.authorization.k8s.io", "ClusterRole", "team-reader", false, true},
		{"cluster kind other name", "rbac.authorization.k8s.io", "ClusterRole", "admin", false, false},
		{"not whitelisted cluster kind", "apiextensions.k8s.io", "CustomResourceDefinition", "x", false, false},
		{"namespaced default allow", "apps", "Deployment", "web", true, true},
		{"blacklisted namespaced", "", "ResourceQuota", "q", true, false},
	}
	for _, tt := range tests {
		if got := ResourceAllowed(p, tt.group, tt.kind, tt.objectName, tt.namespaced); got != tt.want {
			t.Errorf("%s: ResourceAllowed = %v, want %v", tt.name, got, tt.want)
		}
	}
	wl := proj(v1alpha1.AppProjectSpec{NamespaceResourceWhitelist: []metav1.GroupKind{{Group: "apps", Kind: "*"}}})
	if !ResourceAllowed(wl, "apps", "Deployment", "", true) || ResourceAllowed(wl, "", "ConfigMap", "", true) {
		t.Error("namespaceResourceWhitelist must allow only what it names")
	}
}

func TestCheckApplication(t *testing.T) {
	t.Parallel()
	p := proj(v1alpha1.AppProjectSpec{
		SourceRepos:  []string{"https://github.com/acme/*"},
		Destinations: []v1alpha1.ApplicationDestination{{Server: "https://kubernetes.default.svc", Namespace: "team"}},
	})
	app := &v1alpha1.Application{Spec: v1alpha1.ApplicationSpec{
		Source:      &v1alpha1.ApplicationSource{RepoURL: "https://github.com/evil/apps"},
		Destination: v1alpha1.ApplicationDestination{Server: "https://kubernetes.default.svc", Namespace: "other"},
	}}
	v := CheckApplication(p, app, "")
	if len(v) != 2 || v[0].Field != "spec.source.repoURL" || v[1].Field != "spec.destination" {
		t.Fatalf("violations = %+v", v)
	}
	app.Spec.Source.RepoURL = "https://github.com/acme/apps"
	app.Spec.Destination.Namespace = "team"
	if v := CheckApplication(p, app, ""); len(v) != 0 {
		t.Fatalf("unexpected violations %+v", v)
	}
}
