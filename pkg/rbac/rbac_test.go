package rbac

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

func project(name string, roles ...v1alpha1.ProjectRole) *v1alpha1.AppProject {
	return &v1alpha1.AppProject{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.AppProjectSpec{Roles: roles}}
}

func role(name string, policies []string, groups ...string) v1alpha1.ProjectRole {
	return v1alpha1.ProjectRole{Name: name, Policies: policies, Groups: groups}
}

func mustNew(t testing.TB, cfg Config, projects ...*v1alpha1.AppProject) *Enforcer {
	t.Helper()
	e, err := New(cfg, projects)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// request is one authorization question.
type request struct {
	res, act, obj string
}

func TestEnforceMatrix(t *testing.T) {
	t.Parallel()
	cfg := Config{PolicyCSV: "g, alice, role:readonly\n"}
	projects := []*v1alpha1.AppProject{project("team", role("deployer", []string{
		"p, proj:team:deployer, applications, sync, team/*, allow",
	}))}
	plain := mustNew(t, cfg, projects...)
	cfg.DefaultRole = "role:readonly"
	withDefault := mustNew(t, cfg, projects...)

	calls := []struct {
		name string
		call request
	}{
		{"get app", request{ResourceApplications, ActionGet, "team/guestbook"}},
		{"sync app", request{ResourceApplications, ActionSync, "team/guestbook"}},
		{"delete app", request{ResourceApplications, ActionDelete, "team/guestbook"}},
		{"create project", request{ResourceProjects, ActionCreate, "newproj"}},
		{"get cluster", request{ResourceClusters, ActionGet, "https://kubernetes.default.svc"}},
		{"update repository", request{ResourceRepositories, ActionUpdate, "https://github.com/acme/apps.git"}},
		{"sync app of another project", request{ResourceApplications, ActionSync, "other/web"}},
	}
	subjects := []struct {
		name     string
		enforcer *Enforcer
		subjects []string
		want     []bool // in the order of calls
	}{
		{"admin user", plain, []string{"admin"}, []bool{true, true, true, true, true, true, true}},
		{"user with role:readonly", plain, []string{"alice", "some-group"}, []bool{true, false, false, false, true, false, false}},
		{"project role proj:team:deployer", plain, []string{"proj:team:deployer"}, []bool{false, true, false, false, false, false, false}},
		{"unknown user with policy.default role:readonly", withDefault, []string{"mallory"}, []bool{true, false, false, false, true, false, false}},
		{"anonymous with no default", plain, nil, []bool{false, false, false, false, false, false, false}},
		{"anonymous with policy.default role:readonly", withDefault, nil, []bool{true, false, false, false, true, false, false}},
	}
	for _, s := range subjects {
		for i, c := range calls {
			t.Run(s.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				if got := s.enforcer.Enforce(s.subjects, c.call.res, c.call.act, c.call.obj); got != s.want[i] {
					t.Errorf("Enforce(%q, %v) = %v, want %v", s.subjects, c.call, got, s.want[i])
				}
			})
		}
	}
}

// check runs Enforce cases against one enforcer.
type check struct {
	name     string
	subjects []string
	call     request
	want     bool
}

func runChecks(t *testing.T, e *Enforcer, checks []check) {
	t.Helper()
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := e.Enforce(c.subjects, c.call.res, c.call.act, c.call.obj); got != c.want {
				t.Errorf("Enforce(%q, %v) = %v, want %v", c.subjects, c.call, got, c.want)
			}
		})
	}
}

func TestDenyOverridesAllow(t *testing.T) {
	t.Parallel()
	e := mustNew(t, Config{PolicyCSV: `
p, role:dev, applications, *, */*, allow
p, role:dev, applications, delete, prod/*, deny
p, role:dev, clusters, update, *
g, bob, role:dev
p, carol, applications, get, */*
p, carol, applications, get, secret/*, deny
g, carol, role:readonly
p, ops, applications, delete, prod/*, allow
`})
	runChecks(t, e, []check{
		{"allow where no deny matches", []string{"bob"}, request{ResourceApplications, ActionDelete, "dev/api"}, true},
		{"deny of an inherited role wins", []string{"bob"}, request{ResourceApplications, ActionDelete, "prod/api"}, false},
		{"deny is limited to its action", []string{"bob"}, request{ResourceApplications, ActionSync, "prod/api"}, true},
		{"line without effect allows", []string{"bob"}, request{ResourceClusters, ActionUpdate, "https://k8s"}, true},
		{"user's deny wins over allows of the user and its roles", []string{"carol"}, request{ResourceApplications, ActionGet, "secret/db"}, false},
		{"user's deny leaves other objects", []string{"carol"}, request{ResourceApplications, ActionGet, "public/db"}, true},
		{"another subject of the same caller may still allow", []string{"bob", "ops"}, request{ResourceApplications, ActionDelete, "prod/api"}, true},
	})
}

