package health_test

import (
	"errors"
	"testing"

	"github.com/moorcd/moor/pkg/health"
)

func TestIsWorse(t *testing.T) {
	t.Parallel()
	all := health.Statuses()
	for i, a := range all {
		for j, b := range all {
			if got, want := health.IsWorse(a, b), j > i; got != want {
				t.Errorf("IsWorse(%s, %s) = %v, want %v", a, b, got, want)
			}
		}
	}
	if !health.IsWorse(health.Degraded, "Bogus") || health.IsWorse("Bogus", health.Unknown) {
		t.Error("an unrecognised status should rank as Unknown")
	}
}

func TestAppHealth(t *testing.T) {
	t.Parallel()
	res := func(s health.Status) *health.Result { return &health.Result{Status: s} }
	dep := func(s health.Status) health.ResourceHealth {
		return health.ResourceHealth{Group: "apps", Kind: "Deployment", Name: "d", Health: res(s)}
	}
	app := func(s health.Status) health.ResourceHealth {
		return health.ResourceHealth{Group: "argoproj.io", Kind: "Application", Name: "child", Health: res(s)}
	}
	cases := []struct {
		name      string
		resources []health.ResourceHealth
		want      health.Status
	}{
		{"no resources", nil, health.Healthy},
		{"all healthy", []health.ResourceHealth{dep(health.Healthy), dep(health.Healthy)}, health.Healthy},
		{"worst child wins", []health.ResourceHealth{dep(health.Healthy), dep(health.Progressing), dep(health.Suspended)}, health.Progressing},
		{"degraded beats progressing", []health.ResourceHealth{dep(health.Degraded), dep(health.Progressing)}, health.Degraded},
		{"unknown is worst", []health.ResourceHealth{dep(health.Degraded), dep(health.Unknown)}, health.Unknown},
		{"hook skipped", []health.ResourceHealth{dep(health.Healthy), {Kind: "Job", Hook: true, Health: res(health.Degraded)}}, health.Healthy},
		{"ignore-healthcheck skipped", []health.ResourceHealth{dep(health.Healthy), {Kind: "Pod", IgnoreHealthCheck: true, Health: res(health.Degraded)}}, health.Healthy},
		{"no health check skipped", []health.ResourceHealth{dep(health.Suspended), {Kind: "ConfigMap"}}, health.Suspended},
		{"missing skipped when something is deployed", []health.ResourceHealth{dep(health.Healthy), dep(health.Missing)}, health.Healthy},
		{"all missing is missing", []health.ResourceHealth{dep(health.Missing), dep(health.Missing), {Kind: "ConfigMap"}}, health.Missing},
		{"child app missing skipped", []health.ResourceHealth{dep(health.Healthy), app(health.Missing)}, health.Healthy},
		{"child app unknown skipped", []health.ResourceHealth{dep(health.Progressing), app(health.Unknown)}, health.Progressing},
		{"child app degraded counts", []health.ResourceHealth{dep(health.Healthy), app(health.Degraded)}, health.Degraded},
		{"only a missing child app", []health.ResourceHealth{app(health.Missing)}, health.Healthy},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := health.AppHealth(tc.resources); got.Status != tc.want {
				t.Errorf("AppHealth = %s, want %s", got.Status, tc.want)
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		lua  map[string]string
		want error
	}{
		{"syntax error", map[string]string{"example.com_Widget": "return {"}, (*health.LuaError)(nil)},
		{"no kind", map[string]string{"example.com_": "return nil"}, health.ErrInvalidKey},
		{"bad glob", map[string]string{"[_Widget": "return nil"}, health.ErrInvalidKey},
		{"same kind twice", map[string]string{"ConfigMap": "return nil", "_ConfigMap": "return nil"}, health.ErrInvalidKey},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := health.New(health.Options{Lua: tc.lua})
			if err == nil {
				t.Fatal("New succeeded, want an error")
			}
			var le *health.LuaError
			if tc.want == error((*health.LuaError)(nil)) {
				if !errors.As(err, &le) {
					t.Errorf("err = %v, want a *LuaError", err)
				}
			} else if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestLuaErrorsAreTyped(t *testing.T) {
	t.Parallel()
	a := mustAssessor(t, health.Options{Lua: configMapLua(t, "testdata/lua/argocd-cm.yaml"), LuaTimeout: 50 * 1e6})
	objs := map[string]error{}
	for _, obj := range readObjects(t, "testdata/lua/objects.yaml") {
		_, err := a.Assess(obj)
		objs[obj.GetName()] = err
	}
	if err := objs["lua-infinite-loop"]; !errors.Is(err, health.ErrLuaTimeout) {
		t.Errorf("loop: err = %v, want ErrLuaTimeout", err)
	}
	if err := objs["lua-invalid-status"]; !errors.Is(err, health.ErrInvalidStatus) {
		t.Errorf("invalid status: err = %v, want ErrInvalidStatus", err)
	}
	var le *health.LuaError
	if err := objs["lua-os-exit"]; !errors.As(err, &le) || le.Key != "example.com_Exit" {
		t.Errorf("os.exit: err = %v, want a *LuaError for example.com_Exit", err)
	}
}
