package rbac

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
)

// principal is the request subject inside a partition. Every line of a partition applies to the subject the
// partition was built for, so each line's subject is linked to principal with a `g` line; a configured
// subject of the same name would change nothing.
const principal = "moor:subject"

// knownResources and knownActions are what a partition is split by. Requests for other resources and
// actions (action/<group>/<kind>/<name>, update/<group>/...) use the lines of the resource, or all lines.
func knownResources() []string {
	return []string{
		ResourceApplications, ResourceApplicationSets, ResourceClusters, ResourceProjects, ResourceRepositories,
		ResourceAccounts, ResourceCertificates, ResourceGPGKeys, ResourceLogs, ResourceExec, ResourceExtensions,
	}
}

func knownActions() []string {
	return []string{
		ActionGet, ActionCreate, ActionUpdate, ActionDelete, ActionSync, ActionRollback, ActionOverride, ActionInvoke,
	}
}

// partition is the policy of one subject: the lines of the subject and of every role it holds, further split
// by the resource and action they can match. Casbin tries every line it holds on every request, so the fewer
// the faster; the lines left out could not have matched, so no decision changes. A nil enforcer holds no
// lines and denies.
type partition struct {
	byCall     map[call]*casbin.Enforcer   // knownResources x knownActions
	byResource map[string]*casbin.Enforcer // knownResources, any action
	other      *casbin.Enforcer            // all the lines
}

// call is a resource and an action.
type call struct {
	res, act string
}

func (p *partition) enforcer(resource, action string) *casbin.Enforcer {
	if ce, ok := p.byCall[call{resource, action}]; ok {
		return ce
	}
	if ce, ok := p.byResource[resource]; ok {
		return ce
	}
	return p.other
}

// partitioner splits a policy by subject and resource and builds one casbin enforcer per distinct set of
// lines. It is used by New only.
type partitioner struct {
	modelText  string
	funcName   string
	match      func(s, pattern string) bool
	rules      map[string][][]string // subject -> its p lines as casbin rules, without duplicates
	roles      map[string][]string   // subject -> the roles it holds directly
	partitions map[string]*partition // by the sorted subjects whose lines it holds
	enforcers  map[string]*casbin.Enforcer
}

func newPartitioner(mode string, match func(s, pattern string) bool, pol policy) *partitioner {
	funcName := "moorGlobMatch"
	if mode == MatchModeRegex {
		funcName = "moorRegexMatch"
	}
	b := &partitioner{
		modelText:  modelText(funcName),
		funcName:   funcName,
		match:      match,
		rules:      make(map[string][][]string),
		roles:      make(map[string][]string),
		partitions: make(map[string]*partition),
		enforcers:  make(map[string]*casbin.Enforcer),
	}
	seen := make(map[string]bool, len(pol.rules))
	for _, r := range pol.rules {
		f := r.fields()
		key := strings.Join(f, "\x00")
		if seen[key] {
			continue
		}
		seen[key] = true
		b.rules[r.sub] = append(b.rules[r.sub], f)
	}
	for _, l := range pol.links {
		if !slices.Contains(b.roles[l.member], l.role) {
			b.roles[l.member] = append(b.roles[l.member], l.role)
		}
	}
	return b
}

// modelText is the casbin model of Argo CD's RBAC. The match functions are this package's, not casbin's
// globMatch and regexMatch (which cannot be replaced): "*" in a glob crosses "/", and regular expressions
// match whole values.
func modelText(funcName string) string {
	return `
[request_definition]
r = sub, res, act, obj

[policy_definition]
p = sub, res, act, obj, eft

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = g(r.sub, p.sub) && ` + funcName + `(r.res, p.res) && ` + funcName + `(r.act, p.act) && ` + funcName + `(r.obj, p.obj)
`
}

