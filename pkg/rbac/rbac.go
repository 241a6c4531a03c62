package rbac

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

// Resources a policy line names.
const (
	ResourceApplications    = "applications"
	ResourceApplicationSets = "applicationsets"
	ResourceClusters        = "clusters"
	ResourceProjects        = "projects"
	ResourceRepositories    = "repositories"
	ResourceAccounts        = "accounts"
	ResourceCertificates    = "certificates"
	ResourceGPGKeys         = "gpgkeys"
	ResourceLogs            = "logs"
	ResourceExec            = "exec"
	ResourceExtensions      = "extensions"
)

// Actions a policy line names. Applications also take ResourceAction and ManagedResourceAction names.
const (
	ActionGet      = "get"
	ActionCreate   = "create"
	ActionUpdate   = "update"
	ActionDelete   = "delete"
	ActionSync     = "sync"
	ActionRollback = "rollback"
	ActionOverride = "override"
	ActionInvoke   = "invoke"
)

// Keys of argocd-rbac-cm.
const (
	KeyPolicyCSV     = "policy.csv"
	KeyPolicyDefault = "policy.default"
	KeyScopes        = "scopes"
	KeyMatchMode     = "policy.matchMode"
)

// ResourceAction is the action that runs a resource action of an application's resource:
// action/<group>/<kind>/<action>.
func ResourceAction(group, kind, action string) string {
	return "action/" + group + "/" + kind + "/" + action
}

// ManagedResourceAction is the fine-grained action of updating or deleting (verb) one resource of an
// application: <verb>/<group>/<kind>/<namespace>/<name>, matched by policies such as `update/*`.
func ManagedResourceAction(verb, group, kind, namespace, name string) string {
	return verb + "/" + group + "/" + kind + "/" + namespace + "/" + name
}

// AppObject is the object of an application (and its application sets, logs and exec): <project>/<app>.
func AppObject(project, app string) string {
	return project + "/" + app
}

// Config is the content of argocd-rbac-cm.
type Config struct {
	// PolicyCSV is policy.csv.
	PolicyCSV string
	// Overlays are the policy.<name>.csv keys and their text; they are read in key order after PolicyCSV and
	// errors name their key.
	Overlays map[string]string
	// DefaultRole is policy.default: a role every subject holds, anonymous ones included.
	DefaultRole string
	// Scopes are the token claims whose values are subjects besides the user (`groups` when empty).
	Scopes []string
	// MatchMode is policy.matchMode: MatchModeGlob (when empty) or MatchModeRegex.
	MatchMode string
}

// ConfigFromConfigMap reads the data of argocd-rbac-cm. Nothing in it is rejected here; New reports what it
// cannot use.
func ConfigFromConfigMap(data map[string]string) Config {
	cfg := Config{
		PolicyCSV:   data[KeyPolicyCSV],
		DefaultRole: strings.TrimSpace(data[KeyPolicyDefault]),
		Scopes:      parseScopes(data[KeyScopes]),
		MatchMode:   strings.TrimSpace(data[KeyMatchMode]),
	}
	for key, text := range data {
		if key != KeyPolicyCSV && len(key) > len("policy..csv") &&
			strings.HasPrefix(key, "policy.") && strings.HasSuffix(key, ".csv") {
			if cfg.Overlays == nil {
				cfg.Overlays = make(map[string]string)
			}
			cfg.Overlays[key] = text
		}
	}
	return cfg
}

// parseScopes reads `scopes`, a YAML list such as "[groups, email]"; a single bare claim name is accepted too.
func parseScopes(text string) []string {
	var scopes []string
	if err := yaml.Unmarshal([]byte(text), &scopes); err != nil {
		var one string
		if yaml.Unmarshal([]byte(text), &one) == nil {
			scopes = []string{one}
		}
	}
	scopes = slices.DeleteFunc(scopes, func(s string) bool { return strings.TrimSpace(s) == "" })
	if len(scopes) == 0 {
		return defaultScopes()
	}
	return scopes
}

func defaultScopes() []string { return []string{"groups"} }

// Enforcer answers authorization questions. Its policy never changes after New (rebuild it when
// argocd-rbac-cm or an AppProject changes), so its answers can be cached, and it is safe for concurrent use.
type Enforcer struct {
	defaultRole string
	scopes      []string
	// bySubject maps every subject the policy names to the lines that can apply to it (its own and those of
	// every role it holds). Subjects with no lines are absent.
	bySubject map[string]*partition
	decisions *decisions // nil in benchmarks of casbin itself
}

