package health

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// luaChecks holds the compiled Lua checks and a pool of sandboxed interpreters to run them.
type luaChecks struct {
	exact map[groupKind]*luaScript
	globs []*luaScript // sorted by key, for a deterministic first match
	pool  sync.Pool    // *lua.LState, sandboxed, no script state
	opts  Options
}

type luaScript struct {
	key         string
	group, kind string // patterns for globs
	proto       *lua.FunctionProto
	checks      *luaChecks
}

func compileLua(opts Options) (*luaChecks, error) {
	lc := &luaChecks{exact: map[groupKind]*luaScript{}, opts: opts}
	lc.pool.New = func() any { return newSandbox(opts) }
	keys := make([]string, 0, len(opts.Lua))
	for k := range opts.Lua {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		group, kind, err := parseKey(key)
		if err != nil {
			return nil, err
		}
		chunk, err := parse.Parse(strings.NewReader(opts.Lua[key]), key)
		if err != nil {
			return nil, &LuaError{Key: key, Err: err}
		}
		proto, err := lua.Compile(chunk, key)
		if err != nil {
			return nil, &LuaError{Key: key, Err: err}
		}
		s := &luaScript{key: key, group: group, kind: kind, proto: proto, checks: lc}
		if strings.ContainsAny(group+kind, "*?[") {
			lc.globs = append(lc.globs, s)
			continue
		}
		gk := groupKind{group, kind}
		if prev, dup := lc.exact[gk]; dup {
			return nil, fmt.Errorf("%w: %q and %q both name %s/%s", ErrInvalidKey, prev.key, key, group, kind)
		}
		lc.exact[gk] = s
	}
	return lc, nil
}

// parseKey splits "<group>_<kind>" (Argo CD's argocd-cm form), "<group>/<kind>" (its older resource.customizations
// form) or a bare core kind.
func parseKey(key string) (group, kind string, err error) {
	switch {
	case strings.Contains(key, "/"):
		i := strings.LastIndex(key, "/")
		group, kind = key[:i], key[i+1:]
	case strings.Contains(key, "_"):
		i := strings.LastIndex(key, "_")
		group, kind = key[:i], key[i+1:]
	default:
		kind = key
	}
	if kind == "" {
		return "", "", fmt.Errorf("%w %q: no kind (want <group>_<kind>)", ErrInvalidKey, key)
	}
	for _, p := range []string{group, kind} {
		if _, err := path.Match(p, ""); err != nil {
			return "", "", fmt.Errorf("%w %q: %v", ErrInvalidKey, key, err)
		}
	}
	return group, kind, nil
}

func (lc *luaChecks) count() int { return len(lc.exact) + len(lc.globs) }

func (lc *luaChecks) lookup(group, kind string) *luaScript {
	if len(lc.exact) == 0 && len(lc.globs) == 0 {
		return nil
	}
	if s := lc.exact[groupKind{group, kind}]; s != nil {
		return s
	}
	for _, s := range lc.globs {
		if ok, _ := path.Match(s.group, group); !ok {
			continue
		}
		if ok, _ := path.Match(s.kind, kind); ok {
			return s
		}
	}
	return nil
}

// allowedGlobals are the base functions a check may call. Everything that loads code or touches the host
// (dofile, loadfile, load, loadstring, require, module, print, collectgarbage, getfenv, setfenv, _G) is left out,
// and the os, io, package, debug, channel and coroutine libraries are never opened.
var allowedGlobals = []string{
	"assert", "error", "ipairs", "next", "pairs", "pcall", "xpcall", "rawequal", "rawget", "rawset", "select",
	"tonumber", "tostring", "type", "unpack", "setmetatable", "getmetatable", "_VERSION",
}

// maxRepBytes bounds string.rep, the one library call that can allocate without bound in a single instruction.
const maxRepBytes = 1 << 20

