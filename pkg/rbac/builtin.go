package rbac

// BuiltinPolicy is the policy every Enforcer starts from, written as globs. role:readonly may read
// everything, role:admin may do everything and holds role:readonly, and the built-in admin user is
// role:admin. policy.csv can add to these roles but cannot remove from them (a deny line can).
const BuiltinPolicy = `# role:readonly may get every resource.
p, role:readonly, applications,    get, */*, allow
p, role:readonly, applicationsets, get, */*, allow
p, role:readonly, clusters,        get, *,   allow
p, role:readonly, projects,        get, *,   allow
p, role:readonly, repositories,    get, *,   allow
p, role:readonly, accounts,        get, *,   allow
p, role:readonly, certificates,    get, *,   allow
p, role:readonly, gpgkeys,         get, *,   allow
p, role:readonly, logs,            get, */*, allow

# role:admin may do anything to any resource, including sync, override, resource actions, update/* and
# delete/* on managed resources, exec and extensions.
p, role:admin, applications,    *,      */*, allow
p, role:admin, applicationsets, *,      */*, allow
p, role:admin, clusters,        *,      *,   allow
p, role:admin, projects,        *,      *,   allow
p, role:admin, repositories,    *,      *,   allow
p, role:admin, accounts,        *,      *,   allow
p, role:admin, certificates,    *,      *,   allow
p, role:admin, gpgkeys,         *,      *,   allow
p, role:admin, logs,            *,      */*, allow
p, role:admin, exec,            create, */*, allow
p, role:admin, extensions,      invoke, *,   allow

g, role:admin, role:readonly
g, admin, role:admin
`

// builtinSource names the built-in policy in errors, which would be a bug in this package.
const builtinSource = "built-in policy"
