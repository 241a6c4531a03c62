package rbac

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

// ProjectRoleSubject is the subject of a project role, and of the tokens issued for it: proj:<project>:<role>.
func ProjectRoleSubject(project, role string) string {
	return "proj:" + project + ":" + role
}

// ValidateProjectRoles reports every role of p that New would drop in part or whole: a bad role name, a
// policy that does not parse, is not a `p` line, names a subject other than proj:<project>:<role> or an
// object outside <project>/, and an empty group. Each error names the project, the role and the line.
func ValidateProjectRoles(p *v1alpha1.AppProject) error {
	if p == nil {
		return nil
	}
	_, errs := projectPolicy(p)
	return errors.Join(errs...)
}

// projectPolicy returns the lines that p's roles contribute, leaving out (and reporting) the invalid ones.
// A role's policies may only speak for the role and only about the project's own objects, so that whoever
// may edit a project cannot grant themselves anything outside it.
func projectPolicy(p *v1alpha1.AppProject) (policy, []error) {
	var (
		pol  policy
		errs []error
	)
	seen := make(map[string]bool, len(p.Spec.Roles))
	for _, role := range p.Spec.Roles {
		source := fmt.Sprintf("project %q role %q", p.Name, role.Name)
		if reason := roleNameProblem(role.Name); reason != "" {
			errs = append(errs, &PolicyError{Source: source, Reason: reason})
			continue
		}
		if seen[role.Name] {
			errs = append(errs, &PolicyError{Source: source, Reason: "role name is used twice"})
			continue
		}
		seen[role.Name] = true

		subject := ProjectRoleSubject(p.Name, role.Name)
		for i, text := range role.Policies {
			ru, reason := projectRule(p.Name, subject, text)
			if reason != "" {
				errs = append(errs, &PolicyError{Source: source + " policies", Line: i + 1, Reason: reason})
				continue
			}
			ru.source, ru.line = source+" policies", i+1
			pol.rules = append(pol.rules, ru)
		}
		for i, group := range role.Groups {
			group = strings.TrimSpace(group)
			if group == "" {
				errs = append(errs, &PolicyError{Source: source + " groups", Line: i + 1, Reason: "group is empty"})
				continue
			}
			pol.links = append(pol.links, link{member: group, role: subject})
		}
	}
	return pol, errs
}

// projectRule parses one policy of a project role and checks that it stays inside the role and project.
func projectRule(project, subject, text string) (rule, string) {
	pol, errs := parsePolicy("", text)
	if len(errs) > 0 {
		if pe, ok := errors.AsType[*PolicyError](errs[0]); ok {
			return rule{}, pe.Reason
		}
		return rule{}, errs[0].Error()
	}
	switch {
	case len(pol.rules)+len(pol.links) != 1:
		return rule{}, fmt.Sprintf("want exactly one policy line, got %d", len(pol.rules)+len(pol.links))
	case len(pol.links) == 1:
		return rule{}, "a project role may only hold p lines, not g lines"
	}
	ru := pol.rules[0]
	if ru.sub != subject {
		return rule{}, fmt.Sprintf("subject %q must be %q", ru.sub, subject)
	}
	if !strings.HasPrefix(ru.obj, project+"/") {
		return rule{}, fmt.Sprintf("object %q is outside the project: it must start with %q", ru.obj, project+"/")
	}
	ru.project = project
	return ru, ""
}

// roleNameProblem says why name cannot be a role name: it becomes part of a subject and of CSV text.
func roleNameProblem(name string) string {
	switch {
	case name == "":
		return "role name is empty"
	case strings.ContainsAny(name, ":,#\"") || strings.ContainsFunc(name, unicode.IsSpace):
		return "role name may not contain ':', ',', '#', '\"' or spaces"
	}
	return ""
}