func TestDenyCannotReduceDefault(t *testing.T) {
	t.Parallel()
	policy := `
p, carol, applications, get, */*, deny
p, carol, clusters, get, *, deny
p, role:readonly, logs, get, secret/*, deny
`
	e := mustNew(t, Config{PolicyCSV: policy, DefaultRole: "role:readonly"})
	runChecks(t, e, []check{
		{"subject's deny does not remove default get", []string{"carol"}, request{ResourceApplications, ActionGet, "team/web"}, true},
		{"subject's deny does not remove default cluster get", []string{"carol"}, request{ResourceClusters, ActionGet, "https://k8s"}, true},
		{"the default role's own deny still applies", []string{"carol"}, request{ResourceLogs, ActionGet, "secret/db"}, false},
		{"default grants nothing more", []string{"carol"}, request{ResourceApplications, ActionSync, "team/web"}, false},
	})
	without := mustNew(t, Config{PolicyCSV: policy + "g, carol, role:readonly\n"})
	runChecks(t, without, []check{
		{"the same deny reduces a role granted by g", []string{"carol"}, request{ResourceApplications, ActionGet, "team/web"}, false},
	})
}

func TestGlobObjects(t *testing.T) {
	t.Parallel()
	e := mustNew(t, Config{PolicyCSV: `
p, role:team, applications, sync, team/*, allow
p, role:web, applications, get, */web-*, allow
p, role:web, applications, action/apps/Deployment/*, */web-*, allow
p, role:web, clusters, get, https://*.example.com, allow
g, dev, role:team
g, dev, role:web
`})
	runChecks(t, e, []check{
		{"team/* matches an app of team", []string{"dev"}, request{ResourceApplications, ActionSync, "team/api"}, true},
		{"team/* crosses / (app in another namespace)", []string{"dev"}, request{ResourceApplications, ActionSync, "team/ns1/api"}, true},
		{"team/* does not match teamx/", []string{"dev"}, request{ResourceApplications, ActionSync, "teamx/api"}, false},
		{"*/web-* matches in any project", []string{"dev"}, request{ResourceApplications, ActionGet, "prod/web-frontend"}, true},
		{"*/web-* needs the web- prefix", []string{"dev"}, request{ResourceApplications, ActionGet, "prod/api-web-x"}, false},
		{"glob action", []string{"dev"}, request{ResourceApplications, ResourceAction("apps", "Deployment", "restart"), "prod/web-1"}, true},
		{"glob action of another kind", []string{"dev"}, request{ResourceApplications, ResourceAction("apps", "StatefulSet", "restart"), "prod/web-1"}, false},
		{"glob URL", []string{"dev"}, request{ResourceClusters, ActionGet, "https://east.example.com"}, true},
		{"glob URL of another domain", []string{"dev"}, request{ResourceClusters, ActionGet, "https://east.example.org"}, false},
	})
}

func TestGlobMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s, pattern string
		want       bool
	}{
		{"", "", true},
		{"", "*", true},
		{"a", "", false},
		{"team/app", "*", true},
		{"team/app", "team/*", true},
		{"team/ns/app", "team/*", true},
		{"team", "team/*", false},
		{"prod/web-1", "*/web-*", true},
		{"prod/api", "*/web-*", false},
		{"abcabd", "*abd", true},
		{"aaaa", "*a*a*a*a*", true},
		{"aaa", "*a*a*a*a*", false},
		{"get", "g?t", true},
		{"gét", "g?t", true},
		{"gt", "g?t", false},
		{"action/apps/Deployment/restart", "action/*", true},
		{"update/apps/Deployment/ns/x", "update/*/Deployment/*", true},
		{"literal", "literal", true},
		{"literal", "literaL", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+"~"+tt.s, func(t *testing.T) {
			t.Parallel()
			if got := globMatch(tt.s, tt.pattern); got != tt.want {
				t.Errorf("globMatch(%q, %q) = %v, want %v", tt.s, tt.pattern, got, tt.want)
			}
		})
	}
}

