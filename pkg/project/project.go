package project

import (
	"fmt"
	"path"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

// DefaultName is the project every install has.
const DefaultName = "default"

// Default returns the `default` AppProject as created on first start: any source, any destination, any kind.
func Default(namespace string) *v1alpha1.AppProject {
	return &v1alpha1.AppProject{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "AppProject"},
		ObjectMeta: metav1.ObjectMeta{Name: DefaultName, Namespace: namespace},
		Spec: v1alpha1.AppProjectSpec{
			SourceRepos:              []string{"*"},
			Destinations:             []v1alpha1.ApplicationDestination{{Server: "*", Namespace: "*"}},
			ClusterResourceWhitelist: []v1alpha1.ClusterResourceRestrictionItem{{Group: "*", Kind: "*"}},
		},
	}
}

// SourceAllowed says whether repoURL matches the project's sourceRepos.
func SourceAllowed(p *v1alpha1.AppProject, repoURL string) bool {
	return matchList(p.Spec.SourceRepos, func(pattern string) bool {
		return globMatch(normalizeRepo(pattern), normalizeRepo(repoURL))
	})
}

// DestinationAllowed says whether a destination (server URL and/or cluster name, and namespace) matches the
// project's destinations. An empty namespace stands for cluster-scoped resources and matches any pattern.
func DestinationAllowed(p *v1alpha1.AppProject, server, name, namespace string) bool {
	allowed, denied := false, false
	for _, d := range p.Spec.Destinations {
		serverPat, deny := strings.CutPrefix(d.Server, "!")
		namePat, denyName := strings.CutPrefix(d.Name, "!")
		nsPat, denyNS := strings.CutPrefix(d.Namespace, "!")
		deny = deny || denyName || denyNS
		clusterOK := (d.Server != "" && server != "" && globMatch(serverPat, server)) ||
			(d.Name != "" && name != "" && globMatch(namePat, name))
		if namespace == "" && denyNS {
			continue // a denied namespace says nothing about cluster-scoped resources
		}
		nsOK := namespace == "" || globMatch(nsPat, namespace)
		if clusterOK && nsOK {
			if deny {
				denied = true
			} else {
				allowed = true
			}
		}
	}
	return allowed && !denied
}

// ResourceAllowed says whether the project permits a resource kind (and, for cluster-scoped kinds, name).
func ResourceAllowed(p *v1alpha1.AppProject, group, kind, name string, namespaced bool) bool {
	if namespaced {
		for _, gk := range p.Spec.NamespaceResourceBlacklist {
			if gkMatch(gk.Group, gk.Kind, group, kind) {
				return false
			}
		}
		if len(p.Spec.NamespaceResourceWhitelist) == 0 {
			return true
		}
		for _, gk := range p.Spec.NamespaceResourceWhitelist {
			if gkMatch(gk.Group, gk.Kind, group, kind) {
				return true
			}
		}
		return false
	}
	for _, r := range p.Spec.ClusterResourceBlacklist {
		if gkMatch(r.Group, r.Kind, group, kind) && (r.Name == "" || globMatch(r.Name, name)) {
			return false
		}
	}
	for _, r := range p.Spec.ClusterResourceWhitelist {
		if gkMatch(r.Group, r.Kind, group, kind) && (r.Name == "" || globMatch(r.Name, name)) {
			return true
		}
	}
	return false
}

// Violation is a limit an Application breaks, worded for a status condition.
type Violation struct {
	Field   string
	Message string
}

func (v Violation) Error() string { return v.Field + ": " + v.Message }

// CheckApplication returns every limit of p that app's spec breaks: sources and destination. The server
// URL is the resolved destination (after a name lookup), when known.
func CheckApplication(p *v1alpha1.AppProject, app *v1alpha1.Application, server string) []Violation {
	var out []Violation
	for i, s := range app.Spec.GetSources() {
		if s.RepoURL != "" && !SourceAllowed(p, s.RepoURL) {
			field := "spec.source.repoURL"
			if app.Spec.HasMultipleSources() {
				field = fmt.Sprintf("spec.sources[%d].repoURL", i)
			}
			out = append(out, Violation{Field: field, Message: fmt.Sprintf("application repo %s is not permitted in project '%s'", s.RepoURL, p.Name)})
		}
	}
	d := app.Spec.Destination
	if server == "" {
		server = d.Server
	}
	if !DestinationAllowed(p, server, d.Name, d.Namespace) {
		target := server
		if target == "" {
			target = d.Name
		}
		out = append(out, Violation{Field: "spec.destination", Message: fmt.Sprintf(
			"application destination server '%s' and namespace '%s' do not match any of the allowed destinations in project '%s'",
			target, d.Namespace, p.Name)})
	}
	return out
}

func matchList(patterns []string, match func(string) bool) bool {
	allowed := false
	for _, p := range patterns {
		if neg, ok := strings.CutPrefix(p, "!"); ok {
			if match(neg) {
				return false
			}
			continue
		}
		if match(p) {
			allowed = true
		}
	}
	return allowed
}

func gkMatch(groupPat, kindPat, group, kind string) bool {
	return globMatch(groupPat, group) && globMatch(kindPat, kind)
}

// globMatch matches a glob where "*" also crosses "/" (repository URLs and server URLs contain slashes).
func globMatch(pattern, s string) bool {
	if pattern == "*" || pattern == s {
		return true
	}
	// path.Match stops "*" at "/": split the pattern on "*" and match the pieces in order instead.
	if !strings.ContainsAny(pattern, "*?[") {
		return false
	}
	if !strings.Contains(pattern, "*") {
		ok, _ := path.Match(pattern, s)
		return ok
	}
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for i, part := range parts[1:] {
		if i == len(parts)-2 {
			return strings.HasSuffix(s, part)
		}
		idx := strings.Index(s, part)
		if idx < 0 {
			return false
		}
		s = s[idx+len(part):]
	}
	return true
}

// normalizeRepo compares repository URLs without case, a trailing ".git" or "/".
func normalizeRepo(u string) string {
	u = strings.ToLower(strings.TrimSpace(u))
	u = strings.TrimSuffix(u, "/")
	return strings.TrimSuffix(u, ".git")
}