// New builds an Enforcer from the built-in policy, cfg and the roles of projects. A line of cfg that cannot
// be used is an error naming its key and line; an invalid project role line is left out (see
// ValidateProjectRoles), so that one bad project does not lock everyone out.
func New(cfg Config, projects []*v1alpha1.AppProject) (*Enforcer, error) {
	mode := cfg.MatchMode
	if mode == "" {
		mode = MatchModeGlob
	}
	if mode != MatchModeGlob && mode != MatchModeRegex {
		return nil, fmt.Errorf("%s %q: want %q or %q", KeyMatchMode, mode, MatchModeGlob, MatchModeRegex)
	}
	pol, projectRules, err := gatherPolicy(cfg, projects, mode)
	if err != nil {
		return nil, err
	}
	match := globMatch
	if mode == MatchModeRegex {
		rs := regexSet{}
		if err := compileRegexes(rs, &pol, &projectRules); err != nil {
			return nil, err
		}
		match = rs.match
	}
	pol.rules = append(pol.rules, projectRules...)

	b := newPartitioner(mode, match, pol)
	e := &Enforcer{
		defaultRole: strings.TrimSpace(cfg.DefaultRole),
		scopes:      slices.Clone(cfg.Scopes),
		bySubject:   make(map[string]*partition),
		decisions:   &decisions{},
	}
	if len(e.scopes) == 0 {
		e.scopes = defaultScopes()
	}
	for _, subject := range b.subjects(e.defaultRole) {
		p, err := b.partitionFor(subject)
		if err != nil {
			return nil, err
		}
		if p != nil {
			e.bySubject[subject] = p
		}
	}
	return e, nil
}

// gatherPolicy parses the built-in policy, policy.csv, the overlays in key order and the project roles. The
// lines of project roles come back apart, since they are checked differently.
func gatherPolicy(cfg Config, projects []*v1alpha1.AppProject, mode string) (policy, []rule, error) {
	pol, errs := parsePolicy(builtinSource, BuiltinPolicy)
	if len(errs) > 0 {
		return policy{}, nil, fmt.Errorf("parse built-in policy: %w", errors.Join(errs...))
	}
	if mode == MatchModeRegex {
		for i, r := range pol.rules {
			r.res, r.act, r.obj = globToRegex(r.res), globToRegex(r.act), globToRegex(r.obj)
			pol.rules[i] = r
		}
	}
	add := func(source, text string) {
		p, perrs := parsePolicy(source, text)
		pol.rules = append(pol.rules, p.rules...)
		pol.links = append(pol.links, p.links...)
		errs = append(errs, perrs...)
	}
	add(KeyPolicyCSV, cfg.PolicyCSV)
	for _, key := range slices.Sorted(maps.Keys(cfg.Overlays)) {
		add(key, cfg.Overlays[key])
	}
	if len(errs) > 0 {
		return policy{}, nil, errors.Join(errs...)
	}

	var projectRules []rule
	for _, p := range projects {
		if p == nil {
			continue
		}
		pp, _ := projectPolicy(p) // reported by ValidateProjectRoles when the project is written
		projectRules = append(projectRules, pp.rules...)
		pol.links = append(pol.links, pp.links...)
	}
	return pol, projectRules, nil
}

// compileRegexes compiles every pattern into rs. A bad pattern of cfg is an error naming its line; a bad one
// of a project role drops the line, as in glob mode. A project role's project prefix is matched literally, so
// that a "." in the project name cannot reach into another project, and the rest of the object must compile
// on its own, so that it cannot escape its group ("team/a)|(b").
func compileRegexes(rs regexSet, pol *policy, projectRules *[]rule) error {
	var errs []error
	pol.rules = slices.DeleteFunc(pol.rules, func(r rule) bool {
		if err := compileRule(rs, r); err != nil {
			errs = append(errs, &PolicyError{Source: r.source, Line: r.line, Reason: err.Error()})
			return true
		}
		return false
	})
	kept := (*projectRules)[:0]
	for _, r := range *projectRules {
		rest := strings.TrimPrefix(r.obj, r.project+"/")
		if _, err := regexp.Compile(rest); err != nil {
			continue
		}
		r.obj = regexp.QuoteMeta(r.project+"/") + "(?:" + rest + ")"
		if compileRule(rs, r) == nil {
			kept = append(kept, r)
		}
	}
	*projectRules = kept
	return errors.Join(errs...)
}

func compileRule(rs regexSet, r rule) error {
	for _, pattern := range []string{r.res, r.act, r.obj} {
		if err := rs.add(pattern); err != nil {
			return err
		}
	}
	return nil
}

// Enforce reports whether any of the subjects (user name, groups, or a project-role subject) may act on
// object of resource. The default role is checked first and on its own, so no deny takes away what it
// grants; with no subjects (anonymous) it is the only one checked. A subject's deny lines only take away
// that subject's own grants: a user denied something is still allowed it through a group that allows it.
func (e *Enforcer) Enforce(subjects []string, resource, action, object string) bool {
	if e.defaultRole != "" && e.allows(e.defaultRole, resource, action, object) {
		return true
	}
	for _, s := range subjects {
		if e.allows(s, resource, action, object) {
			return true
		}
	}
	return false
}

func (e *Enforcer) allows(subject, resource, action, object string) bool {
	p := e.bySubject[subject]
	if p == nil {
		return false
	}
	ce := p.enforcer(resource, action)
	if ce == nil {
		return false
	}
	key := decisionKey{p: p, resource: resource, action: action, object: object}
	if allowed, ok := e.decisions.get(key); ok {
		return allowed
	}
	ok, err := ce.Enforce(principal, resource, action, object)
	allowed := err == nil && ok // an evaluation error denies
	e.decisions.put(key, allowed)
	return allowed
}

// Scopes are the token claims whose values are RBAC subjects, besides the user's own name.
func (e *Enforcer) Scopes() []string {
	return slices.Clone(e.scopes)
}