func TestRegexMode(t *testing.T) {
	t.Parallel()
	e := mustNew(t, ConfigFromConfigMap(map[string]string{
		KeyMatchMode: "regex",
		KeyPolicyCSV: `
p, role:r, applications, get, team/(web|api)-[0-9]+, allow
p, role:r, applications, (sync|rollback), team/.*, allow
p, role:r, applications, sync, team/frozen-.*, deny
g, dev, role:r
`,
	}), project("my.proj", role("ci", []string{
		"p, proj:my.proj:ci, applications, get, my.proj/.*",
		"p, proj:my.proj:ci, applications, sync, my.proj/a)|(.*", // would escape its group: dropped
	})))
	runChecks(t, e, []check{
		{"alternation", []string{"dev"}, request{ResourceApplications, ActionGet, "team/api-12"}, true},
		{"no match outside the class", []string{"dev"}, request{ResourceApplications, ActionGet, "team/db-12"}, false},
		{"anchored at the start", []string{"dev"}, request{ResourceApplications, ActionGet, "xteam/web-1"}, false},
		{"anchored at the end", []string{"dev"}, request{ResourceApplications, ActionGet, "team/web-1x"}, false},
		{"regex action", []string{"dev"}, request{ResourceApplications, ActionRollback, "team/x"}, true},
		{"regex deny wins", []string{"dev"}, request{ResourceApplications, ActionSync, "team/frozen-db"}, false},
		{"built-in admin works in regex mode", []string{"admin"}, request{ResourceApplications, ActionDelete, "any/app"}, true},
		{"built-in readonly works in regex mode", []string{"dev", "role:readonly"}, request{ResourceClusters, ActionGet, "https://k8s"}, true},
		{"project role in its project", []string{"proj:my.proj:ci"}, request{ResourceApplications, ActionGet, "my.proj/web"}, true},
		{"project name's dot is literal", []string{"proj:my.proj:ci"}, request{ResourceApplications, ActionGet, "myxproj/web"}, false},
		{"escaping project role line is dropped", []string{"proj:my.proj:ci"}, request{ResourceApplications, ActionSync, "other/web"}, false},
	})

	_, err := New(Config{MatchMode: MatchModeRegex, PolicyCSV: "g, dev, role:r\np, role:r, applications, get, team/(web\n"}, nil)
	if err == nil || !strings.Contains(err.Error(), "policy.csv line 2: invalid regular expression") {
		t.Errorf("New with a bad regex: err = %v, want policy.csv line 2: invalid regular expression", err)
	}
	_, err = New(Config{MatchMode: MatchModeRegex, PolicyCSV: "p, role:r, applications, get, a)|(b\n"}, nil)
	if err == nil {
		t.Error("New accepted a regex that escapes its anchors")
	}
}