// subjects are all the names the policy mentions, and extra.
func (b *partitioner) subjects(extra string) []string {
	names := make(map[string]bool)
	for s := range b.rules {
		names[s] = true
	}
	for member, roles := range b.roles {
		names[member] = true
		for _, r := range roles {
			names[r] = true
		}
	}
	if extra != "" {
		names[extra] = true
	}
	return slices.Sorted(maps.Keys(names))
}

// owners are the subject and the roles it holds, directly or not, that have lines of their own.
func (b *partitioner) owners(subject string) []string {
	seen := map[string]bool{subject: true}
	queue := []string{subject}
	var owners []string
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if len(b.rules[s]) > 0 {
			owners = append(owners, s)
		}
		for _, r := range b.roles[s] {
			if !seen[r] {
				seen[r] = true
				queue = append(queue, r)
			}
		}
	}
	slices.Sort(owners)
	return owners
}

// partitionFor returns the partition of subject's lines, nil when it has none. Subjects with the same lines
// (the members of one group, say) share a partition.
func (b *partitioner) partitionFor(subject string) (*partition, error) {
	owners := b.owners(subject)
	if len(owners) == 0 {
		return nil, nil
	}
	key := strings.Join(owners, "\x00")
	if p, ok := b.partitions[key]; ok {
		return p, nil
	}
	var lines [][]string
	for _, o := range owners {
		lines = append(lines, b.rules[o]...)
	}
	p := &partition{byCall: make(map[call]*casbin.Enforcer), byResource: make(map[string]*casbin.Enforcer)}
	var err error
	if p.other, err = b.enforcer(lines); err != nil {
		return nil, err
	}
	for _, res := range knownResources() {
		forRes := b.filter(lines, func(l []string) bool { return b.match(res, l[1]) })
		if p.byResource[res], err = b.enforcer(forRes); err != nil {
			return nil, err
		}
		for _, act := range knownActions() {
			forCall := b.filter(forRes, func(l []string) bool { return b.match(act, l[2]) })
			if p.byCall[call{res, act}], err = b.enforcer(forCall); err != nil {
				return nil, err
			}
		}
	}
	b.partitions[key] = p
	return p, nil
}

func (b *partitioner) filter(lines [][]string, keep func(l []string) bool) [][]string {
	var kept [][]string
	for _, l := range lines {
		if keep(l) {
			kept = append(kept, l)
		}
	}
	return kept
}

// enforcer returns a casbin enforcer holding lines, nil for none. Equal sets of lines share one.
func (b *partitioner) enforcer(lines [][]string) (*casbin.Enforcer, error) {
	if len(lines) == 0 {
		return nil, nil
	}
	var key strings.Builder
	for _, l := range lines {
		key.WriteString(strings.Join(l, "\x00"))
		key.WriteByte('\x01')
	}
	if ce, ok := b.enforcers[key.String()]; ok {
		return ce, nil
	}

	m, err := model.NewModelFromString(b.modelText)
	if err != nil {
		return nil, fmt.Errorf("parse casbin model: %w", err)
	}
	ce, err := casbin.NewEnforcer(m)
	if err != nil {
		return nil, fmt.Errorf("create casbin enforcer: %w", err)
	}
	ce.AddFunction(b.funcName, casbinFunc(b.match))
	if _, err := ce.AddPoliciesEx(lines); err != nil {
		return nil, fmt.Errorf("add policy lines: %w", err)
	}
	var links [][]string
	for _, l := range lines {
		if l[0] != principal && !slices.ContainsFunc(links, func(g []string) bool { return g[1] == l[0] }) {
			links = append(links, []string{principal, l[0]})
		}
	}
	if len(links) > 0 {
		if _, err := ce.AddGroupingPoliciesEx(links); err != nil {
			return nil, fmt.Errorf("add role links: %w", err)
		}
	}
	// Compile the matcher now rather than on the first request.
	if _, err := ce.Enforce(principal, "", "", ""); err != nil {
		return nil, fmt.Errorf("compile casbin matcher: %w", err)
	}
	b.enforcers[key.String()] = ce
	return ce, nil
}
