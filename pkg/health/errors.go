package health

import (
	"errors"
	"fmt"
)

// Sentinel errors; compare with errors.Is.
var (
	// ErrInvalidStatus: a Lua check returned a status outside the six.
	ErrInvalidStatus = errors.New("invalid health status")
	// ErrLuaTimeout: a Lua check ran longer than Options.LuaTimeout.
	ErrLuaTimeout = errors.New("lua health check timed out")
	// ErrInvalidKey: an Options.Lua key is not <group>_<kind>.
	ErrInvalidKey = errors.New("invalid health customization key")
)

// LuaError is a failure to compile or to run the Lua check configured under Key.
type LuaError struct {
	Key string // the Options.Lua key, e.g. "cert-manager.io_Certificate"
	Err error
}

func (e *LuaError) Error() string {
	return fmt.Sprintf("lua health check %s: %v", e.Key, e.Err)
}

func (e *LuaError) Unwrap() error { return e.Err }