func TestOverlays(t *testing.T) {
	t.Parallel()
	cfg := ConfigFromConfigMap(map[string]string{
		KeyPolicyCSV:      "g, alice, role:ops\n",
		"policy.ops.csv":  "p, role:ops, clusters, update, *, allow\n",
		"policy.deny.csv": "p, role:ops, clusters, update, https://prod, deny\n",
		KeyPolicyDefault:  "",
		"policy.yaml":     "not an overlay",
	})
	if got, want := len(cfg.Overlays), 2; got != want {
		t.Fatalf("overlays = %v, want %d of them", cfg.Overlays, want)
	}
	runChecks(t, mustNew(t, cfg), []check{
		{"overlay grants", []string{"alice"}, request{ResourceClusters, ActionUpdate, "https://staging"}, true},
		{"another overlay denies", []string{"alice"}, request{ResourceClusters, ActionUpdate, "https://prod"}, false},
	})

	_, err := New(Config{
		PolicyCSV: "p, a, b, c\n",
		Overlays:  map[string]string{"policy.z.csv": "x, y\n", "policy.a.csv": "# ok\n\ng, a\n"},
	}, nil)
	want := "policy.csv line 1: expected 5 or 6 fields in a p line (p, subject, resource, action, object[, allow|deny]), got 4\n" +
		"policy.a.csv line 3: expected 3 fields in a g line (g, user or group, role), got 2\n" +
		`policy.z.csv line 1: unknown line type "x", want p or g`
	if err == nil || err.Error() != want {
		t.Errorf("New: err =\n%v\nwant (policy.csv, then overlays in key order)\n%s", err, want)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		cfg    Config
		want   string
		policy bool // errors.Is(err, ErrInvalidPolicy)
	}{
		{"p line too short", Config{PolicyCSV: "g, a, role:x\n\np, role:x, applications, get\n"}, "policy.csv line 3: expected 5 or 6 fields", true},
		{"p line too long", Config{PolicyCSV: "p, a, applications, get, */*, allow, extra\n"}, "policy.csv line 1: expected 5 or 6 fields", true},
		{"g line with a domain", Config{PolicyCSV: "g, a, role:x, domain\n"}, "policy.csv line 1: expected 3 fields", true},
		{"unknown line type", Config{PolicyCSV: "# comment\nq, a, b\n"}, `policy.csv line 2: unknown line type "q"`, true},
		{"bad effect", Config{PolicyCSV: "p, a, applications, get, */*, maybe\n"}, `policy.csv line 1: effect "maybe" is neither allow nor deny`, true},
		{"effect in capitals", Config{PolicyCSV: "p, a, applications, get, */*, Deny\n"}, `policy.csv line 1: effect "Deny" is neither allow nor deny`, true},
		{"empty field", Config{PolicyCSV: "p, a, , get, */*\n"}, "policy.csv line 1: field 3 is empty", true},
		{"CSV syntax", Config{PolicyCSV: "p, a, applications, get, \"*/*\n"}, "policy.csv line 1: extraneous or missing \" in quoted-field", true},
		{"quoted field across lines", Config{PolicyCSV: "p, a, applications, get, \"*/*\n\", allow\n"}, "policy.csv line 1: field 5 is a quoted field that spans lines", true},
		{"bare quote", Config{PolicyCSV: "g, a, b\np, a, applications, get, team/\"x\"\n"}, "policy.csv line 2: bare \" in non-quoted-field", true},
		{"in an overlay", Config{Overlays: map[string]string{"policy.team.csv": "p, a\n"}}, "policy.team.csv line 1: expected 5 or 6 fields", true},
		{"every bad line is reported", Config{PolicyCSV: "p, a\np, b, applications, get, */*\ng, c\n"}, "policy.csv line 1: expected 5 or 6 fields in a p line (p, subject, resource, action, object[, allow|deny]), got 2\npolicy.csv line 3: expected 3 fields", true},
		{"unknown match mode", Config{MatchMode: "fuzzy"}, `policy.matchMode "fuzzy": want "glob" or "regex"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := New(tt.cfg, nil)
			if err == nil {
				t.Fatalf("New = %v, want error %q", e, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: err = %q, want it to contain %q", err, tt.want)
			}
			if got := errors.Is(err, ErrInvalidPolicy); got != tt.policy {
				t.Errorf("errors.Is(err, ErrInvalidPolicy) = %v, want %v", got, tt.policy)
			}
		})
	}
}

func TestValidateProjectRoles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    *v1alpha1.AppProject
		want []string // substrings of the error, none for valid
	}{
		{"nil project", nil, nil},
		{"no roles", project("team"), nil},
		{"valid roles", project("team",
			role("deployer", []string{
				"p, proj:team:deployer, applications, sync, team/*, allow",
				"p, proj:team:deployer, applications, get, team/*",
				"p, proj:team:deployer, applications, delete, team/prod-*, deny",
			}, "team-devs"),
			role("viewer", []string{"p, proj:team:viewer, logs, get, team/*"}),
		), nil},
		{"another subject", project("team", role("deployer", []string{
			"p, proj:team:deployer, applications, sync, team/*, allow",
			"p, role:admin, applications, sync, team/*, allow",
		})), []string{`project "team" role "deployer" policies line 2: subject "role:admin" must be "proj:team:deployer"`}},
		{"another role of the project", project("team", role("deployer", []string{
			"p, proj:team:admin, applications, sync, team/*",
		})), []string{`project "team" role "deployer" policies line 1: subject "proj:team:admin" must be "proj:team:deployer"`}},
		{"object outside the project", project("team", role("deployer", []string{
			"p, proj:team:deployer, applications, sync, */*",
			"p, proj:team:deployer, applications, sync, teamx/*",
			"p, proj:team:deployer, clusters, get, *",
		})), []string{
			`project "team" role "deployer" policies line 1: object "*/*" is outside the project: it must start with "team/"`,
			`policies line 2: object "teamx/*"`,
			`policies line 3: object "*"`,
		}},
		{"g line", project("team", role("deployer", []string{"g, proj:team:deployer, role:admin"})),
			[]string{`project "team" role "deployer" policies line 1: a project role may only hold p lines`}},
		{"unparsable line", project("team", role("deployer", []string{"p, proj:team:deployer, applications"})),
			[]string{`project "team" role "deployer" policies line 1: expected 5 or 6 fields`}},
		{"two lines in one policy", project("team", role("deployer", []string{
			"p, proj:team:deployer, applications, get, team/*\np, proj:team:deployer, applications, sync, team/*",
		})), []string{`policies line 1: want exactly one policy line, got 2`}},
		{"empty group", project("team", role("deployer", nil, "devs", " ")),
			[]string{`project "team" role "deployer" groups line 2: group is empty`}},
		{"bad role names", project("team", role("", nil), role("a:b", nil), role("ok", nil), role("ok", nil)), []string{
			`project "team" role "": role name is empty`,
			`project "team" role "a:b": role name may not contain`,
			`project "team" role "ok": role name is used twice`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := ValidateProjectRoles(tt.p)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("ValidateProjectRoles: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ValidateProjectRoles = nil, want errors %q", tt.want)
			}
			if !errors.Is(err, ErrInvalidPolicy) {
				t.Errorf("errors.Is(%v, ErrInvalidPolicy) = false", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ValidateProjectRoles: err =\n%v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

func TestProjectRoles(t *testing.T) {
	t.Parallel()
	team := project("team",
		role("deployer", []string{
			"p, proj:team:deployer, applications, sync, team/*, allow",
			"p, role:admin, applications, delete, team/*, allow",           // another subject: ignored
			"p, proj:team:deployer, applications, delete, */*, allow",      // outside the project: ignored
			"p, proj:team:deployer, clusters, update, *, allow",            // outside the project: ignored
			"g, proj:team:deployer, role:admin",                            // g line: ignored
			"p, proj:team:deployer, applications, sync, team/frozen, deny", // deny within the role
			"p, proj:team:deployer, applications",                          // unparsable: ignored
		}, "team-devs"),
		role("", []string{"p, proj:team:, applications, get, team/*"}), // bad name: ignored
	)
	e, err := New(Config{}, []*v1alpha1.AppProject{team, nil, project("other")})
	if err != nil {
		t.Fatalf("New must ignore invalid project role lines, got %v", err)
	}
	if ValidateProjectRoles(team) == nil {
		t.Error("ValidateProjectRoles(team) = nil, want the ignored lines reported")
	}
	runChecks(t, e, []check{
		{"valid line applies", []string{"proj:team:deployer"}, request{ResourceApplications, ActionSync, "team/web"}, true},
		{"deny of the role applies", []string{"proj:team:deployer"}, request{ResourceApplications, ActionSync, "team/frozen"}, false},
		{"line with another subject grants nothing to it", []string{"proj:team:deployer"}, request{ResourceApplications, ActionDelete, "team/web"}, false},
		{"line with another subject grants nothing to role:admin's holders beyond the built-in", []string{"admin"}, request{ResourceApplications, ActionDelete, "team/web"}, true},
		{"line outside the project is ignored", []string{"proj:team:deployer"}, request{ResourceApplications, ActionDelete, "other/web"}, false},
		{"cluster line is ignored", []string{"proj:team:deployer"}, request{ResourceClusters, ActionUpdate, "https://k8s"}, false},
		{"g line is ignored", []string{"proj:team:deployer"}, request{ResourceProjects, ActionDelete, "team"}, false},
		{"role groups hold the role", []string{"carol", "team-devs"}, request{ResourceApplications, ActionSync, "team/web"}, true},
		{"role groups hold only the role", []string{"team-devs"}, request{ResourceApplications, ActionSync, "other/web"}, false},
	})
}

func TestConfigFromConfigMap(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		data   map[string]string
		scopes []string
		mode   string
		def    string
	}{
		{"empty", nil, []string{"groups"}, "", ""},
		{"flow list", map[string]string{KeyScopes: "[groups, email]"}, []string{"groups", "email"}, "", ""},
		{"block list", map[string]string{KeyScopes: "- email\n- groups\n"}, []string{"email", "groups"}, "", ""},
		{"bare claim", map[string]string{KeyScopes: "email"}, []string{"email"}, "", ""},
		{"empty list", map[string]string{KeyScopes: "[]"}, []string{"groups"}, "", ""},
		{"default and mode", map[string]string{KeyPolicyDefault: " role:readonly\n", KeyMatchMode: "regex"}, []string{"groups"}, "regex", "role:readonly"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := ConfigFromConfigMap(tt.data)
			if fmt.Sprint(cfg.Scopes) != fmt.Sprint(tt.scopes) || cfg.MatchMode != tt.mode || cfg.DefaultRole != tt.def {
				t.Errorf("ConfigFromConfigMap = scopes %q, mode %q, default %q; want %q, %q, %q",
					cfg.Scopes, cfg.MatchMode, cfg.DefaultRole, tt.scopes, tt.mode, tt.def)
			}
			e := mustNew(t, cfg)
			if fmt.Sprint(e.Scopes()) != fmt.Sprint(tt.scopes) {
				t.Errorf("Scopes() = %q, want %q", e.Scopes(), tt.scopes)
			}
		})
	}
}

func TestBuiltinPolicy(t *testing.T) {
	t.Parallel()
	e := mustNew(t, Config{})
	var checks []check
	for _, c := range []request{
		{ResourceApplications, ActionGet, "p/a"},
		{ResourceApplicationSets, ActionGet, "p/a"},
		{ResourceClusters, ActionGet, "https://k8s"},
		{ResourceProjects, ActionGet, "p"},
		{ResourceRepositories, ActionGet, "https://git"},
		{ResourceAccounts, ActionGet, "alice"},
		{ResourceCertificates, ActionGet, "*"},
		{ResourceGPGKeys, ActionGet, "ABCD"},
		{ResourceLogs, ActionGet, "p/a"},
	} {
		checks = append(checks,
			check{"readonly " + c.res + " get", []string{"role:readonly"}, c, true},
			check{"admin " + c.res + " get", []string{"admin"}, c, true},
		)
	}
	for _, c := range []request{
		{ResourceApplications, ActionOverride, "p/a"},
		{ResourceApplications, ResourceAction("apps", "Deployment", "restart"), "p/a"},
		{ResourceApplications, ManagedResourceAction(ActionUpdate, "apps", "Deployment", "ns", "web"), "p/a"},
		{ResourceApplications, ManagedResourceAction(ActionDelete, "", "Pod", "ns", "web-1"), "p/ns/a"},
		{ResourceApplicationSets, ActionCreate, "p/a"},
		{ResourceClusters, ActionDelete, "https://k8s"},
		{ResourceProjects, ActionUpdate, "p"},
		{ResourceRepositories, ActionCreate, "https://git"},
		{ResourceAccounts, ActionUpdate, "alice"},
		{ResourceCertificates, ActionCreate, "*"},
		{ResourceGPGKeys, ActionDelete, "ABCD"},
		{ResourceExec, ActionCreate, "p/a"},
		{ResourceExtensions, ActionInvoke, "metrics"},
	} {
		checks = append(checks,
			check{"readonly " + c.res + " " + c.act, []string{"role:readonly"}, c, false},
			check{"admin " + c.res + " " + c.act, []string{"admin"}, c, true},
		)
	}
	runChecks(t, e, checks)
}

func TestDecisionCache(t *testing.T) {
	t.Parallel()
	e := mustNew(t, Config{PolicyCSV: "p, role:ops, clusters, update, https://prod-*, deny\ng, ops, role:ops\ng, ops, role:admin\n"})
	for i := range maxDecisions + 100 {
		cluster := fmt.Sprintf("https://staging-%d", i)
		if i%7 == 0 {
			cluster = fmt.Sprintf("https://prod-%d", i)
		}
		want := i%7 != 0
		for round := range 2 { // the second round answers from the cache
			if got := e.Enforce([]string{"ops"}, ResourceClusters, ActionUpdate, cluster); got != want {
				t.Fatalf("round %d: Enforce(ops, update, %s) = %v, want %v", round, cluster, got, want)
			}
		}
	}
	if n := e.decisions.n.Load(); n > maxDecisions {
		t.Errorf("decision cache holds %d entries, want at most %d", n, maxDecisions)
	}
}

// TestEnforceConcurrent is meant for -race: an Enforcer is shared by every request.
func TestEnforceConcurrent(t *testing.T) {
	t.Parallel()
	e := mustNew(t, Config{PolicyCSV: benchPolicy(), DefaultRole: "role:readonly"})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				subject := fmt.Sprintf("group-%d", (g*200+i)%40)
				obj := AppObject(fmt.Sprintf("proj-%d", (g*200+i)%40), "app")
				if !e.Enforce([]string{"someone", subject}, ResourceApplications, ActionSync, obj) {
					t.Errorf("%s may not sync %s", subject, obj)
					return
				}
			}
		})
	}
	wg.Wait()
}

// benchPolicy is about 200 lines: 40 teams, each with a role of four lines and a group.
func benchPolicy() string {
	var b strings.Builder
	for i := range 40 {
		fmt.Fprintf(&b, "p, role:team-%d, applications, get, proj-%d/*, allow\n", i, i)
		fmt.Fprintf(&b, "p, role:team-%d, applications, sync, proj-%d/*, allow\n", i, i)
		fmt.Fprintf(&b, "p, role:team-%d, applications, delete, proj-%d/prod-*, deny\n", i, i)
		fmt.Fprintf(&b, "p, role:team-%d, logs, get, proj-%d/*, allow\n", i, i)
		fmt.Fprintf(&b, "g, group-%d, role:team-%d\n", i, i)
	}
	return b.String()
}

// BenchmarkEnforce checks a policy of about 200 lines. "cached" repeats a question, as the api-server does
// when it filters lists; "casbin" turns the decision cache off, so every check runs casbin.
func BenchmarkEnforce(b *testing.B) {
	cached := mustNew(b, Config{PolicyCSV: benchPolicy(), DefaultRole: "role:readonly"})
	uncached := mustNew(b, Config{PolicyCSV: benchPolicy(), DefaultRole: "role:readonly"})
	uncached.decisions = nil
	benches := []struct {
		name     string
		subjects []string
		req      request
		want     bool
	}{
		{"group allowed", []string{"alice", "group-17", "group-99"}, request{ResourceApplications, ActionSync, "proj-17/web"}, true},
		{"group denied", []string{"alice", "group-17", "group-99"}, request{ResourceApplications, ActionDelete, "proj-17/prod-db"}, false},
		{"admin", []string{"admin"}, request{ResourceClusters, ActionUpdate, "https://k8s"}, true},
		{"admin resource action", []string{"admin"}, request{ResourceApplications, ResourceAction("apps", "Deployment", "restart"), "proj-3/web"}, true},
		{"default role", nil, request{ResourceApplications, ActionGet, "proj-3/web"}, true},
		{"unknown user", []string{"mallory", "nobody"}, request{ResourceApplications, ActionSync, "proj-3/web"}, false},
	}
	for _, e := range []struct {
		name string
		e    *Enforcer
	}{{"cached", cached}, {"casbin", uncached}} {
		for _, bb := range benches {
			b.Run(e.name+"/"+bb.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if e.e.Enforce(bb.subjects, bb.req.res, bb.req.act, bb.req.obj) != bb.want {
						b.Fatal("unexpected decision")
					}
				}
			})
		}
		b.Run(e.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					e.e.Enforce([]string{"alice", "group-17"}, ResourceApplications, ActionSync, "proj-17/web")
				}
			})
		})
	}
}

// BenchmarkNew builds the Enforcer of a policy of about 200 lines, as the api-server does when
// argocd-rbac-cm or a project changes.
func BenchmarkNew(b *testing.B) {
	cfg := Config{PolicyCSV: benchPolicy(), DefaultRole: "role:readonly"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(cfg, nil); err != nil {
			b.Fatal(err)
		}
	}
}