func newSandbox(opts Options) *lua.LState {
	L := lua.NewState(lua.Options{
		SkipOpenLibs:        true,
		CallStackSize:       opts.LuaCallStackSize,
		RegistrySize:        1024,
		RegistryMaxSize:     opts.LuaRegistryMaxSize,
		MinimizeStackMemory: true,
	})
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString}, {lua.MathLibName, lua.OpenMath}} {
		L.Push(L.NewFunction(lib.open))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	g := L.G.Global
	keep := map[string]bool{"string": true, "table": true, "math": true}
	for _, n := range allowedGlobals {
		keep[n] = true
	}
	var drop []lua.LValue
	g.ForEach(func(k, _ lua.LValue) {
		if s, ok := k.(lua.LString); !ok || !keep[string(s)] {
			drop = append(drop, k)
		}
	})
	for _, k := range drop {
		g.RawSet(k, lua.LNil)
	}
	if str, ok := g.RawGetString("string").(*lua.LTable); ok {
		rep := str.RawGetString("rep")
		str.RawSetString("rep", L.NewFunction(func(L *lua.LState) int {
			if int64(len(L.CheckString(1)))*int64(L.CheckInt64(2)) > maxRepBytes {
				L.RaiseError("string.rep: result larger than %d bytes", maxRepBytes)
			}
			L.Push(rep)
			L.Push(L.Get(1))
			L.Push(L.Get(2))
			L.Call(2, 1)
			return 1
		}))
	}
	// Each run gets a fresh environment whose reads fall through to the sandbox globals, so one run's globals
	// (Argo CD's scripts assign `hs = {}` globally) never leak into the next.
	mt := L.NewTable()
	mt.RawSetString("__index", g)
	L.SetField(L.G.Registry, "moor.envmt", mt)
	return L
}

// run executes the script against obj. The interpreter returns to the pool only after a clean run.
func (s *luaScript) run(ctx context.Context, obj map[string]any) (*Result, error) {
	L := s.checks.pool.Get().(*lua.LState)
	clean := false
	defer func() {
		if clean {
			L.RemoveContext()
			L.SetTop(0)
			s.checks.pool.Put(L)
		} else {
			L.Close()
		}
	}()

	env := L.CreateTable(0, 4)
	L.SetMetatable(env, L.GetField(L.G.Registry, "moor.envmt"))
	env.RawSetString("obj", toLua(L, obj))
	fn := L.NewFunctionFromProto(s.proto)
	fn.Env = env

	L.SetContext(ctx)
	L.Push(fn)
	if err := L.PCall(0, 1, nil); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			if errors.Is(ctxErr, context.DeadlineExceeded) {
				return nil, fmt.Errorf("%w after %s", ErrLuaTimeout, s.checks.opts.LuaTimeout)
			}
			return nil, ctxErr
		}
		var apiErr *lua.ApiError
		if errors.As(err, &apiErr) {
			return nil, errors.New(strings.TrimSpace(apiErr.Object.String()))
		}
		return nil, err
	}
	ret := L.Get(-1)
	res, err := fromLua(ret)
	clean = err == nil
	return res, err
}

// fromLua reads Argo CD's convention: a table {status = "...", message = "..."}. A script that returns nil says
// "no health" for this object.
func fromLua(v lua.LValue) (*Result, error) {
	if v == lua.LNil {
		return nil, nil
	}
	t, ok := v.(*lua.LTable)
	if !ok {
		return nil, fmt.Errorf("script returned a %s, want a table {status = ..., message = ...}", v.Type())
	}
	st, err := ParseStatus(lua.LVAsString(t.RawGetString("status")))
	if err != nil {
		return nil, err
	}
	return &Result{Status: st, Message: lua.LVAsString(t.RawGetString("message"))}, nil
}

// toLua converts a JSON-shaped Go value to Lua values (maps and lists become tables, lists 1-based).
func toLua(L *lua.LState, v any) lua.LValue {
	switch x := v.(type) {
	case nil:
		return lua.LNil
	case string:
		return lua.LString(x)
	case bool:
		return lua.LBool(x)
	case int64:
		return lua.LNumber(x)
	case int:
		return lua.LNumber(x)
	case int32:
		return lua.LNumber(x)
	case float64:
		return lua.LNumber(x)
	case map[string]any:
		t := L.CreateTable(0, len(x))
		for k, e := range x {
			t.RawSetString(k, toLua(L, e))
		}
		return t
	case []any:
		t := L.CreateTable(len(x), 0)
		for _, e := range x {
			t.Append(toLua(L, e))
		}
		return t
	case fmt.Stringer:
		return lua.LString(x.String())
	}
	if n, ok := num(map[string]any{"v": v}, "v"); ok {
		return lua.LNumber(n)
	}
	return lua.LString(fmt.Sprint(v))
}
