// Package rbac decides whether an authenticated subject may act on an object: the api-server's
// authorization, read from Argo CD's argocd-rbac-cm unchanged and evaluated with casbin.
//
// The casbin model is Argo CD's: a request is (subject, resource, action, object), a policy line is
// `p, <subject>, <resource>, <action>, <object>[, allow|deny]` (allow when the effect is left out), roles are
// granted with `g, <user or group>, <role>`, any matching allow grants and any matching deny wins over it.
// Resources, actions and objects are globs where "*" matches any run of characters, "/" included, and "?"
// one character; with `policy.matchMode: regex` they are regular expressions instead.
//
// The policy is the built-in one (role:readonly, role:admin, `g, admin, role:admin`), then policy.csv, then
// every policy.<name>.csv overlay in key order, then the roles of every AppProject. policy.default is a
// role every subject holds and is checked on its own, so a deny can narrow what a user's own roles grant but
// never what the default role grants. The subjects of one caller (user name, groups) are checked one by one
// and any allow suffices: a deny on a user does not reach into what the user's groups grant.
//
// Speed: casbin tries every policy line it holds on every request, at about a microsecond a line, and has
// a fixed cost of several microseconds a call. New therefore splits the policy: a subject's lines are its own
// and those of every role it reaches through `g` lines, further split by the resource and action they can
// match, and each distinct set of lines gets its own casbin enforcer. No decision changes, because
// `g(r.sub, p.sub)` and the matcher cannot hold for the lines left out; a subject with no lines costs a map
// lookup. Answers are then cached (the policy never changes, so they never go stale; the cache is bounded).
// Building costs about 100µs per distinct set of lines, so New belongs off the request path.
//
// Known limits and deliberate differences from Argo CD:
//   - Globs support "*" and "?" only; character classes and {a,b} alternation match literally.
//   - Regular expressions must match the whole value: they are anchored.
//   - A project role's lines are kept only when their subject is `proj:<project>:<role>` and their object
//     starts with `<project>/`; in regex mode that prefix is matched literally. Other lines are dropped by
//     New and reported by ValidateProjectRoles, which the api-server calls when a project is written.
//   - Role inheritance through `g` lines is followed to any depth (casbin stops at ten levels).
//   - Subjects are matched exactly: `g` lines take no patterns. Apps in any namespace
//     (`<project>/<namespace>/<app>` objects) work through globs, as in Argo CD.
package rbac
