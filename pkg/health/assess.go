package health

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ConfigKeyPrefix starts the argocd-cm (or Moor settings ConfigMap) keys that hold Lua health checks:
// resource.customizations.health.<group>_<kind>.
const ConfigKeyPrefix = "resource.customizations.health."

// Default limits for Lua checks.
const (
	DefaultLuaTimeout       = time.Second
	DefaultLuaCallStackSize = 200
	DefaultLuaRegistryMax   = 256 * 1024
)

// Options configure an Assessor.
type Options struct {
	// Lua maps "<group>_<kind>" to a Lua health script, as the suffix of argocd-cm's
	// resource.customizations.health.<group>_<kind> keys (LuaFromConfigMap strips the prefix). The core group is
	// written as just the kind ("ConfigMap") or with an empty group ("_ConfigMap"); "group/Kind" is accepted too.
	// Group and kind may be globs ("*.crossplane.io_*"); an exact key wins over a glob.
	Lua map[string]string
	// LuaTimeout bounds one run of a script (wall clock, checked at every Lua instruction). Default 1s.
	LuaTimeout time.Duration
	// LuaCallStackSize bounds Lua call depth (runaway recursion fails fast). Default 200.
	LuaCallStackSize int
	// LuaRegistryMaxSize bounds the Lua value stack, in slots. Default 262144.
	LuaRegistryMaxSize int
}

// LuaFromConfigMap picks the Lua health checks out of a settings ConfigMap's data, keyed for Options.Lua.
func LuaFromConfigMap(data map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range data {
		if len(k) > len(ConfigKeyPrefix) && k[:len(ConfigKeyPrefix)] == ConfigKeyPrefix {
			out[k[len(ConfigKeyPrefix):]] = v
		}
	}
	return out
}

// Assessor assesses the health of live objects. It is safe for concurrent use; build one per settings version.
type Assessor struct {
	lua     *luaChecks
	timeout time.Duration
}

// New compiles the Lua checks once and returns an Assessor. A script that does not compile, or a malformed key,
// is an error (a *LuaError or ErrInvalidKey), so a bad setting is reported when it is loaded, not per resource.
func New(opts Options) (*Assessor, error) {
	if opts.LuaTimeout <= 0 {
		opts.LuaTimeout = DefaultLuaTimeout
	}
	if opts.LuaCallStackSize <= 0 {
		opts.LuaCallStackSize = DefaultLuaCallStackSize
	}
	if opts.LuaRegistryMaxSize <= 0 {
		opts.LuaRegistryMaxSize = DefaultLuaRegistryMax
	}
	checks, err := compileLua(opts)
	if err != nil {
		return nil, err
	}
	return &Assessor{lua: checks, timeout: opts.LuaTimeout}, nil
}

// Assess returns obj's health, or nil when Moor has no check for it (such resources do not count in the app
// roll-up, as in Argo CD). Order: deletionTimestamp set → Progressing "Pending deletion"; a Lua check for the
// group and kind; the built-in check for the kind; the generic conditions rule.
//
// When a Lua check fails, Assess returns both an Unknown result carrying the error text (what the controller
// records, as Argo CD does) and the error (for logs and the CLI).
func (a *Assessor) Assess(obj *unstructured.Unstructured) (*Result, error) {
	return a.AssessContext(context.Background(), obj)
}

// AssessContext is Assess bounded by ctx as well as by Options.LuaTimeout.
func (a *Assessor) AssessContext(ctx context.Context, obj *unstructured.Unstructured) (*Result, error) {
	if obj == nil || obj.Object == nil {
		return nil, nil
	}
	if obj.GetDeletionTimestamp() != nil {
		return result(Progressing, "Pending deletion"), nil
	}
	gvk := obj.GroupVersionKind()
	if s := a.lua.lookup(gvk.Group, gvk.Kind); s != nil {
		ctx, cancel := context.WithTimeout(ctx, a.timeout)
		defer cancel()
		res, err := s.run(ctx, obj.Object)
		if err != nil {
			err = &LuaError{Key: s.key, Err: err}
			return result(Unknown, err.Error()), err
		}
		return res, nil
	}
	if check := builtin(gvk.Group, gvk.Kind); check != nil {
		return check(obj.Object), nil
	}
	return generic(obj.Object), nil
}

// HasLua reports whether a Lua check is configured for group and kind.
func (a *Assessor) HasLua(group, kind string) bool { return a.lua.lookup(group, kind) != nil }

func (a *Assessor) String() string {
	return fmt.Sprintf("health.Assessor{lua: %d checks, timeout: %s}", a.lua.count(), a.timeout)
}
