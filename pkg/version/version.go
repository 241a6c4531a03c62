// Package version holds the build's version, stamped by the linker (-X), and reports it the same way in every
// binary and in the Version RPC.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set by -ldflags "-X github.com/moorcd/moor/pkg/version.version=... -X ...commit=...".
var (
	version = "v0.0.0-dev"
	commit  = ""
)

// Info describes this build.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// Get returns the build's version information.
func Get() Info {
	c := commit
	if c == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					c = s.Value
				}
			}
		}
	}
	return Info{Version: version, Commit: c, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
}

func (i Info) String() string {
	s := i.Version
	if i.Commit != "" {
		s += "+" + i.Commit
	}
	return fmt.Sprintf("%s (%s, %s)", s, i.GoVersion, i.Platform)
}
